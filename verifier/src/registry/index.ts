// The verifier's registry client, as the rest of the verifier uses it: see client.ts, and errors.ts for
// what its failures mean.
export { RegistryClient, type FetchedManifest } from './client.js';
export { DockerConfig, chainCredentials, dockerConfigCredentials, dockerConfigFileCredentials } from './credentials.js';
export { ecrCredentials } from './ecr.js';
export type { RepositoryRef } from './endpoint.js';
export * from './errors.js';
export type { Descriptor } from './manifest.js';
export type { RegistryObserver } from './transport.js';
export { TagResolver } from './tagResolver.js';
