/**
 * The demo generator: its messages fit the demo channels' declared schemas, keyed channels get
 * keys, connections sit on real city coordinates; and a real collector started with the demo fills
 * every demo channel and exposes every demo metric.
 */
import { checkAgainstSchema } from '../../src/channels/schema';
import { DEMO_CITIES } from '../../src/sources/demo/cities';
import { FourSystems, seededRandom } from '../../src/sources/demo/four-systems';
import { DEMO_CHANNEL_NAMES, DEMO_CHANNELS, DEMO_METRIC_RULES } from '../../src/telemetry/demo-config';
import { type CollectorProcess, startCollector } from '../helpers/collector-process';
import { EVENT_TIMEOUT_MS } from '../helpers/deadlines';

describe('demo generator (pure)', () => {
  test('behaviour: twenty minutes of demo traffic fit the declared schemas, with keys where needed', () => {
    const gen = new FourSystems({}, seededRandom(7));
    const defs = new Map(DEMO_CHANNELS.map((d) => [d.name, d]));
    const cities = new Map(DEMO_CITIES.map((c) => [c.city, c]));
    const seen = new Set<string>();
    const problems: string[] = [];
    // Connections as the collector sees them: deleted, or expired 30 s after their last upsert.
    const lastSeen = new Map<string, number>();
    let maxLive = 0;
    for (let i = 0; i < 1200; i++) {
      for (const it of gen.tick(1_700_000_000_000 + i * 1000)) {
        const d = defs.get(it.channel);
        if (!d) {
          problems.push(`unknown channel ${it.channel}`);
          continue;
        }
        seen.add(it.channel);
        const problem = checkAgainstSchema({ fields: d.fields as never, declared: true, keyField: d.keyField }, it.data, 64).problem;
        if (problem) {
          problems.push(`${it.channel}: ${problem}`);
        }
        if ((d.kind === 'state' || d.kind === 'entity') && typeof (it.key ?? it.data[d.keyField!]) !== 'string') {
          problems.push(`${it.channel}: no key`);
        }
        if (it.channel.endsWith('/events') && !['info', 'warning', 'error', 'critical'].includes(it.data.level as string)) {
          problems.push(`${it.channel}: level ${String(it.data.level)}`);
        }
        if (it.channel === 'iptv/connections') {
          const key = String(it.key ?? it.data.id);
          if (it.delete) {
            lastSeen.delete(key);
          } else {
            lastSeen.set(key, i);
            const city = cities.get(it.data.city as string);
            if (
              !city ||
              city.country !== it.data.country ||
              city.latitude !== it.data.latitude ||
              city.longitude !== it.data.longitude ||
              it.ttl !== 30
            ) {
              problems.push(`connection ${key} not on a real city, or no ttl: ${JSON.stringify(it)}`);
            }
          }
        }
      }
      for (const [k, at] of lastSeen) {
        if (at < i - 30) {
          lastSeen.delete(k);
        }
      }
      maxLive = Math.max(maxLive, lastSeen.size);
    }
    expect(problems.slice(0, 5)).toEqual([]);
    expect([...seen].sort()).toEqual(DEMO_CHANNELS.map((d) => d.name).sort());
    expect(maxLive).toBeGreaterThan(10);
    expect(maxLive).toBeLessThan(200);
  });
});

describe('demo traffic (real collector with --demo)', () => {
  let sg: CollectorProcess;
  beforeAll(async () => {
    sg = await startCollector({ args: ['--demo'], config: { demo: { intervalMs: 100 } } });
  });
  afterAll(async () => {
    await sg?.stop();
    sg?.cleanup();
  });

  test('behaviour: every demo channel fills with messages and every demo metric is exposed', async () => {
    const expected = DEMO_CHANNEL_NAMES.filter((n) => n !== 'alerts/active');
    const deadline = Date.now() + EVENT_TIMEOUT_MS;
    let empty: string[] = expected;
    while (Date.now() < deadline && empty.length) {
      const { channels } = (await (await fetch(`${sg.url}/api/v1/channels`)).json()) as any;
      const byName = new Map(channels.map((c: any) => [c.name, c]));
      empty = expected.filter((n) => !((byName.get(n) as any)?.lastOffset > 0));
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(empty).toEqual([]);
    const text = await (await fetch(`${sg.url}/metrics`)).text();
    for (const r of [...DEMO_METRIC_RULES.map((x) => x.name), 'streamgauge_alerts_firing']) {
      expect(text).toContain(`# TYPE ${r} `);
    }
    const kinds = ((await (await fetch(`${sg.url}/api/v1/channels`)).json()) as any).channels.filter((c: any) =>
      DEMO_CHANNEL_NAMES.includes(c.name),
    );
    expect(Object.fromEntries(kinds.map((c: any) => [c.name, c.kind]))).toMatchObject({
      'iptv/connections': 'entity',
      'iptv/connections/aggregates': 'state',
      'alerts/active': 'state',
      'attendance/sync': 'state',
      'attendance/scans': 'stream',
    });
  });
});
