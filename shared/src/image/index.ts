export {
  ERR_INVALID_IMAGE_REFERENCE,
  canonicalRegistry,
  canonicalScope,
  formatImageReference,
  imageReferenceString,
  isValidDigest,
  parseImageReference,
  pinnedReference,
  registryProblem,
  type ImageInfo,
  type ImageReference,
} from './reference.js';
