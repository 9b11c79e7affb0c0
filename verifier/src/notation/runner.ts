// Runs `notation verify` as a child process: argument array (never a shell), a minimal environment,
// registry credentials only through NOTATION_USERNAME/NOTATION_PASSWORD (never argv, which other
// processes can read), a per-call timeout and caller cancellation that kill the whole process group
// (notation and the plugin processes it started), and a bound on concurrent runs (docs/architecture.md "The request pipeline").
import { classifyVerify, FailureKind, VerifyOutcome, type Classification } from './classify.js';
import { Semaphore } from './semaphore.js';
import { Spawner } from './spawner.js';

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
  /**
   * Niceness added to notation and the plugins it starts (0-19; default 0): verifications yield the CPU
   * to the event loop, so cached answers stay fast while a burst of verifications saturates the machine
   * (docs/benchmarks.md "burst").
   */
  readonly niceness?: number;
  /**
   * `nice(1)`: notation is started through it, so that every thread of the Go runtime (and every plugin
   * process) starts at the lower priority. Without it the priority is lowered right after the spawn,
   * which can miss the threads the runtime started first.
   */
  readonly nicePath?: string | undefined;
  /** Environment to take PASSTHROUGH and AWS_* variables from; default process.env. */
  readonly env?: NodeJS.ProcessEnv;
}

const OUTPUT_LIMIT = 256 * 1024;

export class NotationRunner {
  readonly #options: Required<Omit<NotationRunnerOptions, 'env' | 'nicePath'>> & { readonly nicePath: string | undefined };
  readonly #baseEnv: Record<string, string>;
  readonly #slots: Semaphore;
  readonly #spawner = new Spawner();
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
      niceness: Math.min(19, Math.max(0, options.niceness ?? 0)),
      nicePath: options.nicePath,
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
    this.#spawner.close();
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
      const { niceness, nicePath, notationPath } = this.#options;
      const viaNice = niceness > 0 && nicePath !== undefined;
      let pid: number | undefined;
      let killedFor: string | undefined;
      let done = false;
      const kill = (why: string) => {
        if (killedFor !== undefined) return;
        killedFor = why;
        // Before the spawn is confirmed there is no pid yet: onSpawn kills it as soon as there is.
        if (pid !== undefined) killGroup(pid);
      };
      const timer = setTimeout(() => kill(`notation did not finish within ${this.#options.timeoutMs} ms and was stopped`), this.#options.timeoutMs);
      const onAbort = () => kill('cancelled: the request deadline was reached while notation was running');
      request.signal?.addEventListener('abort', onAbort, { once: true });
      this.#runs++;
      const finish = (exitCode: number | null, stdout: string, stderr: string, startError?: string) => {
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
        // nice(1) answers 126/127 when it cannot run notation (notation itself exits 0 or 1).
        const niceFailed = viaNice && (exitCode === 126 || exitCode === 127) && stdout === '';
        if (startError !== undefined || niceFailed) {
          resolve({
            outcome: VerifyOutcome.CouldNotVerify,
            kind: FailureKind.Infrastructure,
            reason: `notation could not be started (${notationPath}): ${startError ?? stderr.trim()}`,
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
      this.#spawner.spawn(
        {
          file: viaNice ? nicePath : notationPath,
          args: viaNice ? ['-n', String(niceness), notationPath, ...args] : args,
          env,
          lowerPriorityBy: viaNice ? 0 : niceness,
          outputLimit: OUTPUT_LIMIT,
        },
        {
          onSpawn: (spawned) => {
            pid = spawned;
            if (done) {
              killGroup(spawned);
              return;
            }
            this.#live.add(spawned);
            if (killedFor !== undefined) killGroup(spawned);
          },
          onExit: ({ exitCode, stdout, stderr, error }) => finish(exitCode, stdout, stderr, error),
        },
      );
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
