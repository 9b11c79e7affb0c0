// A ConfigMap or Secret projected into a directory the way the kubelet projects a volume, so that the
// code reading mounted files (the verifier's --bundleDir, its TLS reload, a client's CA file) is tested
// on the real on-disk layout rather than on plain files:
//
//   dir/..2026_12_06_21_10_47.123456789/<key>   the payload, one file per key, in a timestamped directory
//   dir/..data -> ..2026_12_06_21_10_47.123456789   swapped atomically (symlink `..data_tmp`, then rename)
//   dir/<key> -> ..data/<key>                    the per-key symlinks a container opens
//
// The update order is the kubelet's atomic writer (pkg/volume/util/atomic_writer.go): write the new
// timestamped directory, swap `..data`, create symlinks for new keys, remove symlinks of keys that are
// gone, then remove the old timestamped directory. A reader that opens `dir/<key>` therefore sees the
// old or the new content, never a mix or a partial file; a reader holding the old directory open loses
// it only after the swap.
//
// Like the kubelet, the mirror keeps the last content when the object is deleted. Unlike the kubelet,
// which re-syncs a pod's volumes every minute or so, it follows a watch, so updates arrive within
// milliseconds (tests poll for their effect anyway).
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, Watch, type KubeConfig, type V1ConfigMap, type V1Secret } from '@kubernetes/client-node';

export interface KubeletMirrorOptions {
  readonly kubeConfig: KubeConfig;
  readonly namespace: string;
  readonly kind: 'ConfigMap' | 'Secret';
  readonly name: string;
  /** Created if missing; the mirror owns its `..*` entries and the per-key symlinks. */
  readonly dir: string;
}

export interface KubeletMirror {
  readonly dir: string;
  /**
   * Resolves once the directory holds the object's content as the API server has it now (waiting up
   * to a minute for the object to exist).
   */
  synced(): Promise<void>;
  /** Stops the watch; the directory is left as it is. */
  close(): Promise<void>;
}

type Payload = ReadonlyMap<string, Buffer>;

const DATA = '..data';
const DATA_TMP = '..data_tmp';

function payloadOf(kind: KubeletMirrorOptions['kind'], object: V1ConfigMap | V1Secret): Payload {
  const out = new Map<string, Buffer>();
  if (kind === 'Secret') {
    for (const [key, value] of Object.entries((object as V1Secret).data ?? {})) out.set(key, Buffer.from(value, 'base64'));
  } else {
    const cm = object as V1ConfigMap;
    for (const [key, value] of Object.entries(cm.data ?? {})) out.set(key, Buffer.from(value, 'utf8'));
    for (const [key, value] of Object.entries(cm.binaryData ?? {})) out.set(key, Buffer.from(value, 'base64'));
  }
  return out;
}

// The kubelet names the directory with Go's time format "..2006_01_02_15_04_05." plus a random suffix
// (os.MkdirTemp); the nanosecond-looking suffix here only makes names unique.
function timestampDirName(now = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const stamp = `${now.getUTCFullYear()}_${p(now.getUTCMonth() + 1)}_${p(now.getUTCDate())}_${p(now.getUTCHours())}_${p(now.getUTCMinutes())}_${p(now.getUTCSeconds())}`;
  return `..${stamp}.${String(randomBytes(4).readUInt32BE()).padStart(10, '0')}`;
}

async function currentPayload(dir: string): Promise<{ tsDir: string | undefined; payload: Map<string, Buffer> }> {
  let tsDir: string;
  try {
    tsDir = await readlink(join(dir, DATA));
  } catch {
    return { tsDir: undefined, payload: new Map() };
  }
  const payload = new Map<string, Buffer>();
  for (const key of await readdir(join(dir, tsDir))) payload.set(key, await readFile(join(dir, tsDir, key)));
  return { tsDir, payload };
}

function samePayload(a: Payload, b: Payload): boolean {
  if (a.size !== b.size) return false;
  for (const [key, value] of a) {
    const other = b.get(key);
    if (!other?.equals(value)) return false;
  }
  return true;
}

/** Writes `payload` into `dir` with the kubelet's atomic writer sequence; returns false if nothing changed. */
export async function projectPayload(dir: string, payload: Payload): Promise<boolean> {
  await mkdir(dir, { recursive: true });
  const { tsDir: oldTsDir, payload: old } = await currentPayload(dir);
  if (oldTsDir !== undefined && samePayload(old, payload)) return false;

  const tsDir = timestampDirName();
  await mkdir(join(dir, tsDir), { mode: 0o755 });
  for (const [key, value] of payload) await writeFile(join(dir, tsDir, key), value, { mode: 0o644 });
  await rm(join(dir, DATA_TMP), { force: true });
  await symlink(tsDir, join(dir, DATA_TMP));
  await rename(join(dir, DATA_TMP), join(dir, DATA));
  for (const key of payload.keys()) {
    try {
      await symlink(join(DATA, key), join(dir, key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  for (const key of old.keys()) if (!payload.has(key)) await rm(join(dir, key), { force: true });
  if (oldTsDir !== undefined) await rm(join(dir, oldTsDir), { recursive: true, force: true });
  return true;
}

// Resource versions are opaque to clients in general; the mirror compares them only to drop a watch
// event older than what a synced() GET already wrote, and etcd-backed ones are integers.
function newer(candidate: string | undefined, than: string | undefined): boolean {
  if (candidate === undefined) return false;
  if (than === undefined) return true;
  try {
    return BigInt(candidate) > BigInt(than);
  } catch {
    return candidate !== than;
  }
}

/** Projects the object into `options.dir` and keeps it in sync until close(). */
export async function startKubeletMirror(options: KubeletMirrorOptions): Promise<KubeletMirror> {
  const core = options.kubeConfig.makeApiClient(CoreV1Api);
  const plural = options.kind === 'Secret' ? 'secrets' : 'configmaps';
  const read = async (): Promise<V1ConfigMap | V1Secret | undefined> => {
    try {
      return options.kind === 'Secret'
        ? await core.readNamespacedSecret({ namespace: options.namespace, name: options.name })
        : await core.readNamespacedConfigMap({ namespace: options.namespace, name: options.name });
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    }
  };

  // Writes are serialised and never go back to an older resource version.
  let written: string | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  const project = (object: V1ConfigMap | V1Secret): Promise<void> => {
    const next = queue.then(async () => {
      const rv = object.metadata?.resourceVersion;
      if (written !== undefined && !newer(rv, written)) return;
      await projectPayload(options.dir, payloadOf(options.kind, object));
      written = rv;
    });
    queue = next.catch(() => undefined);
    return next;
  };

  let closedFlag = false;
  // A function, not a variable test, because the flag changes while `run` awaits.
  const closed = () => closedFlag;
  let abort: AbortController | undefined;
  let failures = 0;
  let lastError: unknown;
  // List, then watch from the listed version; on any end or error, back off and list again.
  const run = async (): Promise<void> => {
    while (!closed()) {
      try {
        const object = await read();
        if (object) await project(object);
        await new Promise<void>((resolve) => {
          void new Watch(options.kubeConfig)
            .watch(
              `/api/v1/namespaces/${options.namespace}/${plural}`,
              {
                fieldSelector: `metadata.name=${options.name}`,
                // The server ends the watch after this, and the loop lists again: a connection that
                // went quiet (an API server restarted behind it) cannot hold the mirror stale for long.
                timeoutSeconds: 60,
                ...(object?.metadata?.resourceVersion !== undefined && { resourceVersion: object.metadata.resourceVersion }),
              },
              (type, obj: V1ConfigMap | V1Secret) => {
                failures = 0;
                if (type === 'ADDED' || type === 'MODIFIED') project(obj).catch((err: unknown) => (lastError = err));
              },
              (err: unknown) => {
                if (err) lastError = err;
                resolve();
              },
            )
            .then((controller) => {
              abort = controller;
              if (closed()) controller.abort();
            });
        });
      } catch (err) {
        lastError = err;
      }
      if (closed()) return;
      failures++;
      await sleep(Math.min(50 * 2 ** failures, 2000));
    }
  };
  const first = await read();
  if (first) await project(first);
  const running = run();

  return {
    dir: options.dir,
    synced: async () => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        // Errors are retried until the deadline: a test may be restarting the API server.
        const object = await read().catch((err: unknown) => {
          lastError = err;
          return undefined;
        });
        if (object) {
          await project(object);
          return;
        }
        if (Date.now() > deadline) {
          throw new Error(`${options.kind} ${options.namespace}/${options.name} could not be read or does not exist (last error: ${String(lastError)})`);
        }
        await sleep(100);
      }
    },
    close: async () => {
      closedFlag = true;
      abort?.abort();
      await running;
      await queue;
    },
  };
}
