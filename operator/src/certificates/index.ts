// The verifier's TLS: a CA and a serving certificate in the original service's Secrets, rotated on a
// schedule that never leaves clients without the CA of the certificate being served (plan.ts).
export { CertificateRotator, certificateSecretNames, serviceDnsNames, PUBLISHED_AT_ANNOTATION, type CertificateOptions, type CertificateState } from './rotator.js';
export { CERTIFICATES_ERR_API, CERTIFICATES_ERR_CONFLICT } from './errors.js';
