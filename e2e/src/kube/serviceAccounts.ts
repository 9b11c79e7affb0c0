// ServiceAccounts, their tokens and RBAC bindings on a test control plane: what the TokenReview tests
// of the harness and of the verifier both set up. Nothing creates the `default` ServiceAccount (no
// controller manager), so tests create their own.
import assert from 'node:assert/strict';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import type { TestControlPlane } from './testing.js';

export async function createServiceAccount(cp: TestControlPlane, namespace: string, name: string): Promise<void> {
  await cp
    .kubeConfig()
    .makeApiClient(CoreV1Api)
    .createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
}

/** A TokenRequest token for the ServiceAccount; no audiences means the API server's own. */
export async function serviceAccountToken(cp: TestControlPlane, namespace: string, name: string, audiences: readonly string[] = []): Promise<string> {
  const response = await cp
    .kubeConfig()
    .makeApiClient(CoreV1Api)
    // 600 s is the shortest lifetime the API server accepts.
    .createNamespacedServiceAccountToken({ namespace, name, body: { spec: { expirationSeconds: 600, audiences: [...audiences] } } });
  const token = response.status?.token;
  assert.ok(token, 'TokenRequest returned no token');
  return token;
}

/** Binds a ClusterRole (e.g. system:auth-delegator) to a ServiceAccount, cluster-wide; returns the binding's name. */
export async function bindClusterRole(cp: TestControlPlane, namespace: string, serviceAccount: string, clusterRole: string): Promise<string> {
  const name = `${namespace}-${serviceAccount}-${clusterRole.replace(/[^a-z0-9-]/g, '-')}`;
  await cp
    .kubeConfig()
    .makeApiClient(RbacAuthorizationV1Api)
    .createClusterRoleBinding({
      body: {
        metadata: { name },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole },
        subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace }],
      },
    });
  return name;
}
