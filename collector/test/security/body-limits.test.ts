/**
 * Request bodies an attacker can make expensive, against a real collector: millions of tiny NDJSON
 * lines or array items (refused at limits.maxBatch + 1, while scanning, not after parsing
 * everything), deep nesting (400 SG_JSON_TOO_DEEP instead of a 500), and prototype poisoning
 * (still refused). A concurrent ping measures how long the event loop was held; the numbers are
 * printed, and the bound asserted is only a hang bound.
 */
import { ErrorCode } from '@streamgauge/protocol';
import { type CollectorProcess, startCollector } from '../helpers/collector-process';

const MAX_BODY = 8 * 1024 * 1024;

async function postRaw(url: string, contentType: string, body: string): Promise<{ status: number; body: any }> {
  const r = await fetch(`${url}/api/v1/publish`, { method: 'POST', headers: { 'content-type': contentType }, body });
  return { status: r.status, body: await r.json() };
}

/** Pings /healthz one after another while `work` runs; resolves with the work's result and the slowest ping (ms). */
async function withPings<T>(url: string, work: () => Promise<T>): Promise<{ result: T; slowestPingMs: number }> {
  let done = false;
  let slowest = 0;
  const pinger = (async () => {
    while (!done) {
      const t = performance.now();
      await fetch(`${url}/healthz`).then((r) => r.text());
      slowest = Math.max(slowest, performance.now() - t);
    }
  })();
  try {
    const result = await work();
    return { result, slowestPingMs: slowest };
  } finally {
    done = true;
    await pinger;
  }
}

describe('request bodies: counted and depth-checked while parsed (real collector)', () => {
  let sg: CollectorProcess;
  const stalls: Record<string, number> = {};

  beforeAll(async () => {
    sg = await startCollector();
  });

  afterAll(async () => {
    await sg?.stop();
    sg?.cleanup();
    // Measured, not asserted: the slowest concurrent /healthz answer during each request.
    console.log(`slowest concurrent ping (ms): ${JSON.stringify(stalls)}`);
  });

  test('behavior: an 8 MiB NDJSON body of {} lines is refused with 413 SG_BATCH_TOO_LARGE at limits.maxBatch + 1 lines', async () => {
    const body = '{}\n'.repeat(Math.floor(MAX_BODY / 3) - 1);
    const { result, slowestPingMs } = await withPings(sg.url, () => postRaw(sg.url, 'application/x-ndjson', body));
    stalls.ndjson = Math.round(slowestPingMs);
    expect([result.status, result.body.error.code, result.body.error.message]).toEqual([
      413,
      ErrorCode.BatchTooLarge,
      'more than 10000 items in one request (limits.maxBatch)',
    ]);
    expect(slowestPingMs).toBeLessThan(5_000); // hang bound only
  });

  test('behavior: a JSON body with 2.8 million array items is refused with 413 SG_BATCH_TOO_LARGE, as messages or as a top-level array', async () => {
    const items = Array(Math.floor((MAX_BODY - 20) / 3))
      .fill('{}')
      .join(',');
    for (const [name, body] of [
      ['messages', `{"messages":[${items}]}`],
      ['array', `[${items}]`],
    ]) {
      const { result, slowestPingMs } = await withPings(sg.url, () => postRaw(sg.url, 'application/json', body));
      stalls[name] = Math.round(slowestPingMs);
      expect([name, result.status, result.body.error.code]).toEqual([name, 413, ErrorCode.BatchTooLarge]);
      expect(slowestPingMs).toBeLessThan(5_000); // hang bound only
    }
  });

  test('behavior: deeply nested JSON is refused with 400 SG_JSON_TOO_DEEP, in a JSON body, in a message and in an NDJSON line', async () => {
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    const deepObj = '{"a":'.repeat(100) + '1' + '}'.repeat(100);
    const cases: [string, string][] = [
      ['application/json', deep],
      ['application/json', `{"channel":"app/deep","data":{"x":${deepObj}}}`],
      ['application/x-ndjson', `{"channel":"app/deep","data":{"n":1}}\n{"channel":"app/deep","data":${deepObj}}`],
    ];
    for (const [type, body] of cases) {
      const r = await postRaw(sg.url, type, body);
      expect([type, r.status, r.body.error.code, r.body.error.message]).toEqual([
        type,
        400,
        ErrorCode.JsonTooDeep,
        'JSON nested deeper than 64 levels (limits.maxJsonDepth)',
      ]);
    }
  });

  test('behavior: prototype poisoning is still refused (400 SG_BAD_JSON), in JSON and NDJSON', async () => {
    const poisoned = '{"channel":"app/p","data":{"__proto__":{"polluted":true}}}';
    for (const [type, body] of [
      ['application/json', poisoned],
      ['application/json', `{"messages":[${poisoned}]}`],
      ['application/json', '{"__proto__":[1]}'],
      ['application/x-ndjson', poisoned],
    ]) {
      const r = await postRaw(sg.url, type, body);
      expect([type, body, r.status, r.body.error.code]).toEqual([type, body, 400, ErrorCode.BadJson]);
    }
  });

  test('behavior: bodies within the limits are parsed as before: one message, a batch, NDJSON, with whitespace and strings holding brackets', async () => {
    const one = await postRaw(sg.url, 'application/json', ' { "channel" : "app/ok", "data" : { "s" : "a,]}[{\\"" } } ');
    expect(one.status).toBe(200);
    const batch = await postRaw(
      sg.url,
      'application/json',
      JSON.stringify({ messages: Array.from({ length: 10_000 }, (_, n) => ({ channel: 'app/ok', data: { n } })) }, null, 1),
    );
    expect([batch.status, batch.body.offsets.length]).toEqual([200, 10_000]);
    const nd = await postRaw(
      sg.url,
      'application/x-ndjson',
      '{"channel":"app/ok","data":{"n":1}}\n\n{"channel":"app/ok","data":{"n":2}}\n',
    );
    expect([nd.status, nd.body.offsets.length]).toEqual([200, 2]);
    for (const bad of ['{"channel":"app/ok","data":{"n":1}', '{"messages":[{"channel":"app/ok","data":{}},]}', '[1] x', '']) {
      const r = await postRaw(sg.url, 'application/json', bad);
      expect([bad, r.status, r.body.error.code]).toEqual([bad, 400, ErrorCode.BadJson]);
    }
  });

  test('behavior: a batch of large messages within limits.maxBodyBytes is accepted while pings keep being answered', async () => {
    const data = Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`k${i}`, i]));
    const body = JSON.stringify({ messages: Array.from({ length: 900 }, () => ({ channel: 'app/wide', data })) });
    expect(body.length).toBeLessThan(MAX_BODY);
    const { result, slowestPingMs } = await withPings(sg.url, () => postRaw(sg.url, 'application/json', body));
    stalls.wideBatch = Math.round(slowestPingMs);
    expect(result.status).toBe(200);
    expect(slowestPingMs).toBeLessThan(10_000); // hang bound only
  });
});
