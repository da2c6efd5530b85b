/**
 * The telemetry engine: everything issue 4 adds on top of the hub, started by buildApp.
 * - keeps the live keys of state and entity channels in memory (key-store.ts),
 * - expires entities whose `ttl` ran out by publishing deletes (reason: expired),
 * - keeps entity aggregates current in their state channels (entity-aggregator.ts),
 * - moves the metrics of the metric rules (metric-rules.ts) and `streamgauge_alerts_firing`.
 * It reads every appended message through ctx.onAppend, so publishes from REST, WebSocket, sources
 * and itself are all seen, in offset order per channel. It gets a narrow TelemetryContext and the
 * config sections it reads, not the hub or the whole config.
 *
 * One instance owns expiry and aggregates: with several collectors on one Redis store each would
 * publish them, so all but one set telemetry.publishDerived: false (docs/channels-entities.md).
 */
import { Gauge } from 'prom-client';
import { ErrorCode, type PublishItem } from '@streamgauge/protocol';
import type { Channel } from '../channels/channel-registry';
import type { ChannelDefinition } from '../config/defaults';
import type { Config } from '../collector-config';
import { ConfigError, SgError } from '../errors';
import type { StoredMessage } from '../log/event-log';
import type { Logger } from '../logger';
import { ALERTS_CHANNEL } from './alerts-channel';
import type { TelemetryContext } from './telemetry-context';
import type { EntityAggregateRule, MetricRule } from './config';
import { telemetryConfigProblems } from './config';
import { DEMO_CHANNELS, DEMO_ENTITY_AGGREGATES, DEMO_METRIC_RULES } from './demo-config';
import { EntityAggregator } from './entity-aggregator';
import { ChannelKeys } from './key-store';
import { CompiledRule } from './metric-rules';

/** The config sections telemetry reads. */
export type TelemetrySettings = Pick<Config, 'telemetry' | 'demo' | 'channels' | 'limits'>;

export interface TelemetryOptions {
  config: TelemetrySettings;
  ctx: TelemetryContext;
}

export interface Telemetry {
  /** Live keys of a tracked state/entity channel (tests and status). */
  keys(channel: string): ChannelKeys | undefined;
  /** Runs one expiry pass now (the timer does it every ttlCheckIntervalMs). */
  sweepExpired(): Promise<number>;
  /** Publishes changed aggregate rows now (the timer does it every aggregatesIntervalMs). */
  flushAggregates(): Promise<void>;
  stop(): Promise<void>;
}

/** Rules and aggregates in effect: the config's own, plus the demo's when demo is enabled. */
export function effectiveTelemetry(config: TelemetrySettings): {
  metrics: MetricRule[];
  entities: EntityAggregateRule[];
  definitions: ChannelDefinition[];
} {
  const demo = config.demo.enabled;
  return {
    metrics: [...(config.telemetry.metrics as MetricRule[]), ...(demo ? DEMO_METRIC_RULES : [])],
    entities: [...(config.telemetry.entities as EntityAggregateRule[]), ...(demo ? DEMO_ENTITY_AGGREGATES : [])],
    definitions: [
      ...(config.channels.definitions as ChannelDefinition[]),
      ...(demo ? DEMO_CHANNELS.filter((d) => !config.channels.definitions.some((x) => x.name === d.name)) : []),
    ],
  };
}

/**
 * Validates the telemetry config (throws ConfigError), declares the channels it needs, loads the
 * live keys from the log and starts its timers. Call before the server listens.
 */
export async function createTelemetry(o: TelemetryOptions): Promise<Telemetry> {
  const { config, ctx } = o;
  const logger = ctx.logger;
  const t = config.telemetry;
  const eff = effectiveTelemetry(config);
  const kinds = new Map<string, string>(eff.definitions.map((d) => [d.name, d.kind ?? 'stream']));
  if (t.alerts.enabled) {
    kinds.set(ALERTS_CHANNEL.name, 'state');
  }
  const problems = telemetryConfigProblems({ metrics: eff.metrics, entities: eff.entities, maxSeriesPerRule: t.maxSeriesPerRule }, kinds);
  for (const r of eff.metrics) {
    if (ctx.metrics.getSingleMetric(r.name)) {
      problems.push(`telemetry.metrics (${r.name}): the collector already has a metric of this name`);
    }
  }
  if (problems.length) {
    throw new ConfigError(problems, 'telemetry');
  }

  // Declarations first, so a webhook or publish never auto-creates these as stream channels.
  if (config.demo.enabled) {
    for (const d of eff.definitions) {
      if (DEMO_CHANNELS.includes(d)) {
        await ctx.declare(d);
      }
    }
  }
  if (t.alerts.enabled) {
    await ctx.declare(ALERTS_CHANNEL as unknown as ChannelDefinition);
  }
  const aggregators = eff.entities.map((r) => new EntityAggregator(r));
  for (const a of aggregators) {
    const existing = ctx.channel(a.rule.output);
    if (!existing || existing.kind !== 'state') {
      await ctx.declare(a.outputDefinition());
    }
  }

  const tracked = new Map<string, ChannelKeys>();
  const compiled: CompiledRule[] = eff.metrics.map((r) => new CompiledRule(r, ctx.metrics, () => tracked.values()));
  const rulesByChannel = new Map<string, CompiledRule[]>();
  const rulesFor = (name: string): CompiledRule[] => {
    let list = rulesByChannel.get(name);
    if (!list) {
      rulesByChannel.set(name, (list = compiled.filter((r) => r.matches(name))));
    }
    return list;
  };
  const aggsFor = (name: string): EntityAggregator[] => aggregators.filter((a) => a.rule.channel === name);
  const needsKeys = (c: Channel): boolean =>
    c.kind === 'entity' || c.name === ALERTS_CHANNEL.name || (c.kind === 'state' && rulesFor(c.name).some((r) => r.rule.type === 'gauge'));
  const keysFor = (c: Channel): ChannelKeys | undefined => {
    let k = tracked.get(c.name);
    if (!k && c.kind !== 'stream' && needsKeys(c)) {
      tracked.set(c.name, (k = new ChannelKeys(c.name, c.kind, t.maxTrackedKeys, logger)));
    }
    return k;
  };

  new Gauge({
    name: 'streamgauge_alerts_firing',
    help: `Alerts firing, as last reported to /api/v1/alerts/webhook (rows of ${ALERTS_CHANNEL.name} with status firing).`,
    registers: [ctx.metrics],
    collect() {
      let n = 0;
      for (const r of tracked.get(ALERTS_CHANNEL.name)?.records.values() ?? []) {
        if (r.data.status === 'firing') {
          n++;
        }
      }
      this.set(n);
    },
  });

  // Load live keys. Nothing publishes yet (the server does not listen, sources have not started).
  for (const c of [...ctx.channels()]) {
    const k = keysFor(c);
    if (!k) {
      continue;
    }
    const aggs = aggsFor(c.name);
    for (const m of await ctx.latestByKey(c.name)) {
      const data = parseData(m);
      if (m.key !== undefined && data) {
        const r = k.upsert(m.key, data, m.offset, m.ts, undefined);
        if (r.tracked) {
          aggs.forEach((a) => a.upsert(data, undefined));
        }
      }
    }
    k.appliedOffset = c.lastOffset;
  }
  // Rows a previous run left non-zero for groups that no longer exist: publish them as zero.
  for (const a of aggregators) {
    const known = a.dimensions();
    for (const m of await ctx.latestByKey(a.rule.output)) {
      const row = parseData(m);
      if (row && typeof row.dimension === 'string' && !known.has(row.dimension)) {
        a.ensureRow(row.dimension, String(row.group ?? ''), String(row.value ?? ''));
      }
    }
    a.markAllDirty();
  }

  const onMessages = (c: Channel, msgs: StoredMessage[], items?: PublishItem[]): void => {
    const rules = rulesFor(c.name);
    const keys = c.kind === 'stream' ? undefined : keysFor(c);
    if (!keys && rules.length === 0) {
      return;
    }
    const aggs = keys && c.kind === 'entity' ? aggsFor(c.name) : [];
    // items hold the whole request; the ones of this channel are in the same order as msgs.
    const mine = items?.filter((it) => it.channel === c.name);
    msgs.forEach((m, i) => {
      if (keys && m.offset <= keys.appliedOffset) {
        return;
      }
      let data = parseData(m);
      if (!data) {
        return;
      }
      let firstTs: number | undefined;
      if (keys && m.key !== undefined) {
        keys.appliedOffset = m.offset;
        if (m.deleted) {
          const prev = keys.delete(m.key);
          if (prev) {
            data = { ...prev.data, ...data };
            firstTs = prev.firstTs;
            aggs.forEach((a) => a.remove(prev, m.ts));
          }
        } else {
          const ttl = mine?.[i]?.ttl;
          const expiresAt =
            c.kind === 'entity' && typeof ttl === 'number' && ttl > 0 ? m.ts + Math.min(ttl, t.maxTtlSeconds) * 1000 : undefined;
          const r = keys.upsert(m.key, data, m.offset, m.ts, expiresAt);
          if (r.tracked) {
            const d = data;
            aggs.forEach((a) => a.upsert(d, r.prev));
          }
        }
      }
      for (const rule of rules) {
        rule.apply({ channel: c.name, kind: c.kind, deleted: m.deleted === true, ts: m.ts, data, firstTs });
      }
    });
  };
  const unlisten = ctx.onAppend((c, msgs, items) => {
    try {
      onMessages(c, msgs, items);
    } catch (err) {
      // Never let telemetry break the publish path: the messages are already in the log.
      logger.error({ err, channel: c.name }, 'telemetry failed on appended messages');
    }
  });

  const publishSafely = async (items: PublishItem[], what: string): Promise<boolean> => {
    for (let i = 0; i < items.length; i += config.limits.maxBatch) {
      try {
        await ctx.publish(items.slice(i, i + config.limits.maxBatch));
      } catch (err) {
        logger.warn({ err, what }, 'telemetry publish failed');
        return false;
      }
    }
    return true;
  };

  const sweepExpired = async (): Promise<number> => {
    const now = Date.now();
    const items: PublishItem[] = [];
    for (const k of tracked.values()) {
      if (k.kind !== 'entity') {
        continue;
      }
      for (const [key, at] of k.expiring) {
        if (at <= now) {
          // Taken out now so that the next pass does not delete it twice while this one publishes.
          k.expiring.delete(key);
          items.push({ channel: k.channel, key, delete: true, data: { reason: 'expired' } });
        }
      }
    }
    if (items.length === 0) {
      return 0;
    }
    for (let i = 0; i < items.length; i += config.limits.maxBatch) {
      const batch = items.slice(i, i + config.limits.maxBatch);
      try {
        await ctx.publish(batch);
      } catch (err) {
        if (err instanceof SgError && err.code === ErrorCode.SchemaMismatch) {
          // A declared `reason` field of another type: delete without it.
          await publishSafely(
            batch.map((it) => ({ ...it, data: {} })),
            'expiry',
          );
        } else {
          logger.warn({ err }, 'publishing expiries failed; retrying on the next pass');
          for (const it of batch) {
            tracked.get(it.channel)?.expiring.set(it.key!, now);
          }
        }
      }
    }
    return items.length;
  };

  const flushAggregates = async (): Promise<void> => {
    for (const a of aggregators) {
      const items = a.takeChanges();
      if (items.length && !(await publishSafely(items, `aggregates ${a.rule.output}`))) {
        // The store refused (unavailable, shutting down): publish these rows again next time.
        a.markDirty(items.map((it) => String(it.data.dimension)));
      }
    }
  };

  let sweeping = false;
  const ttlTimer = setInterval(() => {
    if (sweeping || !t.publishDerived) {
      return;
    }
    sweeping = true;
    sweepExpired()
      .catch((err: unknown) => logger.error({ err }, 'expiry pass failed'))
      .finally(() => (sweeping = false));
  }, t.ttlCheckIntervalMs);
  ttlTimer.unref();
  let flushing = false;
  const aggTimer = setInterval(() => {
    if (flushing || !t.publishDerived) {
      return;
    }
    flushing = true;
    flushAggregates()
      .catch((err: unknown) => logger.error({ err }, 'aggregates flush failed'))
      .finally(() => (flushing = false));
  }, t.aggregatesIntervalMs);
  aggTimer.unref();

  return {
    keys: (channel) => tracked.get(channel),
    sweepExpired,
    flushAggregates,
    async stop() {
      clearInterval(ttlTimer);
      clearInterval(aggTimer);
      unlisten();
    },
  };
}

function parseData(m: StoredMessage): Record<string, unknown> | undefined {
  try {
    const d: unknown = JSON.parse(m.data);
    return typeof d === 'object' && d !== null && !Array.isArray(d) ? (d as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
