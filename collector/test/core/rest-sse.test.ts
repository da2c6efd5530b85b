/**
 * REST and SSE against a real collector process: publish (JSON, batch, NDJSON), history by offset
 * and time, the channel list, status, health, and SSE with Last-Event-ID resume.
 */
import http from 'node:http';
import { ErrorCode } from '@streamgauge/protocol';
import { type CollectorProcess, publish, startCollector } from '../helpers/collector-process';
import { type SseEvent, sseParser } from '../helpers/sse-parser';

/** Reads an SSE stream until `until` returns true for the events so far (or the timeout). */
function readSse(
  url: string,
  headers: Record<string, string>,
  until: (events: SseEvent[]) => boolean,
  timeoutMs = 10_000,
): Promise<{ status: number; events: SseEvent[]; raw: string }> {
  return new Promise((resolve, reject) => {
    const events: SseEvent[] = [];
    let raw = '';
    const req = http.get(url, { headers }, (res) => {
      const feed = sseParser((ev) => events.push(ev));
      const done = (): void => {
        clearTimeout(t);
        req.destroy();
        resolve({ status: res.statusCode ?? 0, events, raw });
      };
      const t = setTimeout(done, timeoutMs);
      res.on('data', (d: Buffer) => {
        raw += d.toString();
        feed(d);
        if (until(events)) {
          done();
        }
      });
      res.on('end', done);
    });
    req.on('error', reject);
  });
}

describe('REST (real collector)', () => {
  let sg: CollectorProcess;
  beforeAll(async () => {
    sg = await startCollector({
      config: {
        limits: { maxBatch: 100, maxBodyBytes: 200_000, maxMessageBytes: 1000 },
        channels: {
          definitions: [
            {
              name: 'app/scans',
              description: 'attendance scans',
              fields: [
                { name: 'device', type: 'string' },
                { name: 'latency', type: 'number', unit: 'ms' },
              ],
            },
            { name: 'app/components', kind: 'state', keyField: 'component' },
          ],
        },
      },
    });
  });
  afterAll(async () => {
    await sg.stop();
    sg.cleanup();
  });

  test('behavior: one message is acknowledged with its offset and epoch once stored', async () => {
    const r = await publish(sg.url, { channel: 'app/scans', data: { device: 'd1', latency: 12 } });
    expect(r.status).toBe(200);
    expect(r.body.offsets).toEqual([{ channel: 'app/scans', epoch: expect.any(String), offset: 1 }]);
    const h = await (await fetch(`${sg.url}/api/v1/messages?channel=app/scans`)).json();
    expect(h.messages).toEqual([{ offset: 1, ts: expect.any(Number), data: { device: 'd1', latency: 12 } }]);
  });

  test('behavior: a batch gets consecutive offsets, and NDJSON works the same', async () => {
    const r = await publish(sg.url, {
      messages: [
        { channel: 'batch/a', data: { i: 1 } },
        { channel: 'batch/b', data: { i: 2 } },
        { channel: 'batch/a', data: { i: 3 } },
      ],
    });
    expect(r.body.offsets.map((o: { channel: string; offset: number }) => `${o.channel}@${o.offset}`)).toEqual([
      'batch/a@1',
      'batch/b@1',
      'batch/a@2',
    ]);
    const nd = await fetch(`${sg.url}/api/v1/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: '{"channel":"batch/a","data":{"i":4}}\n{"channel":"batch/a","data":{"i":5}}\n',
    });
    expect(nd.status).toBe(200);
    expect((await nd.json()).offsets.map((o: { offset: number }) => o.offset)).toEqual([3, 4]);
  });

  test('behavior: a batch with one bad message is refused whole and nothing of it is stored', async () => {
    await publish(sg.url, { channel: 'atomic/a', data: { n: 1 } });
    const r = await publish(sg.url, {
      messages: [
        { channel: 'atomic/a', data: { n: 2 } },
        { channel: 'atomic/a', data: { n: 'three' } },
      ],
    });
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe(ErrorCode.SchemaMismatch);
    expect(r.body.error.message).toBe('messages[1] on atomic/a: field "n" must be number, got string "three"');
    const h = await (await fetch(`${sg.url}/api/v1/messages?channel=atomic/a`)).json();
    expect(h.messages.map((m: { data: { n: number } }) => m.data.n)).toEqual([1]);
  });

  test.each([
    ['malformed JSON', '{"channel":', 400, ErrorCode.BadJson],
    ['no channel', { data: { a: 1 } }, 400, ErrorCode.BadRequest],
    ['a bad channel name', { channel: 'Bad/Name', data: {} }, 400, ErrorCode.BadChannelName],
    ['data that is not an object', { channel: 'x/y', data: [1, 2] }, 400, ErrorCode.BadRequest],
    ['a message over limits.maxMessageBytes', { channel: 'x/y', data: { s: 'x'.repeat(2000) } }, 413, ErrorCode.PayloadTooLarge],
    // 600 characters but 1200 UTF-8 bytes: the limit is in bytes.
    ['a multi-byte message over limits.maxMessageBytes', { channel: 'x/y', data: { s: 'é'.repeat(600) } }, 413, ErrorCode.PayloadTooLarge],
    ['a body over limits.maxBodyBytes', { channel: 'x/y', data: { s: 'x'.repeat(300_000) } }, 413, ErrorCode.PayloadTooLarge],
    [
      'a batch over limits.maxBatch',
      { messages: Array.from({ length: 101 }, () => ({ channel: 'x/y', data: {} })) },
      413,
      ErrorCode.BatchTooLarge,
    ],
    ['a key on a stream channel', { channel: 'x/y', key: 'k', data: {} }, 400, ErrorCode.BadRequest],
    ['a state message without its key', { channel: 'app/components', data: { status: 'online' } }, 400, ErrorCode.BadRequest],
  ])('behavior: %s is refused with its code', async (_name, body, status, code) => {
    const r = await publish(sg.url, body);
    expect(r.status).toBe(status);
    expect(r.body.error.code).toBe(code);
    expect((await fetch(`${sg.url}/healthz`)).status).toBe(200);
  });

  test('behavior: an unsupported content type is refused with 415', async () => {
    const r = await fetch(`${sg.url}/api/v1/publish`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: 'a,b' });
    expect(r.status).toBe(415);
    expect((await r.json()).error.code).toBe(ErrorCode.UnsupportedMediaType);
  });

  test('behavior: the channel list shows declared schemas with units, inferred schemas and stats', async () => {
    await publish(sg.url, { channel: 'infer/a', data: { temp: 21.5, ok: true, name: 'x', at: '2026-01-01T00:00:00Z', extra: { a: 1 } } });
    const { channels } = await (await fetch(`${sg.url}/api/v1/channels`)).json();
    const scans = channels.find((c: { name: string }) => c.name === 'app/scans');
    expect(scans.schema).toEqual({
      declared: true,
      fields: [
        { name: 'device', type: 'string' },
        { name: 'latency', type: 'number', unit: 'ms' },
      ],
    });
    expect(scans.description).toBe('attendance scans');
    const inferred = channels.find((c: { name: string }) => c.name === 'infer/a');
    expect(inferred.schema.fields).toEqual([
      { name: 'temp', type: 'number' },
      { name: 'ok', type: 'boolean' },
      { name: 'name', type: 'string' },
      { name: 'at', type: 'time' },
      { name: 'extra', type: 'json' },
    ]);
    expect(inferred).toMatchObject({ kind: 'stream', firstOffset: 1, lastOffset: 1, count: 1 });
  });

  test('behavior: history by offset range pages with "more", and by time range', async () => {
    for (let i = 0; i < 5; i++) {
      await publish(sg.url, { channel: 'hist/a', data: { i } });
    }
    const p1 = await (await fetch(`${sg.url}/api/v1/messages?channel=hist/a&after=1&limit=2`)).json();
    expect(p1.messages.map((m: { offset: number }) => m.offset)).toEqual([2, 3]);
    expect(p1.more).toBe(true);
    const p2 = await (await fetch(`${sg.url}/api/v1/messages?channel=hist/a&after=3&limit=2`)).json();
    expect(p2.messages.map((m: { offset: number }) => m.offset)).toEqual([4, 5]);
    expect(p2.more).toBe(false);
    const tail = await (await fetch(`${sg.url}/api/v1/messages?channel=hist/a&limit=2&tail=1`)).json();
    expect(tail.messages.map((m: { offset: number }) => m.offset)).toEqual([4, 5]);
    const all = p1.messages.concat(p2.messages);
    const from = all[1].ts;
    const byTime = await (
      await fetch(`${sg.url}/api/v1/messages?channel=hist/a&from=${from}&to=${new Date(all[3].ts).toISOString()}`)
    ).json();
    expect(byTime.messages.every((m: { ts: number }) => m.ts >= from && m.ts <= all[3].ts)).toBe(true);
    expect(byTime.messages.map((m: { offset: number }) => m.offset)).toContain(4);
  });

  test('behavior: history of an unknown channel is 404 SG_UNKNOWN_CHANNEL, a bad limit 400', async () => {
    const r = await fetch(`${sg.url}/api/v1/messages?channel=nope/x`);
    expect(r.status).toBe(404);
    expect((await r.json()).error.code).toBe(ErrorCode.UnknownChannel);
    const bad = await fetch(`${sg.url}/api/v1/messages?channel=hist/a&limit=-1`);
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toEqual({ code: ErrorCode.BadRequest, message: 'limit must be an integer >= 1' });
  });

  test('behavior: a state channel keeps the latest message per key and REST returns the snapshot on subscribe', async () => {
    await publish(sg.url, {
      messages: [
        { channel: 'app/components', data: { component: 'camera', status: 'online' } },
        { channel: 'app/components', data: { component: 'cloud', status: 'online' } },
        { channel: 'app/components', data: { component: 'camera', status: 'offline' } },
      ],
    });
    const { events } = await readSse(`${sg.url}/api/v1/stream?channels=app/components`, {}, (ev) => ev.some((e) => e.event === 'messages'));
    const snap = events.find((e) => e.event === 'messages')!.data;
    expect(snap.snapshot).toBe(true);
    expect(snap.messages.map((m: { key: string; data: { status: string } }) => `${m.key}=${m.data.status}`)).toEqual([
      'cloud=online',
      'camera=offline',
    ]);
  });

  test('behavior: status, health and readiness answer', async () => {
    expect(await (await fetch(`${sg.url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${sg.url}/readyz`)).json()).toEqual({ ready: true });
    const s = await (await fetch(`${sg.url}/api/v1/status`)).json();
    expect(s.store).toMatchObject({ type: 'sqlite', healthy: true });
    const scans = s.channels.find((c: { name: string }) => c.name === 'app/scans');
    expect(scans.last).toMatchObject({ offset: 1, data: { device: 'd1', latency: 12 } });
  });

  test('behavior: an unknown route answers 404 SG_NOT_FOUND', async () => {
    const r = await fetch(`${sg.url}/api/v1/nothing`);
    expect(r.status).toBe(404);
    expect((await r.json()).error.code).toBe(ErrorCode.NotFound);
  });
});

describe('SSE (real collector)', () => {
  let sg: CollectorProcess;
  beforeAll(async () => {
    sg = await startCollector();
  });
  afterAll(async () => {
    await sg.stop();
    sg.cleanup();
  });

  test('behavior: SSE streams live messages with position ids, and Last-Event-ID resumes exactly', async () => {
    await publish(sg.url, { channel: 'sse/a', data: { i: 0 } });
    await publish(sg.url, { channel: 'sse/b', data: { i: 0 } });
    const first = readSse(`${sg.url}/api/v1/stream?channels=sse/a,sse/b`, {}, (ev) => ev.filter((e) => e.event === 'messages').length >= 2);
    await new Promise((r) => setTimeout(r, 200));
    await publish(sg.url, { channel: 'sse/a', data: { i: 1 } });
    await publish(sg.url, { channel: 'sse/b', data: { i: 1 } });
    const r1 = await first;
    expect(r1.status).toBe(200);
    expect(r1.raw).toContain('retry: 1000');
    const msgs = r1.events.filter((e) => e.event === 'messages');
    const lastId = msgs[msgs.length - 1].id!;
    expect(lastId).toMatch(/^sse\/a:[a-z0-9]+:2;sse\/b:[a-z0-9]+:2$/);

    await publish(sg.url, { channel: 'sse/a', data: { i: 2 } });
    await publish(sg.url, { channel: 'sse/a', data: { i: 3 } });
    await publish(sg.url, { channel: 'sse/b', data: { i: 2 } });
    const r2 = await readSse(
      `${sg.url}/api/v1/stream?channels=sse/a,sse/b`,
      { 'last-event-id': lastId },
      (ev) => ev.filter((e) => e.event === 'messages').flatMap((e) => e.data.messages).length >= 3,
    );
    const subscribed = r2.events.filter((e) => e.event === 'subscribed').map((e) => e.data);
    expect(subscribed.map((s) => [s.channel, s.offset, s.recovered])).toEqual([
      ['sse/a', 2, true],
      ['sse/b', 2, true],
    ]);
    const got = r2.events
      .filter((e) => e.event === 'messages')
      .flatMap((e) => e.data.messages.map((m: { data: { i: number } }) => `${e.data.channel}:${m.data.i}`));
    expect(got.sort()).toEqual(['sse/a:2', 'sse/a:3', 'sse/b:2']);
  });

  test('behavior: SSE refuses a foreign Origin and a request without channels', async () => {
    const foreign = await fetch(`${sg.url}/api/v1/stream?channels=sse/a`, { headers: { origin: 'http://evil.example' } });
    expect(foreign.status).toBe(403);
    expect((await foreign.json()).error.code).toBe(ErrorCode.OriginForbidden);
    const none = await fetch(`${sg.url}/api/v1/stream`);
    expect(none.status).toBe(400);
    expect((await none.json()).error.code).toBe(ErrorCode.BadRequest);
  });
});
