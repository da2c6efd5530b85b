/**
 * The body scanner (http/json-body.ts) against JSON.parse: strings are skipped by jumping to their
 * closing quote, so escaped quotes, runs of backslashes, brackets and commas inside strings, and
 * strings longer than a scan slice (128 Ki characters) must all come out as JSON.parse reads them.
 * Unit test of one small piece; the real collector's bodies are in security/body-limits.test.ts.
 */
import { ErrorCode } from '@streamgauge/protocol';
import { parseJsonBody } from '../../src/http/json-body';

const limits = { maxDepth: 64, maxItems: 10_000, maxPieceBytes: 1 << 24 };
const parse = (t: string): unknown => JSON.parse(t);

/** A small deterministic generator (no Math.random: a failure must reproduce). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const TRICKY = ['"', '\\', '\\\\', '\\"', '[', ']', '{', '}', ',', ':', ' ', '\n', 'é', '\u2028', 'x'];

function randomString(r: () => number): string {
  let s = '';
  const n = Math.floor(r() * 12);
  for (let i = 0; i < n; i++) {
    s += TRICKY[Math.floor(r() * TRICKY.length)];
  }
  return s;
}

function randomValue(r: () => number, depth: number): unknown {
  const k = Math.floor(r() * (depth > 4 ? 4 : 6));
  switch (k) {
    case 0:
      return randomString(r);
    case 1:
      return Math.floor(r() * 1e6) / 100;
    case 2:
      return r() < 0.5;
    case 3:
      return null;
    case 4:
      return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = Math.floor(r() * 4); i > 0; i--) {
        o[randomString(r) || 'k'] = randomValue(r, depth + 1);
      }
      return o;
    }
  }
}

describe('JSON body scanner', () => {
  test('behavior: 2,000 generated bodies full of quotes, backslashes and brackets in strings parse as JSON.parse reads them', async () => {
    const r = rng(20261130);
    for (let i = 0; i < 2_000; i++) {
      const body =
        i % 2 === 0
          ? { messages: Array.from({ length: 1 + Math.floor(r() * 5) }, () => ({ channel: randomString(r), data: randomValue(r, 0) })) }
          : Array.from({ length: Math.floor(r() * 5) }, () => randomValue(r, 0));
      const text = JSON.stringify(body);
      await expect(parseJsonBody(text, limits, parse)).resolves.toEqual(JSON.parse(text));
    }
  });

  test('behavior: strings longer than a scan slice, ending in escaped quotes and backslash runs, are skipped whole', async () => {
    for (const tail of ['', '\\', '\\\\\\', '"', '\\"[{,', '"]}']) {
      const long = `${'a'.repeat(300_000)}${tail}`;
      const text = JSON.stringify({
        messages: [
          { channel: 'x/y', data: { s: long } },
          { channel: 'x/y', data: { s: '[' } },
        ],
      });
      await expect(parseJsonBody(text, limits, parse)).resolves.toEqual(JSON.parse(text));
    }
  });

  test('behavior: brackets inside strings count neither as depth nor as items', async () => {
    const deepInString = JSON.stringify({ messages: [{ channel: 'a', data: { s: '['.repeat(1_000) + ','.repeat(20_000) } }] });
    await expect(parseJsonBody(deepInString, { ...limits, maxDepth: 4, maxItems: 10 }, parse)).resolves.toEqual(JSON.parse(deepInString));
  });

  test('behavior: a body that ends inside a string, or with an escaped closing quote, is refused with SG_BAD_JSON', async () => {
    for (const text of ['{"messages":[{"channel":"a","data":{"s":"abc', '{"messages":["abc\\"]}', `["${'x'.repeat(200_000)}`]) {
      await expect(parseJsonBody(text, limits, parse)).rejects.toMatchObject({ code: ErrorCode.BadJson });
    }
  });
});
