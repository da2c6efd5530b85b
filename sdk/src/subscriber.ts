/**
 * The subscribing half of the SDK: one WebSocket to the collector, any number of subscriptions,
 * reconnect with capped full-jitter backoff, and resume: after a reconnect each channel continues
 * from the last offset it delivered (`since: {epoch, offset}`), so nothing is missed or delivered
 * twice while the collector keeps the history. Patterns resume by time and drop what was already
 * delivered. State and entity channels deliver their snapshot first (`ctx.snapshot`).
 *
 * Connection state is one value with one setter, reported to `onState` listeners.
 */
import type { ClientFrame, MessageItem, MessagesFrame, ServerFrame, Since, SubscribedFrame } from '@streamgauge/protocol';
import { CloseCode } from '@streamgauge/protocol';
import { backoffDelay } from './backoff';

export type ConnectionState = 'connecting' | 'connected' | 'disconnected' | 'closed';

/** The part of the WebSocket API the SDK uses: the browser's, or `ws` in Node (pass it as `WebSocket`). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}
export type WebSocketConstructor = new (url: string, protocols?: string | string[], options?: unknown) => WebSocketLike;

export interface SubscriberOptions {
  /** WebSocket URL, e.g. `ws://127.0.0.1:8080/ws`. */
  url: string;
  /** API key, sent as an `Authorization: Bearer` header (Node `ws` only: browsers cannot set headers; use getToken). */
  apiKey?: string;
  /** Returns a short-lived token (POST /api/v1/token) sent in an `auth` frame after each connect. */
  getToken?: () => string | Promise<string>;
  /** WebSocket implementation (default: globalThis.WebSocket). In Node 20 pass `require('ws')`. */
  WebSocket?: WebSocketConstructor;
  /** Reconnect backoff base and cap, ms (defaults 250 and 10,000). */
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
}

export interface MessagesContext {
  channel: string;
  epoch: string;
  /** true for the snapshot of a state/entity channel (latest value per key), sent first. */
  snapshot: boolean;
}

export interface SubscribeHandlers {
  /** Messages in offset order. */
  onMessages(messages: MessageItem[], ctx: MessagesContext): void;
  /** Each `subscribed` frame (check `recovered`: false means part of the history was lost). */
  onSubscribed?(frame: SubscribedFrame): void;
  /** Refusals of this subscription (unknown channel, forbidden…). */
  onError?(error: { code: string; message: string }): void;
  /** Where to start the first time (absent: live only, with the snapshot for state/entity channels). */
  since?: Since;
}

export interface Subscriber {
  /** Subscribes to a channel or pattern; returns the unsubscribe function. */
  subscribe(channel: string, handlers: SubscribeHandlers): () => void;
  readonly state: ConnectionState;
  /** Calls listener on every state change; returns the unwatch function. */
  onState(listener: (e: { newState: ConnectionState; oldState: ConnectionState }) => void): () => void;
  close(): void;
}

interface Sub {
  channel: string;
  handlers: SubscribeHandlers;
  id: number;
  /** Per delivered channel: the last position handed to onMessages. */
  positions: Map<string, { epoch: string; offset: number }>;
  /** Latest server ts delivered (patterns resume by time). */
  lastTs?: number;
}

const OPEN = 1;

/**
 * @example
 * import WebSocket from 'ws';
 * const sub = createSubscriber({ url: 'ws://127.0.0.1:8080/ws', WebSocket });
 * const stop = sub.subscribe('attendance/components', {
 *   onMessages: (msgs, { snapshot }) => console.log(snapshot ? 'snapshot' : 'change', msgs),
 * });
 */
export function createSubscriber(options: SubscriberOptions): Subscriber {
  const Ctor = options.WebSocket ?? (globalThis as unknown as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!Ctor) {
    throw new TypeError('no WebSocket implementation: pass options.WebSocket (in Node 20: the ws package)');
  }
  const baseMs = options.reconnectBaseMs ?? 250;
  const maxMs = options.reconnectMaxMs ?? 10_000;
  const subs = new Map<string, Sub>();
  const listeners = new Set<(e: { newState: ConnectionState; oldState: ConnectionState }) => void>();
  let state: ConnectionState = 'disconnected';
  let ws: WebSocketLike | undefined;
  let attempt = 0;
  let nextId = 1;
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  let watchdog: ReturnType<typeof setInterval> | undefined;
  let lastFrameAt = 0;

  const setState = (newState: ConnectionState): void => {
    if (newState === state) {
      return;
    }
    const oldState = state;
    state = newState;
    for (const l of listeners) {
      l({ newState, oldState });
    }
  };

  const send = (f: ClientFrame): void => {
    if (ws && ws.readyState === OPEN) {
      ws.send(JSON.stringify(f));
    }
  };

  const sendSubscribe = (s: Sub): void => {
    let since = s.handlers.since;
    const isPattern = s.channel.includes('*');
    const pos = s.positions.get(s.channel);
    if (!isPattern && pos) {
      since = { epoch: pos.epoch, offset: pos.offset };
    } else if (isPattern && s.lastTs !== undefined) {
      since = { time: s.lastTs };
    }
    send({ op: 'subscribe', id: s.id, channel: s.channel, ...(since ? { since } : {}) });
  };

  const subFor = (channel: string, id?: number | string): Sub | undefined => {
    if (id !== undefined) {
      for (const s of subs.values()) {
        if (s.id === id) {
          return s;
        }
      }
    }
    const exact = subs.get(channel);
    if (exact) {
      return exact;
    }
    for (const s of subs.values()) {
      if (s.positions.has(channel)) {
        return s;
      }
    }
    return undefined;
  };

  const onFrame = (f: ServerFrame): void => {
    if (f.type === 'welcome') {
      const hb = f.heartbeatMs;
      // Dead-peer detection on our side: no frame (messages, pongs) for two heartbeats means the
      // connection is gone even if the OS has not noticed.
      watchdog = setInterval(() => {
        if (Date.now() - lastFrameAt > 2 * hb) {
          ws?.close(4000, 'no frame for two heartbeats');
          return;
        }
        send({ op: 'ping' });
      }, hb);
      (watchdog as { unref?: () => void }).unref?.();
    } else if (f.type === 'subscribed') {
      const s = subFor(f.channel, f.id);
      if (!s) {
        return;
      }
      const pos = s.positions.get(f.channel);
      if (!pos || pos.epoch !== f.epoch || !f.recovered) {
        s.positions.set(f.channel, { epoch: f.epoch, offset: f.offset });
      }
      s.handlers.onSubscribed?.(f);
    } else if (f.type === 'messages') {
      deliver(f);
    } else if (f.type === 'error') {
      const s = f.channel ? subFor(f.channel, f.id) : undefined;
      s?.handlers.onError?.({ code: f.code, message: f.message });
    }
  };

  const deliver = (f: MessagesFrame): void => {
    const s = subFor(f.channel);
    if (!s) {
      return;
    }
    const pos = s.positions.get(f.channel);
    let msgs = f.messages;
    if (!f.snapshot && pos && pos.epoch === f.epoch) {
      // After a resume by time, the replay may repeat what was already delivered.
      msgs = msgs.filter((m) => m.offset > pos.offset);
    }
    if (msgs.length === 0) {
      return;
    }
    if (!f.snapshot) {
      s.positions.set(f.channel, { epoch: f.epoch, offset: msgs[msgs.length - 1].offset });
    }
    s.lastTs = Math.max(s.lastTs ?? 0, msgs[msgs.length - 1].ts);
    s.handlers.onMessages(msgs, { channel: f.channel, epoch: f.epoch, snapshot: f.snapshot === true });
  };

  const connect = (): void => {
    setState('connecting');
    const sock = new Ctor(options.url, undefined, options.apiKey ? { headers: { authorization: `Bearer ${options.apiKey}` } } : undefined);
    ws = sock;
    sock.onopen = () => {
      attempt = 0;
      lastFrameAt = Date.now();
      setState('connected');
      void (async () => {
        if (options.getToken) {
          send({ op: 'auth', token: await options.getToken() });
        }
        for (const s of subs.values()) {
          sendSubscribe(s);
        }
      })();
    };
    sock.onmessage = (ev) => {
      lastFrameAt = Date.now();
      try {
        onFrame(JSON.parse(String(ev.data)) as ServerFrame);
      } catch {
        // A frame that is not JSON: ignore it rather than drop the connection.
      }
    };
    sock.onerror = () => undefined;
    sock.onclose = (ev) => {
      if (watchdog) {
        clearInterval(watchdog);
        watchdog = undefined;
      }
      if (ws !== sock) {
        return;
      }
      ws = undefined;
      if (state === 'closed') {
        return;
      }
      if (ev.code === CloseCode.Unauthorized) {
        // Same credentials would fail again.
        setState('closed');
        return;
      }
      setState('disconnected');
      reconnectTimer = setTimeout(connect, backoffDelay(attempt++, baseMs, maxMs));
    };
  };

  return {
    subscribe(channel, handlers) {
      if (subs.has(channel)) {
        throw new Error(`already subscribed to ${channel}`);
      }
      if (state === 'closed') {
        throw new Error('subscriber is closed');
      }
      const s: Sub = { channel, handlers, id: nextId++, positions: new Map() };
      subs.set(channel, s);
      if (!ws && state === 'disconnected' && !reconnectTimer) {
        connect();
      } else if (ws && ws.readyState === OPEN) {
        sendSubscribe(s);
      }
      return () => {
        if (subs.get(channel) === s) {
          subs.delete(channel);
          send({ op: 'unsubscribe', channel });
        }
      };
    },
    get state() {
      return state;
    },
    onState(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      setState('closed');
      if (reconnectTimer) {
        clearTimeout(reconnectTimer);
      }
      if (watchdog) {
        clearInterval(watchdog);
      }
      ws?.close(1000, 'client closed');
      ws = undefined;
    },
  };
}
