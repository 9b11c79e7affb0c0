// Test helpers for end-to-end /checkimages tests: TrustPolicy/TrustStore manifests for a policy
// directory, a local-mode verifier started in-process against the signing harness (real notation, the
// AWS Signer plugin, the fake AWS Signer API), and the requests Kyverno would send.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { pluginConfigMapManifest, toolsEnv, trustPolicyManifest, trustStoreManifest, type Harness } from '@kna/e2e';

import { parseFlags } from '../src/config/flags.js';
import { startVerifier, type RunningVerifier, type StartOptions } from '../src/app.js';

// The manifest builders live with the harness (the demo uses them too); tests import them from here.
export { pluginConfigMapManifest, trustPolicyManifest, trustStoreManifest } from '@kna/e2e';

/**
 * Writes a policy directory under the harness's directory (removed with it): the harness root as trust
 * store `harness-root`, the plugin ConfigMap, and one strict TrustPolicy per name trusting the harness
 * profile for every scope, plus `extra` files.
 */
export function writePolicyDir(harness: Harness, name: string, options: { policies: readonly string[]; extra?: Record<string, string> }): string {
  const dir = join(harness.dir, name);
  mkdirSync(dir);
  const files: Record<string, string> = {
    'stores.yaml': trustStoreManifest('harness-root', readFileSync(harness.rootCert, 'utf8')),
    'plugin.yaml': pluginConfigMapManifest(harness.pluginConfig),
    ...Object.fromEntries(options.policies.map((p) => [`${p}.yaml`, trustPolicyManifest(p, { scopes: ['*'], identities: [harness.profileArn] })])),
    ...options.extra,
  };
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  return dir;
}

/** The environment a local verifier needs to run notation and reach the fake AWS Signer API. */
export function localVerifierEnv(harness: Pick<Harness, 'pluginEnv'>, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  const tools = toolsEnv();
  return { PATH: tools.PATH, HOME: process.env.HOME ?? tmpdir(), NOTATION_LIBEXEC: tools.NOTATION_LIBEXEC, ...harness.pluginEnv, ...extra };
}

/**
 * The flags of a local-mode verifier serving `policyDir` on a free loopback port, without token review or
 * probe and metrics listeners: the tests, the benchmarks and the differential suite all start it so. Later
 * flags win, so `extra` can turn any of these back.
 */
export function localVerifierFlags(policyDir: string, extra: readonly string[] = []): string[] {
  return [
    '--local',
    `--policyDir=${policyDir}`,
    '--httpPort=0',
    '--bindAddress=127.0.0.1',
    '--reviewKyvernoToken=false',
    '--health-probe-bind-address=0',
    '--metrics-bind-address=0',
    ...extra,
  ];
}

/**
 * A local-mode verifier on a free loopback port, without token review, probes, metrics or load shedding
 * (later `flags` override these), logging nowhere unless given a `logger`. Close it in an after hook.
 */
export async function startLocalVerifier(
  harness: Harness,
  policyDir: string,
  options: { flags?: readonly string[]; env?: NodeJS.ProcessEnv; logger?: StartOptions['logger'] } = {},
): Promise<RunningVerifier> {
  const { flags } = parseFlags(
    localVerifierFlags(policyDir, [
      // No load shedding: these tests are about verification, and a loaded test machine must not turn
      // their answers into 503s (server.test.ts proves shedding itself).
      '--maxEventLoopDelay=0',
      ...(options.flags ?? []),
    ]),
  );
  return startVerifier({ flags, env: { ...localVerifierEnv(harness), ...options.env }, logger: options.logger ?? pino({ level: 'silent' }) });
}

export interface PodImage {
  readonly registry: string;
  readonly path: string;
  readonly tag?: string;
  readonly digest?: string;
}

/** Kyverno's `images` entry for one container. */
export function imageInfo(image: PodImage, pointer: string): Record<string, string> {
  return {
    registry: image.registry,
    path: image.path,
    name: image.path.split('/').at(-1) ?? image.path,
    ...(image.tag !== undefined && image.tag !== '' && { tag: image.tag }),
    ...(image.digest !== undefined && image.digest !== '' && { digest: image.digest }),
    jsonPointer: pointer,
  };
}

/** A /checkimages body for a pod with these containers (in order), plus `extra` top-level fields. */
export function podRequest(images: Record<string, PodImage>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const containers = Object.fromEntries(Object.entries(images).map(([name, image], i) => [name, imageInfo(image, `/spec/containers/${i}/image`)]));
  return { images: { containers }, ...extra };
}

export interface CheckResponse {
  readonly status: number;
  readonly text: string;
  json(): Record<string, unknown>;
}

/** POST /checkimages as Kyverno does (no Content-Type); `timeoutMs` bounds the whole exchange. */
export async function postCheckImages(url: string, body: unknown, options: { timeoutMs?: number } = {}): Promise<CheckResponse> {
  const res = await fetch(`${url}/checkimages`, {
    method: 'POST',
    body: JSON.stringify(body),
    ...(options.timeoutMs !== undefined && { signal: AbortSignal.timeout(options.timeoutMs) }),
  });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text) as Record<string, unknown> };
}
