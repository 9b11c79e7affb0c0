// Property: a cached answer is always the answer the verifier would give without a cache. Generated
// cases: a trust policy with several statements (levels, trusted profile, which repositories each one's
// registry scopes name, an optional "*" statement), one digest copied into three repositories with a
// signature placed (by profile A, B or none) per repository, and a sequence of requests for those
// repositories (by tag or digest, the registry host in either case). Each request goes to a verifier
// with the cache and to one with --cacheEnabled=false; status and body must be equal. Real notation,
// the AWS Signer plugin, olareg or docker-registry, and the fake AWS Signer API; a bounded number of
// cases, without shrinking (each case signs and verifies for real).
//
// Run against a cache keyed by (policy version, digest) only, this fails as soon as two repositories of
// one case have different answers (see docs/architecture.md); the first such counterexample is kept as
// an example that always runs.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { copy, eventually, push, sign, startHarness, type Harness, type StatementSpec } from '@kna/e2e';
import type { RunningVerifier } from '../app.js';
import { podRequest, postCheckImages, startLocalVerifier, trustPolicyManifest, writePolicyDir } from '../../testkit/localVerifier.js';

const REPOSITORIES = 3;
const RUNS = Number(process.env.KNA_PROPERTY_RUNS ?? 16);

let harness: Harness;
let policyDir: string;
let cached: RunningVerifier;
let uncached: RunningVerifier;
let profiles: { A: string; B: string };

before(async () => {
  harness = await startHarness();
  profiles = { A: harness.profileArn, B: harness.profileArn.replace(/HarnessProfile$/, 'OtherProfile') };
  policyDir = writePolicyDir(harness, 'policies', { policies: [] });
  cached = await startLocalVerifier(harness, policyDir);
  uncached = await startLocalVerifier(harness, policyDir, { flags: ['--cacheEnabled=false'] });
});

after(async () => {
  await (cached as RunningVerifier | undefined)?.close();
  await (uncached as RunningVerifier | undefined)?.close();
  await (harness as Harness | undefined)?.stop();
});

type Profile = 'A' | 'B';
const level = fc.constantFrom('strict', 'permissive', 'skip');
const statement = fc.record({ level, profile: fc.constantFrom<Profile>('A', 'B') });

const caseArbitrary = fc.record({
  registry: fc.constantFrom('referrers API', 'referrers tag schema'),
  statements: fc.array(statement, { minLength: REPOSITORIES, maxLength: REPOSITORIES }),
  /** Per repository: the statement whose scopes name it, or -1 (only "*" applies, if there is one). */
  scopeOf: fc.array(fc.integer({ min: -1, max: REPOSITORIES - 1 }), { minLength: REPOSITORIES, maxLength: REPOSITORIES }),
  wildcard: fc.option(statement, { nil: undefined }),
  /** Per repository: which profile signed the digest there. */
  signedBy: fc.array(fc.constantFrom<Profile | 'none'>('A', 'B', 'none'), { minLength: REPOSITORIES, maxLength: REPOSITORIES }),
  requests: fc.array(fc.record({ repository: fc.integer({ min: 0, max: REPOSITORIES - 1 }), byDigest: fc.boolean(), upperCaseHost: fc.boolean() }), {
    minLength: 2,
    maxLength: 5,
  }),
});
type Case = typeof caseArbitrary extends fc.Arbitrary<infer T> ? T : never;

/**
 * Always run first: the counterexample found against the (policy version, digest) key. r0 is unsigned
 * under a permissive statement, r1 signed with B under the "*" statement trusting A: the cached denial of
 * r0 ("no notation signature found") answered for r1, whose own answer is "not a trusted identity".
 */
const FOUND_ON_THE_OLD_KEY: Case = {
  registry: 'referrers API',
  statements: [
    { level: 'permissive', profile: 'B' },
    { level: 'strict', profile: 'A' },
    { level: 'skip', profile: 'A' },
  ],
  scopeOf: [0, -1, 2],
  wildcard: { level: 'permissive', profile: 'A' },
  signedBy: ['none', 'B', 'B'],
  requests: [
    { repository: 0, byDigest: false, upperCaseHost: true },
    { repository: 1, byDigest: false, upperCaseHost: true },
    { repository: 2, byDigest: false, upperCaseHost: false },
  ],
};

function statementsOf(c: Case, registry: string): StatementSpec[] {
  const specs: StatementSpec[] = [];
  c.statements.forEach((s, index) => {
    const scopes = c.scopeOf.flatMap((owner, repository) => (owner === index ? [`${registry}/p/r${repository}`] : []));
    if (scopes.length > 0) specs.push({ name: `s${index}`, scopes, level: s.level, identities: [profiles[s.profile]] });
  });
  const wildcard = c.wildcard ?? (specs.length === 0 ? { level: 'strict', profile: 'A' as const } : undefined);
  if (wildcard) specs.push({ name: 'any', scopes: ['*'], level: wildcard.level, identities: [profiles[wildcard.profile]] });
  return specs;
}

let caseNumber = 0;

async function runCase(c: Case): Promise<void> {
  const registry = c.registry === 'referrers API' ? harness.registry : harness.registryTagSchema;
  const tag = `t-${randomUUID().slice(0, 8)}`;
  const { digest } = await push(`${registry}/p/r0:${tag}`);
  for (let r = 1; r < REPOSITORIES; r++) await copy(`${registry}/p/r0@${digest}`, `${registry}/p/r${r}:${tag}`);
  for (let r = 0; r < REPOSITORIES; r++) {
    const by = c.signedBy[r];
    if (by !== undefined && by !== 'none') await sign(harness, `${registry}/p/r${r}@${digest}`, { profileArn: profiles[by] });
  }
  const policy = `case-${++caseNumber}`;
  writeFileSync(join(policyDir, `${policy}.yaml`), trustPolicyManifest(policy, statementsOf(c, registry)));
  await eventually(
    () => {
      for (const v of [cached, uncached])
        if (!v.store.current?.policies.has(policy)) throw new Error(`policy ${policy} not loaded: ${JSON.stringify(statementsOf(c, registry))}`);
    },
    { timeoutMs: 60_000 },
  );

  for (const request of c.requests) {
    const image = {
      registry: request.upperCaseHost ? registry.toUpperCase() : registry,
      path: `p/r${request.repository}`,
      ...(request.byDigest ? { digest } : { tag }),
    };
    const body = podRequest({ app: image }, { trustPolicy: policy });
    const withCache = await postCheckImages(cached.url, body);
    const without = await postCheckImages(uncached.url, body);
    assert.deepEqual(
      { status: withCache.status, body: withCache.text },
      { status: without.status, body: without.text },
      `cached answer differs from the uncached one for ${image.registry}/${image.path} (signatures: ${c.signedBy.join(', ')})`,
    );
  }
}

describe('the verdict cache', () => {
  it(`answers exactly as the uncached verifier over generated policies, placements and request orders (${RUNS} cases)`, async () => {
    await fc.assert(fc.asyncProperty(caseArbitrary, runCase), {
      numRuns: RUNS,
      examples: [[FOUND_ON_THE_OLD_KEY]],
      endOnFailure: true,
      includeErrorInReport: true,
    });
  });
});
