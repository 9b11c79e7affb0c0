export { ERR_INVALID_MANIFESTS, isRecord, parseManifests, type ConfigMapManifest, type Manifests } from './manifests.js';
