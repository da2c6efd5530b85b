/**
 * What the core needs from the outside, each injectable: the WebSocket (browser or `ws` in Node)
 * and the REST reads used for hole filling and polling (the plugin passes Grafana's proxy, the SDK
 * the collector's URL).
 */
import type { HistoryResponse } from '@streamgauge/protocol';

/** The subset of the browser WebSocket API used here; `ws` (Node) implements it too. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
/** The third argument is passed only when `socketOptions` is set (Node `ws`: `{ headers }`). */
export type WebSocketCtor = new (url: string, protocols?: string | string[], options?: unknown) => WebSocketLike;

export interface HistoryQuery {
  channel: string;
  after?: number;
  limit?: number;
  tail?: boolean;
}

/** REST reads the core uses: history pages (hole filling, polling) and a liveness probe. */
export interface RestReader {
  messages(q: HistoryQuery): Promise<HistoryResponse>;
  /** Any cheap authenticated GET: tells "proxy refuses upgrades" (REST works) from "collector down". */
  status(): Promise<unknown>;
}

/** A token for the `auth` frame; its expiry is read from the collector's `auth_ok`. */
export interface TokenResponse {
  token: string;
}

/**
 * Fetches a token for the `auth` frame. `channels` are the exact channels (or patterns) the
 * connection subscribes to now, so a token can be limited to them; it is asked again when a
 * channel outside the last token's list is subscribed.
 */
export type GetToken = (channels: readonly string[]) => Promise<TokenResponse>;
