// From a render outcome to the `.status` the operator writes (docs/architecture.md "Custom resources"). The Ready condition follows
// apimachinery's meta.SetStatusCondition: lastTransitionTime moves only when the condition's status changes, so
// a status rewrite with the same outcome is a no-op and does not churn.
import type { Condition } from '../crd/common.js';
import { READY_CONDITION } from '../crd/common.js';
import type { TrustPolicyStatus } from '../crd/trust-policy.js';
import type { TrustStoreStatus } from '../crd/trust-store.js';
import type { ObjectStatus } from './render.js';

export interface ResourceStatusOptions {
  /** Version of the bundle the render produced (written or not). */
  bundleVersion: string;
  /** Used for lastTransitionTime when the Ready status changes. */
  now: Date;
  /** The object's current status, to keep lastTransitionTime when Ready did not change. */
  previous?: { conditions?: readonly Condition[] | undefined } | undefined;
}

function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The status subresource content for a TrustPolicy or TrustStore (by `status.kind`). */
export function resourceStatus(status: ObjectStatus, options: ResourceStatusOptions): TrustPolicyStatus | TrustStoreStatus {
  const conditionStatus = status.ready ? 'True' : 'False';
  const previous = options.previous?.conditions?.find((c) => c.type === READY_CONDITION);
  const ready: Condition = {
    type: READY_CONDITION,
    status: conditionStatus,
    reason: status.reason,
    message: status.message,
    lastTransitionTime: previous?.status === conditionStatus ? previous.lastTransitionTime : rfc3339(options.now),
  };
  if (status.generation !== undefined) ready.observedGeneration = status.generation;
  const common = {
    conditions: [...(options.previous?.conditions ?? []).filter((c) => c.type !== READY_CONDITION), ready],
    bundleVersion: options.bundleVersion,
    bundleVersionShort: options.bundleVersion.slice(0, 12),
    ...(status.generation !== undefined && { observedGeneration: status.generation }),
  };
  if (status.kind === 'TrustPolicy') {
    const result: TrustPolicyStatus = { ...common };
    if (status.policyVersion !== undefined) result.policyVersion = status.policyVersion;
    if (status.resolvedTrustStores !== undefined) result.resolvedTrustStores = [...status.resolvedTrustStores];
    return result;
  }
  const result: TrustStoreStatus = { ...common };
  if (status.certificateCount !== undefined) result.certificateCount = status.certificateCount;
  if (status.earliestExpiry !== undefined) result.earliestExpiry = status.earliestExpiry;
  return result;
}
