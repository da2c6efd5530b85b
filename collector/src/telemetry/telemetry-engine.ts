/**
 * The telemetry engine: everything issue 4 adds on top of the hub, started by buildApp.
 * - keeps the live keys of state and entity channels in memory (key-store.ts),
 * - expires entities whose `ttl` ran out by publishing deletes (reason: expired),
 * - keeps entity aggregates current in their state channels (entity-aggregator.ts),
 * - moves the metrics of the metric rules (metric-rules.ts) and `streamgauge_alerts_firing`.
 * It reads every appended message through ctx.onAppend, so publishes from REST, WebSocket, sources
 * and itself are all seen, applied in offset order per keyed channel (in-order.ts). It gets a narrow TelemetryContext and the
 * config sections it reads, not the hub or the whole config.
 *
 * Derived work runs on one instance of a cluster at a time: the holder of the lease `telemetry`
 * (cluster/) publishes expiries and aggregate rows and exports the metric-rule series; every
 * instance keeps the keys and aggregates current, so a new holder continues where the old one
 * stopped. Expiry deadlines are kept by the store with each message (whichever instance accepted
 * it), and expiry deletes are conditional on the deadline, so an entity expires once.
 * telemetry.publishDerived: false keeps an instance from ever taking the lease.
 */
import { Gauge } from 'prom-client';
import { ErrorCode, type PublishItem } from '@streamgauge/protocol';
import type { Channel } from '../channels/channel-registry';
import type { ChannelDefinition } from '../config/defaults';
import type { Config } from '../collector-config';
import { ConfigError, SgError } from '../errors';
import type { StoredMessage } from '../log/event-log';
import type { Ownership } from '../cluster/ownership';
import { ALERTS_CHANNEL } from './alerts-channel';
import { InOrder } from './in-order';
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
  /** Who runs derived work (cluster/create-ownership.ts). */
  ownership: Ownership;
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
        const r = k.upsert(m.key, data, m.offset, m.ts);
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

  /** Applies one message to the tracked keys, the aggregates and the metric rules. */
  const applyMessage = (c: Channel, keys: ChannelKeys | undefined, rules: readonly CompiledRule[], m: StoredMessage): void => {
    let data = parseData(m);
    if (!data) {
      return;
    }
    let firstTs: number | undefined;
    if (keys && m.key !== undefined) {
      const aggs = c.kind === 'entity' ? aggsFor(c.name) : [];
      if (m.deleted) {
        const prev = keys.delete(m.key);
        if (prev) {
          data = { ...prev.data, ...data };
          firstTs = prev.firstTs;
          aggs.forEach((a) => a.remove(prev, m.ts));
        }
      } else {
        const r = keys.upsert(m.key, data, m.offset, m.ts);
        if (r.tracked) {
          const d = data;
          aggs.forEach((a) => a.upsert(d, r.prev));
        }
      }
    }
    for (const rule of rules) {
      rule.apply({ channel: c.name, kind: c.kind, deleted: m.deleted === true, ts: m.ts, data, firstTs });
    }
  };
  // Keyed channels are applied strictly in offset order (in-order.ts: with Redis, an instance's own
  // appends and other instances' notices can arrive out of order).
  const ordered = new Map<string, InOrder>();
  const orderFor = (c: Channel, keys: ChannelKeys): InOrder => {
    let q = ordered.get(c.name);
    if (!q) {
      q = new InOrder({
        applied: keys.appliedOffset,
        read: async (after) => (await ctx.read(c.name, { after, limit: config.limits.maxBatch })).messages,
        apply: (m) => applyMessage(c, keys, rulesFor(c.name), m),
        onError: (err) => logger.warn({ err, channel: c.name }, 'telemetry could not read a gap from the log; going on after it'),
      });
      ordered.set(c.name, q);
    }
    return q;
  };

  const onMessages = (c: Channel, msgs: StoredMessage[]): void => {
    const rules = rulesFor(c.name);
    const keys = c.kind === 'stream' ? undefined : keysFor(c);
    if (keys) {
      orderFor(c, keys).push(msgs);
    } else if (rules.length > 0) {
      msgs.forEach((m) => applyMessage(c, undefined, rules, m));
    }
  };
  const unlisten = ctx.onAppend((c, msgs) => {
    try {
      onMessages(c, msgs);
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

  /**
   * Publishes a delete for every entity whose deadline passed, as the store keeps them. Each delete
   * is appended only if the key's deadline is still the one read (an upsert meanwhile moved or
   * cleared it), so an entity expires once even if two instances sweep at once. A failed pass is
   * simply repeated: the deadlines stay in the store until a delete is appended.
   */
  const sweepExpired = async (): Promise<number> => {
    const due = await ctx.dueExpiries(Date.now(), config.limits.maxBatch);
    const live = due.filter((d) => ctx.channel(d.channel)?.kind === 'entity');
    if (live.length === 0) {
      return 0;
    }
    const items: PublishItem[] = live.map((d) => ({ channel: d.channel, key: d.key, delete: true, data: { reason: 'expired' } }));
    const deadlines = live.map((d) => d.at);
    try {
      await ctx.publish(items, deadlines);
    } catch (err) {
      if (!(err instanceof SgError && err.code === ErrorCode.SchemaMismatch)) {
        throw err;
      }
      // A declared `reason` field of another type: delete without it.
      await ctx.publish(
        items.map((it) => ({ ...it, data: {} })),
        deadlines,
      );
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

  // Derived work runs while this instance holds the lease (always, with one instance).
  let owner = false;
  // Metric-rule series are exported by the holder only, so that `sum` over instances counts once.
  const exportRules = (on: boolean): void => {
    for (const r of compiled) {
      if (on && !ctx.metrics.getSingleMetric(r.rule.name)) {
        ctx.metrics.registerMetric(r.metric);
      } else if (!on) {
        ctx.metrics.removeSingleMetric(r.rule.name);
      }
    }
  };
  exportRules(false);
  const releaseLease = t.publishDerived
    ? o.ownership.own('telemetry', () => {
        owner = true;
        exportRules(true);
        // The previous holder may have stopped before publishing its last changes.
        aggregators.forEach((a) => a.markAllDirty());
        return () => {
          owner = false;
          exportRules(false);
        };
      })
    : async () => undefined;

  let sweeping = false;
  const ttlTimer = setInterval(() => {
    if (sweeping || !owner) {
      return;
    }
    sweeping = true;
    sweepExpired()
      .catch((err: unknown) => logger.warn({ err }, 'expiry pass failed; repeated on the next pass'))
      .finally(() => (sweeping = false));
  }, t.ttlCheckIntervalMs);
  ttlTimer.unref();
  let flushing = false;
  const aggTimer = setInterval(() => {
    if (flushing || !owner) {
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
      await releaseLease();
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
