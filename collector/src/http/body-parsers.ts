/**
 * The collector's request body parsers: application/json and NDJSON, both through json-body.ts
 * (bounded, yielding), both ending in fastify's own JSON parser for each piece so that its
 * prototype-poisoning checks (`__proto__`, `constructor.prototype`: 400) still apply.
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from '../collector-config';
import { type JsonBodyLimits, type PieceParser, parseJsonBody, parseNdjsonBody } from './json-body';

export function registerBodyParsers(app: FastifyInstance, limits: Config['limits']): void {
  const l: JsonBodyLimits = {
    maxDepth: limits.maxJsonDepth,
    maxItems: limits.maxBatch,
    // A message's data is at most maxMessageBytes once serialized compactly; its text in a body may
    // hold whitespace and escapes (\u00e9 is 6 bytes for 2), hence the margin.
    maxPieceBytes: 4 * limits.maxMessageBytes + 4096,
  };
  const fastifyParser = app.getDefaultJsonParser('error', 'error');
  const parse: PieceParser = (text) => {
    let out: unknown;
    fastifyParser(undefined as never, text, (err, value) => {
      if (err) {
        throw err;
      }
      out = value;
    });
    return out;
  };
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, async (_req: unknown, body: string | Buffer) =>
    parseJsonBody(body as string, l, parse),
  );
  app.addContentTypeParser(
    ['application/x-ndjson', 'application/ndjson'],
    { parseAs: 'string' },
    async (_req: unknown, body: string | Buffer) => ({
      messages: await parseNdjsonBody(body as string, l, parse),
    }),
  );
}
