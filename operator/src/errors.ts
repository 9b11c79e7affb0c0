// The operator's error catalogue (coded errors, see @kna/shared errors.ts).
import { defineError, Outcome } from '@kna/shared';

export const OPERATOR_ERR_BAD_FLAG = defineError('OPERATOR_ERR_BAD_FLAG', Outcome.BadRequest, (detail: string) => detail);

export const OPERATOR_ERR_NO_NAMESPACE = defineError(
  'OPERATOR_ERR_NO_NAMESPACE',
  Outcome.Configuration,
  () => 'no namespace: pass --namespace or set POD_NAMESPACE (the Deployment sets it from the downward API)',
);
