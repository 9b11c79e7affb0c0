import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sha256Hex, canonicalJson } from '../canonical/canonical.js';
import type { TrustPolicy, TrustPolicyStatement } from '../crd/trust-policy.js';
import type { TrustStore, TrustStoreType } from '../crd/trust-store.js';
import { parseManifests } from '../manifests/manifests.js';
import { EXPIRED_CA, LEAF, OTHER_CA, ORIGINAL_SAMPLES, ROOT_CA } from '../trust-policy/testdata.js';
import { BUNDLE_MAX_BYTES, parseBundle, policyVersion } from './bundle.js';
import { RenderCache, renderBundle, type ObjectStatus, type RenderInput } from './render.js';

const NOW = new Date('2030-06-01T00:00:00Z');
const ARN = 'arn:aws:signer:us-west-2:111122223333:/signing-profiles/demo';
const ECR = '111122223333.dkr.ecr.us-west-2.amazonaws.com';
const PLUGIN = { 'aws-region': 'us-west-2' };

function store(name: string, caBundle = ROOT_CA, options: { type?: TrustStoreType; trustStoreName?: string; created?: string } = {}): TrustStore {
  return {
    apiVersion: 'notation.nirmata.io/v1alpha1',
    kind: 'TrustStore',
    metadata: { name, generation: 1, uid: `uid-${name}`, creationTimestamp: options.created ?? '2025-01-01T00:00:00Z' },
    spec: { trustStoreName: options.trustStoreName ?? name, type: options.type ?? 'signingAuthority', caBundle },
  };
}

function statement(overrides: Partial<TrustPolicyStatement> = {}): TrustPolicyStatement {
  return {
    name: 'aws',
    registryScopes: [`${ECR}/demo`],
    signatureVerification: { level: 'strict', override: {} },
    trustStores: ['signingAuthority:aws-signer-ts'],
    trustedIdentities: [ARN],
    ...overrides,
  };
}

function policy(name: string, statements: TrustPolicyStatement[] = [statement()], options: { trustPolicyName?: string; created?: string } = {}): TrustPolicy {
  return {
    apiVersion: 'notation.nirmata.io/v1alpha1',
    kind: 'TrustPolicy',
    metadata: { name, generation: 3, creationTimestamp: options.created ?? '2025-01-01T00:00:00Z' },
    spec: { version: '1.0', trustPolicyName: options.trustPolicyName ?? name, trustPolicies: statements },
  };
}

function render(input: Partial<RenderInput>) {
  return renderBundle({ trustPolicies: [], trustStores: [], pluginConfig: PLUGIN, now: NOW, ...input });
}

function statusOf(statuses: ObjectStatus[], kind: ObjectStatus['kind'], name: string): ObjectStatus {
  const found = statuses.find((s) => s.kind === kind && s.name === name);
  assert.ok(found, `${kind} ${name} has no status`);
  return found;
}

describe('renderBundle', () => {
  it('renders the original sample manifests into a bundle with both policies and stores', () => {
    const manifests = parseManifests(ORIGINAL_SAMPLES, 'samples.yaml');
    const result = render({ trustPolicies: manifests.trustPolicies, trustStores: manifests.trustStores });
    assert.deepEqual(
      result.statuses.map((s) => [s.kind, s.name, s.ready, s.reason]),
      [
        ['TrustPolicy', 'tp-test-notation', true, 'InBundle'],
        ['TrustPolicy', 'tp-test-notation-fail', true, 'InBundle'],
        ['TrustStore', 'aws-signer-ts', true, 'InBundle'],
        ['TrustStore', 'aws-signer-ts-fail', true, 'InBundle'],
      ],
    );
    const { bundle } = result;
    assert.equal(bundle.apiVersion, 'bundle.notation.nirmata.io/v1');
    assert.deepEqual(Object.keys(bundle.trustStores), ['signingAuthority:aws-signer-ts', 'signingAuthority:aws-signer-ts-fail']);
    assert.deepEqual(bundle.trustStores['signingAuthority:aws-signer-ts'], { type: 'signingAuthority', name: 'aws-signer-ts', certificates: [ROOT_CA] });
    const tp = bundle.trustPolicies['tp-test-notation'];
    assert.ok(tp);
    // The notation document: `override: {}` and the CR-only trustPolicyName are left out.
    assert.deepEqual(tp.document, {
      version: '1.0',
      trustPolicies: [
        {
          name: 'aws-signer-tp',
          registryScopes: ['844333597536.dkr.ecr.us-west-2.amazonaws.com/kyverno-demo'],
          signatureVerification: { level: 'strict' },
          trustStores: ['signingAuthority:aws-signer-ts'],
          trustedIdentities: ['arn:aws:signer:us-west-2:844333597536:/signing-profiles/kyvernodemo'],
        },
      ],
    });
    assert.deepEqual(tp.trustStores, ['signingAuthority:aws-signer-ts']);
    assert.equal(
      tp.version,
      sha256Hex(canonicalJson({ document: tp.document, certificates: { 'signingAuthority:aws-signer-ts': [ROOT_CA] }, pluginConfig: PLUGIN })),
    );
    const { version, ...rest } = bundle;
    assert.equal(version, sha256Hex(canonicalJson(rest)));
    assert.equal(result.text, canonicalJson(bundle));
    assert.equal(result.bytes, Buffer.byteLength(result.text));
    assert.equal(result.tooLarge, false);
    assert.deepEqual(parseBundle(result.text), bundle);
    const tpStatus = statusOf(result.statuses, 'TrustPolicy', 'tp-test-notation');
    assert.deepEqual(
      { policyVersion: tpStatus.policyVersion, resolved: tpStatus.resolvedTrustStores, key: tpStatus.key, message: tpStatus.message },
      {
        policyVersion: tp.version,
        resolved: ['signingAuthority:aws-signer-ts'],
        key: 'tp-test-notation',
        message: `in the bundle as policy version ${tp.version.slice(0, 12)}`,
      },
    );
    const tsStatus = statusOf(result.statuses, 'TrustStore', 'aws-signer-ts');
    assert.deepEqual(
      [tsStatus.certificateCount, tsStatus.earliestExpiry, tsStatus.message],
      [1, '2124-01-01T00:00:00Z', 'in the bundle; used by trust policies tp-test-notation'],
    );
  });

  it('passes verifyTimestamp and non-empty overrides through, and leaves skip statements bare', () => {
    const result = render({
      trustStores: [store('aws-signer-ts')],
      trustPolicies: [
        policy('p', [
          statement({ signatureVerification: { level: 'permissive', override: { revocation: 'skip' }, verifyTimestamp: 'afterCertExpiry' } }),
          { name: 'skip', registryScopes: ['*'], signatureVerification: { level: 'skip', override: {} }, trustStores: [], trustedIdentities: [] },
        ]),
      ],
    });
    assert.deepEqual(
      result.bundle.trustPolicies.p?.document.trustPolicies.map((s) => [s.signatureVerification, s.trustStores, s.trustedIdentities]),
      [
        [{ level: 'permissive', override: { revocation: 'skip' }, verifyTimestamp: 'afterCertExpiry' }, ['signingAuthority:aws-signer-ts'], [ARN]],
        [{ level: 'skip' }, undefined, undefined],
      ],
    );
  });

  it('writes registry scopes in the canonical form the verifier gives notation references in', () => {
    const result = render({
      trustStores: [store('aws-signer-ts')],
      trustPolicies: [policy('p', [statement({ registryScopes: ['LOCALHOST:5000/x/app', 'index.docker.io/nginx', `${ECR}/demo`] })])],
    });
    assert.deepEqual(result.bundle.trustPolicies.p?.document.trustPolicies[0]?.registryScopes, [
      'localhost:5000/x/app',
      'docker.io/library/nginx',
      `${ECR}/demo`,
    ]);
  });

  it('reports invalid objects with a reason and what to fix, and leaves them out without blocking the valid ones', () => {
    const result = render({
      trustStores: [
        store('aws-signer-ts'),
        store('expired', `${ROOT_CA}${EXPIRED_CA}`),
        store('leaf', LEAF),
        store('not-pem', 'hello'),
        store('bad-name', ROOT_CA, { trustStoreName: 'bad name' }),
        { ...store('no-spec'), spec: { trustStoreName: 'x', type: 'x509' } } as unknown as TrustStore,
        { ...store('undefined-spec'), spec: undefined } as unknown as TrustStore,
      ],
      trustPolicies: [
        policy('good'),
        policy('bad-scope', [statement({ registryScopes: [`${ECR}/demo:v1`] })]),
        policy('unknown-store', [statement({ trustStores: ['signingAuthority:nope', 'ca:also-missing'] })]),
        policy('wildcard', [statement({ trustedIdentities: ['*'] })]),
        policy('store-expired', [statement({ trustStores: ['signingAuthority:expired'] })]),
        policy('schema', [{ name: 'x' } as unknown as TrustPolicyStatement]),
      ],
    });
    const summary = Object.fromEntries(result.statuses.map((s) => [`${s.kind}/${s.name}`, `${String(s.ready)} ${s.reason}: ${s.message}`]));
    assert.match(summary['TrustPolicy/good'] ?? '', /^true InBundle: in the bundle as policy version [0-9a-f]{12}$/);
    assert.match(summary['TrustStore/aws-signer-ts'] ?? '', /^true InBundle: .*used by trust policies good$/);
    assert.match(
      summary['TrustPolicy/bad-scope'] ?? '',
      /^false InvalidRegistryScope: spec\.trustPolicies\[0\]\.registryScopes\[0\]: invalid registry scope ".*demo:v1": remove the tag or digest/,
    );
    assert.equal(
      summary['TrustPolicy/unknown-store'],
      'false UnknownTrustStore: spec.trustPolicies[0].trustStores[0]: trust store "signingAuthority:nope" does not exist; create a TrustStore with type: signingAuthority and trustStoreName: nope, or fix the reference; ' +
        'spec.trustPolicies[0].trustStores[1]: trust store "ca:also-missing" does not exist; create a TrustStore with type: ca and trustStoreName: also-missing, or fix the reference',
    );
    assert.match(
      summary['TrustPolicy/wildcard'] ?? '',
      /^false WildcardIdentityNotSupported: spec\.trustPolicies\[0\]\.trustedIdentities\[0\]: the AWS Signer plugin rejects "\*"/,
    );
    assert.equal(
      summary['TrustPolicy/store-expired'],
      'false TrustStoreNotReady: spec.trustPolicies[0].trustStores[0]: trust store "signingAuthority:expired" (TrustStore "expired") is not ready: CertificateExpired; fix that TrustStore first',
    );
    assert.match(
      summary['TrustPolicy/schema'] ?? '',
      /^false InvalidSpec: spec\.trustPolicies\[0\]\.registryScopes: is required; spec\.trustPolicies\[0\]\.signatureVerification: is required$/,
    );
    assert.match(summary['TrustStore/expired'] ?? '', /^false CertificateExpired: spec\.caBundle: certificate 2 .* expired on 2001-01-01T00:00:00Z/);
    assert.match(summary['TrustStore/leaf'] ?? '', /^false NotCACertificate: /);
    assert.match(summary['TrustStore/not-pem'] ?? '', /^false InvalidCertificate: spec\.caBundle: no PEM certificate found/);
    assert.match(summary['TrustStore/bad-name'] ?? '', /^false InvalidTrustStoreName: spec\.trustStoreName: /);
    assert.equal(summary['TrustStore/undefined-spec'], 'false InvalidSpec: spec: must be an object, got nothing');
    assert.match(summary['TrustStore/no-spec'] ?? '', /^false InvalidSpec: spec\.caBundle: is required; spec\.type: must be one of/);
    assert.deepEqual(Object.keys(result.bundle.trustPolicies), ['good']);
    assert.deepEqual(Object.keys(result.bundle.trustStores), ['signingAuthority:aws-signer-ts']);
    assert.deepEqual(statusOf(result.statuses, 'TrustPolicy', 'store-expired').resolvedTrustStores, []);
    assert.equal(statusOf(result.statuses, 'TrustStore', 'expired').certificateCount, 2);
    const leaf = statusOf(result.statuses, 'TrustStore', 'leaf');
    assert.deepEqual([leaf.uid, leaf.generation, leaf.key, leaf.problems.length], ['uid-leaf', 1, 'signingAuthority:leaf', 1]);
    assert.deepEqual(parseBundle(result.text), result.bundle);
  });

  it('gives a duplicated name to the oldest object and reports the others', () => {
    const result = render({
      trustStores: [
        store('newer-store', OTHER_CA, { trustStoreName: 'aws-signer-ts', created: '2025-06-01T00:00:00Z' }),
        store('older-store', ROOT_CA, { trustStoreName: 'aws-signer-ts', created: '2024-06-01T00:00:00Z' }),
        // Same name, other type: a different store.
        store('ca-store', OTHER_CA, { trustStoreName: 'aws-signer-ts', type: 'ca', created: '2026-01-01T00:00:00Z' }),
      ],
      trustPolicies: [
        policy('b-newer', [statement()], { trustPolicyName: 'tenant-a', created: '2025-06-01T00:00:00Z' }),
        policy('a-same-time', [statement()], { trustPolicyName: 'tenant-a', created: '2025-06-01T00:00:00Z' }),
        policy('c-oldest', [statement({ name: 'oldest' })], { trustPolicyName: 'tenant-a', created: '2024-01-01T00:00:00Z' }),
      ],
    });
    const brief = (kind: ObjectStatus['kind'], name: string) => {
      const s = statusOf(result.statuses, kind, name);
      return `${String(s.ready)} ${s.reason} ${s.message}`;
    };
    assert.equal(brief('TrustStore', 'older-store').split(' ').slice(0, 2).join(' '), 'true InBundle');
    assert.equal(brief('TrustStore', 'ca-store').split(' ').slice(0, 2).join(' '), 'true InBundle');
    assert.equal(
      brief('TrustStore', 'newer-store'),
      'false DuplicateName spec.trustStoreName: TrustStore "older-store" already provides "signingAuthority:aws-signer-ts" (the older object keeps it); choose another trustStoreName or delete one of them',
    );
    assert.equal(result.bundle.trustStores['signingAuthority:aws-signer-ts']?.certificates[0], ROOT_CA);
    assert.match(brief('TrustPolicy', 'c-oldest'), /^true InBundle/);
    assert.match(
      brief('TrustPolicy', 'a-same-time'),
      /^false DuplicateName spec\.trustPolicyName: TrustPolicy "c-oldest" already uses trustPolicyName "tenant-a"/,
    );
    assert.match(brief('TrustPolicy', 'b-newer'), /^false DuplicateName/);
    assert.equal(result.bundle.trustPolicies['tenant-a']?.document.trustPolicies[0]?.name, 'oldest');
  });

  it('is deterministic: any input order gives byte-identical text and the same statuses', () => {
    const stores = [
      store('aws-signer-ts'),
      store('other', OTHER_CA),
      store('expired', EXPIRED_CA),
      store('dup', OTHER_CA, { trustStoreName: 'other', created: '2025-01-01T00:00:00Z' }),
    ];
    const policies = [
      policy('p1'),
      policy('p2', [statement({ registryScopes: ['*'], trustStores: ['signingAuthority:other', 'signingAuthority:aws-signer-ts'] })]),
      policy('p3', [statement({ trustStores: ['signingAuthority:expired'] })]),
      policy('p4', [statement()], { trustPolicyName: 'p1' }),
    ];
    const reference = render({ trustStores: stores, trustPolicies: policies, pluginConfig: { b: '2', a: '1' } });
    fc.assert(
      fc.property(fc.shuffledSubarray(stores, { minLength: stores.length }), fc.shuffledSubarray(policies, { minLength: policies.length }), (s, p) => {
        const again = render({ trustStores: s, trustPolicies: p, pluginConfig: { a: '1', b: '2' } });
        assert.equal(again.text, reference.text);
        assert.deepEqual(again.statuses, reference.statuses);
      }),
      { numRuns: 50 },
    );
    // No time inside: rendering later (certificates still valid) gives the same text.
    assert.equal(
      render({ trustStores: stores, trustPolicies: policies, pluginConfig: { a: '1', b: '2' }, now: new Date('2031-01-01T00:00:00Z') }).text,
      reference.text,
    );
  });

  it("versions each policy by its own content: its document, its stores' certificates and the plugin config", () => {
    const base = {
      trustStores: [store('aws-signer-ts'), store('unrelated', OTHER_CA)],
      trustPolicies: [policy('p'), policy('q', [statement({ trustStores: ['signingAuthority:unrelated'] })])],
    };
    const v = (input: Partial<RenderInput>) => {
      const { bundle } = render({ ...base, ...input });
      return { bundle: bundle.version, p: bundle.trustPolicies.p?.version, q: bundle.trustPolicies.q?.version };
    };
    const first = v({});
    const unrelatedChanged = v({ trustStores: [store('aws-signer-ts'), store('unrelated', `${OTHER_CA}${ROOT_CA}`)] });
    assert.equal(unrelatedChanged.p, first.p);
    assert.notEqual(unrelatedChanged.q, first.q);
    assert.notEqual(unrelatedChanged.bundle, first.bundle);
    const pluginChanged = v({ pluginConfig: { 'aws-region': 'eu-west-1' } });
    assert.notEqual(pluginChanged.p, first.p);
    assert.notEqual(pluginChanged.q, first.q);
    const documentChanged = v({ trustPolicies: [policy('p', [statement({ signatureVerification: { level: 'audit' } })]), base.trustPolicies[1]!] });
    assert.notEqual(documentChanged.p, first.p);
    assert.equal(documentChanged.q, first.q);
    // Metadata is not content: a rename of the object or a new generation keeps every version.
    const renamed = v({ trustPolicies: [{ ...policy('p'), metadata: { name: 'p', generation: 9 } }, base.trustPolicies[1]!] });
    assert.deepEqual(renamed, first);
    assert.equal(first.p, policyVersion(render(base).bundle.trustPolicies.p!.document, render(base).bundle.trustStores, PLUGIN));
  });

  it('reports an oversized bundle on every object instead of producing a partial one', () => {
    const input = { trustStores: [store('aws-signer-ts'), store('bad', 'x')], trustPolicies: [policy('p')] };
    const normal = render(input);
    const result = render({ ...input, maxBytes: normal.bytes - 1 });
    assert.equal(result.tooLarge, true);
    assert.equal(result.text, normal.text);
    assert.ok(result.statuses.every((s) => !s.ready && s.reason === 'BundleTooLarge'));
    assert.match(
      statusOf(result.statuses, 'TrustPolicy', 'p').message,
      new RegExp(`^the bundle would be ${normal.bytes} bytes, over the ${normal.bytes - 1}-byte limit of its ConfigMap, so it was not written`),
    );
    assert.match(statusOf(result.statuses, 'TrustStore', 'bad').message, /this object also has problems: spec\.caBundle: no PEM certificate found/);
    assert.equal(render({ ...input, maxBytes: normal.bytes }).tooLarge, false);
    assert.ok(BUNDLE_MAX_BYTES < 1_000_000 && BUNDLE_MAX_BYTES > 900_000);
  });

  it('renders an empty bundle when there is nothing', () => {
    const result = render({ pluginConfig: {} });
    assert.deepEqual(result.statuses, []);
    assert.equal(
      result.text,
      `{"apiVersion":"bundle.notation.nirmata.io/v1","pluginConfig":{},"trustPolicies":{},"trustStores":{},"version":"${result.bundle.version}"}`,
    );
    assert.deepEqual(parseBundle(result.text), result.bundle);
  });
});

describe('RenderCache', () => {
  const edited = (object: TrustPolicy, statements: TrustPolicyStatement[]): TrustPolicy => ({
    ...object,
    metadata: { ...object.metadata, generation: (object.metadata.generation ?? 0) + 1 },
    spec: { ...object.spec, trustPolicies: statements },
  });
  const withUid = (object: TrustPolicy): TrustPolicy => ({ ...object, metadata: { ...object.metadata, uid: `uid-${object.metadata.name}` } });

  it('works again only on the objects that changed, and renders exactly what a render without it does', () => {
    const cache = new RenderCache();
    const stores = [store('aws-signer-ts'), store('other', OTHER_CA)];
    let policies = ['a', 'b', 'c'].map((name) => withUid(policy(name)));
    const both = (input: Partial<RenderInput>) => {
      const cached = render({ ...input, cache });
      const fresh = render(input);
      assert.equal(cached.text, fresh.text);
      assert.deepEqual(cached.statuses, fresh.statuses);
      assert.deepEqual(parseBundle(cached.text), cached.bundle);
      return cached;
    };

    both({ trustStores: stores, trustPolicies: policies });
    assert.deepEqual(cache.reworked, ['TrustPolicy/a', 'TrustPolicy/b', 'TrustPolicy/c', 'TrustStore/aws-signer-ts', 'TrustStore/other']);

    // Nothing changed; then only what the API server changes on a status write (resourceVersion, status).
    both({ trustStores: stores, trustPolicies: policies });
    assert.deepEqual(cache.reworked, []);
    policies = policies.map((p) => ({ ...p, metadata: { ...p.metadata, resourceVersion: '42' }, status: { conditions: [] } }));
    both({ trustStores: stores, trustPolicies: policies });
    assert.deepEqual(cache.reworked, []);

    // One spec edit (a new generation): that object alone, and the bundle has its new scope.
    policies = [edited(policies[0]!, [statement({ registryScopes: [`${ECR}/edited`] })]), policies[1]!, policies[2]!];
    const afterEdit = both({ trustStores: stores, trustPolicies: policies });
    assert.deepEqual(cache.reworked, ['TrustPolicy/a']);
    assert.deepEqual(afterEdit.bundle.trustPolicies.a?.document.trustPolicies[0]?.registryScopes, [`${ECR}/edited`]);

    // An edit that makes a policy invalid, a store another policy now references, a deleted and re-created object.
    policies = [
      policies[0]!,
      edited(policies[1]!, [statement({ trustedIdentities: ['*'] })]),
      edited(policies[2]!, [statement({ trustStores: ['signingAuthority:other'] })]),
    ];
    both({ trustStores: stores, trustPolicies: policies });
    assert.deepEqual(cache.reworked, ['TrustPolicy/b', 'TrustPolicy/c']);
    const recreated = {
      ...stores[1]!,
      metadata: { ...stores[1]!.metadata, uid: 'uid-other-2' },
      spec: { ...stores[1]!.spec, caBundle: `${OTHER_CA}${ROOT_CA}` },
    };
    const withRecreated = both({ trustStores: [stores[0]!, recreated], trustPolicies: policies });
    assert.deepEqual(cache.reworked, ['TrustStore/other']);
    assert.equal(withRecreated.bundle.trustStores['signingAuthority:other']?.certificates.length, 2);

    // The plugin config and a removed object change the bundle without working on any object again.
    both({ trustStores: [stores[0]!, recreated], trustPolicies: policies.slice(0, 2), pluginConfig: { 'aws-region': 'eu-west-1' } });
    assert.deepEqual(cache.reworked, []);
    assert.equal(cache.size, 4, 'the entry of the removed policy is dropped');
  });

  it('returns the previous result itself for unchanged inputs, and renders afresh after any change or an expiry', () => {
    const cache = new RenderCache();
    const stores = [store('aws-signer-ts')];
    const policies = [withUid(policy('p'))];
    const at = (iso: string) => new Date(iso);
    const first = render({ trustStores: stores, trustPolicies: policies, cache, now: at('2123-12-30T00:00:00Z') });
    // A status write changes resourceVersion and status only: the same result.
    const echoed = policies.map((p) => ({ ...p, metadata: { ...p.metadata, resourceVersion: '7' }, status: { conditions: [] } }));
    assert.equal(render({ trustStores: stores, trustPolicies: echoed, cache, now: at('2123-12-30T01:00:00Z') }), first);
    assert.deepEqual(cache.reworked, []);
    // Another plugin config, another size limit, an edit: rendered afresh.
    const plugin = render({
      trustStores: stores,
      trustPolicies: policies,
      cache,
      now: at('2123-12-30T02:00:00Z'),
      pluginConfig: { 'aws-region': 'eu-west-1' },
    });
    assert.notEqual(plugin, first);
    assert.notEqual(plugin.bundle.version, first.bundle.version);
    assert.notEqual(render({ trustStores: stores, trustPolicies: policies, cache, now: at('2123-12-30T02:00:00Z'), maxBytes: 10 }).tooLarge, first.tooLarge);
    const edit = edited(policies[0]!, [statement({ registryScopes: [`${ECR}/other`] })]);
    assert.notEqual(render({ trustStores: stores, trustPolicies: [edit], cache, now: at('2123-12-30T03:00:00Z') }).text, first.text);
    // The same inputs again, but past the store's certificate expiry: not the remembered result.
    render({ trustStores: stores, trustPolicies: policies, cache, now: at('2123-12-30T04:00:00Z') });
    const expired = render({ trustStores: stores, trustPolicies: policies, cache, now: at('2124-01-02T00:00:00Z') });
    assert.equal(statusOf(expired.statuses, 'TrustStore', 'aws-signer-ts').reason, 'CertificateExpired');
    assert.deepEqual(expired.statuses, render({ trustStores: stores, trustPolicies: policies, now: at('2124-01-02T00:00:00Z') }).statuses);
  });

  it('works on a store again once a certificate in it expired', () => {
    const cache = new RenderCache();
    const input = { trustStores: [store('aws-signer-ts')], trustPolicies: [policy('p')], cache };
    const before = render({ ...input, now: new Date('2123-12-31T00:00:00Z') });
    assert.equal(statusOf(before.statuses, 'TrustStore', 'aws-signer-ts').ready, true);
    render({ ...input, now: new Date('2123-12-31T12:00:00Z') });
    assert.deepEqual(cache.reworked, []);
    const after = render({ ...input, now: new Date('2124-01-02T00:00:00Z') });
    assert.deepEqual(cache.reworked, ['TrustStore/aws-signer-ts']);
    assert.equal(statusOf(after.statuses, 'TrustStore', 'aws-signer-ts').reason, 'CertificateExpired');
    assert.equal(statusOf(after.statuses, 'TrustPolicy', 'p').reason, 'TrustStoreNotReady');
  });

  it("keys objects without uid and generation (local mode's files) by their spec", () => {
    const cache = new RenderCache();
    const bare = (scope: string): TrustPolicy => ({ ...policy('p', [statement({ registryScopes: [scope] })]), metadata: { name: 'p' } });
    const stores = [store('aws-signer-ts')];
    render({ trustStores: stores, trustPolicies: [bare(`${ECR}/one`)], cache });
    render({ trustStores: stores, trustPolicies: [bare(`${ECR}/one`)], cache });
    assert.deepEqual(cache.reworked, []);
    const changed = render({ trustStores: stores, trustPolicies: [bare(`${ECR}/two`)], cache });
    assert.deepEqual(cache.reworked, ['TrustPolicy/p']);
    assert.equal(changed.text, render({ trustStores: stores, trustPolicies: [bare(`${ECR}/two`)] }).text);
  });
});
