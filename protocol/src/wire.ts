/**
 * Streamgauge wire protocol v1: the frames on /ws, the SSE events on /api/v1/stream and the
 * REST shapes. docs/protocol.md is the prose version of this file; keep them together.
 */
import type { ErrorCode } from './codes';

export const PROTOCOL_VERSION = 1;

/**
 * Channel names: lower-case segments separated by '/', e.g. `app/scans`, `evm/local/blocks`. Every
 * segment starts with a letter or digit, so `..`, `.hidden` and `-x` are never segments (a `..`
 * would also be folded away by URL normalisation).
 */
export const CHANNEL_NAME_RE = /^[a-z0-9][a-z0-9_.-]{0,63}(\/[a-z0-9][a-z0-9_.-]{0,63}){0,7}$/;
/** Patterns: like names, where a segment may be `*` (one segment) and the last may be `**` (the rest). */
export const CHANNEL_PATTERN_RE = /^([a-z0-9][a-z0-9_.-]{0,63}|\*|\*\*)(\/([a-z0-9][a-z0-9_.-]{0,63}|\*|\*\*)){0,7}$/;

export type FieldType = 'number' | 'string' | 'boolean' | 'time' | 'json';

export interface FieldSchema {
  name: string;
  type: FieldType;
  /** Grafana unit id where one fits (e.g. `s`, `ms`, `bytes`, `percent`), or a plain unit (`wei`, `gas`). */
  unit?: string;
  description?: string;
}

/** stream: every message kept in order; state: latest message per key; entity: keyed, with delete and TTL. */
export type ChannelKind = 'stream' | 'state' | 'entity';

export interface ChannelSchema {
  fields: FieldSchema[];
  /** Field of `data` holding the event's own time (ms since epoch or ISO string). Defaults to the server `ts`. */
  timeField?: string;
  /** For state and entity channels: the field of `data` that names the key. */
  keyField?: string;
  /** true when the schema was declared in config; false when inferred from messages. */
  declared: boolean;
}

/** A position in a channel: the last offset a client has seen in a given epoch. */
export interface Position {
  epoch: string;
  offset: number;
}

/** One message as delivered on every transport and returned by REST. */
export interface MessageItem {
  /** Per-channel, strictly increasing, starting at 1. */
  offset: number;
  /** Server time the message was accepted, ms since the Unix epoch. */
  ts: number;
  /** For state/entity channels: the key. */
  key?: string;
  /** For entity channels: true when this message deletes `key`. */
  deleted?: boolean;
  data: Record<string, unknown>;
}

/** Where a subscription starts. Absent: live only, from the next message. */
export type Since = { epoch: string; offset: number } | { time: number } | { last: number };

// ---- client -> server frames on /ws --------------------------------------------------------

export interface SubscribeFrame {
  op: 'subscribe';
  /** Echoed in the reply, so clients can match replies to requests. */
  id?: number | string;
  /** An exact channel name, or a pattern (`app/*`, `evm/**`). */
  channel: string;
  since?: Since;
}
export interface UnsubscribeFrame {
  op: 'unsubscribe';
  id?: number | string;
  channel: string;
}
export interface PingFrame {
  op: 'ping';
  id?: number | string;
}
export interface AuthFrame {
  op: 'auth';
  id?: number | string;
  /** A short-lived token from POST /api/v1/token: first authentication, or a refresh before expiry. */
  token: string;
}
export type ClientFrame = SubscribeFrame | UnsubscribeFrame | PingFrame | AuthFrame;

// ---- server -> client frames on /ws (and SSE `data:`) ----------------------------------------

export interface WelcomeFrame {
  type: 'welcome';
  protocol: number;
  server: string;
  /** Heartbeat interval the server uses, so clients can detect a dead connection on their side too. */
  heartbeatMs: number;
  maxPayloadBytes: number;
}

export interface SubscribedFrame {
  type: 'subscribed';
  id?: number | string;
  channel: string;
  /** For patterns: the channels matched now (more may join later; each sends its own `subscribed`). */
  pattern?: string;
  epoch: string;
  /** The last offset before what this subscription delivers next (live starts at offset + 1). */
  offset: number;
  /**
   * false when the requested position could not be honoured whole: the epoch differs (history
   * lost), or the offset is older than the oldest message kept. Delivery then starts at the
   * oldest kept message (`firstOffset`), and the client must refill its state some other way.
   */
  recovered: boolean;
  /**
   * Why `recovered` is false: `epoch_changed` (the channel's history was lost), `expired` (the
   * position is older than the oldest message kept) or `ahead` (the position is past the last
   * offset the collector has: it lost recent messages).
   */
  reason?: 'epoch_changed' | 'expired' | 'ahead';
  firstOffset: number;
  lastOffset: number;
  kind: ChannelKind;
  schema: ChannelSchema;
}

/**
 * The answer to a pattern subscription, sent once before any `subscribed` of its channels: the
 * channels the pattern matches now (possibly none). Channels created later that match it each send
 * their own `subscribed`.
 */
export interface PatternFrame {
  type: 'pattern';
  id?: number | string;
  pattern: string;
  channels: string[];
}

export interface UnsubscribedFrame {
  type: 'unsubscribed';
  id?: number | string;
  channel: string;
}

export interface MessagesFrame {
  type: 'messages';
  channel: string;
  epoch: string;
  /** In offset order. Consecutive, except in the snapshot of a state/entity channel. */
  messages: MessageItem[];
  /** true for the snapshot of a state/entity channel sent first after subscribing. */
  snapshot?: boolean;
}

export interface ErrorFrame {
  type: 'error';
  id?: number | string;
  code: ErrorCode;
  message: string;
  channel?: string;
}

export interface PongFrame {
  type: 'pong';
  id?: number | string;
  ts: number;
}

export interface AuthOkFrame {
  type: 'auth_ok';
  id?: number | string;
  /** Token expiry, ms since epoch. */
  expiresAt: number;
}

export type ServerFrame =
  WelcomeFrame | SubscribedFrame | PatternFrame | UnsubscribedFrame | MessagesFrame | ErrorFrame | PongFrame | AuthOkFrame;

// ---- REST ------------------------------------------------------------------------------------

export interface PublishItem {
  channel: string;
  data: Record<string, unknown>;
  /** For state/entity channels, when the key is not in `data[keyField]`. */
  key?: string;
  /** For entity channels: delete `key`. */
  delete?: boolean;
  /** For entity channels: seconds until the entity expires unless upserted again. */
  ttl?: number;
  /**
   * Publish id (1-128 characters), unique per channel for this message: a retry with the same id,
   * on any instance, returns the original offset instead of storing the message again, while the
   * id is within the channel's window (the newest `store.publishIdWindow` offsets, docs/protocol.md).
   */
  id?: string;
}

export interface PublishRequest {
  messages: PublishItem[];
}

export interface PublishResult {
  channel: string;
  epoch: string;
  offset: number;
  /** true when the message's `id` was already stored: `offset` is the original one, nothing was appended. */
  duplicate?: true;
}

export interface PublishResponse {
  offsets: PublishResult[];
}

export interface ChannelInfo {
  name: string;
  kind: ChannelKind;
  epoch: string;
  schema: ChannelSchema;
  firstOffset: number;
  lastOffset: number;
  /** Messages kept in the log. */
  count: number;
  lastTs: number | null;
  /** Messages per second over the last minute. */
  rate: number;
  retention: { maxMessages: number; maxAgeSeconds: number };
  description?: string;
}

export interface ChannelsResponse {
  channels: ChannelInfo[];
}

export interface HistoryResponse {
  channel: string;
  epoch: string;
  firstOffset: number;
  lastOffset: number;
  messages: MessageItem[];
  /** true when `limit` cut the answer: ask again with `after` = the last offset returned. */
  more: boolean;
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}
