/**
 * Reads the committed provisioning files (what Grafana and Prometheus actually load), so the
 * checks run on the files and not on the TypeScript that generated them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { promqlMetricNames } from '../../../dashboards/src/promql-names';

export const ROOT = resolve(__dirname, '../../..');

export const readYaml = (rel: string): any => parse(readFileSync(join(ROOT, rel), 'utf8'));

export interface DashboardFile {
  file: string;
  json: any;
}

export function dashboards(): DashboardFile[] {
  const dir = join(ROOT, 'provisioning/dashboards/streamgauge');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ file: `provisioning/dashboards/streamgauge/${f}`, json: JSON.parse(readFileSync(join(dir, f), 'utf8')) }));
}

/** Every panel (rows flattened) of a dashboard. */
export function panels(d: any): any[] {
  return (d.panels ?? []).flatMap((p: any) => [p, ...(p.panels ?? [])]);
}

/** Every target of every panel and every annotation query, with where it comes from. */
export function queries(): { where: string; panelDs: any; target: any }[] {
  const out: { where: string; panelDs: any; target: any }[] = [];
  for (const { file, json } of dashboards()) {
    for (const p of panels(json)) {
      for (const t of p.targets ?? []) {
        out.push({ where: `${file} panel "${p.title}" ${t.refId}`, panelDs: p.datasource, target: t });
      }
    }
    for (const a of json.annotations?.list ?? []) {
      if (a.target) {
        out.push({ where: `${file} annotation "${a.name}"`, panelDs: a.datasource, target: { datasource: a.datasource, ...a.target } });
      }
    }
  }
  return out;
}

/** PromQL expressions: dashboard Prometheus targets, Grafana alert rule queries, Prometheus rules. */
export function promqlExpressions(): { where: string; expr: string }[] {
  const out = queries()
    .filter((q) => typeof q.target.expr === 'string')
    .map((q) => ({ where: q.where, expr: q.target.expr as string }));
  for (const g of readYaml('provisioning/alerting/rules.yaml').groups) {
    for (const r of g.rules) {
      for (const d of r.data) {
        if (typeof d.model?.expr === 'string') {
          out.push({ where: `provisioning/alerting/rules.yaml ${r.uid}`, expr: d.model.expr });
        }
      }
    }
  }
  for (const g of readYaml('prometheus/rules.yml').groups) {
    for (const r of g.rules) {
      out.push({ where: `prometheus/rules.yml ${r.alert}`, expr: r.expr });
    }
  }
  return out;
}

/** Metric names Prometheus makes itself (not exposed by the collector). */
export const PROMETHEUS_OWN = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);

/** Metric name → where it is used. */
export function metricUses(): Map<string, string[]> {
  const uses = new Map<string, string[]>();
  for (const { where, expr } of promqlExpressions()) {
    for (const name of promqlMetricNames(expr)) {
      uses.set(name, [...(uses.get(name) ?? []), where]);
    }
  }
  return uses;
}

/** Channels the plugin targets query (panels and annotations). */
export function queriedChannels(): Map<string, string[]> {
  const uses = new Map<string, string[]>();
  for (const q of queries()) {
    if (typeof q.target.channel === 'string') {
      uses.set(q.target.channel, [...(uses.get(q.target.channel) ?? []), q.where]);
    }
  }
  return uses;
}
