// The operator's error catalogue (coded errors, see @kna/shared errors.ts).
import { defineError, Outcome } from '@kna/shared';

export const OPERATOR_ERR_BAD_FLAG = defineError('OPERATOR_ERR_BAD_FLAG', Outcome.BadRequest, (detail: string) => detail);

export const OPERATOR_ERR_NO_NAMESPACE = defineError(
  'OPERATOR_ERR_NO_NAMESPACE',
  Outcome.Configuration,
  () => 'no namespace: pass --namespace or set POD_NAMESPACE (the Deployment sets it from the downward API)',
);

export const OPERATOR_ERR_LEADERSHIP_LOST = defineError(
  'OPERATOR_ERR_LEADERSHIP_LOST',
  Outcome.Internal,
  (lease: string, detail: string) => `lost the leadership of Lease ${lease} (${detail}); stopped every write and exiting so that the standby takes over`,
);
