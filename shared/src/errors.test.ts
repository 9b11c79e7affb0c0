import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KnaError, Outcome, defineError } from './errors.js';

const ERR_EXAMPLE = defineError('KNA_ERR_EXAMPLE', Outcome.Denied, (image: string, why: string) => `image ${image}: ${why}`);
const ERR_OTHER = defineError('KNA_ERR_OTHER', Outcome.Internal, () => 'other');

describe('defineError', () => {
  it('formats the message and carries code and outcome', () => {
    const err = new ERR_EXAMPLE('app:v1', 'unsigned');
    assert.equal(err.message, 'image app:v1: unsigned');
    assert.equal(err.code, 'KNA_ERR_EXAMPLE');
    assert.equal(err.outcome, 'denied');
    assert.equal(ERR_EXAMPLE.code, 'KNA_ERR_EXAMPLE');
    assert.equal(err.name, 'KnaError [KNA_ERR_EXAMPLE]');
  });

  it('keeps a cause', () => {
    const cause = new Error('root');
    const err = new ERR_EXAMPLE('a', 'b', { cause });
    assert.equal(err.cause, cause);
    assert.equal(err.message, 'image a: b');
  });

  it('supports instanceof by code, across classes', () => {
    const err = new ERR_EXAMPLE('a', 'b');
    assert.ok(err instanceof ERR_EXAMPLE);
    assert.ok(err instanceof KnaError);
    assert.ok(err instanceof Error);
    assert.ok(!(err instanceof ERR_OTHER));
    assert.ok(!(new Error('x') instanceof KnaError));
    // A structurally identical error from another copy of the module is recognised by its marker.
    const foreign = Object.assign(Object.create(null) as object, { [Symbol.for('kyverno-notation-aws.error')]: true, code: 'KNA_ERR_EXAMPLE' });
    assert.ok(foreign instanceof KnaError);
  });
});
