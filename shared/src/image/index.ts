export {
  ERR_INVALID_IMAGE_REFERENCE,
  formatImageReference,
  imageReferenceString,
  isValidDigest,
  parseImageReference,
  pinnedReference,
  type ImageInfo,
  type ImageReference,
} from './reference.js';
