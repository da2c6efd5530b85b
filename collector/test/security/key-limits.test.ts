/**
 * State and entity channels an attacker can grow by sending new keys, against a real collector:
 * the key count is bounded per channel (channels.maxKeysPerChannel, 409 SG_KEY_LIMIT, nothing of
 * the refused batch stored), deleting or updating keys still works at the bound, the bound holds
 * across a restart, /api/v1/snapshot pages in the store, and a subscription's snapshot travels in
 * frames of at most 1 MiB.
 */
import { ErrorCode } from '@streamgauge/protocol';
import { type CollectorProcess, publish, startCollector } from '../helpers/collector-process';
import { WsTestClient } from '../helpers/ws-test-client';
import { getJson } from './fixtures';

const config = {
  channels: {
    maxKeysPerChannel: 5,
    definitions: [
      { name: 'app/state', kind: 'state', keyField: 'id', fields: [{ name: 'id', type: 'string' }] },
      { name: 'app/ent', kind: 'entity', keyField: 'id', fields: [{ name: 'id', type: 'string' }] },
    ],
  },
};

const rows = (channel: string, ids: string[]) => ({ messages: ids.map((id) => ({ channel, data: { id } })) });

describe('keys per state/entity channel are bounded (real collector)', () => {
  let sg: CollectorProcess;

  beforeAll(async () => {
    sg = await startCollector({ config });
  });

  afterAll(async () => {
    await sg?.stop();
    sg?.cleanup();
  });

  test('behavior: a batch adding keys past channels.maxKeysPerChannel is refused whole with 409 SG_KEY_LIMIT', async () => {
    expect((await publish(sg.url, rows('app/state', ['a', 'b', 'c', 'd']))).status).toBe(200);
    const over = await publish(sg.url, rows('app/state', ['a', 'e', 'f']));
    expect([over.status, over.body.error.code]).toEqual([409, ErrorCode.KeyLimit]);
    expect(over.body.error.message).toBe('app/state holds 5 live keys (channels.maxKeysPerChannel): update or delete existing keys');
    // Nothing of the refused batch was stored: the channel still has offsets 1-4.
    const h = await getJson(`${sg.url}/api/v1/messages?channel=app/state`);
    expect(h.body.lastOffset).toBe(4);
    // Updates of existing keys and one new key up to the bound still work.
    expect((await publish(sg.url, rows('app/state', ['a', 'b', 'e']))).status).toBe(200);
  });

  test('behavior: deleting entity keys makes room for new ones', async () => {
    expect((await publish(sg.url, rows('app/ent', ['1', '2', '3', '4', '5']))).status).toBe(200);
    expect((await publish(sg.url, rows('app/ent', ['6']))).body.error.code).toBe(ErrorCode.KeyLimit);
    expect((await publish(sg.url, { channel: 'app/ent', data: { id: '1' }, delete: true })).status).toBe(200);
    expect((await publish(sg.url, rows('app/ent', ['6']))).status).toBe(200);
  });

  test('behavior: the snapshot pages the newest keys in the store; more says some were left out', async () => {
    const s = await getJson(`${sg.url}/api/v1/snapshot?channel=app/state&limit=2`);
    expect(s.body.messages.map((m: { data: { id: string } }) => m.data.id)).toEqual(['b', 'e']);
    expect(s.body.more).toBe(true);
    const all = await getJson(`${sg.url}/api/v1/snapshot?channel=app/state&limit=5`);
    expect([all.body.count, all.body.more]).toEqual([5, false]);
  });

  test('behavior: the bound holds after a restart (keys counted from the store)', async () => {
    sg = await sg.restart();
    const over = await publish(sg.url, rows('app/state', ['z']));
    expect([over.status, over.body.error.code]).toEqual([409, ErrorCode.KeyLimit]);
  });
});

describe('snapshot frames are capped (real collector)', () => {
  let sg: CollectorProcess;

  beforeAll(async () => {
    sg = await startCollector({
      config: { channels: { definitions: [{ name: 'app/big', kind: 'state', keyField: 'id', fields: [{ name: 'id', type: 'string' }] }] } },
    });
  });

  afterAll(async () => {
    await sg?.stop();
    sg?.cleanup();
  });

  test('behavior: a 1.4 MB snapshot arrives in several frames of at most 1 MiB, every key once, in offset order', async () => {
    const ids = Array.from({ length: 24 }, (_, i) => `k${i}`);
    for (let i = 0; i < ids.length; i += 6) {
      const messages = ids.slice(i, i + 6).map((id) => ({ channel: 'app/big', data: { id, blob: 'x'.repeat(60_000) } }));
      expect((await publish(sg.url, { messages })).status).toBe(200);
    }
    const client = await WsTestClient.connect(sg.wsUrl);
    try {
      await client.subscribe('app/big');
      await client.waitFor(() => (client.messages.get('app/big')?.length ?? 0) >= ids.length);
      const snaps = client.frames.filter((f) => f.type === 'messages' && f.snapshot === true);
      expect(snaps.length).toBeGreaterThanOrEqual(2);
      for (const f of snaps) {
        expect(JSON.stringify(f).length).toBeLessThanOrEqual(1024 * 1024 + 1024);
      }
      const got = snaps.flatMap((f) => f.messages);
      expect(got.map((m: { key: string }) => m.key)).toEqual(ids);
      expect(got.map((m: { offset: number }) => m.offset)).toEqual(ids.map((_, i) => i + 1));
    } finally {
      client.close();
    }
  });
});
