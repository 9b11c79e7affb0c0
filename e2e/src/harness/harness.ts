// The signing harness: two real registries, the fake AWS Signer API and real notation + the AWS Signer
// plugin for signing. Tests start one in-process with `startHarness()`; developers use the CLI
// (`pnpm -s harness up`), which runs the same pieces in the background and records them in a state
// directory so that later commands (`push`, `sign`, `down`…) find them.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrivateKey } from 'node:crypto';
import { DEFAULT_ACCOUNT, DEFAULT_REGION, SIGNER_HOST, startFakeSigner, type FakeSigner, type SigningJob } from './fake-signer.js';
import { createSigningChain } from './pki.js';
import { AWS_PLUGIN, pluginConfigArgs, runNotation, type NotationResult } from './notation.js';
import { attachReferrer, copyImage, formatRef, parseRef, pushImage, registryOrigin, type AttachOptions, type Descriptor, type PushOptions } from './oci.js';
import { startReferrersRegistry, startTagSchemaRegistry } from './registries.js';
import { isAlive, stopGroup, type RunningProcess } from './processes.js';

export const DEFAULT_PROFILE_ARN = `arn:aws:signer:${DEFAULT_REGION}:${DEFAULT_ACCOUNT}:/signing-profiles/HarnessProfile`;

/** Everything a client of the harness needs to know; persisted as state.json by the CLI. */
export interface HarnessState {
  readonly dir: string;
  /** host:port of the registry with the OCI referrers API. */
  readonly registry: string;
  /** host:port of the registry without it (referrers tag schema). */
  readonly registryTagSchema: string;
  /** Loopback URL of the fake AWS Signer API (also the HTTP proxy the plugin goes through). */
  readonly signerUrl: string;
  readonly profileArn: string;
  /** PEM file of the root to put in a signingAuthority trust store. */
  readonly rootCert: string;
  /** The plugin configuration that notation verify and the verifier need (aws-signer-endpoint-url, aws-region). */
  readonly pluginConfig: Readonly<Record<string, string>>;
  /** Environment the AWS plugin needs to reach the fake: dummy credentials, region, proxy. */
  readonly pluginEnv: Readonly<Record<string, string>>;
  /** Process-group leaders to stop on `down`. */
  readonly pids: readonly number[];
}

export interface Harness extends HarnessState {
  /** The in-process fake signer (tests only; the CLI's runs in its own process). */
  readonly signer?: FakeSigner;
  stop(): Promise<void>;
}

export function pluginEnvFor(signerUrl: string): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: 'AKIAKNAHARNESS000000',
    AWS_SECRET_ACCESS_KEY: 'kna-harness-secret-key',
    AWS_REGION: DEFAULT_REGION,
    AWS_EC2_METADATA_DISABLED: 'true',
    // See fake-signer.ts: the SDK's "verification." host prefix makes a hostname endpoint plus a proxy necessary.
    HTTP_PROXY: signerUrl,
    NO_PROXY: 'localhost,127.0.0.1,::1',
  };
}

export const PLUGIN_CONFIG = { 'aws-signer-endpoint-url': `http://${SIGNER_HOST}`, 'aws-region': DEFAULT_REGION } as const;

export interface StartOptions {
  /** State directory; a fresh temporary one by default. */
  readonly dir?: string;
}

/** Starts a harness owned by the calling process (tests). Stop it in an `after` hook. */
export async function startHarness(options: StartOptions = {}): Promise<Harness> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'kna-harness-'));
  mkdirSync(dir, { recursive: true });
  const chain = await createSigningChain();
  const rootCert = join(dir, 'root.pem');
  writeFileSync(rootCert, chain.root.certPem);
  const started: RunningProcess[] = [];
  let signer: FakeSigner | undefined;
  try {
    signer = await startFakeSigner({ keys: { leafKey: chain.leaf.key, chain: [chain.leaf.certDer, chain.intermediate.certDer, chain.root.certDer] } });
    const [referrers, tagSchema] = await Promise.all([startReferrersRegistry({ dir }), startTagSchemaRegistry({ dir })]);
    started.push(referrers, tagSchema);
    const fake = signer;
    return {
      dir,
      registry: referrers.host,
      registryTagSchema: tagSchema.host,
      signerUrl: signer.url,
      profileArn: DEFAULT_PROFILE_ARN,
      rootCert,
      pluginConfig: PLUGIN_CONFIG,
      pluginEnv: pluginEnvFor(signer.url),
      pids: started.map((p) => p.pid),
      signer,
      stop: async () => {
        await Promise.all(started.map((p) => p.stop()));
        await fake.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await Promise.all(started.map((p) => p.stop()));
    await signer?.close();
    throw err;
  }
}

// ---- operations that need only the state (shared by tests and the CLI) ----

export async function push(ref: string, options: PushOptions = {}): Promise<Descriptor> {
  return pushImage(parseRef(ref), options);
}

/** Copies the image `from` (by digest) into the repository and tag `to` names, without its signatures; returns its descriptor. */
export async function copy(from: string, to: string): Promise<Descriptor> {
  const source = parseRef(from);
  if (source.digest === undefined) throw new Error(`copy: ${from} must name a digest`);
  return copyImage({ ...source, digest: source.digest }, parseRef(to));
}

export interface SignOptions {
  /** Signing profile ARN; the harness default when absent. */
  readonly profileArn?: string;
}

export interface SignResult {
  /** The signed artifact, by digest. */
  readonly reference: string;
  readonly job: SigningJob;
  readonly output: string;
}

class SignError extends Error {
  readonly code = 'HARNESS_ERR_SIGN';
}

/**
 * The AWS SDK for Go that the plugin (v1.0.350) is built with drops the connection of a SignPayload call
 * whose answer arrives before the HTTP transport has finished its own bookkeeping of the request body: the
 * SDK closes the request body as soon as the response headers are in, the transport's last read of that body
 * then fails and it closes the connection, and reading the (200) answer fails with "use of closed network
 * connection". It happens against any fast endpoint, more often on a loaded machine; nothing was signed or
 * pushed, and later SDK releases retry it. Signing is the harness's business (the verifier's plugin calls have
 * no request body), so the harness retries exactly that failure.
 */
const SIGN_RACE_RETRIES = 2;

export function isSignPayloadBodyRace(result: NotationResult): boolean {
  return result.code !== 0 && /SignPayload, https response error StatusCode: 200,.*use of closed network connection/s.test(result.stderr);
}

/** Signs `ref` (tag or digest) with real notation + the AWS Signer plugin against the fake Signer API. */
export async function sign(state: HarnessState, ref: string, options: SignOptions = {}): Promise<SignResult> {
  parseRef(ref);
  const configDir = join(state.dir, 'notation-sign');
  mkdirSync(configDir, { recursive: true });
  const run = (): Promise<NotationResult> =>
    runNotation({
      configDir,
      env: state.pluginEnv,
      args: [
        'sign',
        '--plugin',
        AWS_PLUGIN,
        '--id',
        options.profileArn ?? state.profileArn,
        ...pluginConfigArgs(state.pluginConfig),
        // Referrers API where the registry has it, the tag schema where it does not.
        '--force-referrers-tag=false',
        ref,
      ],
    });
  let result = await run();
  for (let retry = 0; retry < SIGN_RACE_RETRIES && isSignPayloadBodyRace(result); retry++) result = await run();
  if (result.code !== 0) throw new SignError(`notation sign ${ref} failed (${result.code}):\n${result.stderr.trim()}`);
  const signed = /Successfully signed (\S+)/.exec(result.stdout)?.[1];
  if (!signed) throw new SignError(`notation sign ${ref}: unexpected output:\n${result.stdout}`);
  const digest = signed.slice(signed.indexOf('@') + 1);
  const jobs = await signerControl<{ jobs: SigningJob[] }>(state, 'GET', '/_harness/jobs');
  const job = jobs.jobs.filter((j) => j.targetDigest === digest).at(-1);
  if (!job) throw new SignError(`the fake signer has no job for ${digest}`);
  return { reference: signed, job, output: result.stdout.trim() };
}

export interface AttachRequest extends AttachOptions {
  /** Also notation-sign the referrer. */
  readonly sign?: boolean;
  readonly profileArn?: string;
}

/** Pushes a referrer (attestation) of `ref`; returns its digest reference. */
export async function attach(state: HarnessState, ref: string, request: AttachRequest): Promise<{ reference: string; descriptor: Descriptor }> {
  const parsed = parseRef(ref);
  const digest = parsed.digest ?? (await pushResolve(ref));
  const descriptor = await attachReferrer({ ...parsed, digest }, request);
  const reference = formatRef({ registry: parsed.registry, repository: parsed.repository, digest: descriptor.digest });
  if (request.sign) await sign(state, reference, request.profileArn ? { profileArn: request.profileArn } : {});
  return { reference, descriptor };
}

async function pushResolve(ref: string): Promise<string> {
  const parsed = parseRef(ref);
  const res = await fetch(`${registryOrigin(parsed.registry)}/v2/${parsed.repository}/manifests/${parsed.tag ?? 'latest'}`, {
    method: 'HEAD',
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json' },
  });
  const digest = res.headers.get('docker-content-digest');
  if (!res.ok || !digest) throw new Error(`cannot resolve ${ref}: HTTP ${res.status}`);
  return digest;
}

export async function revoke(state: HarnessState, target: { profileArn: string } | { jobArn: string }): Promise<void> {
  await signerControl(state, 'POST', '/_harness/revoke', target);
}

async function signerControl<T>(state: HarnessState, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${state.signerUrl}${path}`, {
    method,
    ...(body !== undefined && { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  if (!res.ok) throw new Error(`fake signer ${method} ${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

// ---- the CLI's background mode ----

export const STATE_FILE = 'state.json';

export function readState(dir: string): HarnessState {
  let text: string;
  try {
    text = readFileSync(join(dir, STATE_FILE), 'utf8');
  } catch {
    throw new Error(`no harness state in ${dir}: start one with 'eval "$(pnpm -s harness up)"'`);
  }
  return JSON.parse(text) as HarnessState;
}

/** Stops every process of a background harness and removes its directory. */
export async function down(dir: string): Promise<void> {
  const state = readState(dir);
  await Promise.all(state.pids.filter(isAlive).map((pid) => stopGroup(pid)));
  rmSync(dir, { recursive: true, force: true });
}

/** Loads a chain persisted by `up` for the detached fake signer. */
export function loadSignerKeys(dir: string): { leafKey: ReturnType<typeof createPrivateKey>; chain: Buffer[] } {
  const saved = JSON.parse(readFileSync(join(dir, 'signer-chain.json'), 'utf8')) as { leafKeyPem: string; chain: string[] };
  return { leafKey: createPrivateKey(saved.leafKeyPem), chain: saved.chain.map((b) => Buffer.from(b, 'base64')) };
}
