/**
 * Live aggregates of one entity channel (docs/channels-entities.md): a `total` row and one row per
 * value of each groupBy field (`country=US`, `stream=news-hd`), each with the number of live
 * entities, sums of numeric fields, and duration stats of the entities that ended (deleted or
 * expired). Rows are published to a state channel keyed by `dimension`; changes are gathered and
 * published every `aggregatesIntervalMs`, only for rows that changed.
 */
import type { PublishItem } from '@streamgauge/protocol';
import type { EntityAggregateRule } from './config';
import { numberField, textField, timeField } from './field-values';
import type { KeyRecord } from './key-store';

export interface AggregateRow {
  dimension: string;
  group: string;
  value: string;
  count: number;
  ended: number;
  avg_duration_s: number | null;
  max_duration_s: number | null;
  [sum: string]: string | number | null;
}

interface Group {
  group: string;
  value: string;
  count: number;
  sums: number[];
  ended: number;
  durationSum: number;
  durationMax: number | null;
}

export class EntityAggregator {
  private readonly groups = new Map<string, Group>();
  private readonly valuesPerField = new Map<string, Set<string>>();
  private readonly dirty = new Set<string>();
  private readonly sumFields: string[];
  private readonly maxGroups: number;

  constructor(readonly rule: Readonly<EntityAggregateRule>) {
    this.sumFields = [...(rule.sum ?? [])];
    this.maxGroups = rule.maxGroups ?? 1_000;
    this.group('total', 'total', '');
  }

  /** The output channel's definition: a state channel keyed by dimension. */
  outputDefinition() {
    return {
      name: this.rule.output,
      kind: 'state' as const,
      keyField: 'dimension',
      description: `Live aggregates of ${this.rule.channel}: totals and per ${this.rule.groupBy.join(', ')}.`,
      fields: [
        { name: 'dimension', type: 'string' as const, description: 'total, or <field>=<value>' },
        { name: 'group', type: 'string' as const, description: `total | ${this.rule.groupBy.join(' | ')}` },
        { name: 'value', type: 'string' as const },
        { name: 'count', type: 'number' as const, description: 'Live entities' },
        ...this.sumFields.map((f) => ({ name: f, type: 'number' as const, description: `Sum of ${f} over live entities` })),
        { name: 'ended', type: 'number' as const, description: 'Entities deleted or expired since the collector started' },
        { name: 'avg_duration_s', type: 'number' as const, unit: 's' },
        { name: 'max_duration_s', type: 'number' as const, unit: 's' },
      ],
    };
  }

  private group(dimension: string, group: string, value: string): Group {
    let g = this.groups.get(dimension);
    if (!g) {
      g = { group, value, count: 0, sums: this.sumFields.map(() => 0), ended: 0, durationSum: 0, durationMax: null };
      this.groups.set(dimension, g);
    }
    return g;
  }

  /** The dimensions an entity belongs to; values past maxGroups per field count under `other`. */
  private dimensionsOf(data: Record<string, unknown>): [string, string, string][] {
    const out: [string, string, string][] = [['total', 'total', '']];
    for (const f of this.rule.groupBy) {
      let v = textField(data, f);
      let seen = this.valuesPerField.get(f);
      if (!seen) {
        this.valuesPerField.set(f, (seen = new Set()));
      }
      if (!seen.has(v)) {
        if (seen.size >= this.maxGroups) {
          v = 'other';
        } else {
          seen.add(v);
        }
      }
      out.push([`${f}=${v}`, f, v]);
    }
    return out;
  }

  private add(data: Record<string, unknown>, sign: 1 | -1): void {
    const sums = this.sumFields.map((f) => numberField(data, f) ?? 0);
    for (const [dim, group, value] of this.dimensionsOf(data)) {
      const g = this.group(dim, group, value);
      g.count += sign;
      sums.forEach((s, i) => (g.sums[i] += sign * s));
      this.dirty.add(dim);
    }
  }

  /** An upsert of an entity (prev: its record before, if it was live). */
  upsert(data: Record<string, unknown>, prev: KeyRecord | undefined): void {
    if (prev) {
      this.add(prev.data, -1);
    }
    this.add(data, 1);
  }

  /** A delete or expiry of a live entity, at server time `ts`. */
  remove(prev: KeyRecord, ts: number): void {
    this.add(prev.data, -1);
    const start = (this.rule.durationFrom ? timeField(prev.data, this.rule.durationFrom) : undefined) ?? prev.firstTs;
    const d = Math.max(0, (ts - start) / 1000);
    for (const [dim] of this.dimensionsOf(prev.data)) {
      const g = this.groups.get(dim)!;
      g.ended++;
      g.durationSum += d;
      g.durationMax = g.durationMax === null ? d : Math.max(g.durationMax, d);
    }
  }

  row(dimension: string): AggregateRow | undefined {
    const g = this.groups.get(dimension);
    if (!g) {
      return undefined;
    }
    const row: AggregateRow = {
      dimension,
      group: g.group,
      value: g.value,
      count: g.count,
      ended: g.ended,
      avg_duration_s: g.ended ? round(g.durationSum / g.ended) : null,
      max_duration_s: g.durationMax === null ? null : round(g.durationMax),
    };
    // Sums of integers stay exact; rounding only hides float residue from add-then-subtract.
    this.sumFields.forEach((f, i) => (row[f] = round(g.sums[i])));
    return row;
  }

  /** Rows changed since the last call, as publish items (and marks them clean). */
  takeChanges(): PublishItem[] {
    const items: PublishItem[] = [];
    for (const dim of this.dirty) {
      const row = this.row(dim);
      if (row) {
        items.push({ channel: this.rule.output, data: row });
      }
    }
    this.dirty.clear();
    return items;
  }

  /** Makes sure a row exists (a stale row from a previous run: published as zero). */
  ensureRow(dimension: string, group: string, value: string): void {
    this.group(dimension, group, value);
  }

  /** Every dimension currently known (to zero out stale rows left by a previous run). */
  dimensions(): Set<string> {
    return new Set(this.groups.keys());
  }

  markDirty(dimensions: string[]): void {
    for (const d of dimensions) {
      this.dirty.add(d);
    }
  }

  markAllDirty(): void {
    for (const d of this.groups.keys()) {
      this.dirty.add(d);
    }
  }
}

function round(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}
