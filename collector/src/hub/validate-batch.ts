/**
 * Whole-batch validation: every item of a publish is checked before anything changes (no channel
 * is created, no schema grows), so a refused batch leaves the collector exactly as it was. Schema
 * inference runs on a working copy per channel: a later item of the batch is checked against the
 * fields an earlier item of the same batch would add.
 */
import { ErrorCode, type FieldSchema, type PublishItem, isChannelName } from '@streamgauge/protocol';
import { sgError } from '../errors';
import type { Channel } from '../channels/channel-registry';
import { checkAgainstSchema } from '../channels/schema';
import type { AppendItem } from '../log/event-log';

/** Decides, per channel, whether a caller may use it (API key scopes). */
export type ChannelFilter = (channel: string) => boolean;

export interface BatchRules {
  autoCreate: boolean;
  maxMessageBytes: number;
  maxBatch: number;
  maxInferredFields: number;
  /** Longest entity `ttl` honoured, seconds (telemetry.maxTtlSeconds); longer ones are cut to it. */
  maxTtlSeconds?: number;
}

/** Longest publish id (docs/protocol.md). */
export const MAX_PUBLISH_ID_LENGTH = 128;

/** What a valid batch will do once appended: new channels to create and fields each schema gains. */
export interface BatchPlan {
  items: AppendItem[];
  /** Channels the batch creates (autoCreate), with the fields inferred for them. */
  created: Map<string, FieldSchema[]>;
  /** Existing channels whose inferred schema grows. */
  grown: Map<Channel, FieldSchema[]>;
}

/** Validates a whole batch; throws the first problem as an SgError and changes nothing. */
export function validateBatch(
  items: PublishItem[],
  lookup: (name: string) => Channel | undefined,
  rules: BatchRules,
  now: number,
  filter?: ChannelFilter,
): BatchPlan {
  if (!Array.isArray(items)) {
    throw sgError(ErrorCode.BadRequest, 'messages must be an array');
  }
  if (items.length > rules.maxBatch) {
    throw sgError(ErrorCode.BatchTooLarge, `a publish may hold at most ${rules.maxBatch} messages, got ${items.length}`);
  }
  const created = new Map<string, FieldSchema[]>();
  const grown = new Map<Channel, FieldSchema[]>();
  const out: AppendItem[] = new Array(items.length);
  // A batch is mostly one channel: its name and scope are checked once per run of the same name.
  let checkedChannel: string | undefined;
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    const where = `messages[${i}]`;
    if (typeof it !== 'object' || it === null || Array.isArray(it)) {
      throw sgError(ErrorCode.BadRequest, `${where}: must be an object with channel and data`);
    }
    if (typeof it.channel !== 'string') {
      throw sgError(ErrorCode.BadRequest, `${where}.channel: required, a string`);
    }
    if (it.channel !== checkedChannel && !isChannelName(it.channel)) {
      throw sgError(
        ErrorCode.BadChannelName,
        `${where}.channel ${JSON.stringify(it.channel)}: lower-case segments of [a-z0-9][a-z0-9_.-]* separated by '/', at most 8 segments`,
      );
    }
    if (it.channel !== checkedChannel && filter && !filter(it.channel)) {
      throw sgError(ErrorCode.Forbidden, `${where}: no publish scope for channel ${it.channel}`);
    }
    checkedChannel = it.channel;
    if (typeof it.data !== 'object' || it.data === null || Array.isArray(it.data)) {
      throw sgError(ErrorCode.BadRequest, `${where}.data: must be a JSON object`);
    }
    const c = lookup(it.channel);
    let fields: FieldSchema[] | undefined;
    if (!c) {
      if (!rules.autoCreate) {
        throw sgError(ErrorCode.UnknownChannel, `${where}: unknown channel ${it.channel} (channels.autoCreate is off)`);
      }
      fields = created.get(it.channel);
      if (!fields) {
        created.set(it.channel, (fields = []));
      }
    }
    const data = JSON.stringify(it.data);
    // A UTF-16 unit is 1 to 3 UTF-8 bytes: count bytes only when the length alone cannot decide.
    const max = rules.maxMessageBytes;
    if (data.length > max || (data.length * 3 > max && Buffer.byteLength(data) > max)) {
      throw sgError(ErrorCode.PayloadTooLarge, `${where}.data: ${Buffer.byteLength(data)} bytes exceeds limits.maxMessageBytes (${max})`);
    }
    const kind = c?.kind ?? 'stream';
    const keyField = c?.schema.keyField;
    // The working schema: the channel's own plus what earlier items of this batch added.
    let extra: FieldSchema[] | undefined = fields;
    if (c && !c.schema.declared) {
      extra = grown.get(c);
    }
    const schema = c
      ? extra?.length
        ? { ...c.schema, fields: [...c.schema.fields, ...extra] }
        : c.schema
      : { fields: fields!, declared: false };
    const { problem, added } = checkAgainstSchema(schema, it.data, rules.maxInferredFields);
    if (problem) {
      throw sgError(ErrorCode.SchemaMismatch, `${where} on ${it.channel}: ${problem}`);
    }
    if (added.length) {
      if (!c) {
        // A new array, not a push: checkAgainstSchema keeps a map per fields array (schema.ts).
        created.set(it.channel, [...fields!, ...added]);
      } else {
        const list = grown.get(c);
        if (list) {
          list.push(...added);
        } else {
          grown.set(c, [...added]);
        }
      }
    }
    let key: string | undefined;
    if (kind !== 'stream') {
      const k = it.key ?? (keyField ? it.data[keyField] : undefined);
      if ((typeof k !== 'string' && typeof k !== 'number') || String(k).length === 0 || String(k).length > 256) {
        throw sgError(
          ErrorCode.BadRequest,
          `${where}: ${kind} channel ${it.channel} needs a key (1-256 characters) in "key" or data.${keyField ?? 'key'}`,
        );
      }
      key = String(k);
    } else if (it.delete || it.key !== undefined) {
      throw sgError(ErrorCode.BadRequest, `${where}: key and delete apply only to state and entity channels; ${it.channel} is a stream`);
    }
    if (it.delete && kind !== 'entity') {
      throw sgError(ErrorCode.BadRequest, `${where}: delete applies only to entity channels; ${it.channel} is a ${kind} channel`);
    }
    if (it.ttl !== undefined && (typeof it.ttl !== 'number' || !Number.isFinite(it.ttl) || it.ttl <= 0)) {
      throw sgError(ErrorCode.BadRequest, `${where}.ttl: must be a number of seconds > 0, got ${JSON.stringify(it.ttl)}`);
    }
    if (it.ttl !== undefined && kind !== 'entity') {
      throw sgError(ErrorCode.BadRequest, `${where}: ttl applies only to entity channels; ${it.channel} is a ${kind} channel`);
    }
    if (it.delete !== undefined && typeof it.delete !== 'boolean') {
      throw sgError(ErrorCode.BadRequest, `${where}.delete: must be true or false, got ${JSON.stringify(it.delete)}`);
    }
    if (it.id !== undefined && (typeof it.id !== 'string' || it.id.length === 0 || it.id.length > MAX_PUBLISH_ID_LENGTH)) {
      throw sgError(
        ErrorCode.BadRequest,
        `${where}.id: must be a string of 1-${MAX_PUBLISH_ID_LENGTH} characters, got ${JSON.stringify(it.id)}`,
      );
    }
    const item: AppendItem = { channel: it.channel, ts: now, key, deleted: it.delete ? true : undefined, data, id: it.id };
    if (kind === 'entity') {
      // Kept by the store with the message, so whichever instance holds the expiry lease sees it.
      item.expiresAt = it.ttl !== undefined && !it.delete ? now + Math.min(it.ttl, rules.maxTtlSeconds ?? Infinity) * 1000 : null;
    }
    out[i] = item;
  }
  return { items: out, created, grown };
}
