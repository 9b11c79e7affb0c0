// Where bundles come from:
// - the operator's bundle ConfigMap mounted at --bundleDir (in-cluster). The kubelet updates a
//   ConfigMap volume by swapping the `..data` symlink, which shows up as events on the directory;
//   polling covers filesystems whose events are not delivered.
// - local mode: TrustPolicy/TrustStore/ConfigMap manifests in --policyDir, rendered with the
//   operator's own render function, re-read whenever a file changes.
// Either way a bundle that does not parse or validate is reported and the last good one keeps serving.
import { readFileSync, readdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { BUNDLE_MAX_BYTES, parseBundle, renderBundle, type ObjectStatus } from '@kna/shared/bundle';
import { parseManifests } from '@kna/shared/manifests';
import { errorMessage } from '@kna/shared/errors';
import { VERIFIER_ERR_BUNDLE } from '../errors.js';
import type { BundleStore } from './store.js';

export const BUNDLE_FILE = 'bundle.json';

export interface Source {
  /** Loads now; resolves whether a bundle was installed. */
  refresh(): boolean;
  close(): void;
}

interface WatchOptions {
  readonly pollMs?: number;
  /** Coalesces bursts of file events (an editor save is several); default 100 ms. */
  readonly debounceMs?: number;
}

function watchDirectory(dir: string, onChange: () => void, options: WatchOptions): { close(): void } {
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(onChange, options.debounceMs ?? 100);
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, schedule);
    watcher.on('error', () => undefined);
  } catch {
    // The directory may not exist yet; polling picks it up.
  }
  const poll = setInterval(onChange, options.pollMs ?? 10_000);
  poll.unref();
  return {
    close: () => {
      clearTimeout(timer);
      clearInterval(poll);
      watcher?.close();
    },
  };
}

/** The operator's bundle, from a mounted ConfigMap directory. */
export function bundleDirSource(dir: string, store: BundleStore, options: WatchOptions = {}): Source {
  const file = join(dir, BUNDLE_FILE);
  let lastText: string | undefined;
  const refresh = (): boolean => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      store.reject(file, new VERIFIER_ERR_BUNDLE(file, `cannot read it: ${(err as NodeJS.ErrnoException).code ?? String(err)}`));
      return false;
    }
    if (text === lastText) return false;
    lastText = text;
    try {
      store.install(parseBundle(text), file);
      return true;
    } catch (err) {
      store.reject(file, new VERIFIER_ERR_BUNDLE(file, errorMessage(err), { cause: err }));
      return false;
    }
  };
  const watcher = watchDirectory(dir, refresh, options);
  return { refresh, close: () => watcher.close() };
}

export interface PolicyDirOptions extends WatchOptions {
  /** Name of the ConfigMap manifest holding the plugin configuration ("" = none). */
  readonly pluginConfigMap: string;
  /** Objects that are not Ready (left out of the bundle), reported on every load. */
  readonly onStatuses?: (statuses: readonly ObjectStatus[]) => void;
}

const MANIFEST = /\.(ya?ml|json)$/i;

/** Local mode: manifests in a directory, rendered into a bundle exactly as the operator would. */
export function policyDirSource(dir: string, store: BundleStore, options: PolicyDirOptions): Source {
  let lastFingerprint: string | undefined;
  const refresh = (): boolean => {
    let files: string[];
    try {
      files = readdirSync(dir)
        .filter((f) => MANIFEST.test(f) && statSync(join(dir, f)).isFile())
        .sort();
    } catch (err) {
      store.reject(dir, new VERIFIER_ERR_BUNDLE(dir, `cannot read the policy directory: ${(err as NodeJS.ErrnoException).code ?? String(err)}`));
      return false;
    }
    const texts = files.map((f) => [f, readFileSync(join(dir, f), 'utf8')] as const);
    const fingerprint = JSON.stringify(texts);
    if (fingerprint === lastFingerprint) return false;
    lastFingerprint = fingerprint;
    try {
      const trustPolicies = [];
      const trustStores = [];
      let pluginConfig: Record<string, string> = {};
      let pluginConfigFound = options.pluginConfigMap === '';
      for (const [file, text] of texts) {
        const parsed = parseManifests(text, file);
        trustPolicies.push(...parsed.trustPolicies);
        trustStores.push(...parsed.trustStores);
        const configMap = parsed.configMaps.find((cm) => cm.metadata.name === options.pluginConfigMap);
        if (configMap) {
          pluginConfig = { ...(configMap.data ?? {}) };
          pluginConfigFound = true;
        }
      }
      if (!pluginConfigFound) {
        throw new Error(
          `no ConfigMap named ${JSON.stringify(options.pluginConfigMap)} (the plugin configuration, --pluginConfigMap) among the manifests; ` +
            'add one (data: {aws-region: ...}) or pass --pluginConfigMap=""',
        );
      }
      const rendered = renderBundle({ trustPolicies, trustStores, pluginConfig });
      options.onStatuses?.(rendered.statuses);
      if (rendered.tooLarge) {
        throw new Error(`the rendered bundle is ${rendered.bytes} bytes, above the ${BUNDLE_MAX_BYTES}-byte ConfigMap budget; split or trim the trust stores`);
      }
      store.install(rendered.bundle, dir);
      return true;
    } catch (err) {
      store.reject(dir, new VERIFIER_ERR_BUNDLE(dir, errorMessage(err), { cause: err }));
      return false;
    }
  };
  const watcher = watchDirectory(dir, refresh, options);
  return { refresh, close: () => watcher.close() };
}
