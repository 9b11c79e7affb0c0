// Writes the bundle ConfigMap only when its content changed, with optimistic concurrency: compare with the
// ConfigMap as it is, replace with that resourceVersion (or create); a 409 means someone else wrote in between, so
// read and compare again. The ConfigMap as it is comes from the caller when it knows it (the answer to its last
// write, while a watch has seen no other change; see BundleReconciler) and from a GET otherwise, so an unchanged
// bundle costs no request and a changed one a single PUT. The text is what renderBundle produced, byte for byte:
// equal inputs give an equal ConfigMap and no write.
import type { CoreV1Api, V1ConfigMap } from '@kubernetes/client-node';
import { BUNDLE_KEY, statusCodeOf } from '@kna/shared';
import { BUNDLE_VERSION_ANNOTATION, BUNDLE_VERSION_LABEL, COMPONENT } from '../resources.js';

export interface BundleWrite {
  namespace: string;
  name: string;
  text: string;
  version: string;
  /** Asked right before each write; false stops (leadership lost). */
  mayWrite: () => boolean;
}

export type BundleWriteOutcome = 'unchanged' | 'created' | 'updated' | 'not-leader';

export interface BundleWriteResult {
  outcome: BundleWriteOutcome;
  /** The ConfigMap as the API server last returned it (undefined when it does not exist or was not read). */
  current: V1ConfigMap | undefined;
  /** GET requests made. */
  reads: number;
}

const MAX_CONFLICTS = 5;

function desired(write: BundleWrite, current?: V1ConfigMap): V1ConfigMap {
  const metadata = current?.metadata ?? {};
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      ...(metadata.resourceVersion !== undefined && { resourceVersion: metadata.resourceVersion }),
      name: write.name,
      namespace: write.namespace,
      labels: { ...metadata.labels, [BUNDLE_VERSION_LABEL]: write.version.slice(0, 12), 'app.kubernetes.io/managed-by': COMPONENT },
      annotations: { ...metadata.annotations, [BUNDLE_VERSION_ANNOTATION]: write.version },
    },
    data: { [BUNDLE_KEY]: write.text },
  };
}

function isCurrent(write: BundleWrite, current: V1ConfigMap): boolean {
  const data = current.data ?? {};
  return (
    data[BUNDLE_KEY] === write.text &&
    Object.keys(data).length === 1 &&
    current.binaryData === undefined &&
    current.metadata?.labels?.[BUNDLE_VERSION_LABEL] === write.version.slice(0, 12) &&
    current.metadata.annotations?.[BUNDLE_VERSION_ANNOTATION] === write.version
  );
}

/** `known`: the ConfigMap as the caller last saw it, used instead of a GET (a stale one costs a 409 and a GET). */
export async function writeBundle(core: CoreV1Api, write: BundleWrite, known?: V1ConfigMap): Promise<BundleWriteResult> {
  let current = known;
  let read = known === undefined;
  let reads = 0;
  for (let conflicts = 0; ; conflicts++) {
    if (read) {
      reads++;
      current = undefined;
      try {
        current = await core.readNamespacedConfigMap({ name: write.name, namespace: write.namespace });
      } catch (err) {
        if (statusCodeOf(err) !== 404) throw err;
      }
    }
    if (current !== undefined && isCurrent(write, current)) return { outcome: 'unchanged', current, reads };
    if (!write.mayWrite()) return { outcome: 'not-leader', current, reads };
    try {
      if (current === undefined) {
        const created = await core.createNamespacedConfigMap({ namespace: write.namespace, body: desired(write) });
        return { outcome: 'created', current: created, reads };
      }
      const replaced = await core.replaceNamespacedConfigMap({ name: write.name, namespace: write.namespace, body: desired(write, current) });
      return { outcome: 'updated', current: replaced, reads };
    } catch (err) {
      // 409: changed (or created) since it was read; 404: deleted since. Compare again with what is there now.
      const code = statusCodeOf(err);
      if ((code !== 409 && code !== 404) || conflicts >= MAX_CONFLICTS) throw err;
      read = true;
    }
  }
}
