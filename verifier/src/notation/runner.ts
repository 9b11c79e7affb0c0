// Runs `notation verify` as a child process: argument array (never a shell), a minimal environment,
// registry credentials only through NOTATION_USERNAME/NOTATION_PASSWORD (never argv, which other
// processes can read), a per-call timeout and caller cancellation that kill the whole process group
// (notation and the plugin processes it started), and a bound on concurrent runs (docs/architecture.md "The request pipeline").
import { classifyVerify } from './classify.js';
import {
  engineSettings,
  inSlot,
  notationEnvironment,
  notVerified,
  killProcessGroup,
  type EngineOptions,
  type EngineSettings,
  type NotationEngine,
  type VerifyRequest,
  type VerifyResult,
} from './engine.js';
import { ChildSession, lowerPriority, lowPriorityCommand } from './priority.js';
import { Semaphore } from './semaphore.js';
import { Spawner } from './spawner.js';

export interface NotationRunnerOptions extends EngineOptions {
  /** The notation executable. */
  readonly notationPath: string;
}

const OUTPUT_LIMIT = 256 * 1024;

export class NotationRunner implements NotationEngine {
  readonly #options: EngineSettings & { readonly notationPath: string };
  readonly #baseEnv: Record<string, string>;
  readonly #slots: Semaphore;
  readonly #spawner = new Spawner();
  #runs = 0;
  readonly #live = new Set<number>();

  constructor(options: NotationRunnerOptions) {
    this.#options = { ...engineSettings(options), notationPath: options.notationPath };
    this.#baseEnv = notationEnvironment(options.env ?? process.env);
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

  verify(request: VerifyRequest): Promise<VerifyResult> {
    return inSlot(this.#slots, request, (started) => this.#run(request, started));
  }

  /** Kills every run in progress (shutdown). */
  killAll(): void {
    for (const pid of this.#live) killProcessGroup(pid);
    this.#spawner.close();
  }

  #run(request: VerifyRequest, started: number): Promise<VerifyResult> {
    if (request.signal?.aborted) return Promise.resolve(notVerified(started, 'cancelled before notation started (request deadline)'));
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
      const { notationPath } = this.#options;
      const command = lowPriorityCommand(notationPath, args, this.#options, ChildSession.Own);
      let pid: number | undefined;
      let killedFor: string | undefined;
      let done = false;
      const kill = (why: string) => {
        if (killedFor !== undefined) return;
        killedFor = why;
        // Before the spawn is confirmed there is no pid yet: onSpawn kills it as soon as there is.
        if (pid !== undefined) killProcessGroup(pid);
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
          killProcessGroup(pid);
          this.#live.delete(pid);
        }
        // nice(1) answers 126/127 when it cannot run notation (notation itself exits 0 or 1).
        const niceFailed = command.viaNice && (exitCode === 126 || exitCode === 127) && stdout === '';
        if (startError !== undefined || niceFailed) {
          resolve(notVerified(started, `notation could not be started (${notationPath}): ${startError ?? stderr.trim()}`, stderr, exitCode));
          return;
        }
        if (killedFor !== undefined) {
          resolve(notVerified(started, killedFor, stderr, exitCode));
          return;
        }
        resolve({ ...classifyVerify({ exitCode, stdout, stderr }), durationMs: performance.now() - started, exitCode, stderr });
      };
      this.#spawner.spawn(
        {
          file: command.file,
          args: command.args,
          env,
          outputLimit: OUTPUT_LIMIT,
        },
        {
          onSpawn: (spawned) => {
            pid = spawned;
            // Without nice(1), and the session's niceness in any case: as soon as the spawning thread reports
            // the pid (its code is a string that cannot import priority.ts; a few milliseconds later than from
            // the thread itself).
            void lowerPriority(spawned, command);
            if (done) {
              killProcessGroup(spawned);
              return;
            }
            this.#live.add(spawned);
            if (killedFor !== undefined) killProcessGroup(spawned);
          },
          onExit: ({ exitCode, stdout, stderr, error }) => finish(exitCode, stdout, stderr, error),
        },
      );
    });
  }
}
