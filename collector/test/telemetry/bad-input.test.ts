/**
 * Bad input to everything telemetry adds: publishes to state/entity channels, the snapshot route,
 * and metric rules or aggregates in the config. Each is refused with a clear, exact error, and what
 * was accepted before stays (snapshots, aggregates and metrics unchanged).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '@streamgauge/protocol';
import { type CollectorProcess, publish, startCollector } from '../helpers/collector-process';
import { waitUntil } from '../helpers/deadlines';

const DEFINITIONS = [
  {
    name: 'app/status',
    kind: 'state',
    keyField: 'component',
    fields: [
      { name: 'component', type: 'string' },
      { name: 'status', type: 'string' },
    ],
  },
  {
    name: 'app/conns',
    kind: 'entity',
    keyField: 'id',
    fields: [
      { name: 'id', type: 'string' },
      { name: 'country', type: 'string' },
      { name: 'bitrate_bps', type: 'number' },
    ],
  },
  {
    name: 'app/log',
    kind: 'stream',
    fields: [
      { name: 'level', type: 'string' },
      { name: 'message', type: 'string' },
    ],
  },
];
const RULES = [
  {
    name: 'app_conns_active',
    help: 'Live connections.',
    type: 'gauge',
    channel: 'app/conns',
    aggregate: 'count',
    labels: [{ name: 'country', field: 'country', allow: ['US', 'DE'] }],
  },
  {
    name: 'app_log_total',
    help: 'Log lines.',
    type: 'counter',
    channel: 'app/log',
    labels: [{ name: 'level', field: 'level', allow: ['info', 'error'] }],
  },
];

describe('bad input to telemetry (real collector)', () => {
  let sg: CollectorProcess;
  beforeAll(async () => {
    sg = await startCollector({
      config: {
        channels: { definitions: DEFINITIONS },
        telemetry: {
          metrics: RULES,
          entities: [{ channel: 'app/conns', output: 'app/conns/agg', groupBy: ['country'], sum: ['bitrate_bps'] }],
          aggregatesIntervalMs: 50,
        },
      },
    });
    const r = await publish(sg.url, {
      messages: [
        { channel: 'app/status', data: { component: 'db', status: 'online' } },
        { channel: 'app/conns', data: { id: 'a', country: 'US', bitrate_bps: 100 } },
        { channel: 'app/conns', data: { id: 'b', country: 'DE', bitrate_bps: 200 } },
        { channel: 'app/log', data: { level: 'error', message: 'boom' } },
      ],
    });
    expect(r.status).toBe(200);
  });
  afterAll(async () => {
    await sg?.stop();
    sg?.cleanup();
  });

  const state = async () => {
    const snap = async (c: string) => ((await (await fetch(`${sg.url}/api/v1/snapshot?channel=${c}`)).json()) as any).messages;
    // The aggregates follow the entities on a timer: wait until their total counts the live
    // entities (a state), not for an interval. A wrongly stored entity would change both.
    return waitUntil('app/conns/agg caught up with app/conns', async () => {
      const conns = await snap('app/conns');
      const agg = await snap('app/conns/agg');
      if (agg.find((m: any) => m.key === 'total')?.data.count !== conns.length) {
        return undefined;
      }
      const metrics = (await (await fetch(`${sg.url}/metrics`)).text()).split('\n').filter((l) => l.startsWith('app_'));
      return { status: await snap('app/status'), conns, agg, metrics };
    });
  };

  test.each([
    {
      name: 'a missing key on an entity channel',
      item: { channel: 'app/conns', data: { country: 'US', bitrate_bps: 1 } },
      status: 400,
      code: ErrorCode.BadRequest,
      message: 'messages[1]: entity channel app/conns needs a key (1-256 characters) in "key" or data.id',
    },
    {
      name: 'a field of the wrong type',
      item: { channel: 'app/conns', data: { id: 'c', country: 'US', bitrate_bps: 'fast' } },
      status: 422,
      code: ErrorCode.SchemaMismatch,
      message: 'messages[1] on app/conns: field "bitrate_bps" must be number, got string "fast"',
    },
    {
      name: 'a ttl that is not a number',
      item: { channel: 'app/conns', ttl: '30', data: { id: 'c', country: 'US', bitrate_bps: 1 } },
      status: 400,
      code: ErrorCode.BadRequest,
      message: 'messages[1].ttl: must be a number of seconds > 0, got "30"',
    },
    {
      name: 'a negative ttl',
      item: { channel: 'app/conns', ttl: -1, data: { id: 'c', country: 'US', bitrate_bps: 1 } },
      status: 400,
      code: ErrorCode.BadRequest,
      message: 'messages[1].ttl: must be a number of seconds > 0, got -1',
    },
    {
      name: 'a ttl on a state channel',
      item: { channel: 'app/status', ttl: 5, data: { component: 'db', status: 'offline' } },
      status: 400,
      code: ErrorCode.BadRequest,
      message: 'messages[1]: ttl applies only to entity channels; app/status is a state channel',
    },
    {
      name: 'a delete on a state channel',
      item: { channel: 'app/status', key: 'db', delete: true, data: {} },
      status: 400,
      code: ErrorCode.BadRequest,
      message: 'messages[1]: delete applies only to entity channels; app/status is a state channel',
    },
    {
      name: 'a delete that is not a boolean',
      item: { channel: 'app/conns', key: 'a', delete: 'yes', data: {} },
      status: 400,
      code: ErrorCode.BadRequest,
      message: 'messages[1].delete: must be true or false, got "yes"',
    },
    {
      name: 'a key on a stream (events) channel',
      item: { channel: 'app/log', key: 'x', data: { level: 'info', message: 'hi' } },
      status: 400,
      code: ErrorCode.BadRequest,
      message: 'messages[1]: key and delete apply only to state and entity channels; app/log is a stream',
    },
  ])(
    'errors: $name is refused with $code, and the valid message in the same batch is not stored either',
    async ({ item, status, code, message }) => {
      const before = await state();
      const r = await publish(sg.url, {
        messages: [{ channel: 'app/conns', data: { id: 'z', country: 'DE', bitrate_bps: 999 } }, item],
      });
      expect(r.status).toBe(status);
      expect(r.body.error).toEqual({ code, message });
      expect(await state()).toEqual(before);
    },
  );

  test('errors: the snapshot route refuses a missing, unknown or stream channel with exact codes', async () => {
    const get = async (q: string) => {
      const r = await fetch(`${sg.url}/api/v1/snapshot${q}`);
      return { status: r.status, body: await r.json() };
    };
    expect(await get('')).toEqual({
      status: 400,
      body: { error: { code: ErrorCode.BadRequest, message: 'channel is required: /api/v1/snapshot?channel=attendance/components' } },
    });
    expect(await get('?channel=app/status&limit=0')).toEqual({
      status: 400,
      body: { error: { code: ErrorCode.BadRequest, message: 'limit must be an integer from 1 to 10000 (limits.historyMaxLimit)' } },
    });
    expect(await get('?channel=app/nope')).toEqual({
      status: 404,
      body: { error: { code: ErrorCode.UnknownChannel, message: 'unknown channel app/nope' } },
    });
    expect(await get('?channel=app/log')).toEqual({
      status: 400,
      body: {
        error: {
          code: ErrorCode.BadRequest,
          message: 'app/log is a stream channel: snapshots exist for state and entity channels; use /api/v1/messages?channel=app/log',
        },
      },
    });
  });

  test('behaviour: values outside a label allowlist are counted under "other"', async () => {
    await publish(sg.url, { channel: 'app/conns', data: { id: 'fr', country: 'FR', bitrate_bps: 1 } });
    const text = await (await fetch(`${sg.url}/metrics`)).text();
    expect(text).toContain('app_conns_active{country="other"} 1');
    expect(text).toContain('app_conns_active{country="US"} 1');
    expect(text).not.toContain('country="FR"');
    // Allowlisted counter series exist from the start, at 0.
    expect(text).toContain('app_log_total{level="info"} 0');
    expect(text).toContain('app_log_total{level="error"} 1');
  });
});

describe('bad telemetry configuration is refused at startup', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  async function refused(config: Record<string, unknown>): Promise<string> {
    const dataDir = mkdtempSync(join(tmpdir(), 'sg-telemetry-bad-'));
    dirs.push(dataDir);
    let started: CollectorProcess | undefined;
    try {
      // The collector refuses the config and exits: startCollector fails as soon as it does.
      started = await startCollector({ config, dataDir });
    } catch (err) {
      return (err as Error).message;
    }
    await started.stop();
    throw new Error('the collector started with a configuration it should refuse');
  }

  const conns = { name: 'app/conns', kind: 'entity', keyField: 'id' };

  test('errors: a label with neither allow nor maxValues (unbounded cardinality)', async () => {
    const out = await refused({
      channels: { definitions: [conns] },
      telemetry: {
        metrics: [
          {
            name: 'conns_by_ip',
            help: 'h',
            type: 'gauge',
            channel: 'app/conns',
            aggregate: 'count',
            labels: [{ name: 'ip', field: 'ip' }],
          },
        ],
      },
    });
    expect(out).toContain('invalid configuration (telemetry):');
    expect(out).toContain(
      'telemetry.metrics[0] (conns_by_ip): label ip has neither allow (a list of values) nor maxValues: its cardinality would be unbounded',
    );
  });

  test('errors: labels whose combinations exceed telemetry.maxSeriesPerRule', async () => {
    const out = await refused({
      telemetry: {
        metrics: [
          {
            name: 'x_total',
            help: 'h',
            type: 'counter',
            channel: 'app/**',
            labels: [
              { name: 'a', field: 'a', maxValues: 100 },
              { name: 'b', field: 'b', maxValues: 100 },
            ],
          },
        ],
      },
    });
    expect(out).toContain(
      'telemetry.metrics[0] (x_total): its labels allow up to 10201 series, over telemetry.maxSeriesPerRule (1000): shorten allow lists, lower maxValues or drop a label',
    );
  });

  test('errors: an unknown channel kind and an unknown rule type', async () => {
    const out = await refused({
      channels: { definitions: [{ name: 'app/q', kind: 'queue' }] },
      telemetry: { metrics: [{ name: 'q', help: 'h', type: 'summary', channel: 'app/q' }] },
    });
    expect(out).toContain('channels.definitions.0.kind: must be one of "stream", "state", "entity"');
    expect(out).toContain('telemetry.metrics.0.type: must be one of "counter", "gauge", "histogram"');
  });

  test('errors: aggregates of a channel that is not an entity channel, and a counter not ending in _total', async () => {
    const out = await refused({
      channels: { definitions: [{ name: 'app/s', kind: 'state', keyField: 'k' }] },
      telemetry: {
        entities: [{ channel: 'app/s', output: 'app/s/agg', groupBy: ['k'] }],
        metrics: [{ name: 'scans', help: 'h', type: 'counter', channel: 'app/s' }],
      },
    });
    expect(out).toContain('telemetry.entities[0] (app/s): aggregates need an entity channel; app/s is declared as state');
    expect(out).toContain("telemetry.metrics[0] (scans): a counter's name must end in _total");
  });
});
