import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { README_KYVERNO_BLOCKS, kyvernoReadmeArgs, kyvernoReadmeBlocks } from './readme.js';
import { INJECT_CA_ANNOTATION, checkImagesPolicy } from './policy.js';

describe('README "Try it with Kyverno"', () => {
  it('tags exactly the blocks the Kyverno test runs', () => {
    assert.deepEqual([...kyvernoReadmeBlocks().keys()].sort(), [...README_KYVERNO_BLOCKS].sort());
  });

  it("shows the ClusterPolicy the test applies (checkImagesPolicy), with the README's values", () => {
    const shown = parse(kyvernoReadmeBlocks().get('policy') ?? '') as unknown;
    const built = checkImagesPolicy({
      namespaces: ['demo'],
      url: 'https://127.0.0.1:9443/checkimages',
      ca: { injectCa: true },
      imageReferences: ['localhost:5000/*'],
    });
    assert.deepEqual(shown, built);
    assert.equal((built.metadata as { annotations?: Record<string, string> }).annotations?.[INJECT_CA_ANNOTATION], 'true');
  });

  it("expands the operator's and verifier's command lines as a shell does, defaults included", () => {
    const operator = kyvernoReadmeArgs('operator', 'pnpm operator --', { KUBECONFIG: '/k/config' });
    assert.ok(operator.includes('--kubeconfig=/k/config'), operator.join(' '));
    assert.ok(operator.includes('--extraServiceHosts=127.0.0.1'), operator.join(' '));
    assert.ok(operator.includes('--health-probe-bind-address=127.0.0.1:8091'), operator.join(' '));
    const verifier = kyvernoReadmeArgs('verifier', 'pnpm verifier --', { KUBECONFIG: '/k/config', KNA_DIR: '/d ir', VERIFIER_PORT: '1234' });
    assert.ok(verifier.includes('--bundleDir=/d ir/bundle'), verifier.join(' '));
    assert.ok(verifier.includes('--httpsPort=1234'), verifier.join(' '));
    assert.ok(verifier.includes('--tokenReviewAudiences=kyverno-svc.kyverno.io'), verifier.join(' '));
    assert.throws(() => kyvernoReadmeArgs('verifier', 'pnpm verifier --', {}), /KNA_DIR|unbound/);
  });
});
