// The side-by-side environment of `pnpm compat` and `pnpm bench -- original`: one test control plane,
// the signing harness (fake AWS Signer API, notation + the AWS Signer plugin), a TLS registry both
// services use, the original service v1.1 running as its Deployment would, and this verifier in local
// mode with the same TrustPolicy/TrustStore manifests, the same plugin configuration, the same
// DEFAULT_TRUST_POLICY and token review against the same API server. Runs inside an isolated run
// (@kna/e2e isolate): see docs/compatibility.md.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import {
  attach,
  bindClusterRole,
  createServiceAccount,
  installOriginal,
  kubeconfigYaml,
  originalSource,
  push,
  registryPkiFiles,
  sign,
  startHarness,
  startOriginal,
  startTestControlPlane,
  startTlsRegistry,
  trustPolicyManifest,
  trustStoreManifest,
  pluginConfigMapManifest,
  waitForTrustPolicies,
  type Harness,
  type HarnessState,
  type RunningOriginal,
  type TestControlPlane,
} from '@kna/e2e';
import { createLogger, startVerifier, type RunningVerifier } from '../src/app.js';
import { parseFlags } from '../src/config/flags.js';
import { localVerifierEnv, localVerifierFlags } from '../testkit/localVerifier.js';

/** The sample policy's registry and signing profile, replaced by the harness's in the samples. */
const SAMPLE_REGISTRY = '844333597536.dkr.ecr.us-west-2.amazonaws.com';
const SAMPLE_PROFILE = 'arn:aws:signer:us-west-2:844333597536:/signing-profiles/kyvernodemo';
/** The sample TrustStore whose caBundle (AWS Signer's commercial root) becomes the harness root. */
const SAMPLE_STORE = 'aws-signer-ts';
/** The sample's attestation type and the payload its condition accepts (configs/samples/kyverno-policy.yaml). */
export const SBOM_TYPE = 'sbom/example';
export const SBOM_OK = { creationInfo: { licenseListVersion: '3.17' } };

/** The policy DEFAULT_TRUST_POLICY names for both services, and the other policies of the run. */
export const POLICY = {
  default: 'tp-compat',
  skip: 'tp-compat-skip',
  otherProfile: 'tp-compat-other-profile',
  sample: 'tp-test-notation',
  sampleFail: 'tp-test-notation-fail',
} as const;

/** The namespace and ServiceAccounts of the callers: Kyverno's admission controller, and one not allowed. */
const KYVERNO_NAMESPACE = 'kyverno';
const KYVERNO_SA = 'kyverno-admission-controller';
const STRANGER_SA = 'not-kyverno';

export interface Image {
  readonly registry: string;
  readonly path: string;
  readonly tag: string;
  readonly digest: string;
}

export interface Environment {
  readonly dir: string;
  readonly cp: TestControlPlane;
  readonly harness: Harness;
  /** The harness state with the TLS registry's CA for notation (signing). */
  readonly signing: HarnessState;
  /** 127.0.0.2:<port> */
  readonly registry: string;
  readonly original: RunningOriginal;
  readonly verifier: RunningVerifier;
  /** Bearer tokens: Kyverno's admission controller (allowed) and a ServiceAccount that is not allowed. */
  readonly tokens: { readonly kyverno: string; readonly stranger: string };
  /** The verifier's flags, for a second instance (benchmarks). */
  readonly verifierFlags: readonly string[];
  readonly verifierEnv: Readonly<Record<string, string>>;
  readonly policyDir: string;
  /** Pushes `<registry>/<path>:<tag>` (a random image), optionally signs it. */
  pushImage(path: string, tag: string, options?: { sign?: boolean }): Promise<Image>;
  /** Attaches an attestation of `type` with `payload` to `image`, signed unless told otherwise. */
  attest(image: Image, type: string, payload: unknown, options?: { sign?: boolean }): Promise<string>;
  stop(): Promise<void>;
}

/**
 * The original's samples (configs/samples/trustpolicy.yaml, truststore.yaml) pointed at this run: the
 * sample registry and signing profile replaced by the harness's, the AWS Signer root by the harness root.
 */
function adaptedSamples(registry: string, profileArn: string, rootPem: string): string {
  const dir = join(originalSource(), 'configs', 'samples');
  const policies = readFileSync(join(dir, 'trustpolicy.yaml'), 'utf8').replaceAll(SAMPLE_REGISTRY, registry).replaceAll(SAMPLE_PROFILE, profileArn);
  const stores = parseAllDocuments(readFileSync(join(dir, 'truststore.yaml'), 'utf8')).map((d) => {
    const store = d.toJS() as { metadata: { name: string }; spec: { caBundle: string } };
    if (store.metadata.name === SAMPLE_STORE) store.spec.caBundle = rootPem;
    return stringify(store);
  });
  return [policies, ...stores].join('\n---\n');
}

export interface EnvironmentOptions {
  readonly dir: string;
  readonly log: (line: string) => void;
  /** Extra flags for the original and for this verifier (e.g. cache settings). */
  readonly originalArgs?: readonly string[];
  readonly verifierArgs?: readonly string[];
}

export async function startEnvironment(options: EnvironmentOptions): Promise<Environment> {
  const { dir, log } = options;
  const caFile = process.env.SSL_CERT_FILE;
  if (!caFile) throw new Error('SSL_CERT_FILE is not set: the environment runs inside an isolated run started by pnpm compat / pnpm bench');
  // The CA, certificate and key pnpm compat / pnpm bench created before isolating the run.
  const pki = registryPkiFiles(dirname(caFile));
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((err: unknown) => log(`cleanup: ${String(err)}`));
  };
  try {
    log('starting the control plane, the signing harness and the TLS registry');
    const [cp, harness] = await Promise.all([startTestControlPlane({ dir: join(dir, 'kube') }), startHarness({ dir: join(dir, 'harness') })]);
    stops.push(
      () => cp.stop(),
      () => harness.stop(),
    );
    const tls = await startTlsRegistry({ dir, pki });
    stops.push(() => tls.stop());
    const registry = tls.host;
    const tlsEnv = { SSL_CERT_FILE: caFile };
    const signing: HarnessState = { ...harness, pluginEnv: { ...harness.pluginEnv, ...tlsEnv } };
    const rootPem = readFileSync(harness.rootCert, 'utf8');

    // The same manifests for both: applied to the API server (the original), files in --policyDir (ours).
    const manifests = [
      trustStoreManifest('harness-root', rootPem),
      trustPolicyManifest(POLICY.default, { scopes: ['*'], identities: [harness.profileArn] }),
      trustPolicyManifest(POLICY.skip, { scopes: ['*'], level: 'skip', identities: [] }),
      trustPolicyManifest(POLICY.otherProfile, { scopes: ['*'], identities: [harness.profileArn.replace(/[^/]+$/, 'SomeoneElse')] }),
      adaptedSamples(registry, harness.profileArn, rootPem),
    ];
    const policyDir = join(dir, 'policies');
    mkdirSync(policyDir, { recursive: true });
    writeFileSync(join(policyDir, 'policies.yaml'), manifests.join('\n---\n'));
    writeFileSync(join(policyDir, 'plugin.yaml'), pluginConfigMapManifest(harness.pluginConfig));

    log("installing the original (CRDs, configs/install.yaml) and the callers' ServiceAccounts");
    await installOriginal(cp, harness.pluginConfig);
    await cp.kubectl(['apply', '-f', '-'], { input: manifests.join('\n---\n') });
    await cp.kubectl(['create', 'namespace', KYVERNO_NAMESPACE]);
    await createServiceAccount(cp, KYVERNO_NAMESPACE, KYVERNO_SA);
    await createServiceAccount(cp, KYVERNO_NAMESPACE, STRANGER_SA);
    // The verifier's own identity for TokenReview, bound like the chart binds it.
    await createServiceAccount(cp, KYVERNO_NAMESPACE, 'kna-verifier');
    await bindClusterRole(cp, KYVERNO_NAMESPACE, 'kna-verifier', 'system:auth-delegator');
    // Two hours, not TokenRequest's usual ten minutes: a benchmark run outlasts those.
    const token = async (sa: string) => (await cp.kubectl(['-n', KYVERNO_NAMESPACE, 'create', 'token', sa, '--duration=7200s'])).stdout.trim();
    const tokens = { kyverno: await token(KYVERNO_SA), stranger: await token(STRANGER_SA) };
    const verifierKubeconfig = join(dir, 'verifier.kubeconfig');
    writeFileSync(
      verifierKubeconfig,
      kubeconfigYaml({ server: cp.server, caPem: readFileSync(cp.caFile, 'utf8'), credentials: { token: await token('kna-verifier') } }),
    );

    log('starting the original service');
    const pluginEnv = { ...harness.pluginEnv, ...tlsEnv };
    const original = await startOriginal({
      cp,
      dir: join(dir, 'original'),
      env: pluginEnv,
      defaultTrustPolicy: POLICY.default,
      extraArgs: options.originalArgs ?? [],
    });
    stops.push(() => original.stop());
    const auth = { authorization: `Bearer ${tokens.kyverno}` };
    await waitForTrustPolicies(original.url, Object.values(POLICY), auth);

    log('starting this verifier');
    const verifierEnv = localVerifierEnv({ pluginEnv }, { DEFAULT_TRUST_POLICY: POLICY.default });
    mkdirSync(join(dir, 'verifier-work'), { recursive: true });
    const verifierFlags = localVerifierFlags(policyDir, [
      `--workDir=${join(dir, 'verifier-work')}`,
      '--reviewKyvernoToken=true',
      `--kubeconfig=${verifierKubeconfig}`,
      ...(options.verifierArgs ?? []),
    ]);
    const verifier = await startVerifier({ flags: parseFlags(verifierFlags).flags, env: verifierEnv, logger: createLogger('warn') });
    stops.push(() => verifier.close());

    return {
      dir,
      cp,
      harness,
      signing,
      registry,
      original,
      verifier,
      tokens,
      verifierFlags,
      verifierEnv,
      policyDir,
      pushImage: async (path, tag, { sign: signIt = true } = {}) => {
        const { digest } = await push(`${registry}/${path}:${tag}`);
        if (signIt) await sign(signing, `${registry}/${path}@${digest}`);
        return { registry, path, tag, digest };
      },
      attest: async (image, type, payload, { sign: signIt = true } = {}) => {
        const { reference } = await attach(signing, `${image.registry}/${image.path}@${image.digest}`, {
          artifactType: type,
          payload: Buffer.from(JSON.stringify(payload)),
          sign: signIt,
        });
        return reference;
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
