// @kna/e2e: real components for the tests of the other packages.

// A real Kubernetes API server (etcd + kube-apiserver) for tests: see kube/testing.ts.
export {
  eventually,
  schemalessCrd,
  startTestControlPlane,
  useTestControlPlane,
  withNamespace,
  type EventuallyOptions,
  type TestControlPlane,
  type UseOptions,
} from './kube/testing.js';
export {
  ADMIN_USER,
  DEFAULT_ISSUER,
  kubeconfigYaml,
  readControlPlaneState,
  startControlPlane,
  stopControlPlane,
  writeUserKubeconfig,
  type ControlPlane,
  type ControlPlaneOptions,
  type ControlPlaneState,
  type StartTimings,
} from './kube/controlPlane.js';
export { bindClusterRole, createServiceAccount, serviceAccountToken } from './kube/serviceAccounts.js';
export { helm, kubeConfigForToken, kubeConfigFromFile, kubectl, runTool, type CommandOptions, type CommandResult } from './kube/clients.js';
export { startUnansweredProxy, type ProxiedRequest, type UnansweredProxy } from './kube/unansweredProxy.js';
export { createClusterCa, type ClientCertOptions, type ClusterCa, type KeyPairPem } from './kube/pki.js';
export { startOperatorProcess, type OperatorProcess, type OperatorProcessOptions } from './kube/operatorProcess.js';
export { projectPayload, startKubeletMirror, type KubeletMirror, type KubeletMirrorOptions } from './kube/kubeletMirror.js';
export * from './kube/errors.js';

// The signing harness (olareg + docker-registry, fake AWS Signer API, notation signing): see harness/harness.ts.
export { attach, copy, push, revoke, sign, startHarness, type Harness, type HarnessState } from './harness/harness.js';
export { answers, startOnFreePort, startProcess, type ProcessSpec, type RunningProcess } from './harness/processes.js';
export { describeSignerPlugin, signerPlugin, toolPath, toolsEnv, type SignerPluginInfo } from './harness/tools-env.js';
export { createSigningChain } from './harness/pki.js';
export { startTagSchemaRegistry, type RunningRegistry, type TagSchemaRegistryOptions, type TokenAuthConfig } from './harness/registries.js';
export { startTokenServer, type TokenRequest, type TokenServer, type TokenServerOptions } from './harness/tokenServer.js';
export { freePort, freePorts } from './harness/processes.js';
export { tamperSignatures } from './harness/tamper.js';
export { redisAnswers, startRedisServer, type RedisServerOptions, type RedisTlsFiles, type RunningRedis } from './harness/redis.js';
export { pluginConfigMapManifest, trustPolicyManifest, trustStoreManifest, type StatementSpec } from './harness/manifests.js';
export { pluginConfigArgs, runNotation, writeVerifyConfig, type NotationResult } from './harness/notation.js';

// Kyverno's admission controller out of cluster against a test control plane: see kyverno/kyverno.ts.
export {
  KYVERNO_APICALL_AUDIENCE,
  KYVERNO_NAMESPACE,
  KYVERNO_SERVICE_ACCOUNT,
  KYVERNO_WEBHOOK_LABEL,
  applyKyvernoCrds,
  deleteKyvernoWebhooks,
  kyvernoDir,
  startKyverno,
  writeApiCallToken,
  type KyvernoOptions,
  type RunningKyverno,
} from './kyverno/kyverno.js';
export { INJECT_CA_ANNOTATION, SAMPLE_ATTESTATION, checkImagesPolicy, type AttestationSpec, type CheckImagesPolicyOptions } from './kyverno/policy.js';
export { README_KYVERNO_BLOCKS, kyvernoReadmeArgs, kyvernoReadmeBlock, kyvernoReadmeBlocks, type KyvernoBlock } from './kyverno/readme.js';
// The original service v1.1 side by side with ours (pnpm compat, pnpm bench -- original): see original/original.ts.
export { IsolationError, isIsolated, isolationUnavailable, rerunIsolated, runIsolated, ISOLATED_ENV } from './original/isolate.js';
export { TLS_REGISTRY_IP, createRegistryPki, registryPkiFiles, startTlsRegistry, type RegistryPki, type RunningTlsRegistry } from './original/tlsRegistry.js';
export {
  ORIGINAL_BINARY,
  ORIGINAL_HTTPS_URL,
  ORIGINAL_HTTP_URL,
  ORIGINAL_NAMESPACE,
  OriginalUnavailableError,
  installOriginal,
  installedContainer,
  originalBinary,
  originalSource,
  startOriginal,
  waitForTrustPolicies,
  type OriginalOptions,
  type RunningOriginal,
} from './original/original.js';
