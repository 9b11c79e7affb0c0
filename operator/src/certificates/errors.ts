// Errors of the certificate rotator (coded, see @kna/shared errors.ts). Both are transient from the
// caller's point of view: reconcile again after a back-off.
import { defineError, Outcome } from '@kna/shared';

export const CERTIFICATES_ERR_CONFLICT = defineError(
  'OPERATOR_CERTIFICATES_ERR_CONFLICT',
  Outcome.Internal,
  (attempts: number) =>
    `the TLS Secrets or the CA ConfigMap kept changing under the certificate rotator (${attempts} attempts ended in 409 Conflict); ` +
    'is another operator replica writing without holding the leader Lease?',
);

export const CERTIFICATES_ERR_API = defineError(
  'OPERATOR_CERTIFICATES_ERR_API',
  Outcome.Internal,
  (operation: string, object: string, detail: string) =>
    `${operation} ${object} failed: ${detail} (the operator needs get/create/update/delete on Secrets and ConfigMaps in its namespace)`,
);
