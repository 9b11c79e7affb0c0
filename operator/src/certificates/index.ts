// The verifier's TLS: a CA and a serving certificate in the original service's Secrets, rotated on a
// schedule that never leaves clients without the CA of the certificate being served (plan.ts).
export { CertificateRotator } from './rotator.js';
