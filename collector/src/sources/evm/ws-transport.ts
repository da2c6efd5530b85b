/**
 * JSON-RPC over a WebSocket: requests matched to replies by id, and `eth_subscribe newHeads`
 * notifications. Connects on first use; when the socket drops, every pending request fails with
 * EVM_RPC_UNAVAILABLE and the subscription's `onLost` runs, so the pool can fail over.
 */
import WebSocket from 'ws';
import { EvmError } from './errors';
import { MAX_RESPONSE_BYTES } from './http-transport';
import { endpointLabel, type RpcTransport } from './rpc-transport';

/** Requests in flight on one socket at most (the follower sends a handful at a time). */
export const MAX_PENDING_REQUESTS = 1_000;

interface Pending {
  method: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export function createWsTransport(url: string, label: string = endpointLabel(url), timeoutMs = 10_000): RpcTransport {
  let ws: WebSocket | undefined;
  let opening: Promise<WebSocket> | undefined;
  let nextId = 1;
  const pending = new Map<number, Pending>();
  const subscriptions = new Map<string, { onHead: (n: number) => void; onLost: () => void }>();

  const fail = (why: string): void => {
    for (const [id, p] of pending) {
      clearTimeout(p.timer);
      pending.delete(id);
      p.reject(new EvmError('EVM_RPC_UNAVAILABLE', `${label} ${p.method}: ${why}`));
    }
    const lost = [...subscriptions.values()];
    subscriptions.clear();
    for (const s of lost) {
      s.onLost();
    }
  };

  const open = (): Promise<WebSocket> => {
    if (ws && ws.readyState === WebSocket.OPEN) {
      return Promise.resolve(ws);
    }
    opening ??= new Promise<WebSocket>((resolve, reject) => {
      const sock = new WebSocket(url, { handshakeTimeout: timeoutMs, maxPayload: MAX_RESPONSE_BYTES });
      let settled = false;
      sock.on('open', () => {
        settled = true;
        ws = sock;
        opening = undefined;
        resolve(sock);
      });
      sock.on('message', (raw) => onMessage(raw.toString()));
      sock.on('error', (err) => {
        if (!settled) {
          settled = true;
          opening = undefined;
          reject(new EvmError('EVM_RPC_UNAVAILABLE', `${label}: cannot connect: ${err.message}`, { cause: err }));
        }
      });
      sock.on('close', (code) => {
        if (!settled) {
          settled = true;
          opening = undefined;
          reject(new EvmError('EVM_RPC_UNAVAILABLE', `${label}: closed while connecting (${code})`));
        }
        if (ws === sock) {
          ws = undefined;
          fail(`connection closed (${code})`);
        }
      });
    });
    return opening;
  };

  const onMessage = (text: string): void => {
    let msg: {
      id?: number;
      result?: unknown;
      error?: { code: number; message: string };
      method?: string;
      params?: { subscription: string; result: { number?: string } };
    };
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (msg.method === 'eth_subscription' && msg.params) {
      const s = subscriptions.get(msg.params.subscription);
      const n = msg.params.result?.number;
      if (s && typeof n === 'string') {
        s.onHead(Number.parseInt(n, 16));
      }
      return;
    }
    const p = typeof msg.id === 'number' ? pending.get(msg.id) : undefined;
    if (!p) {
      return;
    }
    pending.delete(msg.id!);
    clearTimeout(p.timer);
    if (msg.error) {
      p.reject(
        new EvmError('EVM_RPC_ERROR', `${label} ${p.method}: ${msg.error.message} (${msg.error.code})`, { rpcCode: msg.error.code }),
      );
    } else {
      p.resolve(msg.result);
    }
  };

  const request = async (method: string, params: unknown[]): Promise<unknown> => {
    const sock = await open();
    if (pending.size >= MAX_PENDING_REQUESTS) {
      throw new EvmError('EVM_RPC_UNAVAILABLE', `${label} ${method}: ${MAX_PENDING_REQUESTS} requests already in flight`);
    }
    const id = nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new EvmError('EVM_RPC_UNAVAILABLE', `${label} ${method}: timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(id, { method, resolve, reject, timer });
      sock.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }), (err) => {
        if (err && pending.delete(id)) {
          clearTimeout(timer);
          reject(new EvmError('EVM_RPC_UNAVAILABLE', `${label} ${method}: send failed: ${err.message}`, { cause: err }));
        }
      });
    });
  };

  return {
    url,
    label,
    kind: 'ws',
    request,
    async subscribeHeads(onHead, onLost) {
      const id = (await request('eth_subscribe', ['newHeads'])) as string;
      subscriptions.set(id, { onHead, onLost });
      return () => {
        if (subscriptions.delete(id) && ws) {
          void request('eth_unsubscribe', [id]).catch(() => undefined);
        }
      };
    },
    close() {
      const sock = ws;
      ws = undefined;
      if (sock) {
        sock.removeAllListeners('message');
        sock.terminate();
      }
      fail('closed by the pool');
    },
  };
}
