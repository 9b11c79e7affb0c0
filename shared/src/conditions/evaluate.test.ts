import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv } from 'ajv';
import { Outcome } from '../errors.js';
import { evaluateConditions, validateConditions } from './evaluate.js';
import { ERR_CONDITIONS_MALFORMED, ERR_CONDITION_INVALID_VARIABLE, ERR_CONDITION_UNKNOWN_OPERATOR, ERR_CONDITION_UNRESOLVED_VARIABLE } from './errors.js';
import { goJsonMarshal, substituteVariables } from './substitute.js';
import { conditionsSchema, type AnyAllConditions, type KyvernoCondition } from './types.js';

const resource = {
  metadata: { name: 'temp', namespace: 'n1' },
  spec: { foo: 'bar', foo2: 'bar2', replicas: 3, nothing: null, list: ['a', 'b'] },
};

const c = (key: unknown, operator: string, value: unknown, message?: string): KyvernoCondition =>
  message === undefined ? { key, operator, value } : { key, operator, value, message };

describe('evaluateConditions: any/all blocks and messages (evaluate.go)', () => {
  // Kyverno's Test_Condition_Messages, against a root without the `request.object` prefix.
  it('joins the messages of failed `any` conditions with "; "', () => {
    const block: AnyAllConditions = {
      any: [c('{{metadata.name}}', 'Equal', 'temp2', 'invalid name'), c('{{spec.foo}}', 'Equal', 'bar2', 'invalid foo')],
    };
    const result = evaluateConditions([block], resource);
    assert.deepEqual(result, { passed: false, message: 'invalid name; invalid foo' });
  });

  it('on success reports the message of the condition that passed', () => {
    const block: AnyAllConditions = {
      any: [c('{{metadata.name}}', 'Equal', 'temp', 'invalid name'), c('{{spec.foo}}', 'Equal', 'bar', 'invalid foo')],
    };
    assert.deepEqual(evaluateConditions([block], resource), { passed: true, message: 'invalid name' });
  });

  it('an `all` failure stops at the first failing condition', () => {
    const block: AnyAllConditions = {
      any: [c('{{metadata.name}}', 'Equal', 'temp', 'invalid name')],
      all: [c('{{metadata.name}}', 'Equal', 'temp', 'invalid name'), c('{{spec.foo}}', 'Equal', 'bar2', 'invalid foo'), c('x', 'Equals', 'y', 'never reached')],
    };
    assert.deepEqual(evaluateConditions([block], resource), { passed: false, message: 'invalid foo' });
  });

  it('collects failed `any` and `all` messages together', () => {
    const block: AnyAllConditions = {
      any: [c('{{metadata.name}}', 'Equal', 'temp1', 'invalid name'), c('{{spec.foo}}', 'Equal', 'bar2', 'invalid foo')],
      all: [c('{{metadata.name}}', 'Equal', 'temp', 'ok'), c('{{spec.foo}}', 'Equal', 'bar2', 'invalid foo2')],
    };
    assert.deepEqual(evaluateConditions([block], resource), { passed: false, message: 'invalid name; invalid foo; invalid foo2' });
  });

  it('an empty `any` never passes; an absent or null one does not constrain', () => {
    assert.equal(evaluateConditions({ any: [] }, resource).passed, false);
    assert.equal(evaluateConditions({ any: null, all: [c('a', 'Equals', 'a')] }, resource).passed, true);
    assert.equal(evaluateConditions({}, resource).passed, true);
  });

  it('ANDs a list of blocks, returning the first failing block’s message', () => {
    const ok: AnyAllConditions = { all: [c('{{spec.replicas}}', 'GreaterThan', 1, 'enough replicas')] };
    const bad: AnyAllConditions = { all: [c('{{spec.replicas}}', 'GreaterThan', 5, 'too few replicas')] };
    const worse: AnyAllConditions = { all: [c('{{metadata.name}}', 'Equals', 'x', 'wrong name')] };
    assert.deepEqual(evaluateConditions([ok, bad, worse], resource), { passed: false, message: 'too few replicas' });
    assert.deepEqual(evaluateConditions([ok, ok], resource), { passed: true, message: 'enough replicas;enough replicas' });
  });

  it('accepts a single block (the original request shape) as well as a list', () => {
    assert.equal(evaluateConditions({ all: [c('{{spec.foo}}', 'Equals', 'b*')] }, resource).passed, true);
  });

  it('keeps no state between evaluations', () => {
    const block: AnyAllConditions = { all: [c('{{metadata.name}}', 'Equals', 'temp')] };
    assert.equal(evaluateConditions(block, resource).passed, true);
    assert.equal(evaluateConditions(block, { metadata: { name: 'other' } }).passed, false);
    assert.equal(evaluateConditions(block, resource).passed, true);
  });
});

describe('evaluateConditions: variables', () => {
  it('a string that is exactly one variable keeps the JMESPath type', () => {
    assert.equal(evaluateConditions({ all: [c('{{ spec.replicas }}', 'Equals', 3)] }, resource).passed, true);
    assert.equal(evaluateConditions({ all: [c('{{ spec.list }}', 'Equals', ['a', 'b'])] }, resource).passed, true);
    assert.equal(evaluateConditions({ all: [c('{{ spec.list }}', 'AllIn', ['a', 'b', 'c'])] }, resource).passed, true);
  });

  it('interpolates results into longer strings', () => {
    assert.equal(evaluateConditions({ all: [c('{{metadata.namespace}}/{{metadata.name}}', 'Equals', 'n1/temp')] }, resource).passed, true);
    assert.equal(evaluateConditions({ all: [c('n={{spec.replicas}}', 'Equals', 'n=3')] }, resource).passed, true);
    assert.equal(evaluateConditions({ all: [c('{{spec.list}}!', 'Equals', '["a","b"]!')] }, resource).passed, true);
  });

  it('substitutes variables in values too, and in nested arrays', () => {
    assert.equal(evaluateConditions({ all: [c('temp', 'AnyIn', ['x', '{{metadata.name}}'])] }, resource).passed, true);
  });

  it('resolves nested variables inner-first (the time_since idiom)', () => {
    const payload = { metadata: { scanFinishedOn: new Date(Date.now() - 3_600_000).toISOString() } };
    const block: AnyAllConditions = {
      all: [c("{{ time_since('', '{{ metadata.scanFinishedOn }}', '') }}", 'LessThanOrEquals', '168h', 'scan too old')],
    };
    assert.deepEqual(evaluateConditions(block, payload), { passed: true, message: 'scan too old' });
    const old = { metadata: { scanFinishedOn: '2020-01-01T00:00:00Z' } };
    assert.deepEqual(evaluateConditions(block, old), { passed: false, message: 'scan too old' });
  });

  it('leaves \\{{ }} literal and unescapes it', () => {
    assert.equal(evaluateConditions({ all: [c('\\{{ spec.foo }}', 'Equals', '{{ spec.foo }}')] }, resource).passed, false);
    assert.equal(
      substituteVariables('\\{{ spec.foo }}', () => 'never'),
      '{{ spec.foo }}',
    );
    assert.equal(
      substituteVariables('a \\{{x}} {{y}}', (e) => e.toUpperCase()),
      'a {{x}} Y',
    );
  });

  it('a present key holding null resolves to null, and null compares false', () => {
    assert.equal(evaluateConditions({ all: [c('{{ spec.nothing }}', 'Equals', null)] }, resource).passed, false);
    assert.equal(evaluateConditions({ all: [c('{{ spec.nothing }}', 'NotEquals', 'x')] }, resource).passed, true);
    assert.equal(evaluateConditions({ all: [c('{{ spec.nothing.deeper }}', 'NotEquals', 'x')] }, resource).passed, true);
  });

  it('an unknown path is a denial that names the condition and the variable', () => {
    const run = () => evaluateConditions([{ all: [c('{{ spec.missing.deeper }}', 'Equals', 'x')] }], resource);
    assert.throws(run, (error: unknown) => {
      assert.ok(error instanceof ERR_CONDITION_UNRESOLVED_VARIABLE);
      assert.equal(error.outcome, Outcome.Denied);
      assert.match(error.message, /conditions\[0\]\.all\[0\]\.key: failed to resolve \{\{ spec\.missing\.deeper \}\}/);
      assert.match(error.message, /Unknown key "missing" in path/);
      return true;
    });
  });

  it('a missing key on the left of || falls back instead of failing', () => {
    assert.equal(evaluateConditions({ all: [c("{{ spec.missing || 'none' }}", 'Equals', 'none')] }, resource).passed, true);
  });

  it('a function error on the payload is a denial', () => {
    assert.throws(
      () => evaluateConditions({ all: [c("{{ time_since('', metadata.name, '') }}", 'LessThan', '1h')] }, resource),
      (error: unknown) => error instanceof ERR_CONDITION_UNRESOLVED_VARIABLE && error.outcome === Outcome.Denied,
    );
  });

  it('a payload string that keeps producing variables is cut off', () => {
    assert.throws(() => evaluateConditions({ all: [c('x{{ loop }}', 'Equals', 'y')] }, { loop: 'x{{ loop }}' }), ERR_CONDITION_UNRESOLVED_VARIABLE);
  });
});

describe('evaluateConditions: errors in the request are bad requests', () => {
  const badRequest = (run: () => unknown, type: { code: string }, pattern: RegExp) => {
    assert.throws(run, (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.equal((error as { code?: string }).code, type.code);
      assert.equal((error as { outcome?: string }).outcome, Outcome.BadRequest);
      assert.match(error.message, pattern);
      return true;
    });
  };

  it('an unknown operator, even in a condition that would not be reached', () => {
    const block: AnyAllConditions = { any: [c('a', 'Equals', 'a'), c('a', 'Contains', 'a')] };
    badRequest(() => evaluateConditions(block, {}), ERR_CONDITION_UNKNOWN_OPERATOR, /conditions\.any\[1\]\.operator: unknown condition operator "Contains"/);
  });

  it('a JMESPath syntax error or unknown function written in the request', () => {
    badRequest(() => evaluateConditions({ all: [c('{{ spec.[ }}', 'Equals', 'a')] }, resource), ERR_CONDITION_INVALID_VARIABLE, /conditions\.all\[0\]\.key/);
    badRequest(
      () => evaluateConditions({ all: [c('a', 'Equals', '{{ nope(spec) }}')] }, resource),
      ERR_CONDITION_INVALID_VARIABLE,
      /unknown function: nope\(\)/,
    );
  });

  it('a malformed shape', () => {
    badRequest(() => evaluateConditions('x' as unknown as AnyAllConditions, {}), ERR_CONDITIONS_MALFORMED, /^conditions: /);
    badRequest(() => evaluateConditions({ any: 'x' } as unknown as AnyAllConditions, {}), ERR_CONDITIONS_MALFORMED, /conditions\.any: must be a list/);
    badRequest(
      () => evaluateConditions({ all: [{ operator: 'Equals', value: 1 }] } as unknown as AnyAllConditions, {}),
      ERR_CONDITIONS_MALFORMED,
      /has no key/,
    );
    badRequest(
      () => evaluateConditions({ all: [{ key: 1, operator: 5 }] } as unknown as AnyAllConditions, {}),
      ERR_CONDITIONS_MALFORMED,
      /operator must be a string/,
    );
    badRequest(() => evaluateConditions([{ all: [] }, 7] as unknown as AnyAllConditions[], {}), ERR_CONDITIONS_MALFORMED, /conditions\[1\]/);
  });

  it('validateConditions checks without evaluating', () => {
    validateConditions({ all: [c('{{ a.b }}', 'equals', 'x')] });
    assert.throws(() => validateConditions([{ all: [c('a', 'Like', 'x')] }]), ERR_CONDITION_UNKNOWN_OPERATOR);
  });
});

describe('conditionsSchema (ajv)', () => {
  const ajv = new Ajv({ strict: true });
  const validate = ajv.compile(conditionsSchema);
  it('accepts a block, a list of blocks, and any-case operators', () => {
    assert.ok(validate({ any: [{ key: '{{ a }}', operator: 'Equals', value: 'x' }] }));
    assert.ok(validate([{ all: [{ key: 1, operator: 'anyin', value: [1], message: 'm' }] }, {}]));
  });
  it('rejects unknown operators, missing keys and wrong types', () => {
    assert.equal(validate({ all: [{ key: 1, operator: 'Contains', value: 1 }] }), false);
    assert.equal(validate({ all: [{ operator: 'Equals', value: 1 }] }), false);
    assert.equal(validate({ all: 'x' }), false);
    assert.equal(validate('x'), false);
  });
});

describe('goJsonMarshal', () => {
  it('writes JSON as Go does: sorted keys, HTML-safe', () => {
    assert.equal(goJsonMarshal({ b: 1, a: ['<&>'] }), '{"a":["\\u003c\\u0026\\u003e"],"b":1}');
    assert.equal(goJsonMarshal(null), 'null');
    assert.equal(goJsonMarshal(1e21), '1e+21');
  });
});
