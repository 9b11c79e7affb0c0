export {
  BUNDLE_API_VERSION,
  BUNDLE_KEY,
  BUNDLE_MAX_BYTES,
  ERR_INVALID_BUNDLE,
  bundleVersion,
  parseBundle,
  policyVersion,
  referencedTrustStores,
  trustStoreKey,
  type Bundle,
  type BundleTrustPolicy,
  type BundleTrustStore,
} from './bundle.js';
export { RenderCache, renderBundle, type ObjectStatus, type RenderInput, type RenderResult } from './render.js';
export { resourceStatus, type ResourceStatusOptions } from './status.js';
