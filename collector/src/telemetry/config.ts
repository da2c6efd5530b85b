/**
 * Application telemetry options (docs/metrics-rules.md, docs/channels-entities.md,
 * docs/alerts-webhook.md): metric rules that turn channel data into Prometheus metrics, live
 * aggregates of entity channels, entity expiry (TTL), and the alert webhook.
 *
 * The JSON schema below checks the shape when the file is read; `telemetryConfigProblems` checks
 * what a schema cannot (bounded cardinality, names, contradictions) and buildApp refuses to start
 * with a ConfigError listing them.
 */
import { isChannelName, isChannelPattern } from '@streamgauge/protocol';
import { strict } from '../config/schema-builders';
import type { ConfigSection } from '../config/section';

export interface MetricLabel {
  /** Prometheus label name. */
  name: string;
  /** Field of the message's `data` giving the label value. */
  field: string;
  /** Values kept as they are; any other value becomes `other`. */
  allow?: string[];
  /** Or: the first `maxValues` distinct values seen are kept, later new ones become `other`. */
  maxValues?: number;
}

export type MetricAggregate = 'last' | 'sum' | 'count' | 'min' | 'max' | 'avg';

export interface MetricRule {
  /** Prometheus metric name; counters end in `_total`, and `streamgauge_` is reserved. */
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  /** A channel name or pattern (`app/*`, `app/**`). */
  channel: string;
  /** Only messages whose data fields equal these values (or one of a list) count. */
  filter?: Record<string, string | number | boolean | (string | number | boolean)[]>;
  /** Numeric field: counters add it (default: add 1 per message), gauges show it, histograms observe it. */
  value?: string;
  /** String value -> number, for gauges of a status field (e.g. online: 1, offline: 0). */
  map?: Record<string, number>;
  /** Multiplier applied to the value (0.001 turns ms into seconds). */
  scale?: number;
  /**
   * Gauges on state and entity channels: how the live keys of one label set combine. `last` (the
   * default) takes the most recently updated key; `count` counts keys; sum/min/max/avg their values.
   * On stream channels only `last` applies.
   */
  aggregate?: MetricAggregate;
  /** Which messages count: `upsert` (default: every message that is not a delete), `delete` (entity deletes and expiries), `any`. */
  on?: 'upsert' | 'delete' | 'any';
  /** Histograms: observe seconds from this time field (ms or ISO 8601) to the message, instead of `value`. */
  durationFrom?: string;
  /** Histogram buckets in the metric's unit, strictly increasing. */
  buckets?: number[];
  labels?: MetricLabel[];
}

export interface EntityAggregateRule {
  /** The entity channel to aggregate. */
  channel: string;
  /** A state channel (keyField `dimension`) receiving one row per group; created if missing. */
  output: string;
  /** Fields to group by; each gives rows `<field>=<value>`. A `total` row is always kept. */
  groupBy: string[];
  /** Numeric fields summed per group. */
  sum?: string[];
  /** Time field (ms or ISO 8601) where each entity started: gives duration stats of ended entities. */
  durationFrom?: string;
  /** Groups per groupBy field at most; further values are counted under `<field>=other`. */
  maxGroups?: number;
}

export interface TelemetryConfig {
  metrics: MetricRule[];
  entities: EntityAggregateRule[];
  /** Label sets one rule may produce at most (product over its labels of allowed values + `other`). */
  maxSeriesPerRule: number;
  /** Keys of one state/entity channel tracked in memory for gauges, aggregates and TTL; beyond it new keys are ignored (logged). */
  maxTrackedKeys: number;
  /** How often expired entities are deleted. */
  ttlCheckIntervalMs: number;
  /** Largest `ttl` a publish may ask for, in seconds. */
  maxTtlSeconds: number;
  /** How often changed aggregate rows are published (changes are batched meanwhile). */
  aggregatesIntervalMs: number;
  /**
   * This instance publishes expiries (TTL deletes) and aggregate rows. With several collectors on
   * one Redis store, leave it true on exactly one of them, or each publishes them.
   */
  publishDerived: boolean;
  alerts: {
    /** POST /api/v1/alerts/webhook and the alerts/active channel. */
    enabled: boolean;
    /** Alerts in one webhook call at most (Alertmanager's and Grafana's default cap is far below). */
    maxAlertsPerRequest: number;
  };
}

export const TELEMETRY_DEFAULTS: TelemetryConfig = {
  metrics: [],
  entities: [],
  maxSeriesPerRule: 1_000,
  maxTrackedKeys: 100_000,
  ttlCheckIntervalMs: 1_000,
  maxTtlSeconds: 30 * 86_400,
  aggregatesIntervalMs: 1_000,
  publishDerived: true,
  alerts: { enabled: true, maxAlertsPerRequest: 1_000 },
};

const str = { type: 'string', minLength: 1 };
const scalar = { type: ['string', 'number', 'boolean'] };

const metricLabelSchema = strict(
  {
    name: str,
    field: str,
    allow: { type: 'array', items: { type: 'string' }, minItems: 1, uniqueItems: true },
    maxValues: { type: 'integer', minimum: 1 },
  },
  ['name', 'field'],
);

export const metricRuleSchema = strict(
  {
    name: str,
    help: str,
    type: { enum: ['counter', 'gauge', 'histogram'] },
    channel: str,
    filter: { type: 'object', additionalProperties: { anyOf: [scalar, { type: 'array', items: scalar, minItems: 1 }] } },
    value: str,
    map: { type: 'object', additionalProperties: { type: 'number' } },
    scale: { type: 'number' },
    aggregate: { enum: ['last', 'sum', 'count', 'min', 'max', 'avg'] },
    on: { enum: ['upsert', 'delete', 'any'] },
    durationFrom: str,
    buckets: { type: 'array', items: { type: 'number' }, minItems: 1, maxItems: 64 },
    labels: { type: 'array', items: metricLabelSchema, maxItems: 8 },
  },
  ['name', 'help', 'type', 'channel'],
);

export const entityAggregateSchema = strict(
  {
    channel: str,
    output: str,
    groupBy: { type: 'array', items: str, maxItems: 8, uniqueItems: true },
    sum: { type: 'array', items: str, maxItems: 16, uniqueItems: true },
    durationFrom: str,
    maxGroups: { type: 'integer', minimum: 1, maximum: 100_000 },
  },
  ['channel', 'output', 'groupBy'],
);

export const telemetryConfigSchema = strict({
  metrics: { type: 'array', items: metricRuleSchema, maxItems: 1_000 },
  entities: { type: 'array', items: entityAggregateSchema, maxItems: 100 },
  maxSeriesPerRule: { type: 'integer', minimum: 1, maximum: 1_000_000 },
  maxTrackedKeys: { type: 'integer', minimum: 1 },
  ttlCheckIntervalMs: { type: 'integer', minimum: 10 },
  maxTtlSeconds: { type: 'integer', minimum: 1 },
  aggregatesIntervalMs: { type: 'integer', minimum: 10 },
  publishDerived: { type: 'boolean' },
  alerts: strict({ enabled: { type: 'boolean' }, maxAlertsPerRequest: { type: 'integer', minimum: 1 } }),
});

const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Labels Prometheus adds or reserves, and `le` which histograms use. */
const RESERVED_LABELS = new Set(['le', 'quantile', 'job', 'instance']);

/** Label sets a rule can produce at most: each label contributes its allowed values plus `other`. */
export function seriesBound(rule: Pick<MetricRule, 'labels'>): number {
  return (rule.labels ?? []).reduce((n, l) => n * ((l.allow ? l.allow.length : (l.maxValues ?? Infinity)) + 1), 1);
}

interface ReadonlyTelemetry {
  readonly metrics: readonly Readonly<MetricRule>[];
  readonly entities: readonly Readonly<EntityAggregateRule>[];
  readonly maxSeriesPerRule: number;
}

/**
 * Every problem of the telemetry section that the JSON schema cannot see. `kinds` maps declared
 * channel names to their kind, to refuse an aggregate of a channel that is not an entity channel.
 */
export function telemetryConfigProblems(t: ReadonlyTelemetry, kinds: ReadonlyMap<string, string> = new Map()): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  t.metrics.forEach((r, i) => {
    const at = `telemetry.metrics[${i}] (${r.name})`;
    if (!METRIC_NAME_RE.test(r.name)) {
      problems.push(`${at}: invalid metric name: use letters, digits, '_' and ':' and do not start with a digit`);
    }
    if (r.name.startsWith('streamgauge_')) {
      problems.push(`${at}: the prefix streamgauge_ is reserved for the collector's own metrics`);
    }
    if (names.has(r.name)) {
      problems.push(`${at}: metric name defined twice`);
    }
    names.add(r.name);
    if (!isChannelName(r.channel) && !isChannelPattern(r.channel)) {
      problems.push(`${at}: channel ${JSON.stringify(r.channel)} is neither a channel name nor a pattern`);
    }
    if (r.type === 'counter' && !r.name.endsWith('_total')) {
      problems.push(`${at}: a counter's name must end in _total`);
    }
    if (r.type !== 'counter' && r.name.endsWith('_total')) {
      problems.push(`${at}: only counters end in _total; rename the ${r.type}`);
    }
    if (r.type === 'gauge' && !r.value && r.aggregate !== 'count') {
      problems.push(`${at}: a gauge needs value (a field) or aggregate: count`);
    }
    if (r.type === 'histogram' && !r.value && !r.durationFrom) {
      problems.push(`${at}: a histogram needs value (a numeric field) or durationFrom (a time field)`);
    }
    if (r.type === 'histogram' && r.value && r.durationFrom) {
      problems.push(`${at}: value and durationFrom contradict each other: keep one`);
    }
    if (r.durationFrom && r.type !== 'histogram') {
      problems.push(`${at}: durationFrom applies only to histograms`);
    }
    if (r.aggregate && r.type !== 'gauge') {
      problems.push(`${at}: aggregate applies only to gauges`);
    }
    if (r.map && r.type !== 'gauge') {
      problems.push(`${at}: map applies only to gauges`);
    }
    if (r.buckets && r.type !== 'histogram') {
      problems.push(`${at}: buckets apply only to histograms`);
    }
    if (r.buckets && r.buckets.some((b, j) => j > 0 && b <= r.buckets![j - 1])) {
      problems.push(`${at}: buckets must be strictly increasing`);
    }
    if (r.scale !== undefined && (!Number.isFinite(r.scale) || r.scale === 0)) {
      problems.push(`${at}: scale must be a non-zero number`);
    }
    const kind = kinds.get(r.channel);
    if (kind === 'stream' && r.aggregate && r.aggregate !== 'last') {
      problems.push(`${at}: aggregate ${r.aggregate} needs a state or entity channel; ${r.channel} is a stream`);
    }
    if (kind && kind !== 'entity' && r.on && r.on !== 'upsert') {
      problems.push(`${at}: on: ${r.on} needs an entity channel; ${r.channel} is a ${kind} channel`);
    }
    const labelNames = new Set<string>();
    for (const l of r.labels ?? []) {
      if (!LABEL_NAME_RE.test(l.name) || l.name.startsWith('__') || RESERVED_LABELS.has(l.name)) {
        problems.push(`${at}: invalid label name ${JSON.stringify(l.name)} (letters, digits, '_'; not le, quantile, job, instance or __*)`);
      }
      if (labelNames.has(l.name)) {
        problems.push(`${at}: label ${l.name} defined twice`);
      }
      labelNames.add(l.name);
      if (!l.allow && l.maxValues === undefined) {
        problems.push(`${at}: label ${l.name} has neither allow (a list of values) nor maxValues: its cardinality would be unbounded`);
      }
      if (l.allow && l.maxValues !== undefined) {
        problems.push(`${at}: label ${l.name}: allow and maxValues contradict each other: keep one`);
      }
    }
    const bound = seriesBound(r);
    if (Number.isFinite(bound) && bound > t.maxSeriesPerRule) {
      problems.push(
        `${at}: its labels allow up to ${bound} series, over telemetry.maxSeriesPerRule (${t.maxSeriesPerRule}): shorten allow lists, lower maxValues or drop a label`,
      );
    }
  });
  const outputs = new Set<string>();
  t.entities.forEach((e, i) => {
    const at = `telemetry.entities[${i}] (${e.channel})`;
    if (!isChannelName(e.channel)) {
      problems.push(`${at}: channel must be a channel name (not a pattern)`);
    }
    if (!isChannelName(e.output)) {
      problems.push(`${at}: output ${JSON.stringify(e.output)} is not a channel name`);
    }
    if (e.output === e.channel) {
      problems.push(`${at}: output must differ from channel`);
    }
    if (outputs.has(e.output)) {
      problems.push(`${at}: output ${e.output} is used by two aggregates`);
    }
    outputs.add(e.output);
    const kind = kinds.get(e.channel);
    if (kind && kind !== 'entity') {
      problems.push(`${at}: aggregates need an entity channel; ${e.channel} is declared as ${kind}`);
    }
    const outKind = kinds.get(e.output);
    if (outKind && outKind !== 'state') {
      problems.push(`${at}: output ${e.output} is declared as ${outKind}; it must be a state channel (or undeclared)`);
    }
  });
  return problems;
}

/** The `telemetry` section of the configuration (registered in collector-config.ts). */
export const telemetrySection: ConfigSection<TelemetryConfig> = {
  key: 'telemetry',
  defaults: TELEMETRY_DEFAULTS,
  schema: telemetryConfigSchema,
};
