/**
 * Metric rules: Prometheus counters, gauges and histograms computed from channel data
 * (docs/metrics-rules.md). Counters and histograms move on each appended message; gauges over state
 * and entity channels are computed at scrape time from the live keys (prom-client `collect()`), so a
 * deleted or expired key stops counting at once. Label values are bounded by an allowlist or
 * `maxValues`; anything else becomes `other`.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { matchChannel } from '@streamgauge/protocol';
import type { MetricLabel, MetricRule } from './config';
import { matchesFilter, numberField, textField, timeField } from './field-values';
import type { ChannelKeys, KeyRecord } from './key-store';

/** One message as rules see it. For deletes, `data` is the entity's last data merged with the delete's. */
export interface RuleEvent {
  channel: string;
  kind: 'stream' | 'state' | 'entity';
  deleted: boolean;
  ts: number;
  data: Record<string, unknown>;
  /** For deletes: when the entity was first seen (duration fallback). */
  firstTs?: number;
}

class LabelResolver {
  private readonly seen = new Set<string>();
  constructor(private readonly l: Readonly<MetricLabel>) {}

  value(data: Record<string, unknown>): string {
    const v = textField(data, this.l.field);
    if (this.l.allow) {
      return this.l.allow.includes(v) ? v : 'other';
    }
    if (this.seen.has(v)) {
      return v;
    }
    if (this.seen.size < (this.l.maxValues ?? 0)) {
      this.seen.add(v);
      return v;
    }
    return 'other';
  }
}

export class CompiledRule {
  private readonly labels: { name: string; resolver: LabelResolver }[];
  private readonly counter?: Counter;
  private readonly histogram?: Histogram;
  private readonly gauge?: Gauge;

  constructor(
    readonly rule: Readonly<MetricRule>,
    registry: Registry,
    liveKeys: () => Iterable<ChannelKeys>,
  ) {
    this.labels = (rule.labels ?? []).map((l) => ({ name: l.name, resolver: new LabelResolver(l) }));
    const labelNames = this.labels.map((l) => l.name);
    const base = { name: rule.name, help: rule.help, labelNames, registers: [registry] };
    if (rule.type === 'counter') {
      this.counter = new Counter(base);
      // Every allowed label set starts at 0, so rate() and increase() see the first event too.
      for (const labels of allowedLabelSets(rule.labels ?? [])) {
        this.counter.inc(labels, 0);
      }
    } else if (rule.type === 'histogram') {
      this.histogram = new Histogram({ ...base, ...(rule.buckets ? { buckets: [...rule.buckets] } : {}) });
    } else {
      const collect = (g: Gauge): void => this.collectGauge(g, liveKeys());
      this.gauge = new Gauge({
        ...base,
        collect() {
          collect(this);
        },
      });
    }
  }

  /** The rule's metric, to register or unregister as this instance gains or loses the telemetry lease. */
  get metric(): Counter | Histogram | Gauge {
    return (this.counter ?? this.histogram ?? this.gauge)!;
  }

  matches(channel: string): boolean {
    return matchChannel(this.rule.channel, channel) || this.rule.channel === channel;
  }

  private wants(e: RuleEvent): boolean {
    const on = this.rule.on ?? 'upsert';
    if (on !== 'any' && (on === 'delete') !== e.deleted) {
      return false;
    }
    return matchesFilter(e.data, this.rule.filter);
  }

  private labelsOf(data: Record<string, unknown>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const l of this.labels) {
      out[l.name] = l.resolver.value(data);
    }
    return out;
  }

  /** The rule's number for one data object: a mapped status, a scaled field, or undefined. */
  private valueOf(data: Record<string, unknown>): number | undefined {
    const r = this.rule;
    if (!r.value) {
      return undefined;
    }
    let v: number | undefined;
    if (r.map) {
      const m = r.map[textField(data, r.value)];
      v = typeof m === 'number' ? m : undefined;
    } else {
      v = numberField(data, r.value);
    }
    return v === undefined ? undefined : v * (r.scale ?? 1);
  }

  /** Applies one appended message (counters, histograms, gauges over stream channels). */
  apply(e: RuleEvent): void {
    if (!this.wants(e)) {
      return;
    }
    const r = this.rule;
    if (this.counter) {
      const v = r.value ? this.valueOf(e.data) : 1;
      if (v !== undefined && v >= 0) {
        this.counter.inc(this.labelsOf(e.data), v);
      }
    } else if (this.histogram) {
      let v: number | undefined;
      if (r.durationFrom) {
        const start = timeField(e.data, r.durationFrom) ?? e.firstTs;
        v = start === undefined ? undefined : ((e.ts - start) / 1000) * (r.scale ?? 1);
      } else {
        v = this.valueOf(e.data);
      }
      if (v !== undefined && Number.isFinite(v) && v >= 0) {
        this.histogram.observe(this.labelsOf(e.data), v);
      }
    } else if (this.gauge && e.kind === 'stream') {
      const v = r.aggregate === 'count' ? 1 : this.valueOf(e.data);
      if (v !== undefined) {
        this.gauge.set(this.labelsOf(e.data), v);
      }
    }
  }

  /** Gauges over state and entity channels: group the live keys by label set, then combine. */
  private collectGauge(g: Gauge, channels: Iterable<ChannelKeys>): void {
    const groups = new Map<
      string,
      { labels: Record<string, string>; n: number; sum: number; min: number; max: number; last: number; lastOffset: number }
    >();
    let anyChannel = false;
    for (const ch of channels) {
      if (!this.matches(ch.channel)) {
        continue;
      }
      anyChannel = true;
      for (const rec of ch.records.values()) {
        this.addToGroup(groups, rec);
      }
    }
    if (!anyChannel) {
      // Stream-channel gauges keep what apply() set.
      return;
    }
    g.reset();
    const agg = this.rule.aggregate ?? 'last';
    if (groups.size === 0 && this.labels.length === 0) {
      // No key at all: a count or a sum is 0; last/min/max/avg have no value.
      if (agg === 'count' || agg === 'sum') {
        g.set(0);
      }
      return;
    }
    for (const x of groups.values()) {
      const v =
        agg === 'count'
          ? x.n
          : agg === 'sum'
            ? x.sum
            : agg === 'min'
              ? x.min
              : agg === 'max'
                ? x.max
                : agg === 'avg'
                  ? x.sum / x.n
                  : x.last;
      g.set(x.labels, v);
    }
  }

  private addToGroup(
    groups: Map<
      string,
      { labels: Record<string, string>; n: number; sum: number; min: number; max: number; last: number; lastOffset: number }
    >,
    rec: KeyRecord,
  ): void {
    if (!matchesFilter(rec.data, this.rule.filter)) {
      return;
    }
    const count = this.rule.aggregate === 'count';
    const v = count ? 0 : this.valueOf(rec.data);
    if (!count && v === undefined) {
      return;
    }
    const labels = this.labelsOf(rec.data);
    const k = JSON.stringify(labels);
    const x = groups.get(k);
    const n = v ?? 0;
    if (!x) {
      groups.set(k, { labels, n: 1, sum: n, min: n, max: n, last: n, lastOffset: rec.offset });
    } else {
      x.n++;
      x.sum += n;
      x.min = Math.min(x.min, n);
      x.max = Math.max(x.max, n);
      if (rec.offset > x.lastOffset) {
        x.last = n;
        x.lastOffset = rec.offset;
      }
    }
  }
}

/** Every combination of allowlisted label values (none when a label uses maxValues instead). */
export function allowedLabelSets(labels: readonly Readonly<MetricLabel>[]): Record<string, string>[] {
  let sets: Record<string, string>[] = [{}];
  for (const l of labels) {
    if (!l.allow) {
      return [];
    }
    sets = sets.flatMap((s) => l.allow!.map((v) => ({ ...s, [l.name]: v })));
  }
  return sets;
}
