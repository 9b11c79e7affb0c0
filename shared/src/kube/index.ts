export { toMicroTime } from './microTime.js';
export {
  ListWatcher,
  backoffDelay,
  kubeErrorMessage,
  statusCodeOf,
  type BackoffOptions,
  type KubeObject,
  type KubeObjectMeta,
  type ListResult,
  type ListWatchEvent,
  type ListWatchSource,
  type ListWatcherOptions,
  type ObjectChange,
  type RestartReason,
  type WatchEvent,
  type WatchEventType,
} from './listWatch.js';
export {
  DEFAULT_KUBE_API_TIMEOUT_MS,
  KubeClient,
  KubeRequestError,
  requestTarget,
  resourcePath,
  reuseConnections,
  type KubeClientOptions,
  type ResourceRef,
} from './client.js';
export { KubeRequestTimeoutError, describeRequest, type KubeRequestTarget } from './errors.js';
export { LeaderElector, type LeaderElectionEvent, type LeaderElectionOptions } from './leaderElection.js';
