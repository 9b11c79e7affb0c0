// Writes the bundle ConfigMap only when its content changed, with optimistic concurrency: read, compare, replace
// with the resourceVersion read (or create); a 409 means someone else wrote in between, so read and compare again.
// The text is what renderBundle produced, byte for byte: equal inputs give an equal ConfigMap and no write.
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

export async function writeBundle(core: CoreV1Api, write: BundleWrite): Promise<BundleWriteOutcome> {
  for (let conflicts = 0; ; conflicts++) {
    let current: V1ConfigMap | undefined;
    try {
      current = await core.readNamespacedConfigMap({ name: write.name, namespace: write.namespace });
    } catch (err) {
      if (statusCodeOf(err) !== 404) throw err;
    }
    if (current !== undefined && isCurrent(write, current)) return 'unchanged';
    if (!write.mayWrite()) return 'not-leader';
    try {
      if (current === undefined) {
        await core.createNamespacedConfigMap({ namespace: write.namespace, body: desired(write) });
        return 'created';
      }
      await core.replaceNamespacedConfigMap({ name: write.name, namespace: write.namespace, body: desired(write, current) });
      return 'updated';
    } catch (err) {
      // 409: changed (or created) since the read; compare again with what is there now.
      if (statusCodeOf(err) !== 409 || conflicts >= MAX_CONFLICTS) throw err;
    }
  }
}
