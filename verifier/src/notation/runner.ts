// Runs `notation verify` as a child process: argument array (never a shell), a minimal environment,
// registry credentials only through NOTATION_USERNAME/NOTATION_PASSWORD (never argv, which other
// processes can read), a per-call timeout and caller cancellation that kill the whole process group
// (notation and the plugin processes it started), and a bound on concurrent runs (docs/architecture.md "The request pipeline").
import { spawn } from 'node:child_process';
import { classifyVerify, FailureKind, VerifyOutcome, type Classification } from './classify.js';
import { Semaphore } from './semaphore.js';

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

export interface Credentials {
  readonly username?: string;
  readonly password?: string;
}

export interface VerifyRequest {
  /** `<registry>/<repository>@<digest>`: always by digest, the tag was resolved before. */
  readonly reference: string;
  /** NOTATION_CONFIG holding the policy's trustpolicy.json and trust stores. */
  readonly configDir: string;
  readonly pluginConfig: Readonly<Record<string, string>>;
  readonly credentials?: Credentials;
  /** Use plain HTTP for this registry (notation already does for localhost). */
  readonly insecureRegistry?: boolean;
  /** Cancels the run (the request's deadline); the process group is killed. */
  readonly signal?: AbortSignal;
}

export interface VerifyResult extends Classification {
  readonly durationMs: number;
  readonly exitCode: number | null;
  /** notation's stderr, for logs (bounded). */
  readonly stderr: string;
}

export interface NotationRunnerOptions {
  /** The notation executable. */
  readonly notationPath: string;
  /** Directory that holds plugins/<name>/notation-<name> (NOTATION_LIBEXEC). */
  readonly libexecDir: string;
  /** Writable cache directory for notation (NOTATION_CACHE). */
  readonly cacheDir: string;
  /** Per-run timeout; default 20 s. */
  readonly timeoutMs?: number;
  /** Concurrent notation processes; default 8. */
  readonly maxConcurrent?: number;
  /** notation --max-signatures (the original's --maxSignatureAttempts); default 30. */
  readonly maxSignatures?: number;
  /** Environment to take PASSTHROUGH and AWS_* variables from; default process.env. */
  readonly env?: NodeJS.ProcessEnv;
}

const OUTPUT_LIMIT = 256 * 1024;

export class NotationRunner {
  readonly #options: Required<Omit<NotationRunnerOptions, 'env'>>;
  readonly #baseEnv: Record<string, string>;
  readonly #slots: Semaphore;
  #runs = 0;
  readonly #live = new Set<number>();

  constructor(options: NotationRunnerOptions) {
    this.#options = {
      notationPath: options.notationPath,
      libexecDir: options.libexecDir,
      cacheDir: options.cacheDir,
      timeoutMs: options.timeoutMs ?? 20_000,
      maxConcurrent: options.maxConcurrent ?? 8,
      maxSignatures: options.maxSignatures ?? 30,
    };
    const source = options.env ?? process.env;
    const env: Record<string, string> = { PATH: source.PATH ?? '/usr/bin:/bin' };
    for (const [key, value] of Object.entries(source)) {
      if (value !== undefined && ((PASSTHROUGH as readonly string[]).includes(key) || key.startsWith(AWS_PREFIX))) env[key] = value;
    }
    this.#baseEnv = env;
    this.#slots = new Semaphore(this.#options.maxConcurrent);
  }

  /** How many notation processes were started (benchmarks and tests count verifications with it). */
  get runs(): number {
    return this.#runs;
  }

  /** Process-group ids of runs in progress. */
  get live(): ReadonlySet<number> {
    return this.#live;
  }

  async verify(request: VerifyRequest): Promise<VerifyResult> {
    const started = performance.now();
    try {
      await this.#slots.acquire(request.signal);
    } catch {
      return this.#cancelled(started, 'cancelled while waiting for a free notation slot (request deadline)');
    }
    try {
      return await this.#run(request, started);
    } finally {
      this.#slots.release();
    }
  }

  /** Kills every run in progress (shutdown). */
  killAll(): void {
    for (const pid of this.#live) killGroup(pid);
  }

  #cancelled(started: number, reason: string): VerifyResult {
    return {
      outcome: VerifyOutcome.CouldNotVerify,
      kind: FailureKind.Infrastructure,
      reason,
      warnings: [],
      durationMs: performance.now() - started,
      exitCode: null,
      stderr: '',
    };
  }

  #run(request: VerifyRequest, started: number): Promise<VerifyResult> {
    if (request.signal?.aborted) return Promise.resolve(this.#cancelled(started, 'cancelled before notation started (request deadline)'));
    const args = ['verify', '-v', '--max-signatures', String(this.#options.maxSignatures)];
    for (const [key, value] of Object.entries(request.pluginConfig)) args.push('--plugin-config', `${key}=${value}`);
    if (request.insecureRegistry) args.push('--insecure-registry');
    args.push(request.reference);
    const env: Record<string, string> = {
      ...this.#baseEnv,
      NOTATION_CONFIG: request.configDir,
      NOTATION_LIBEXEC: this.#options.libexecDir,
      NOTATION_CACHE: this.#options.cacheDir,
    };
    if (request.credentials?.username !== undefined) env.NOTATION_USERNAME = request.credentials.username;
    if (request.credentials?.password !== undefined) env.NOTATION_PASSWORD = request.credentials.password;

    return new Promise((resolve) => {
      // detached: the child leads a new process group, so a kill reaches the plugin processes too.
      const child = spawn(this.#options.notationPath, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      this.#runs++;
      let stdout = '';
      let stderr = '';
      let killedFor: string | undefined;
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        if (stdout.length < OUTPUT_LIMIT) stdout += chunk;
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        if (stderr.length < OUTPUT_LIMIT) stderr += chunk;
      });
      const pid = child.pid;
      if (pid !== undefined) this.#live.add(pid);
      const kill = (why: string) => {
        if (killedFor !== undefined || pid === undefined) return;
        killedFor = why;
        killGroup(pid);
      };
      const timer = setTimeout(() => kill(`notation did not finish within ${this.#options.timeoutMs} ms and was stopped`), this.#options.timeoutMs);
      const onAbort = () => kill('cancelled: the request deadline was reached while notation was running');
      request.signal?.addEventListener('abort', onAbort, { once: true });
      let done = false;
      const finish = (exitCode: number | null, spawnError?: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        request.signal?.removeEventListener('abort', onAbort);
        if (pid !== undefined) {
          // The leader is gone; make sure nothing it started outlives it.
          killGroup(pid);
          this.#live.delete(pid);
        }
        const durationMs = performance.now() - started;
        if (spawnError) {
          resolve({
            outcome: VerifyOutcome.CouldNotVerify,
            kind: FailureKind.Infrastructure,
            reason: `notation could not be started (${this.#options.notationPath}): ${spawnError.message}`,
            warnings: [],
            durationMs,
            exitCode,
            stderr,
          });
          return;
        }
        if (killedFor !== undefined) {
          resolve({ outcome: VerifyOutcome.CouldNotVerify, kind: FailureKind.Infrastructure, reason: killedFor, warnings: [], durationMs, exitCode, stderr });
          return;
        }
        resolve({ ...classifyVerify({ exitCode, stdout, stderr }), durationMs, exitCode, stderr });
      };
      child.once('error', (err) => finish(null, err));
      child.once('close', (code) => finish(code));
    });
  }
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
