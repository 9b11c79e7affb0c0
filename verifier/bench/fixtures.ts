// The real components the benchmarks of targets 1–3 run against: the signing harness (olareg with the
// OCI referrers API, the fake AWS Signer API, notation + the AWS Signer plugin), images pushed and
// signed through it, a local-mode trust policy for the verifier, and a bare `notation verify` with
// the same trust policy, plugin configuration and registry.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pluginConfigArgs, push, runNotation, sign, startHarness, writeVerifyConfig, type Harness } from '@kna/e2e';
import { localVerifierEnv, localVerifierFlags, pluginConfigMapManifest, trustPolicyManifest, trustStoreManifest } from '../testkit/localVerifier.js';
import { cpuSeconds } from './proc.js';

/** The trust policy every benchmark request names (also the stand-in server's policy name). */
export const POLICY = 'bench';
const STORE = 'harness-root';

export interface PodImage {
  readonly registry: string;
  readonly path: string;
  readonly tag: string;
  readonly digest: string;
}

export interface Fixtures {
  readonly harness: Harness;
  readonly policyDir: string;
  /** Verifier flags (local mode) and environment, as the integration tests start it. */
  readonly verifierFlags: readonly string[];
  readonly verifierEnv: Readonly<Record<string, string>>;
  /** NOTATION_CONFIG of the bare `notation verify`: the same trust policy document and root. */
  readonly bareConfigDir: string;
}

export async function startFixtures(dir: string): Promise<Fixtures> {
  const harness = await startHarness({ dir: join(dir, 'harness') });
  const rootPem = readFileSync(harness.rootCert, 'utf8');
  const statement = { scopes: ['*'], store: STORE, identities: [harness.profileArn] };

  const policyDir = join(dir, 'policies');
  mkdirSync(policyDir, { recursive: true });
  writeFileSync(
    join(policyDir, 'bench.yaml'),
    [trustStoreManifest(STORE, rootPem), trustPolicyManifest(POLICY, statement), pluginConfigMapManifest(harness.pluginConfig)].join('---\n'),
  );

  // The bare `notation verify` gets the same statement as notation's own trustpolicy.json.
  const bareConfigDir = writeVerifyConfig({
    dir: join(dir, 'bare-notation'),
    statements: [
      {
        name: `${POLICY}-statement`,
        registryScopes: statement.scopes,
        signatureVerification: { level: 'strict' },
        trustStores: [`signingAuthority:${STORE}`],
        trustedIdentities: statement.identities,
      },
    ],
    trustStores: { [`signingAuthority:${STORE}`]: [rootPem] },
  });

  const verifierEnv = localVerifierEnv(harness, { DEFAULT_TRUST_POLICY: POLICY });
  const verifierFlags = localVerifierFlags(policyDir, [`--workDir=${join(dir, 'verifier-work')}`]);
  mkdirSync(join(dir, 'verifier-work'), { recursive: true });
  return { harness, policyDir, verifierFlags, verifierEnv, bareConfigDir };
}

/** Pushes `count` distinct random images under `prefix` and signs each through the AWS Signer plugin. */
export async function pushSigned(fixtures: Fixtures, prefix: string, count: number): Promise<PodImage[]> {
  const images: PodImage[] = [];
  for (let i = 0; i < count; i++) {
    const registry = fixtures.harness.registry;
    const path = `bench/${prefix}-${i}`;
    const { digest } = await push(`${registry}/${path}:v1`);
    await sign(fixtures.harness, `${registry}/${path}@${digest}`);
    images.push({ registry, path, tag: 'v1', digest });
  }
  return images;
}

/**
 * The body Kyverno's apiCall sends for a pod with these containers: by tag, as pods are usually written,
 * or `pinned` by digest, as they are once Kyverno has applied the verifier's patches.
 */
export function podRequest(containers: readonly PodImage[], options: { pinned?: boolean } = {}): string {
  const entries = containers.map((image, i): [string, Record<string, string | undefined>] => [
    `c${i}`,
    {
      registry: image.registry,
      path: image.path,
      name: image.path.split('/').at(-1),
      ...(options.pinned ? { digest: image.digest } : { tag: image.tag }),
      jsonPointer: `/spec/containers/${i}/image`,
    },
  ]);
  return JSON.stringify({ images: { containers: Object.fromEntries(entries) }, trustPolicy: POLICY });
}

export interface Timed {
  readonly ms: number;
  readonly status: number;
  readonly text: string;
}

/** One /checkimages request, timed from this (client) process. */
export async function timedCheck(url: string, body: string): Promise<Timed> {
  const started = performance.now();
  const res = await fetch(`${url}/checkimages`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  const text = await res.text();
  return { ms: performance.now() - started, status: res.status, text };
}

export interface BareRun {
  readonly ms: number;
  /** CPU seconds of notation and the plugin processes it ran. */
  readonly cpuSeconds: number;
  readonly code: number;
  readonly output: string;
}

/**
 * `notation verify <registry>/<path>@<digest> --plugin-config …`, as a user would type it (README,
 * "To verify by hand"), with the plugin's environment and nothing else.
 */
export async function bareNotationVerify(fixtures: Fixtures, image: PodImage): Promise<BareRun> {
  const cpuBefore = cpuSeconds(process.pid).children;
  const started = performance.now();
  const run = await runNotation({
    configDir: fixtures.bareConfigDir,
    env: fixtures.harness.pluginEnv,
    args: ['verify', `${image.registry}/${image.path}@${image.digest}`, ...pluginConfigArgs(fixtures.harness.pluginConfig)],
  });
  return {
    ms: performance.now() - started,
    cpuSeconds: cpuSeconds(process.pid).children - cpuBefore,
    code: run.code,
    output: `${run.stdout}${run.stderr}`.trim(),
  };
}
