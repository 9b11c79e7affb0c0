// Writes to TrustPolicies and TrustStores: the status subresource when it changed, the removal of the original's
// finalizer, and an Event when Ready changes. Conflicts (409) are left to the next reconcile: the watch delivers
// the newer object, which triggers one.
import { isDeepStrictEqual } from 'node:util';
import type { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { API_VERSION, READY_CONDITION, type Condition, type ResourceRef } from '@kna/shared';
import { COMPONENT, ORIGINAL_FINALIZER } from '../resources.js';

/** The parts of a TrustPolicy or TrustStore the writers need. */
export interface CustomObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; uid?: string; resourceVersion?: string; generation?: number; finalizers?: string[]; deletionTimestamp?: string | Date };
  status?: { conditions?: Condition[] } & Record<string, unknown>;
}

/** JSON as the API server stores it (no undefined members), for comparing with what it returns. */
function asStored(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value ?? {})) as unknown;
}

/** True when `next` differs from `current` as the API server would store them (member order aside). */
export function statusChanged(current: unknown, next: unknown): boolean {
  return !isDeepStrictEqual(asStored(current), asStored(next));
}

export async function writeStatus(api: CustomObjectsApi, ref: ResourceRef, kind: string, object: CustomObject, status: object): Promise<void> {
  const metadata = { name: object.metadata.name, ...(object.metadata.resourceVersion !== undefined && { resourceVersion: object.metadata.resourceVersion }) };
  await api.replaceClusterCustomObjectStatus({
    group: ref.group,
    version: ref.version,
    plural: ref.plural,
    name: object.metadata.name,
    body: { apiVersion: API_VERSION, kind, metadata, status },
  });
}

export interface JsonPatchOperation {
  readonly op: 'replace' | 'add' | 'remove' | 'test';
  readonly path: string;
  readonly value?: unknown;
}

/**
 * A JSON patch (client-node sends patches as application/json-patch+json) that also sets the object's
 * resourceVersion to the one the change was computed from: the API server then refuses it with 409 when the
 * object changed meanwhile, the optimistic concurrency of an update with only the `patch` verb.
 */
export function guardedPatch(resourceVersion: string | undefined, operations: readonly JsonPatchOperation[]): JsonPatchOperation[] {
  return [...(resourceVersion !== undefined ? [{ op: 'replace' as const, path: '/metadata/resourceVersion', value: resourceVersion }] : []), ...operations];
}

/** Removes the original's finalizer with a guarded patch (the chart grants `patch`, not `update`, on the resources). */
export async function removeOriginalFinalizer(api: CustomObjectsApi, ref: ResourceRef, object: CustomObject): Promise<void> {
  const finalizers = (object.metadata.finalizers ?? []).filter((f) => f !== ORIGINAL_FINALIZER);
  await api.patchClusterCustomObject({
    group: ref.group,
    version: ref.version,
    plural: ref.plural,
    name: object.metadata.name,
    body: guardedPatch(object.metadata.resourceVersion, [{ op: 'replace', path: '/metadata/finalizers', value: finalizers }]),
  });
}

export function readyOf(status: { conditions?: readonly Condition[] | undefined } | undefined): Condition | undefined {
  return status?.conditions?.find((c) => c.type === READY_CONDITION);
}

/**
 * Records a Ready transition as a core/v1 Event. The API server accepts the Events of a cluster-scoped object
 * only in the `default` namespace (core/v1 Event validation), which is where client-go's recorder puts them
 * too; the chart grants the operator `create` on Events there and nothing else outside its namespace.
 */
export async function recordTransition(core: CoreV1Api, kind: string, object: CustomObject, ready: Condition, now: Date): Promise<void> {
  const time = now;
  await core.createNamespacedEvent({
    namespace: 'default',
    body: {
      metadata: { generateName: `${object.metadata.name}.`, namespace: 'default' },
      involvedObject: {
        apiVersion: API_VERSION,
        kind,
        name: object.metadata.name,
        ...(object.metadata.uid !== undefined && { uid: object.metadata.uid }),
        ...(object.metadata.resourceVersion !== undefined && { resourceVersion: object.metadata.resourceVersion }),
      },
      reason: ready.status === 'True' ? 'Ready' : ready.reason,
      message: ready.status === 'True' ? `Ready: ${ready.message}` : `Not ready (${ready.reason}): ${ready.message}`.slice(0, 1024),
      type: ready.status === 'True' ? 'Normal' : 'Warning',
      firstTimestamp: time,
      lastTimestamp: time,
      count: 1,
      source: { component: COMPONENT },
      reportingComponent: COMPONENT,
    },
  });
}
