// The attestation stage (DESIGN.md §7): see verifier.ts.
export * from './errors.js';
export { decodePayload, payloadBytes, type JsonObject, type PayloadOptions } from './payload.js';
export { validateAttestations } from './validate.js';
export {
  AttestationFailureKind,
  ReferrerAttestationVerifier,
  classifyFailure,
  type AttestationRegistry,
  type ReferrerAttestationVerifierOptions,
} from './verifier.js';
export { requiredAttestations, type RequiredAttestation } from './workList.js';
