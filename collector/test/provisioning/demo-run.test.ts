/**
 * `npm run demo` for real: the dev chain, its traffic, the collector with deploy/collector/demo.yaml
 * and Prometheus with prometheus/rules.yml, on free ports. While it runs: every demo channel has
 * data, every channel a dashboard queries is published, every metric name in a dashboard or alert
 * rule is exposed by the collector, and Prometheus has scraped them. Then Ctrl-C (SIGINT to the
 * process group, as a terminal sends it) stops everything, the command exits 0 and the traffic
 * generator prints no failed request.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_CHANNEL_NAMES } from '../../src/telemetry/demo-config';
import { metricFamily } from '../../../dashboards/src/promql-names';
import { freePort } from '../helpers/collector-process';
import { PROMETHEUS_OWN, ROOT, metricUses, queriedChannels } from './provisioned-files';

// Start (up to 60 s on a loaded machine) + about 20 s of traffic + checks + shutdown.
jest.setTimeout(180_000);

const EVM_CHANNELS = ['blocks', 'transactions', 'events', 'reorgs', 'status'].map((l) => `evm/local/${l}`);
/** Filled by Grafana's contact point (docker-compose), which the local demo does not run. */
const ALERTS_CHANNEL = 'alerts/active';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function json(url: string, init?: RequestInit): Promise<any> {
  const r = await fetch(url, init);
  if (!r.ok) {
    throw new Error(`${url}: HTTP ${r.status} ${await r.text()}`);
  }
  return r.json();
}

async function channelCounts(url: string): Promise<Map<string, number>> {
  const body = await json(`${url}/api/v1/channels`);
  return new Map(body.channels.map((c: any) => [c.name, c.count]));
}

/** Metric families (from `# TYPE`) and names with at least one sample. */
async function exposition(url: string): Promise<{ families: Set<string>; sampled: Set<string> }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const families = new Set<string>();
  const sampled = new Set<string>();
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) /.exec(line);
    if (t) {
      families.add(t[1]);
    } else if (line && !line.startsWith('#')) {
      sampled.add(line.split(/[{ ]/)[0]);
    }
  }
  return { families, sampled };
}

describe('npm run demo', () => {
  let proc: ChildProcess;
  let out = '';
  let dataDir: string;
  let collector: string;
  let chain: string;
  let prometheus: string;
  let exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sg-demo-'));
    const [port, chainPort, promPort] = [await freePort(), await freePort(), await freePort()];
    collector = `http://127.0.0.1:${port}`;
    chain = `http://127.0.0.1:${chainPort}`;
    prometheus = `http://127.0.0.1:${promPort}`;
    proc = spawn('npm', ['run', 'demo'], {
      cwd: ROOT,
      // Own process group: Ctrl-C is simulated by signalling the whole group, and cleanup can kill it.
      detached: true,
      env: {
        ...process.env,
        SG_DEMO_PORT: String(port),
        SG_DEMO_CHAIN_PORT: String(chainPort),
        SG_DEMO_PROMETHEUS_PORT: String(promPort),
        SG_DEMO_DATA_DIR: dataDir,
        SG_DEMO_SCRAPE_INTERVAL: '1s',
        SG_DEMO_BLOCK_MS: '1000',
        // Make a reorg happen within the run, so the reorgs channel and metrics have data.
        SG_DEMO_REORG_EVERY_S: '6',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    exit = new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal })));
    const deadline = Date.now() + 60_000;
    while (!out.includes('Ctrl-C stops everything')) {
      if (proc.exitCode !== null || Date.now() > deadline) {
        throw new Error(`demo did not start:\n${out}`);
      }
      await sleep(200);
    }
    // About 20 s of demo traffic (a few rare channels, like attendance/events, may need longer:
    // wait up to 50 s for every channel to have something).
    const started = Date.now();
    while (Date.now() - started < 50_000) {
      const counts = await channelCounts(collector);
      if (
        Date.now() - started > 20_000 &&
        [...DEMO_CHANNEL_NAMES, ...EVM_CHANNELS].every((c) => c === ALERTS_CHANNEL || (counts.get(c) ?? 0) > 0)
      ) {
        break;
      }
      await sleep(1_000);
    }
  });

  afterAll(async () => {
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      try {
        process.kill(-proc.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      await exit;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('it prints the URLs of the collector, the dev chain and Prometheus', () => {
    expect(out).toContain(`collector   ${collector}`);
    expect(out).toContain(`dev chain   ${chain}`);
    expect(out).toContain(`prometheus  ${prometheus}`);
  });

  test('every demo channel and every channel of the local chain has data', async () => {
    const counts = await channelCounts(collector);
    const expected = [...DEMO_CHANNEL_NAMES, ...EVM_CHANNELS].filter((c) => c !== ALERTS_CHANNEL);
    expect(expected.length).toBeGreaterThanOrEqual(15);
    expect(expected.filter((c) => !((counts.get(c) ?? 0) > 0))).toEqual([]);
    // Declared even before the first alert arrives, so its panel shows the right columns.
    expect(counts.has(ALERTS_CHANNEL)).toBe(true);
  });

  test('contract events come from the Badge contract the traffic script deployed', async () => {
    const body = await json(`${collector}/api/v1/messages?channel=evm/local/events&tail=1&limit=5`);
    expect(body.messages.length).toBeGreaterThan(0);
    expect(body.messages.map((m: any) => m.data.contract)).toEqual(body.messages.map(() => 'badge'));
    expect(['Transfer', 'CheckIn']).toContain(body.messages[0].data.event);
  });

  test('the alerts channel fills when a Grafana contact point posts to the collector webhook', async () => {
    // The local demo runs no Grafana: this stands in for its webhook contact point
    // (provisioning/alerting/contactpoints.yaml) with Grafana's payload shape.
    const r = await fetch(`${collector}/api/v1/alerts/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        receiver: 'streamgauge-collector',
        status: 'firing',
        orgId: 1,
        title: '[FIRING:1] Sync queue over 50',
        state: 'alerting',
        alerts: [
          {
            status: 'firing',
            labels: { alertname: 'Sync queue over 50', severity: 'warning', source: 'streamgauge' },
            annotations: { summary: 'The attendance sync queue holds more than 50 records.' },
            startsAt: new Date().toISOString(),
            endsAt: '0001-01-01T00:00:00Z',
            fingerprint: 'demo-test-1',
            generatorURL: 'http://localhost:3000/alerting/grafana/sg-sync-queue-high/view',
          },
        ],
      }),
    });
    expect(r.status).toBe(200);
    const counts = await channelCounts(collector);
    expect(counts.get(ALERTS_CHANNEL)).toBeGreaterThan(0);
  });

  test('every channel a dashboard queries is published by the demo', async () => {
    const counts = await channelCounts(collector);
    const queried = queriedChannels();
    expect(queried.size).toBeGreaterThanOrEqual(15);
    const silent = [...queried.entries()].filter(([c]) => !((counts.get(c) ?? 0) > 0)).map(([c, where]) => `${c} (${where[0]})`);
    expect(silent).toEqual([]);
  });

  test('every metric name in a dashboard or alert rule is exposed by the running collector', async () => {
    const { families } = await exposition(collector);
    const uses = metricUses();
    expect(uses.size).toBeGreaterThanOrEqual(40);
    const unknown = [...uses.entries()]
      .filter(([name]) => !PROMETHEUS_OWN.has(name) && metricFamily(name, families) === undefined)
      .map(([name, where]) => `${name} (${where[0]})`);
    expect(unknown).toEqual([]);
  });

  test('Prometheus scrapes the collector, loads the rules, and has every dashboard metric the collector has samples of', async () => {
    const up = await json(`${prometheus}/api/v1/query?query=${encodeURIComponent('up{job="streamgauge-collector"}')}`);
    expect(up.data.result.map((r: any) => r.value[1])).toEqual(['1']);

    const rules = await json(`${prometheus}/api/v1/rules`);
    const loaded = rules.data.groups.flatMap((g: any) => g.rules);
    expect(loaded).toHaveLength(8);
    expect(loaded.filter((r: any) => r.health !== 'ok').map((r: any) => `${r.name}: ${r.lastError}`)).toEqual([]);

    const { sampled } = await exposition(collector);
    const wanted = [...metricUses().keys()].filter((n) => sampled.has(n));
    expect(wanted.length).toBeGreaterThanOrEqual(30);
    const q = `group by (__name__) ({__name__=~"${wanted.join('|')}"})`;
    let have = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const body = await json(`${prometheus}/api/v1/query?query=${encodeURIComponent(q)}`);
      have = new Set(body.data.result.map((r: any) => r.metric.__name__));
      if (wanted.every((n) => have.has(n))) {
        break;
      }
      await sleep(500);
    }
    expect(wanted.filter((n) => !have.has(n))).toEqual([]);
  });

  test('Ctrl-C stops every part, newest first, and the command exits 0 without error noise', async () => {
    const before = out.length;
    process.kill(-proc.pid!, 'SIGINT');
    const { code, signal } = await exit;
    // What a terminal shows after Ctrl-C: npm's exit code is the launcher's, 0 after a clean stop.
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    const stopped = out.split('\n').filter((l) => / stopped$/.test(l));
    expect(stopped).toEqual(['[demo] prometheus stopped', '[demo] collector stopped', '[demo] traffic stopped', '[demo] chain stopped']);
    expect(out).not.toContain('exited unexpectedly');
    // The traffic generator is stopped before the chain: none of its requests can fail on the way out.
    expect(out.slice(before)).not.toMatch(/HTTP request failed|ECONNREFUSED|fetch failed|socket hang up/);
    for (const url of [`${collector}/readyz`, chain, `${prometheus}/-/ready`]) {
      await expect(fetch(url)).rejects.toThrow();
    }
  });
});
