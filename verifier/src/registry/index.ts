// The verifier's registry client: see client.ts, and errors.ts for what its failures mean.
export {
  RegistryClient,
  type BlobOptions,
  type FetchedManifest,
  type ReferrersOptions,
  type RegistryClientOptions,
  type ResolvedManifest,
} from './client.js';
export {
  DockerConfig,
  DockerConfigError,
  anonymous,
  chainCredentials,
  dockerConfigCredentials,
  dockerConfigFileCredentials,
  type CredentialProvider,
  type Credentials,
  type DockerConfigFileOptions,
} from './credentials.js';
export {
  EcrCredentialsError,
  ecrCredentials,
  parseEcrHost,
  sdkEcrTokenSource,
  type EcrCredentialsOptions,
  type EcrRegistry,
  type EcrToken,
  type EcrTokenSource,
} from './ecr.js';
export { apiHostOf, canonicalRegistry, type ImageRef, type RepositoryRef } from './endpoint.js';
export * from './errors.js';
export type { Descriptor, ImageIndex, ImageManifest, Manifest, Platform } from './manifest.js';
export { MANIFEST_ACCEPT, MediaType, type ManifestMediaType } from './mediaTypes.js';
export { ReferrersSource, type ReferrerList } from './referrers.js';
export { TagResolver, type TagResolverOptions } from './tagResolver.js';
export { RegistryOperation, type CallOptions, type Clock, type RegistryObserver, type TransportOptions } from './transport.js';
