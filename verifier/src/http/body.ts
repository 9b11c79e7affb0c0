// Request body parsing for /checkimages. Kyverno sends no Content-Type (docs/architecture.md "The HTTP contract"), so
// every body is parsed as JSON whatever the header says. The nesting depth is checked on the raw text
// before JSON.parse, whose recursion a deeply nested body could otherwise exhaust.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { VERIFIER_ERR_BAD_REQUEST } from '../errors.js';
import { errorMessage } from '@kna/shared/errors';

/** Deeper than any legitimate request: conditions nest a few levels inside images and attestations. */
const MAX_DEPTH = 64;

/** Throws when `text` nests arrays/objects deeper than `max` (strings are skipped, escapes honoured). */
export function assertDepth(text: string, max = MAX_DEPTH): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > max) throw new VERIFIER_ERR_BAD_REQUEST(`the body nests objects or arrays more than ${max} levels deep`);
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
}

export function parseBody(text: string): unknown {
  if (text.trim() === '') throw new VERIFIER_ERR_BAD_REQUEST('the body must be a JSON object with an "images" field');
  assertDepth(text);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new VERIFIER_ERR_BAD_REQUEST(`the body is not valid JSON: ${errorMessage(err)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new VERIFIER_ERR_BAD_REQUEST('the body must be a JSON object with an "images" field');
  }
  return value;
}

export interface JsonBodyOptions {
  /** --maxRequestBytes: a longer body is refused with 413. */
  readonly maxRequestBytes: number;
}

function jsonBodyPlugin(app: FastifyInstance, { maxRequestBytes }: JsonBodyOptions, done: (err?: Error) => void): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: maxRequestBytes }, (_request, body, parsed) => {
    try {
      parsed(null, parseBody(body as string));
    } catch (err) {
      parsed(err as Error, undefined);
    }
  });
  done();
}

/** Every body of the instance it is registered on is read as JSON (parseBody), whatever its Content-Type. */
export const jsonBody = fp(jsonBodyPlugin, { name: 'kna-json-body', fastify: '5.x' });
