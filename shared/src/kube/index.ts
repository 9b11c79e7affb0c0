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
export { KubeRequestError, kubeListWatchSource, resourcePath, reuseConnections, type ResourceRef } from './client.js';
export { LeaderElector, type LeaderElectionEvent, type LeaderElectionOptions } from './leaderElection.js';
