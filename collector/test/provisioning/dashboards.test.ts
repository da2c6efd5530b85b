/** Dashboards and alerting files point only at what is provisioned. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, dashboards, panels, queries, readYaml } from './provisioned-files';

const datasources: any[] = readYaml('provisioning/datasources/datasources.yaml').datasources;
const provisionedUids = new Map(datasources.map((d) => [d.uid, d.type]));
/** Built into Grafana: its own annotations/alert list source, mixed panels, server-side expressions. */
const BUILT_IN = new Map([
  ['-- Grafana --', 'grafana'],
  ['-- Mixed --', 'datasource'],
  ['__expr__', '__expr__'],
]);
const pluginId = JSON.parse(readFileSync(join(ROOT, 'plugin/src/plugin.json'), 'utf8')).id;

describe('provisioned data sources', () => {
  test('the Streamgauge data source has a fixed uid, the plugin id as type, and its API key only in secureJsonData from the environment', () => {
    const sg = datasources.find((d) => d.type === pluginId);
    expect(sg).toMatchObject({
      uid: 'streamgauge',
      url: 'http://collector:8080',
      jsonData: { accessMode: 'proxy', collectorUrl: 'http://collector:8080' },
    });
    expect(sg.secureJsonData).toEqual({ apiKey: '$SG_GRAFANA_API_KEY' });
    expect(JSON.stringify(sg.jsonData)).not.toMatch(/key/i);
  });

  test('Prometheus has a fixed uid', () => {
    expect(datasources.find((d) => d.type === 'prometheus')).toMatchObject({ uid: 'prometheus', url: 'http://prometheus:9090' });
  });
});

describe('dashboards', () => {
  const all = dashboards();

  test('there is a dashboard for each job we replace', () => {
    expect(all.map((d) => d.json.title).sort()).toEqual([
      'Chain monitor',
      'Pipeline and data quality',
      'Service events and health',
      'Streamgauge collector',
      'Streams and connections',
    ]);
  });

  test('every panel and target data source uid is provisioned (or built into Grafana) with a matching type', () => {
    const bad: string[] = [];
    const check = (where: string, ds: any) => {
      if (!ds) {
        return;
      }
      const type = provisionedUids.get(ds.uid) ?? BUILT_IN.get(ds.uid);
      if (type === undefined || type !== ds.type) {
        bad.push(`${where}: ${JSON.stringify(ds)}`);
      }
    };
    for (const { file, json } of all) {
      for (const p of panels(json)) {
        check(`${file} panel "${p.title}"`, p.datasource);
      }
    }
    for (const q of queries()) {
      check(q.where, q.target.datasource);
    }
    expect(bad).toEqual([]);
    expect(queries().length).toBeGreaterThan(50);
  });

  test('uids and panel ids are unique and panels fit the 24-column grid', () => {
    const uids = all.map((d) => d.json.uid);
    expect(new Set(uids).size).toBe(uids.length);
    for (const { json } of all) {
      const ps = panels(json);
      expect(new Set(ps.map((p) => p.id)).size).toBe(ps.length);
      for (const p of ps) {
        expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      }
    }
  });

  test('live targets name a channel and the query fields the plugin reads (plugin/src/types.ts SgQuery)', () => {
    const liveTargets = queries().filter((q) => q.target.datasource?.uid === 'streamgauge');
    expect(liveTargets.length).toBeGreaterThan(20);
    const sgQueryKeys = new Set([
      'refId',
      'datasource',
      'channel',
      'live',
      'fields',
      'filter',
      'bufferSize',
      'windowSeconds',
      'textField',
      'hide',
      'view',
      'maxKeys',
    ]);
    for (const q of liveTargets) {
      expect(typeof q.target.channel).toBe('string');
      expect(Object.keys(q.target).filter((k) => !sgQueryKeys.has(k))).toEqual([]);
    }
  });

  test('state and entity channels are shown as current state (one row per key), never as a log of updates', () => {
    const keyed = new Set([
      'attendance/components',
      'attendance/sync',
      'dns/health',
      'pipeline/quality',
      'iptv/connections',
      'iptv/streams',
      'iptv/connections/aggregates',
      'alerts/active',
    ]);
    const targets = queries().filter((q) => q.target.datasource?.uid === 'streamgauge' && keyed.has(q.target.channel));
    expect(targets.length).toBeGreaterThanOrEqual(9);
    for (const q of targets) {
      expect(q.target.view).toBe('current');
    }
  });

  test('the chain monitor shows reorgs as annotations from the reorgs channel', () => {
    const chain = all.find((d) => d.json.uid === 'sg-chain-monitor')!.json;
    const reorgs = chain.annotations.list.find((a: any) => a.name === 'Reorgs');
    expect(reorgs).toMatchObject({ datasource: { uid: 'streamgauge' }, enable: true, target: { channel: 'evm/local/reorgs' } });
  });

  test('the streams dashboard has a Geomap on the connections channel using its coordinates', () => {
    const d = all.find((x) => x.json.uid === 'sg-streams-connections')!.json;
    const geomap = panels(d).find((p) => p.type === 'geomap');
    expect(geomap.targets[0].channel).toBe('iptv/connections');
    expect(geomap.options.layers[0].location).toEqual({ mode: 'coords', latitude: 'latitude', longitude: 'longitude' });
  });
});

describe('alerting provisioning', () => {
  const rules = readYaml('provisioning/alerting/rules.yaml');
  const contactPoints = readYaml('provisioning/alerting/contactpoints.yaml');
  const policies = readYaml('provisioning/alerting/policies.yaml');

  test('rules use apiVersion 1, provisioned data sources, and a threshold condition', () => {
    expect(rules.apiVersion).toBe(1);
    for (const r of rules.groups.flatMap((g: any) => g.rules)) {
      expect(r.condition).toBe('C');
      for (const d of r.data) {
        expect(provisionedUids.has(d.datasourceUid) || d.datasourceUid === '__expr__').toBe(true);
      }
      expect(r.data.map((d: any) => d.model.type ?? 'query')).toEqual(['query', 'reduce', 'threshold']);
    }
  });

  test('the Grafana rules and the Prometheus rules have the same PromQL and thresholds', () => {
    const prom = new Map(readYaml('prometheus/rules.yml').groups[0].rules.map((r: any) => [r.annotations.grafana_uid, r.expr]));
    const grafana = rules.groups[0].rules;
    expect(grafana).toHaveLength(prom.size);
    for (const r of grafana) {
      const ev = r.data[2].model.conditions[0].evaluator;
      expect(`(${r.data[0].model.expr}) ${ev.type === 'gt' ? '>' : '<'} ${ev.params[0]}`).toBe(prom.get(r.uid));
    }
  });

  test("the issue's eight alerts are all there", () => {
    expect(rules.groups[0].rules.map((r: any) => r.uid).sort()).toEqual([
      'sg-chain-head-stale',
      'sg-collector-down',
      'sg-component-offline',
      'sg-deep-reorg',
      'sg-scan-success-low',
      'sg-slow-client-disconnects',
      'sg-sync-failures-high',
      'sg-sync-queue-high',
    ]);
  });

  test("the notification policy sends to a provisioned contact point, a webhook to the collector's alert endpoint", () => {
    const names = new Set(contactPoints.contactPoints.map((c: any) => c.name));
    const receivers = [policies.policies[0].receiver, ...policies.policies[0].routes.map((r: any) => r.receiver)];
    for (const r of receivers) {
      expect(names.has(r)).toBe(true);
    }
    const webhook = contactPoints.contactPoints[0].receivers[0];
    expect(webhook).toMatchObject({
      type: 'webhook',
      settings: { url: 'http://collector:8080/api/v1/alerts/webhook', httpMethod: 'POST' },
    });
  });

  test('no provisioning value uses $labels (Grafana would interpolate it as an environment variable)', () => {
    const text = readFileSync(join(ROOT, 'provisioning/alerting/rules.yaml'), 'utf8');
    expect(text).not.toContain('$labels');
    expect(text).not.toContain('$value');
  });
});
