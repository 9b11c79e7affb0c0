// Keeps the CA bundle injected into annotated ClusterPolicies (inject.ts says where): on every change of a
// ClusterPolicy and of the CA bundle, every policy that needs it gets a JSON patch of its rules, guarded by the
// resourceVersion it was computed from (guardedPatch: a 409 means it changed meanwhile; the watch brings the new
// version and another run). A patch, not an update, because `patch` is all the chart's RBAC grants on
// ClusterPolicies.
import type { CustomObjectsApi } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { statusCodeOf, type ListWatcher } from '@kna/shared';
import { guardedPatch } from '../reconcile/objectWriter.js';
import { CLUSTER_POLICIES } from '../resources.js';
import { injectCaBundle, serviceHosts, type ClusterPolicy } from './inject.js';

export interface InjectorOptions {
  custom: CustomObjectsApi;
  policies: ListWatcher<ClusterPolicy>;
  serviceName: string;
  namespace: string;
  /** Extra apiCall URL hosts to inject into (--extraServiceHosts). */
  extraHosts?: readonly string[];
  mayWrite: () => boolean;
  log: Logger;
  onWrite?: (outcome: 'updated' | 'error') => void;
}

export class CaInjector {
  readonly #options: InjectorOptions;

  constructor(options: InjectorOptions) {
    this.#options = options;
  }

  /** Injects `caBundle` wherever it is missing or stale; returns the number of policies updated. */
  async reconcile(caBundle: string): Promise<number> {
    const { policies, custom, mayWrite, log } = this.#options;
    if (!policies.available || caBundle === '') return 0;
    const hosts = [...serviceHosts(this.#options.serviceName, this.#options.namespace), ...(this.#options.extraHosts ?? [])];
    let updated = 0;
    for (const policy of policies.items()) {
      const next = injectCaBundle(policy, caBundle, hosts);
      if (next === undefined || !mayWrite()) continue;
      try {
        const body = guardedPatch(policy.metadata.resourceVersion, [{ op: 'replace', path: '/spec/rules', value: next.spec?.rules ?? [] }]);
        await custom.patchClusterCustomObject({
          group: CLUSTER_POLICIES.group,
          version: CLUSTER_POLICIES.version,
          plural: CLUSTER_POLICIES.plural,
          name: policy.metadata.name,
          body,
        });
        updated++;
        this.#options.onWrite?.('updated');
        log.info({ clusterPolicy: policy.metadata.name }, 'CA bundle injected');
      } catch (err) {
        const code = statusCodeOf(err);
        if (code === 409 || code === 404) continue;
        this.#options.onWrite?.('error');
        log.warn({ err, clusterPolicy: policy.metadata.name }, 'CA injection failed; retried on the next change');
      }
    }
    return updated;
  }
}
