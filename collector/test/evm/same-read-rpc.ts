/**
 * A tiny WebSocket JSON-RPC stand-in in front of hardhat that answers the first `eth_subscribe`
 * in the worst order a provider can: it mines a block, waits for hardhat's newHeads notification
 * for it, and writes the subscribe reply and that notification to the client in ONE socket write
 * (two WebSocket frames in one TCP segment, so the client reads them together). Everything else
 * is forwarded both ways unchanged.
 */
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';

export interface SameReadRpc {
  readonly url: string;
  /** The block number carried by the notification that shared the write with the reply. */
  readonly delivered: Promise<number>;
  stop(): Promise<void>;
}

/** An unmasked (server-to-client) WebSocket text frame. */
function textFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x81, n]) : n < 65_536 ? Buffer.from([0x81, 126, n >> 8, n & 0xff]) : undefined;
  if (!head) {
    const big = Buffer.alloc(10);
    big[0] = 0x81;
    big[1] = 127;
    big.writeBigUInt64BE(BigInt(n), 2);
    return Buffer.concat([big, payload]);
  }
  return Buffer.concat([head, payload]);
}

export async function startSameReadRpc(upstreamWsUrl: string, mine: () => Promise<unknown>): Promise<SameReadRpc> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((r) => server.once('listening', () => r()));
  let done = false;
  let resolveDelivered!: (n: number) => void;
  const delivered = new Promise<number>((r) => (resolveDelivered = r));
  const upstreams = new Set<WebSocket>();

  server.on('connection', (client) => {
    const upstream = new WebSocket(upstreamWsUrl, { perMessageDeflate: false });
    upstreams.add(upstream);
    const early: string[] = [];
    /** The subscribe whose reply is held back: its request id, then the reply once it came. */
    let held: { id: unknown; reply?: string; subscription?: string } | undefined;
    client.on('message', (raw) => {
      const text = raw.toString();
      const msg = JSON.parse(text) as { id?: unknown; method?: string };
      if (!done && !held && msg.method === 'eth_subscribe') {
        held = { id: msg.id };
      }
      if (upstream.readyState === WebSocket.OPEN) {
        upstream.send(text);
      } else {
        early.push(text);
      }
    });
    upstream.on('open', () => {
      for (const t of early.splice(0)) {
        upstream.send(t);
      }
    });
    upstream.on('message', (raw) => {
      const text = raw.toString();
      const msg = JSON.parse(text) as {
        id?: unknown;
        result?: unknown;
        method?: string;
        params?: { subscription: string; result: { number: string } };
      };
      if (held && !held.reply && msg.id === held.id) {
        held.reply = text;
        held.subscription = msg.result as string;
        void mine(); // hardhat now sends the notification for the new block
        return;
      }
      if (held?.reply && msg.method === 'eth_subscription' && msg.params?.subscription === held.subscription) {
        const socket = (client as unknown as { _socket: Socket })._socket;
        socket.write(Buffer.concat([textFrame(held.reply), textFrame(text)]));
        done = true;
        held = undefined;
        resolveDelivered(Number(msg.params!.result.number));
        return;
      }
      client.send(text);
    });
    const end = (): void => {
      client.terminate();
      upstream.terminate();
      upstreams.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });

  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    delivered,
    async stop() {
      for (const c of server.clients) {
        c.terminate();
      }
      for (const u of upstreams) {
        u.terminate();
      }
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
