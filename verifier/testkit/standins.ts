// Stand-ins for the pipeline's edges, for tests and benchmarks of the listener and pipeline that must
// not depend on a registry or notation.
import type { Bundle } from '@kna/shared/bundle';

/** A bundle with one trust policy (`name`) whose only statement has level skip for every registry. */
export function skipPolicyBundle(name: string): Bundle {
  return {
    apiVersion: 'bundle.notation.nirmata.io/v1',
    version: 'b'.repeat(64),
    pluginConfig: {},
    trustStores: {},
    trustPolicies: {
      [name]: {
        version: 'c'.repeat(64),
        trustStores: [],
        document: {
          version: '1.0',
          trustPolicies: [{ name: 's', registryScopes: ['*'], signatureVerification: { level: 'skip' }, trustStores: [], trustedIdentities: [] }],
        },
      },
    },
  };
}
