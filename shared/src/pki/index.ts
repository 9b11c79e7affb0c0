export { parsePrivateKey } from './privateKey.js';
export {
  escapeRdn,
  ExtendedKeyUsage,
  generatePrivateKey,
  issueCertificate,
  serialNumber,
  type CertificateRequest,
  type KeyAlgorithm,
  type KeyUsage,
} from './certificates.js';
