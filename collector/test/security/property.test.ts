/**
 * Property-based tests (fast-check): 10,000 generated inputs each at the WebSocket frame handler
 * and at the publish validator, in-process so that a crash or an unhandled rejection is seen.
 * Properties: the collector answers every input, every refusal carries a documented code (and
 * over REST the HTTP status that code documents), and the connection is never closed by input
 * that fits in ws.maxPayloadBytes.
 */
import fc from 'fast-check';
import { ERROR_HTTP_STATUS, ErrorCode } from '@streamgauge/protocol';
import { buildApp, type StreamgaugeApp } from '../../src/app';
import { resolveConfig } from '../../src/collector-config';
import { WsTestClient } from '../helpers/ws-test-client';
import { PUB_KEY, TOKEN_SECRET, bearer } from './fixtures';

// 10,000 real HTTP requests take tens of seconds on a loaded machine.
jest.setTimeout(300_000);

const CODES = new Set<string>(Object.values(ErrorCode));
const SERVER_FRAME_TYPES = new Set(['welcome', 'subscribed', 'pattern', 'unsubscribed', 'messages', 'error', 'pong', 'auth_ok']);

const channelArb = fc.oneof(
  fc.constantFrom('app/a', 'app/b', 'app/b/c', 'evm/x', 'app/*', 'app/**', '**', '*', 'x', '', 'APP/a', 'app//a', 'app/a/'),
  fc.stringMatching(/^[a-z0-9/*._-]{0,24}$/),
  fc.string({ maxLength: 40 }),
);
const anyJson = fc.jsonValue({ maxDepth: 3 });

const frameArb: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  // Well-formed ops with arbitrary fields.
  fc
    .record(
      {
        op: fc.oneof(fc.constantFrom('subscribe', 'unsubscribe', 'ping', 'auth'), fc.string({ maxLength: 10 }), anyJson),
        id: fc.oneof(fc.integer(), fc.string({ maxLength: 10 }), anyJson),
        channel: fc.oneof(channelArb, anyJson),
        since: fc.oneof(
          fc.record({ epoch: fc.string({ maxLength: 16 }), offset: fc.oneof(fc.nat(), fc.integer(), fc.double()) }),
          fc.record({ time: fc.oneof(fc.double(), fc.integer(), fc.string()) }),
          fc.record({ last: fc.oneof(fc.nat(100), fc.integer(), fc.double()) }),
          fc.constantFrom('latest', null),
          anyJson,
        ),
        token: fc.oneof(fc.string({ maxLength: 64 }), fc.constant('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.AAAA'), anyJson),
      },
      { requiredKeys: [] },
    )
    .map((f) => JSON.stringify(f)),
  // Any JSON at all.
  anyJson.map((v) => JSON.stringify(v) ?? 'null'),
  // Not JSON.
  fc.string({ maxLength: 200 }),
  // Binary frames.
  fc.uint8Array({ maxLength: 200 }),
);

const itemArb = fc.oneof(
  // Near-valid: the accepted path, new channels (up to SG_CHANNEL_LIMIT), schema clashes.
  fc.record({
    channel: fc.oneof(fc.constantFrom('app/a', 'app/b', 'app/b/c'), fc.stringMatching(/^app\/[a-z]{1,2}$/)),
    data: fc.record({ n: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string({ maxLength: 4 })) }),
  }),
  fc.record(
    {
      channel: channelArb,
      data: fc.oneof(fc.dictionary(fc.string({ maxLength: 8 }), anyJson, { maxKeys: 5 }), anyJson),
      key: fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), anyJson),
      delete: fc.oneof(fc.boolean(), anyJson),
      ttl: fc.oneof(fc.integer(), anyJson),
    },
    { requiredKeys: ['channel'] },
  ),
  anyJson,
);

const bodyArb: fc.Arbitrary<{ contentType: string; payload: string }> = fc.oneof(
  itemArb.map((it) => ({ contentType: 'application/json', payload: JSON.stringify(it) ?? 'null' })),
  fc.array(itemArb, { maxLength: 6 }).map((messages) => ({ contentType: 'application/json', payload: JSON.stringify({ messages }) })),
  fc
    .oneof(anyJson, fc.constant({ messages: [] }), fc.constant({ messages: 'x' }))
    .map((v) => ({ contentType: 'application/json', payload: JSON.stringify(v) ?? 'null' })),
  fc.string({ maxLength: 200 }).map((s) => ({ contentType: 'application/json', payload: s })),
  fc
    .array(
      fc.oneof(
        itemArb.map((v) => JSON.stringify(v) ?? ''),
        fc.string({ maxLength: 30 }),
      ),
      { maxLength: 5 },
    )
    .map((lines) => ({ contentType: 'application/x-ndjson', payload: lines.join('\n') })),
  fc
    .tuple(fc.constantFrom('text/plain', 'application/xml', 'application/json; charset=utf-8'), fc.string({ maxLength: 50 }))
    .map(([contentType, payload]) => ({ contentType, payload })),
);

describe('property: generated input never crashes the collector and every refusal has a documented code', () => {
  let sg: StreamgaugeApp;
  let wsUrl: string;
  let baseUrl: string;
  // Real HTTP, not app.inject: light-my-request's ESM dependency does not load under this jest setup.
  const post = async (headers: Record<string, string>, payload: string): Promise<{ statusCode: number; json: () => unknown }> => {
    const r = await fetch(`${baseUrl}/api/v1/publish`, { method: 'POST', headers, body: payload });
    const text = await r.text();
    return { statusCode: r.status, json: () => JSON.parse(text) };
  };
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    const config = resolveConfig({
      store: { path: ':memory:' },
      log: { level: 'silent' },
      metrics: { process: false },
      channels: {
        maxChannels: 40,
        definitions: [
          { name: 'app/state', kind: 'state', keyField: 'id' },
          { name: 'app/ent', kind: 'entity', keyField: 'id' },
        ],
      },
      ws: { maxSubscriptionsPerConnection: 32 },
      auth: {
        keys: [{ name: 'publisher', key: PUB_KEY, scopes: { publish: ['app/**'], subscribe: ['app/**'] } }],
        tokens: { secret: TOKEN_SECRET },
        // Rates are the flood test's subject; here every input must reach the handlers.
        limits: { wsMessagesPerSecond: 0, publishRequestsPerSecond: 0, connectionsPerIpPerSecond: 0 },
      },
    });
    sg = await buildApp(config, { sources: [] });
    const address = await sg.app.listen({ host: '127.0.0.1', port: 0 });
    await sg.start();
    baseUrl = address;
    wsUrl = `${address.replace('http', 'ws')}/ws`;
    for (const channel of ['app/a', 'app/b', 'app/b/c']) {
      const r = await post({ 'content-type': 'application/json', ...bearer(PUB_KEY) }, JSON.stringify({ channel, data: { n: 1 } }));
      expect(r.statusCode).toBe(200);
    }
  });

  afterAll(async () => {
    await sg?.close();
    process.off('unhandledRejection', onUnhandled);
  });

  test('property: 10,000 generated WebSocket frames each get documented answers and never close the connection', async () => {
    const c = await WsTestClient.connect(wsUrl, { headers: bearer(PUB_KEY) });
    try {
      let batch = 0;
      let frames = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(frameArb, { minLength: 50, maxLength: 50 }), async (list) => {
          const from = c.frames.length;
          for (const f of list) {
            c.ws.send(f);
          }
          frames += list.length;
          // A ping after the batch: its pong arrives after every answer to the batch (one socket, in order).
          const sentinel = `sentinel-${batch++}`;
          c.send({ op: 'ping', id: sentinel });
          await c.waitFor((f) => f.id === sentinel && f.type === 'pong', 10_000, from);
          for (const f of c.frames.slice(from)) {
            expect(SERVER_FRAME_TYPES.has(f.type)).toBe(true);
            if (f.type === 'error') {
              expect(CODES.has(f.code)).toBe(true);
              expect(typeof f.message).toBe('string');
            }
          }
          expect(c.closeCode).toBeNull();
          // Keep the subscription budget available: leave whatever was subscribed.
          for (const ch of ['app/a', 'app/b', 'app/b/c', 'app/*', 'app/**', '**']) {
            c.send({ op: 'unsubscribe', channel: ch });
          }
        }),
        { numRuns: 200, seed: 42, endOnFailure: true },
      );
      expect(frames).toBe(10_000);
      expect(unhandled).toEqual([]);
    } finally {
      c.close();
    }
  });

  test('property: 10,000 generated publish requests get 200 or a documented code with its documented HTTP status', async () => {
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(bodyArb, async ({ contentType, payload }) => {
        const r = await post({ 'content-type': contentType, ...bearer(PUB_KEY) }, payload);
        if (r.statusCode === 200) {
          const body = r.json() as { offsets: unknown[] };
          expect(Array.isArray(body.offsets)).toBe(true);
          seen.set('200', (seen.get('200') ?? 0) + 1);
          return;
        }
        const body = r.json() as { error: { code: ErrorCode; message: string } };
        expect(CODES.has(body.error.code)).toBe(true);
        expect(r.statusCode).toBe(ERROR_HTTP_STATUS[body.error.code]);
        expect(body.error.code).not.toBe(ErrorCode.Internal);
        seen.set(body.error.code, (seen.get(body.error.code) ?? 0) + 1);
      }),
      { numRuns: 10_000, seed: 7, endOnFailure: true },
    );
    expect(unhandled).toEqual([]);
    // The generators reach the interesting answers, not only one kind of refusal.
    process.stdout.write(`publish answers: ${JSON.stringify(Object.fromEntries(seen))}\n`);
    for (const code of [
      '200',
      ErrorCode.BadRequest,
      ErrorCode.BadJson,
      ErrorCode.BadChannelName,
      ErrorCode.Forbidden,
      ErrorCode.UnsupportedMediaType,
      ErrorCode.ChannelLimit,
      ErrorCode.SchemaMismatch,
    ]) {
      expect(seen.get(code) ?? 0).toBeGreaterThan(0);
    }
  });
});
