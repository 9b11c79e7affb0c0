export { ERR_INVALID_MANIFESTS, parseManifests, type ConfigMapManifest, type Manifests } from './manifests.js';
