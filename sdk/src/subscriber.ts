/**
 * The subscribing half of the SDK: a thin surface over the protocol client core
 * (@streamgauge/client), which does the work the Grafana plugin relies on too: one WebSocket for
 * any number of subscriptions, auth before subscribe (getToken), reconnect with capped
 * full-jitter backoff, and resume: after a reconnect each channel continues from the last offset it
 * delivered, so nothing is missed or delivered twice while the collector keeps the history.
 * When upgrades are refused while REST answers (a proxy), REST polling over the history endpoint
 * carries the subscriptions (state `polling`) and the socket is retried (rest-reader.ts).
 * Patterns resume by time and drop what was already delivered. State and entity channels deliver
 * their snapshot first (`ctx.snapshot`).
 */
import { ConnectionState as State, ProtocolClient } from '@streamgauge/client';
import type { WebSocketLike } from '@streamgauge/client';
import type { MessageItem, Since, SubscribedFrame } from '@streamgauge/protocol';
import { createRestReader, restUrlFromWsUrl } from './rest-reader';

/** idle | connecting | connected | reconnecting | polling (REST fallback) | closed: the core's states. */
export type ConnectionState = State;

export type { WebSocketLike };
export type WebSocketConstructor = new (url: string, protocols?: string | string[], options?: unknown) => WebSocketLike;

export interface SubscriberOptions {
  /** WebSocket URL, e.g. `ws://127.0.0.1:8080/ws`. */
  url: string;
  /** API key, sent as an `Authorization: Bearer` header (Node `ws` only: browsers cannot set headers; use getToken). */
  apiKey?: string;
  /**
   * Returns a short-lived token (POST /api/v1/token) for the `auth` frame, sent after each connect
   * and before any subscribe, again before the token expires, and when a channel outside the
   * channels it was asked for is subscribed (`channels`: what the connection subscribes now).
   */
  getToken?: (channels: readonly string[]) => string | Promise<string>;
  /** WebSocket implementation (default: globalThis.WebSocket). In Node 20 pass `require('ws')`. */
  WebSocket?: WebSocketConstructor;
  /** Reconnect backoff base and cap, ms (defaults 250 and 10,000). */
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
  /**
   * The collector's HTTP base URL for REST reads: filling holes and the polling fallback (default:
   * `url` with ws→http, wss→https and without the trailing `/ws`). `false`: no REST reads at all.
   * REST authenticates with `apiKey` only (a `getToken` token is for the socket).
   */
  restUrl?: string | false;
  /** fetch implementation for REST reads (default: the global one). */
  fetch?: typeof fetch;
  /** Polling fallback: REST polling interval, ms (default 1,000). */
  pollIntervalMs?: number;
  /** Polling fallback: consecutive failed WebSocket connects (while REST answers) before polling (default 3). */
  fallbackAfterFailures?: number;
  /** Polling fallback: while polling, how often the WebSocket is tried again, ms (default 15,000). */
  wsRetryIntervalMs?: number;
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
  const getToken = options.getToken;
  const rest =
    options.restUrl === false
      ? undefined
      : createRestReader({ url: options.restUrl ?? restUrlFromWsUrl(options.url), apiKey: options.apiKey, fetch: options.fetch });
  const client = new ProtocolClient({
    wsUrl: options.url,
    WebSocket: Ctor,
    socketOptions: options.apiKey ? { headers: { authorization: `Bearer ${options.apiKey}` } } : undefined,
    getToken: getToken ? async (channels) => ({ token: await getToken(channels) }) : undefined,
    minReconnectDelayMs: options.reconnectBaseMs ?? 250,
    maxReconnectDelayMs: options.reconnectMaxMs ?? 10_000,
    // An application's subscription stays until it unsubscribes; no idle grace is needed.
    idleCloseMs: 0,
    rest,
    ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
    ...(options.fallbackAfterFailures !== undefined ? { fallbackAfterFailures: options.fallbackAfterFailures } : {}),
    ...(options.wsRetryIntervalMs !== undefined ? { wsRetryIntervalMs: options.wsRetryIntervalMs } : {}),
  });
  const active = new Set<string>();
  return {
    subscribe(channel, handlers) {
      if (active.has(channel)) {
        throw new Error(`already subscribed to ${channel}`);
      }
      if (client.state === State.Closed) {
        throw new Error('subscriber is closed');
      }
      active.add(channel);
      const stop = client.subscribe(channel, handlers.since, {
        onMessages: (messages, epoch, info) => handlers.onMessages(messages, { channel: info.channel, epoch, snapshot: info.snapshot }),
        onSubscribed: handlers.onSubscribed && ((f) => handlers.onSubscribed!(f)),
        onError: handlers.onError && ((e) => handlers.onError!(e)),
      });
      return () => {
        if (active.delete(channel)) {
          stop();
        }
      };
    },
    get state() {
      return client.state;
    },
    onState(listener) {
      return client.onState(({ newState, oldState }) => listener({ newState, oldState }));
    },
    close() {
      active.clear();
      client.close();
    },
  };
}
