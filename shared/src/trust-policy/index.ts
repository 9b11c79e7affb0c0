export { certificatePem, inspectTrustStore, type TrustStoreInspection } from './certificates.js';
export { isSubsetDistinguishedName, parseDistinguishedName, type DistinguishedName, type DistinguishedNameResult } from './distinguished-name.js';
export {
  TRUST_STORE_NAME_PATTERN,
  parseTrustStoreReference,
  validateTrustPolicyDocument,
  type TrustPolicyDocument,
  type TrustPolicyDocumentInput,
} from './document.js';
