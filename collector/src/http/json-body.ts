/**
 * JSON and NDJSON request bodies, parsed without holding the event loop and without building what
 * the limits would refuse anyway. A body of 2.7 million `{}` lines (8 MiB) used to be parsed whole
 * before `limits.maxBatch` was checked, stalling every client for seconds (issue 12). Here:
 *
 * - one pass scans the text (string-aware) for nesting depth (`limits.maxJsonDepth`, else 400
 *   SG_JSON_TOO_DEEP) and counts the items of the top two levels: past `limits.maxBatch` the body
 *   is refused at once with 413 SG_BATCH_TOO_LARGE, before anything is parsed;
 * - the body is then parsed piece by piece (each element of the top-level array, of `messages`,
 *   each top-level field, each NDJSON line), each piece at most `maxPieceBytes`, with fastify's own
 *   JSON parser (prototype-poisoning protection included);
 * - scanning and parsing yield to the event loop every few milliseconds, so other clients are
 *   served while a large body is read.
 */
import { ErrorCode } from '@streamgauge/protocol';
import { SgError, sgError } from '../errors';

export interface JsonBodyLimits {
  /** Deepest nesting of arrays and objects. */
  maxDepth: number;
  /** Items at most in any array at the top two levels (limits.maxBatch). */
  maxItems: number;
  /** Largest piece parsed in one go: one message, one top-level field, one NDJSON line. */
  maxPieceBytes: number;
}

/** Parses one piece of JSON text synchronously (fastify's default parser); throws on bad JSON. */
export type PieceParser = (text: string) => unknown;

/** Work done between two yields to the event loop, in ms. */
const SLICE_MS = 5;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const COMMA = 0x2c;

class Pacer {
  private since = performance.now();
  /** Resolves at once, or after yielding to the event loop when this slice has run long enough. */
  async maybeYield(): Promise<void> {
    if (performance.now() - this.since >= SLICE_MS) {
      await new Promise<void>((r) => setImmediate(r));
      this.since = performance.now();
    }
  }
}

const tooDeep = (max: number) => sgError(ErrorCode.JsonTooDeep, `JSON nested deeper than ${max} levels (limits.maxJsonDepth)`);
const tooMany = (max: number) => sgError(ErrorCode.BatchTooLarge, `more than ${max} items in one request (limits.maxBatch)`);
const pieceTooLarge = (max: number) =>
  sgError(ErrorCode.PayloadTooLarge, `one message or field of the body exceeds ${max} bytes (4 × limits.maxMessageBytes)`);
const badJson = (why: string) => sgError(ErrorCode.BadJson, `body is not valid JSON: ${why}`);

/** A depth-2 array (a value of the top-level object, e.g. `messages`): where it opens, its commas, where it closes. */
interface InnerArray {
  open: number;
  commas: number[];
  close: number;
}

interface Skeleton {
  top: number;
  open: number;
  /** Commas at depth 1, then the index of the top container's closing bracket. */
  separators: number[];
  /** In text order. */
  inner: InnerArray[];
}

interface ScanState {
  depth: number;
  inString: boolean;
  innerItems: number;
  current: InnerArray | undefined;
  closed: boolean;
}

/** Characters scanned between two looks at the clock. */
const SCAN_SLICE = 128 * 1024;

/**
 * One slice of the scan, synchronous: locals in a plain loop, which V8 optimises (the same loop
 * inside an async function keeps its variables in the generator context and runs several times slower).
 */
function scanSlice(text: string, from: number, to: number, st: ScanState, sk: Skeleton, l: JsonBodyLimits): number {
  let { depth, inString, innerItems, current, closed } = st;
  let i = from;
  for (; i < to; i++) {
    if (inString) {
      // Most of a body is string contents: jump to the closing quote (indexOf runs through text
      // many times faster than a loop over its characters), even past the slice's end, so no
      // slice searches the same string again.
      const end = closingQuote(text, i);
      if (end < 0) {
        i = text.length; // the body ends inside a string: the caller reports it
        break;
      }
      inString = false;
      i = end;
      continue;
    }
    const c = text.charCodeAt(i);
    if (closed) {
      if (!isSpace(c)) {
        throw badJson(`unexpected data after the end at position ${i}`);
      }
      continue;
    }
    switch (c) {
      case QUOTE:
        inString = true;
        break;
      case LBRACE:
      case LBRACKET:
        if (++depth > l.maxDepth) {
          throw tooDeep(l.maxDepth);
        }
        if (depth === 2 && c === LBRACKET && sk.top === LBRACE) {
          current = { open: i, commas: [], close: -1 };
          sk.inner.push(current);
        }
        break;
      case RBRACE:
      case RBRACKET:
        depth--;
        if (depth === 1 && current) {
          current.close = i;
          current = undefined;
        } else if (depth === 0) {
          sk.separators.push(i);
          closed = true;
        } else if (depth < 0) {
          throw badJson(`unbalanced ${String.fromCharCode(c)} at position ${i}`);
        }
        break;
      case COMMA:
        if (depth === 1) {
          sk.separators.push(i);
          if (sk.separators.length >= l.maxItems) {
            throw tooMany(l.maxItems);
          }
        } else if (depth === 2 && current) {
          current.commas.push(i);
          if (++innerItems >= l.maxItems) {
            throw tooMany(l.maxItems);
          }
        }
        break;
      default:
    }
  }
  Object.assign(st, { depth, inString, innerItems, current, closed });
  return i;
}

/**
 * The index of the quote that ends a string whose contents go on at `from`, or -1. A quote
 * preceded by an odd number of backslashes is part of the string. Counting them may look back
 * before `from` (into the previous slice): the string's opening quote stops it.
 */
function closingQuote(text: string, from: number): number {
  for (let q = text.indexOf('"', from); q >= 0; q = text.indexOf('"', q + 1)) {
    let k = q - 1;
    while (text.charCodeAt(k) === BACKSLASH) {
      k--;
    }
    if ((q - 1 - k) % 2 === 0) {
      return q;
    }
  }
  return -1;
}

async function scan(text: string, start: number, l: JsonBodyLimits, pacer: Pacer): Promise<Skeleton> {
  const sk: Skeleton = { top: text.charCodeAt(start), open: start, separators: [], inner: [] };
  const st: ScanState = { depth: 0, inString: false, innerItems: 0, current: undefined, closed: false };
  for (let from = start; from < text.length;) {
    from = scanSlice(text, from, Math.min(text.length, from + SCAN_SLICE), st, sk, l);
    await pacer.maybeYield();
  }
  if (!st.closed) {
    throw badJson('unexpected end of the body');
  }
  return sk;
}

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

function trimRange(text: string, from: number, to: number): [number, number] {
  while (from < to && isSpace(text.charCodeAt(from))) {
    from++;
  }
  while (to > from && isSpace(text.charCodeAt(to - 1))) {
    to--;
  }
  return [from, to];
}

/** Elements parsed together, up to this many characters: one parse call per element costs 6 times more. */
const CHUNK_CHARS = 64 * 1024;

/**
 * The elements of an array whose opening bracket is at `open` and whose commas and closing bracket
 * are `separators`: parsed in chunks of whole elements (`[` + their text + `]`), each element at most
 * maxPieceBytes, yielding between chunks. Empty or malformed elements fail in the parser (400).
 */
async function parseElements(
  text: string,
  open: number,
  separators: readonly number[],
  l: JsonBodyLimits,
  parse: PieceParser,
  pacer: Pacer,
): Promise<unknown[]> {
  const out: unknown[] = [];
  let chunkStart = open + 1;
  let from = open + 1;
  for (let i = 0; i < separators.length; i++) {
    const sep = separators[i];
    if (sep - from > l.maxPieceBytes) {
      const [a, b] = trimRange(text, from, sep);
      if (b - a > l.maxPieceBytes) {
        throw pieceTooLarge(l.maxPieceBytes);
      }
    }
    from = sep + 1;
    if (sep - chunkStart >= CHUNK_CHARS || i === separators.length - 1) {
      const values = parse(`[${text.slice(chunkStart, sep)}]`) as unknown[];
      for (const v of values) {
        out.push(v);
      }
      chunkStart = sep + 1;
      await pacer.maybeYield();
    }
  }
  return out;
}

export async function parseJsonBody(text: string, l: JsonBodyLimits, parse: PieceParser): Promise<unknown> {
  const pacer = new Pacer();
  const [start, end] = trimRange(text, 0, text.length);
  if (start === end) {
    throw badJson('the body is empty');
  }
  const first = text.charCodeAt(start);
  if (first !== LBRACE && first !== LBRACKET) {
    // A bare number, string or literal: no nesting, no items.
    return parse(text);
  }
  const sk = await scan(text, start, l, pacer);
  if (sk.top === LBRACKET) {
    return parseElements(text, sk.open, sk.separators, l, parse, pacer);
  }
  // The fields of the top object: between its opening brace, each depth-1 comma, and its closing one.
  const units: [number, number][] = [];
  let from = sk.open + 1;
  for (const sep of sk.separators) {
    units.push(trimRange(text, from, sep));
    from = sep + 1;
  }
  if (units.length === 1 && units[0][0] === units[0][1]) {
    units.length = 0; // [] or {}
  }
  const out: Record<string, unknown> = {};
  let k = 0;
  for (const [a, b] of units) {
    if (a === b) {
      throw badJson('empty object member');
    }
    while (k < sk.inner.length && sk.inner[k].open < a) {
      k++;
    }
    const inner = k < sk.inner.length && sk.inner[k].open < b ? sk.inner[k] : undefined;
    if (!inner) {
      // One field parsed as a one-field object, so the parser's prototype checks apply to its key too.
      if (b - a > l.maxPieceBytes) {
        throw pieceTooLarge(l.maxPieceBytes);
      }
      Object.assign(out, parse(`{${text.slice(a, b)}}`) as object);
      await pacer.maybeYield();
      continue;
    }
    // `"key": [ … ]`: the key, then each element of the array on its own.
    const [ka, kb] = trimRange(text, a, inner.open);
    if (text[kb - 1] !== ':' || kb - a > l.maxPieceBytes) {
      throw badJson(`expected "key": before position ${inner.open}`);
    }
    const key = parse(text.slice(ka, kb - 1));
    if (typeof key !== 'string') {
      throw badJson(`object keys are strings (position ${ka})`);
    }
    if (key === '__proto__') {
      throw badJson('Object contains forbidden prototype property');
    }
    const [ta, tb] = trimRange(text, inner.close + 1, b);
    if (ta !== tb) {
      throw badJson(`unexpected data after position ${inner.close}`);
    }
    const items = await parseElements(text, inner.open, [...inner.commas, inner.close], l, parse, pacer);
    Object.defineProperty(out, key, { value: items, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** NDJSON: one JSON value per line; blank lines are skipped. Returns the values. */
export async function parseNdjsonBody(text: string, l: JsonBodyLimits, parse: PieceParser): Promise<unknown[]> {
  const pacer = new Pacer();
  const items: unknown[] = [];
  let line = 0;
  for (let from = 0; from < text.length;) {
    let to = text.indexOf('\n', from);
    if (to < 0) {
      to = text.length;
    }
    line++;
    const [a, b] = trimRange(text, from, to);
    from = to + 1;
    if (a === b) {
      continue;
    }
    if (items.length >= l.maxItems) {
      throw tooMany(l.maxItems);
    }
    if (b - a > l.maxPieceBytes) {
      throw pieceTooLarge(l.maxPieceBytes);
    }
    const lineText = text.slice(a, b);
    try {
      const first = lineText.charCodeAt(0);
      if (first === LBRACE || first === LBRACKET) {
        await scan(lineText, 0, l, pacer); // depth (a line is at most maxPieceBytes)
      }
      items.push(parse(lineText));
    } catch (err) {
      if (err instanceof SgError && err.code !== ErrorCode.BadJson) {
        throw err;
      }
      throw sgError(ErrorCode.BadJson, `line ${line} is not valid JSON: ${(err as Error).message}`);
    }
    await pacer.maybeYield();
  }
  return items;
}
