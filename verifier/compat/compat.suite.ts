// The differential suite (`pnpm compat`): every case of cases.ts sent to the original service v1.1 and
// to this verifier, side by side, and compared by what a Kyverno policy observes. Not part of
// `pnpm test` (it needs `pnpm tools original` and an isolated run); main.ts runs it under node:test.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { push, sign } from '@kna/e2e';
import { CASES, type Fixtures, type Side } from './cases.js';
import { SBOM_OK, SBOM_TYPE, startEnvironment, type Environment, type Image } from './environment.js';
import { observe, type Call, type Observation } from './observe.js';

const log = (line: string) => console.log(`[compat ${new Date().toISOString().slice(11, 19)}] ${line}`);

function assertSide(label: string, seen: Observation, side: Side, fx: Fixtures): void {
  assert.equal(seen.status, side.status, `${label}: status ${seen.status} (${seen.message}), expected ${side.status}`);
  if (side.patches)
    assert.deepEqual(
      seen.patches,
      [...side.patches(fx)].sort((a, b) => a.path.localeCompare(b.path)),
      `${label}: patches`,
    );
  if (side.message) assert.match(seen.message, side.message, `${label}: message`);
}

void describe('side by side with kyverno-notation-aws v1.1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kna-compat-'));
  let env: Environment | undefined;
  let fx: Fixtures | undefined;

  before(async () => {
    env = await startEnvironment({ dir, log });
    const e = env;
    log(`original: ${e.original.url} (args ${e.original.args.join(' ')}); this verifier: ${e.verifier.url}; registry ${e.registry}`);
    const app = await e.pushImage('compat/app', 'v1');
    const other = await e.pushImage('compat/other', 'v1');
    const unsigned = await e.pushImage('compat/unsigned', 'v1', { sign: false });
    const sample = await e.pushImage('kyverno-demo', 'v1');
    await e.attest(sample, SBOM_TYPE, SBOM_OK);
    const sampleBadSbom = await e.pushImage('kyverno-demo', 'v1-badsbom');
    await e.attest(sampleBadSbom, SBOM_TYPE, { creationInfo: { licenseListVersion: '3.16' } });
    const sampleUnsigned = await e.pushImage('kyverno-demo', 'v1-unsigned', { sign: false });
    const sampleUnsignedSbom = await e.pushImage('kyverno-demo', 'v1-unsigned-sbom');
    await e.attest(sampleUnsignedSbom, SBOM_TYPE, SBOM_OK, { sign: false });
    const moving = await e.pushImage('compat/moving', 'v1');
    let moved: Image | undefined;
    fx = {
      registry: e.registry,
      images: { app, other, unsigned, sample, sampleBadSbom, sampleUnsigned, sampleUnsignedSbom, moving },
      tokens: { stranger: e.tokens.stranger },
      moveTag: async () => {
        const { digest } = await push(`${e.registry}/compat/moving:v1`);
        await sign(e.signing, `${e.registry}/compat/moving@${digest}`);
        moved = { ...moving, digest };
      },
      movedTo: () => {
        if (!moved) throw new Error('the tag has not been moved');
        return moved;
      },
    };
    log('fixtures pushed and signed');
  });

  after(async () => {
    await env?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const ask = async (call: Call): Promise<readonly [Observation, Observation]> => {
    if (!env) throw new Error('the environment did not start');
    // One after the other, not at once: the two must not compete for the two cores inside a case.
    const original = await observe(env.original.url, call, env.tokens.kyverno);
    const ours = await observe(env.verifier.url, call, env.tokens.kyverno);
    return [original, ours];
  };

  for (const c of CASES) {
    void it(`${c.id}: ${c.title}`, async () => {
      assert.ok(fx, 'fixtures were not created');
      const f = fx;
      await c.before?.(f, ask);
      const [original, ours] = await ask(c.call(f));
      const shown = `original ${JSON.stringify(original)}\nours ${JSON.stringify(ours)}`;
      const e = c.expect;
      if ('same' in e) {
        assert.equal(ours.status, original.status, `status differs:\n${shown}`);
        assert.equal(ours.admitted, original.admitted, `admission differs:\n${shown}`);
        assert.deepEqual(ours.patches, original.patches, `patches differ:\n${shown}`);
        if (e.same === 'admitted') {
          assert.equal(ours.status, 200, `not admitted:\n${shown}`);
          assert.deepEqual(
            ours.patches,
            [...e.patches(f)].sort((a, b) => a.path.localeCompare(b.path)),
            `unexpected patches:\n${shown}`,
          );
        } else {
          assert.equal(ours.status, e.status, `unexpected status:\n${shown}`);
          assert.match(original.message, e.message, `the original's message:\n${shown}`);
          assert.match(ours.message, e.message, `our message:\n${shown}`);
        }
      } else {
        assertSide('original', original, e.differs.original, f);
        assertSide('ours', ours, e.differs.ours, f);
      }
      console.log(
        `${c.id}\n  original: ${original.status} ${original.message || JSON.stringify(original.patches)}\n  ours:     ${ours.status} ${ours.message || JSON.stringify(ours.patches)}`,
      );
    });
  }
});
