// Coded errors of the Kubernetes client (shared errors.ts explains the scheme).
import { defineError, Outcome } from '../errors.js';
import { formatGoDuration } from '../units/duration.js';

/** One API request as Kubernetes names it (the verb and resource of an audit event or an RBAC rule). */
export interface KubeRequestTarget {
  /** get, list, watch, create, update, patch, delete or deletecollection. */
  readonly verb: string;
  /** The plural resource name, `.group` for a non-core group, `/subresource` when there is one: `trustpolicies.notation.nirmata.io/status`. */
  readonly resource: string;
  readonly namespace?: string;
  readonly name?: string;
}

/** `get configmaps kna-bundle in namespace kna` */
export function describeRequest(target: KubeRequestTarget): string {
  const name = target.name === undefined ? '' : ` ${target.name}`;
  const namespace = target.namespace === undefined ? '' : ` in namespace ${target.namespace}`;
  return `${target.verb} ${target.resource}${name}${namespace}`;
}

/**
 * An API request (connecting, the answer and its body) that did not finish within its bound: the API server accepted
 * the connection but did not answer, or answered too slowly. The caller's back-off retries it; a timeout is never
 * taken for an answer (a GET that timed out is not a 404).
 */
export class KubeRequestTimeoutError extends defineError(
  'KNA_ERR_KUBE_API_TIMEOUT',
  Outcome.CouldNotVerify,
  (target: KubeRequestTarget, timeoutMs: number) =>
    `the API server did not answer ${describeRequest(target)} within ${formatGoDuration(BigInt(Math.round(timeoutMs)) * 1_000_000n)}`,
) {
  readonly verb: string;
  readonly resource: string;
  readonly namespace: string | undefined;
  /** The object's name (`name` is the error's). */
  readonly objectName: string | undefined;
  readonly timeoutMs: number;

  constructor(target: KubeRequestTarget, timeoutMs: number) {
    super(target, timeoutMs);
    this.verb = target.verb;
    this.resource = target.resource;
    this.namespace = target.namespace;
    this.objectName = target.name;
    this.timeoutMs = timeoutMs;
  }
}
