// Bundle loading from the two sources, with the real render function and real files: the kubelet's
// `..data` symlink swap, a broken bundle that must not replace a good one, and local-mode manifests.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderBundle } from '@kna/shared/bundle';
import type { TrustPolicy, TrustStore } from '@kna/shared/crd';
import { createSigningChain, projectPayload } from '@kna/e2e';
import { BundleStore, type LoadedBundle } from './store.js';
import { BUNDLE_FILE, bundleDirSource, policyDirSource } from './sources.js';

const root = mkdtempSync(join(tmpdir(), 'sources-test-'));
after(() => rmSync(root, { recursive: true, force: true }));

const rootPem = (await createSigningChain()).root.certPem;

function store(name: string): TrustStore {
  return {
    apiVersion: 'notation.nirmata.io/v1alpha1',
    kind: 'TrustStore',
    metadata: { name },
    spec: { trustStoreName: name, type: 'signingAuthority', caBundle: rootPem },
  };
}

function policy(name: string, identity = 'arn:aws:signer:us-east-1:123456789012:/signing-profiles/P'): TrustPolicy {
  return {
    apiVersion: 'notation.nirmata.io/v1alpha1',
    kind: 'TrustPolicy',
    metadata: { name },
    spec: {
      version: '1.0',
      trustPolicyName: name,
      trustPolicies: [
        { name: 's', registryScopes: ['*'], signatureVerification: { level: 'strict' }, trustStores: ['signingAuthority:ts'], trustedIdentities: [identity] },
      ],
    },
  };
}

/** Writes a ConfigMap volume the way the kubelet does (timestamped dir, `..data` swap, per-key symlinks). */
function kubeletWrite(dir: string, text: string): Promise<boolean> {
  return projectPayload(dir, new Map([[BUNDLE_FILE, Buffer.from(text)]]));
}

function currentOf(s: BundleStore): LoadedBundle {
  const bundle = s.current;
  assert.ok(bundle, 'a bundle is loaded');
  return bundle;
}

function nextLoad(s: BundleStore): Promise<LoadedBundle> {
  return new Promise((resolve) => s.once('loaded', resolve));
}

describe('bundleDirSource', () => {
  it('loads the mounted bundle, follows a symlink swap, and keeps the last good bundle when a new one is broken', async () => {
    const mount = join(root, 'mount');
    mkdirSync(mount);
    const s = new BundleStore({ workDir: join(root, 'work1'), retainReplacedMs: 50 });
    const rejected: string[] = [];
    s.on('rejected', (_source, err) => rejected.push(err.message));
    const first = renderBundle({ trustPolicies: [policy('a')], trustStores: [store('ts')], pluginConfig: { 'aws-region': 'us-east-1' } });
    await kubeletWrite(mount, first.text);
    const source = bundleDirSource(mount, s, { pollMs: 60_000, debounceMs: 10 });
    try {
      assert.equal(source.refresh(), true);
      const loadedFirst = currentOf(s);
      assert.equal(loadedFirst.version, first.bundle.version);
      const a = loadedFirst.policies.get('a');
      assert.ok(a);
      assert.deepEqual(JSON.parse(readFileSync(join(a.configDir, 'trustpolicy.json'), 'utf8')), first.bundle.trustPolicies.a?.document);
      assert.deepEqual(readdirSync(join(a.configDir, 'truststore/x509/signingAuthority/ts')), ['cert-0.pem']);

      const second = renderBundle({
        trustPolicies: [policy('a', 'arn:aws:signer:us-east-1:123456789012:/signing-profiles/Q'), policy('b')],
        trustStores: [store('ts')],
        pluginConfig: {},
      });
      const loaded = nextLoad(s);
      await kubeletWrite(mount, second.text);
      assert.equal((await loaded).version, second.bundle.version, 'the watcher picked up the swap');
      assert.notEqual(currentOf(s).policies.get('a')?.version, a.version, 'a changed policy gets a new version');

      await kubeletWrite(mount, second.text.replace('"1.0"', '"2.0"'));
      source.refresh();
      assert.equal(currentOf(s).version, second.bundle.version, 'the broken bundle did not replace the good one');
      assert.match(rejected.at(-1) ?? '', /bundle from .* rejected: /);
    } finally {
      source.close();
      s.close();
    }
  });

  it('reports a missing bundle without throwing', () => {
    const s = new BundleStore({ workDir: join(root, 'work2') });
    const errors: string[] = [];
    s.on('rejected', (_source, err) => errors.push(err.message));
    const source = bundleDirSource(join(root, 'nowhere'), s, { pollMs: 60_000 });
    source.refresh();
    source.close();
    assert.equal(s.current, undefined);
    assert.match(errors[0] ?? '', /cannot read it: ENOENT/);
  });
});

describe('policyDirSource (local mode)', () => {
  it('renders manifests like the operator, leaves invalid objects out, and re-reads on change', async () => {
    const dir = join(root, 'policies');
    mkdirSync(dir);
    const yaml = (objects: object[]) => objects.map((o) => JSON.stringify(o)).join('\n---\n');
    writeFileSync(join(dir, 'stores.yaml'), yaml([store('ts')]));
    writeFileSync(join(dir, 'policies.yaml'), yaml([policy('a'), { ...policy('wild', '*') }]));
    writeFileSync(
      join(dir, 'cm.yaml'),
      yaml([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'notation-plugin-config' }, data: { 'aws-region': 'us-east-1' } }]),
    );
    writeFileSync(join(dir, 'README.txt'), 'not a manifest');
    const s = new BundleStore({ workDir: join(root, 'work3') });
    const notReady: string[] = [];
    const source = policyDirSource(dir, s, {
      pluginConfigMap: 'notation-plugin-config',
      pollMs: 60_000,
      debounceMs: 10,
      onStatuses: (st) => notReady.push(...st.filter((x) => !x.ready).map((x) => x.name)),
    });
    try {
      assert.equal(source.refresh(), true);
      assert.deepEqual([...(s.current?.policies.keys() ?? [])], ['a']);
      assert.deepEqual(s.current?.pluginConfig, { 'aws-region': 'us-east-1' });
      assert.deepEqual(notReady, ['wild'], 'the "*" identity policy is reported and left out');

      const loaded = nextLoad(s);
      writeFileSync(join(dir, 'more.yaml'), yaml([policy('c')]));
      assert.deepEqual([...(await loaded).policies.keys()].sort(), ['a', 'c']);
    } finally {
      source.close();
      s.close();
    }
  });

  it('requires the plugin ConfigMap unless --pluginConfigMap is empty, and names it', () => {
    const dir = join(root, 'no-cm');
    mkdirSync(dir);
    writeFileSync(join(dir, 'p.yaml'), JSON.stringify(policy('a')) + '\n---\n' + JSON.stringify(store('ts')));
    const s = new BundleStore({ workDir: join(root, 'work4') });
    const errors: string[] = [];
    s.on('rejected', (_source, err) => errors.push(err.message));
    const strict = policyDirSource(dir, s, { pluginConfigMap: 'notation-plugin-config', pollMs: 60_000 });
    strict.refresh();
    strict.close();
    assert.equal(s.current, undefined);
    assert.match(errors[0] ?? '', /no ConfigMap named "notation-plugin-config"/);
    const lenient = policyDirSource(dir, s, { pluginConfigMap: '', pollMs: 60_000 });
    assert.equal(lenient.refresh(), true);
    lenient.close();
    s.close();
  });

  it('rejects a manifest that is not a TrustPolicy, TrustStore or ConfigMap with the file name', () => {
    const dir = join(root, 'bad');
    mkdirSync(dir);
    writeFileSync(join(dir, 'weird.yaml'), 'apiVersion: v1\nkind: Secret\nmetadata: {name: x}\n');
    const s = new BundleStore({ workDir: join(root, 'work5') });
    const errors: string[] = [];
    s.on('rejected', (_source, err) => errors.push(err.message));
    const source = policyDirSource(dir, s, { pluginConfigMap: '', pollMs: 60_000 });
    source.refresh();
    source.close();
    s.close();
    assert.match(errors[0] ?? '', /weird\.yaml/);
  });
});
