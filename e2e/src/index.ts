export {};

// The signing harness (olareg + docker-registry, fake AWS Signer API, notation signing): see harness/harness.ts.
export { attach, push, sign, startHarness, type Harness, type HarnessState } from './harness/harness.js';
export { answers, startOnFreePort, type RunningProcess } from './harness/processes.js';
export { toolPath } from './harness/tools-env.js';
