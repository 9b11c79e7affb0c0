import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseChallenges } from './challenge.js';

describe('WWW-Authenticate challenges', () => {
  it('reads a registry bearer challenge', () => {
    const [c, ...rest] = parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"');
    assert.equal(rest.length, 0);
    assert.ok(c);
    assert.equal(c.scheme, 'bearer');
    assert.deepEqual(
      { ...c.params },
      {
        realm: 'https://auth.docker.io/token',
        service: 'registry.docker.io',
        scope: 'repository:library/nginx:pull',
      },
    );
  });

  it('keeps commas and escaped quotes inside quoted values, and reads several challenges', () => {
    const got = parseChallenges('Basic realm="a, b", Bearer realm="x",scope="repository:r:pull,push", error="say \\"hi\\""');
    assert.deepEqual(
      got.map((c) => ({ scheme: c.scheme, params: { ...c.params } })),
      [
        { scheme: 'basic', params: { realm: 'a, b' } },
        { scheme: 'bearer', params: { realm: 'x', scope: 'repository:r:pull,push', error: 'say "hi"' } },
      ],
    );
  });

  it('is case-insensitive on scheme and parameter names, lenient on unquoted URLs, and never throws', () => {
    const [c] = parseChallenges('BEARER Realm=https://auth.example.com/token , Service=reg');
    assert.ok(c);
    assert.equal(c.scheme, 'bearer');
    assert.equal(c.params.realm, 'https://auth.example.com/token');
    assert.equal(c.params.service, 'reg');
    assert.deepEqual(parseChallenges(''), []);
    assert.deepEqual(
      parseChallenges('Negotiate abc==, Basic realm="r"').map((x) => x.scheme),
      ['negotiate', 'basic'],
    );
    fc.assert(fc.property(fc.string(), (header) => Array.isArray(parseChallenges(header))));
  });

  it('round-trips any challenge list written with quoted values', () => {
    const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.-]{0,8}$/);
    const value = fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', ',', '"', '\\', '=', ':', '/', ';') });
    const challenge = fc.record({
      scheme: token,
      params: fc.uniqueArray(fc.tuple(token, value), { selector: ([k]) => k.toLowerCase(), minLength: 1, maxLength: 4 }),
    });
    fc.assert(
      fc.property(fc.array(challenge, { minLength: 1, maxLength: 3 }), (challenges) => {
        const header = challenges.map((c) => `${c.scheme} ${c.params.map(([k, v]) => `${k}="${v.replace(/[\\"]/g, '\\$&')}"`).join(', ')}`).join(', ');
        const parsed = parseChallenges(header);
        assert.deepEqual(
          parsed.map((p) => ({ scheme: p.scheme, params: { ...p.params } })),
          challenges.map((c) => ({ scheme: c.scheme.toLowerCase(), params: Object.fromEntries(c.params.map(([k, v]) => [k.toLowerCase(), v])) })),
        );
      }),
    );
  });
});
