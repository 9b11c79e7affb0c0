// Coded errors of the test control plane (shared/src/errors.ts): what a developer running the tests or
// `pnpm -s harness kube …` sees when the control plane cannot be started, found or stopped.
import { Outcome, defineError } from '@kna/shared';

// Spelled out because the class defineError returns has a member keyed by a symbol that @kna/shared
// does not export, which declaration emit (composite project) cannot name otherwise (TS4023).
type CodedError<A extends unknown[]> = ReturnType<typeof defineError<A>>;

export const KUBE_ERR_NOT_READY: CodedError<[component: string, why: string]> = defineError(
  'KNA_E2E_KUBE_ERR_NOT_READY',
  Outcome.Internal,
  // `why` carries the end of the component's log: the directory holding the log is removed on failure.
  (component: string, why: string) =>
    `${component} of the test control plane did not become ready: ${why}\n` + `(is it built? 'bash e2e/tools/tools.sh list' shows the cached components)`,
);

export const KUBE_ERR_NO_STATE: CodedError<[dir: string]> = defineError(
  'KNA_E2E_KUBE_ERR_NO_STATE',
  Outcome.Configuration,
  (dir: string) => `${dir} holds no test control plane (no state.json): start one with 'eval "$(pnpm -s harness kube up)"'`,
);

export const KUBE_ERR_NO_DIR: CodedError<[]> = defineError(
  'KNA_E2E_KUBE_ERR_NO_DIR',
  Outcome.Configuration,
  () => `KNA_KUBE_DIR is not set and no --dir was given: which control plane? ('kube up' prints KNA_KUBE_DIR)`,
);

export const KUBE_ERR_DIR_IN_USE: CodedError<[dir: string]> = defineError(
  'KNA_E2E_KUBE_ERR_DIR_IN_USE',
  Outcome.Configuration,
  (dir: string) => `${dir} already holds a test control plane; stop it with 'pnpm -s harness kube down --dir ${dir}' or pick another --dir`,
);

export const KUBE_ERR_DIR_NOT_EMPTY: CodedError<[dir: string]> = defineError(
  'KNA_E2E_KUBE_ERR_DIR_NOT_EMPTY',
  Outcome.Configuration,
  (dir: string) => `${dir} is not empty: a test control plane removes its directory when it stops, so give it a new or empty one`,
);

export const KUBE_ERR_COMMAND: CodedError<[command: string, status: string, stderr: string]> = defineError(
  'KNA_E2E_KUBE_ERR_COMMAND',
  Outcome.Internal,
  (command: string, status: string, stderr: string) => `${command} failed (${status}):\n${stderr.trim()}`,
);

export const KUBE_ERR_NOT_STARTED: CodedError<[]> = defineError(
  'KNA_E2E_KUBE_ERR_NOT_STARTED',
  Outcome.Internal,
  () => 'the test control plane is not started yet: call the accessor of useTestControlPlane() from a test, not while tests are being declared',
);

export const KYVERNO_ERR_NOT_READY: CodedError<[why: string]> = defineError(
  'KNA_E2E_KYVERNO_ERR_NOT_READY',
  Outcome.Internal,
  (why: string) =>
    `Kyverno did not register its webhooks with the test control plane: ${why}\n` + `(is it built? 'bash e2e/tools/tools.sh list' shows the cached components)`,
);
