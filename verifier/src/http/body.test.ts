import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertDepth, parseBody } from './body.js';

describe('parseBody', () => {
  it('parses an object and tolerates a trailing newline', () => {
    assert.deepEqual(parseBody('{"images":{}}\n'), { images: {} });
  });

  it('rejects empty, non-JSON and non-object bodies with a reason', () => {
    assert.throws(() => parseBody(''), /the body must be a JSON object/);
    assert.throws(() => parseBody('{"images":'), /not valid JSON/);
    assert.throws(() => parseBody('[1]'), /must be a JSON object/);
    assert.throws(() => parseBody('null'), /must be a JSON object/);
  });

  it('rejects deep nesting before parsing, ignoring brackets inside strings', () => {
    assert.throws(() => parseBody('['.repeat(100_000) + ']'.repeat(100_000)), /more than 64 levels/);
    assertDepth(`{"a":"${'['.repeat(500)}"}`);
    assertDepth('{"a":"\\"[[[["}');
    assert.throws(() => assertDepth('{"a":' + '{"b":'.repeat(64) + '1' + '}'.repeat(65)), /64 levels/);
  });
});
