// The kubelet mirror on the real API server: the on-disk layout of a projected ConfigMap/Secret
// volume, updates through the watch, and that a reader never sees a partial or mixed payload.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdtemp, readFile, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { startKubeletMirror, type KubeletMirror } from './kubeletMirror.js';
import { eventually, useTestControlPlane, withNamespace } from './testing.js';

const kube = useTestControlPlane({ shared: true });

async function withMirrorDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'kna-mirror-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function expectLayout(dir: string, expected: Record<string, string>): Promise<void> {
  const entries = (await readdir(dir)).sort();
  const tsDirs = entries.filter((e) => /^\.\.\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}\.\d+$/.test(e));
  assert.equal(tsDirs.length, 1, `exactly one timestamped directory in ${entries.join(' ')}`);
  assert.deepEqual(entries, ['..data', ...tsDirs, ...Object.keys(expected)].sort());
  assert.equal(await readlink(join(dir, '..data')), tsDirs[0]);
  assert.deepEqual((await readdir(join(dir, tsDirs[0] ?? ''))).sort(), Object.keys(expected).sort());
  for (const [key, value] of Object.entries(expected)) {
    assert.ok((await lstat(join(dir, key))).isSymbolicLink(), `${key} is a symlink`);
    assert.equal(await readlink(join(dir, key)), join('..data', key));
    assert.equal(await readFile(join(dir, key), 'utf8'), value);
  }
}

async function closing<T>(mirror: KubeletMirror, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } finally {
    await mirror.close();
  }
}

describe('kubelet mirror', () => {
  it('projects a ConfigMap as the kubelet does and follows updates, including removed and added keys', () =>
    withNamespace(kube(), (namespace) =>
      withMirrorDir(async (dir) => {
        const core = kube().kubeConfig().makeApiClient(CoreV1Api);
        await core.createNamespacedConfigMap({
          namespace,
          body: { metadata: { name: 'bundle' }, data: { 'bundle.json': '{"v":1}', old: 'x' }, binaryData: { bin: Buffer.from([0, 1, 2]).toString('base64') } },
        });
        const mirror = await startKubeletMirror({ kubeConfig: kube().kubeConfig(), namespace, kind: 'ConfigMap', name: 'bundle', dir });
        await closing(mirror, async () => {
          assert.equal(mirror.dir, dir);
          const bin = await readFile(join(dir, 'bin'));
          assert.deepEqual([...bin], [0, 1, 2]);
          await expectLayout(dir, { 'bundle.json': '{"v":1}', old: 'x', bin: bin.toString('utf8') });
          const before = await readlink(join(dir, '..data'));

          await core.replaceNamespacedConfigMap({
            namespace,
            name: 'bundle',
            body: { metadata: { name: 'bundle' }, data: { 'bundle.json': '{"v":2}', added: 'y' } },
          });
          // The watch alone brings the update (no synced() call).
          await eventually(async () => assert.equal(await readFile(join(dir, 'bundle.json'), 'utf8'), '{"v":2}'));
          await mirror.synced();
          await expectLayout(dir, { 'bundle.json': '{"v":2}', added: 'y' });
          assert.notEqual(await readlink(join(dir, '..data')), before, 'a new timestamped directory');
        });
      }),
    ));

  it('decodes Secret data, waits in synced() for an object created later, and keeps the content when it is deleted', () =>
    withNamespace(kube(), (namespace) =>
      withMirrorDir(async (dir) => {
        const core = kube().kubeConfig().makeApiClient(CoreV1Api);
        const mirror = await startKubeletMirror({ kubeConfig: kube().kubeConfig(), namespace, kind: 'Secret', name: 'pair', dir });
        await closing(mirror, async () => {
          assert.deepEqual(await readdir(dir), [], 'nothing projected while the Secret does not exist');
          const data = { 'tls.crt': Buffer.from('CERT\n').toString('base64'), 'tls.key': Buffer.from('KEY\n').toString('base64') };
          await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'pair' }, type: 'kubernetes.io/tls', data } });
          await mirror.synced();
          await expectLayout(dir, { 'tls.crt': 'CERT\n', 'tls.key': 'KEY\n' });
          await core.deleteNamespacedSecret({ namespace, name: 'pair' });
          await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'after-delete' } } });
          await expectLayout(dir, { 'tls.crt': 'CERT\n', 'tls.key': 'KEY\n' });
        });
      }),
    ));

  it('never shows a reader a partial or mixed payload while the object changes', () =>
    withNamespace(kube(), (namespace) =>
      withMirrorDir(async (dir) => {
        const core = kube().kubeConfig().makeApiClient(CoreV1Api);
        // Two keys that always change together and a large value, so that a torn read would show.
        const body = (n: number) => ({ metadata: { name: 'pair' }, data: { a: `${n}`, b: `${n}`.repeat(20_000) } });
        await core.createNamespacedConfigMap({ namespace, body: body(0) });
        const mirror = await startKubeletMirror({ kubeConfig: kube().kubeConfig(), namespace, kind: 'ConfigMap', name: 'pair', dir });
        await closing(mirror, async () => {
          let reads = 0;
          const reading = { stop: false };
          const seen = new Set<string>();
          const reader = (async () => {
            while (!reading.stop) {
              // Through one resolved `..data`, as a process that opens the files after the swap would.
              const data = join(dir, await readlink(join(dir, '..data')));
              let a: string;
              let b: string;
              try {
                a = await readFile(join(data, 'a'), 'utf8');
                b = await readFile(join(data, 'b'), 'utf8');
              } catch (err) {
                // The old directory is removed after the swap; a reader that resolved it just before may
                // find it gone (the kubelet behaves the same). It must never find a torn file.
                if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
                throw err;
              }
              assert.equal(b, a.repeat(20_000), `a and b from the same version (a=${a})`);
              // And the per-key symlink always resolves to a complete file.
              const viaLink = await readFile(join(dir, 'b'), 'utf8').catch((err: unknown) => {
                if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
                throw err;
              });
              assert.equal(viaLink.length % 20_000, 0, 'a complete value through the symlink');
              seen.add(a);
              reads++;
            }
          })();
          try {
            for (let n = 1; n <= 20; n++) await core.replaceNamespacedConfigMap({ namespace, name: 'pair', body: body(n) });
            await mirror.synced();
            await eventually(() => assert.ok(seen.has('20'), 'the reader saw the last version'));
          } finally {
            reading.stop = true;
            await reader;
          }
          assert.ok(reads > 0);
          console.log(`reader: ${reads} consistent reads, ${seen.size} distinct versions seen`);
          await expectLayout(dir, { a: '20', b: '20'.repeat(20_000) });
        });
      }),
    ));
});
