// What the pipeline needs from a notation engine (docs/architecture.md "Two notation engines"): the CLI
// (runner.ts, one `notation verify` per verification) and the resident helper (helper.ts, one
// kna-notation-helper on notation-go). Both take the same request, pass notation and the plugins the same
// environment, bound concurrent verifications the same way and answer with the same classification.
import { FailureKind, VerifyOutcome, type Classification } from './classify.js';
import type { Semaphore } from './semaphore.js';

export interface Credentials {
  readonly username?: string;
  readonly password?: string;
}

/** The manifest a digest names, as the registry described it (a digest's manifest never changes). */
export interface ManifestDescriptor {
  readonly mediaType: string;
  readonly size: number;
}

export interface VerifyRequest {
  /** `<registry>/<repository>@<digest>`: always by digest, the tag was resolved before. */
  readonly reference: string;
  /**
   * The manifest of that digest as the verifier's own resolution of the tag just found it, when it did: the
   * helper verifies against it instead of asking the registry again (notation-go checks that the signature
   * names exactly this media type, digest and size). The CLI has no way to take it and resolves the digest
   * itself; so does the helper when it is absent (an image pinned by digest, a referrer).
   */
  readonly manifest?: ManifestDescriptor;
  /** NOTATION_CONFIG holding the policy's trustpolicy.json and trust stores. */
  readonly configDir: string;
  readonly pluginConfig: Readonly<Record<string, string>>;
  readonly credentials?: Credentials;
  /** Use plain HTTP for this registry (notation already does for localhost). */
  readonly insecureRegistry?: boolean;
  /** Cancels the verification (the request's deadline). */
  readonly signal?: AbortSignal;
}

export interface VerifyResult extends Classification {
  readonly durationMs: number;
  /** notation's exit code (the CLI; null for the helper and for runs that were stopped). */
  readonly exitCode: number | null;
  /** notation's own words, for logs (bounded): the CLI's stderr, the helper's report. */
  readonly stderr: string;
}

export interface NotationEngine {
  verify(request: VerifyRequest): Promise<VerifyResult>;
  /** How many verifications were started (benchmarks and tests count them). */
  readonly runs: number;
  /** Stops every verification in progress and what runs them (shutdown). */
  killAll(): void;
}

/** The settings both engines share (the verifier's notation flags). */
export interface EngineOptions {
  /** Directory that holds plugins/<name>/notation-<name> (NOTATION_LIBEXEC). */
  readonly libexecDir: string;
  /** Writable cache directory for notation (NOTATION_CACHE). */
  readonly cacheDir: string;
  /** Per-verification timeout; default 20 s. */
  readonly timeoutMs?: number;
  /** Concurrent verifications; default 8. */
  readonly maxConcurrent?: number;
  /** notation --max-signatures (the original's --maxSignatureAttempts); default 30. */
  readonly maxSignatures?: number;
  /**
   * Niceness added to notation (or the helper) and the plugins it starts (0-19; default 0):
   * verifications yield the CPU to the event loop, so cached answers stay fast while a burst of
   * verifications saturates the machine (docs/benchmarks.md "burst").
   */
  readonly niceness?: number;
  /**
   * `nice(1)`: the process is started through it, so that every thread of the Go runtime (and every plugin
   * process) starts at the lower priority. Without it the priority is lowered once the process has a pid,
   * which can miss the threads the runtime started first (priority.ts).
   */
  readonly nicePath?: string | undefined;
  /** Environment to take PASSTHROUGH and AWS_* variables from; default process.env. */
  readonly env?: NodeJS.ProcessEnv;
}

export interface EngineSettings {
  readonly libexecDir: string;
  readonly cacheDir: string;
  readonly timeoutMs: number;
  readonly maxConcurrent: number;
  readonly maxSignatures: number;
  readonly niceness: number;
  readonly nicePath: string | undefined;
}

export function engineSettings(options: EngineOptions): EngineSettings {
  return {
    libexecDir: options.libexecDir,
    cacheDir: options.cacheDir,
    timeoutMs: options.timeoutMs ?? 20_000,
    maxConcurrent: options.maxConcurrent ?? 8,
    maxSignatures: options.maxSignatures ?? 30,
    niceness: Math.min(19, Math.max(0, options.niceness ?? 0)),
    nicePath: options.nicePath,
  };
}

/** Variables passed through to notation (and from it to the AWS Signer plugin). */
const PASSTHROUGH = [
  'HOME',
  'TMPDIR',
  'TZ',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
] as const;
// The AWS SDK's default credential chain and endpoint settings (IRSA, Pod Identity, env keys, profiles).
const AWS_PREFIX = 'AWS_';

/** The minimal environment notation and the plugins run with: PATH, PASSTHROUGH and AWS_* variables. */
export function notationEnvironment(source: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = { PATH: source.PATH ?? '/usr/bin:/bin' };
  for (const [key, value] of Object.entries(source)) {
    if (value !== undefined && ((PASSTHROUGH as readonly string[]).includes(key) || key.startsWith(AWS_PREFIX))) env[key] = value;
  }
  return env;
}

/** A verification that did not happen for an infrastructure reason (never cached, never a pass by itself). */
export function notVerified(started: number, reason: string, stderr = '', exitCode: number | null = null): VerifyResult {
  return {
    outcome: VerifyOutcome.CouldNotVerify,
    kind: FailureKind.Infrastructure,
    reason,
    warnings: [],
    durationMs: performance.now() - started,
    exitCode,
    stderr,
  };
}

/**
 * Runs one verification holding a slot of `slots` (--maxConcurrentVerifications); a request whose deadline
 * passes while it waits for a slot is answered could-not-verify without starting.
 */
export async function inSlot(slots: Semaphore, request: VerifyRequest, run: (started: number) => Promise<VerifyResult>): Promise<VerifyResult> {
  const started = performance.now();
  try {
    await slots.acquire(request.signal);
  } catch {
    return notVerified(started, 'cancelled while waiting for a free notation slot (request deadline)');
  }
  try {
    return await run(started);
  } finally {
    slots.release();
  }
}

/**
 * Kills a child and what it started: its process group (a child started detached, or the helper, which makes
 * itself a group leader as it starts). A child that does not lead a group yet (the helper in its first
 * instants, before it has started anything) is killed alone. Nothing if it is gone.
 */
export function killProcessGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
    return;
  } catch {
    // No such group: gone, or not a group leader yet.
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
