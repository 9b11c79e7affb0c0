// Starts notation processes from a worker thread. Starting a process is synchronous in the thread that
// does it (libuv forks and waits for the exec): ~2 ms on a quiet machine, 4–5 ms on a loaded one, in
// a process of the verifier's size. From the event loop, a burst of 60 verifications stalled every
// other request for a quarter of a second in all (docs/benchmarks.md "burst"); from this thread, cached
// answers go on. The worker only spawns and collects output; timeouts, cancellation and kills (a
// signal to the process group, which any thread can send) and lowering a child's priority without nice(1)
// (priority.ts, one function for both engines) stay with the runner.
//
// The worker's code is plain JavaScript evaluated from this string, so it runs the same under tsx and
// from the compiled dist/ without a loader.
import { Worker } from 'node:worker_threads';

export interface SpawnRequest {
  readonly file: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Bytes of stdout and of stderr kept; the rest is read and dropped. */
  readonly outputLimit: number;
}

export interface SpawnHandlers {
  /** The process started (the leader of a new process group). */
  onSpawn(pid: number): void;
  /** It ended (`error` when it could not be started, or the worker failed). */
  onExit(result: { exitCode: number | null; stdout: string; stderr: string; error?: string }): void;
}

type FromWorker =
  | { readonly type: 'spawned'; readonly id: number; readonly pid: number }
  | { readonly type: 'exit'; readonly id: number; readonly exitCode: number | null; readonly stdout: string; readonly stderr: string; readonly error?: string };

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { spawn } = require('node:child_process');
parentPort.on('message', (m) => {
  let stdout = '';
  let stderr = '';
  let done = false;
  const finish = (exitCode, error) => {
    if (done) return;
    done = true;
    parentPort.postMessage({ type: 'exit', id: m.id, exitCode, stdout, stderr, ...(error !== undefined && { error }) });
  };
  let child;
  try {
    // detached: the child leads a new process group, so a kill reaches the plugin processes too.
    child = spawn(m.file, m.args, { env: m.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    finish(null, String(err && err.message || err));
    return;
  }
  if (child.pid !== undefined) parentPort.postMessage({ type: 'spawned', id: m.id, pid: child.pid });
  child.stdout.setEncoding('utf8').on('data', (c) => { if (stdout.length < m.outputLimit) stdout += c; });
  child.stderr.setEncoding('utf8').on('data', (c) => { if (stderr.length < m.outputLimit) stderr += c; });
  child.once('error', (err) => finish(null, err.message));
  child.once('close', (code) => finish(code));
});
`;

export class Spawner {
  #worker: Worker | undefined;
  readonly #pending = new Map<number, SpawnHandlers>();
  #nextId = 1;

  spawn(request: SpawnRequest, handlers: SpawnHandlers): void {
    const worker = this.#ensureWorker();
    const id = this.#nextId++;
    this.#pending.set(id, handlers);
    // A run in progress keeps the process alive; an idle worker does not.
    worker.ref();
    worker.postMessage({ id, ...request });
  }

  /** Stops the worker (shutdown); a later spawn starts a new one. Runs still pending end with an error. */
  close(): void {
    const worker = this.#worker;
    this.#worker = undefined;
    if (worker) void worker.terminate();
    this.#failAll('the verifier is shutting down');
  }

  #ensureWorker(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true, stdout: false, stderr: false });
    worker.unref();
    worker.on('message', (message: FromWorker) => {
      const handlers = this.#pending.get(message.id);
      if (!handlers) return;
      if (message.type === 'spawned') {
        handlers.onSpawn(message.pid);
        return;
      }
      this.#pending.delete(message.id);
      if (this.#pending.size === 0) worker.unref();
      handlers.onExit({
        exitCode: message.exitCode,
        stdout: message.stdout,
        stderr: message.stderr,
        ...(message.error !== undefined && { error: message.error }),
      });
    });
    const lost = (why: string) => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      this.#failAll(why);
    };
    worker.on('error', (err) => lost(`the process-starting thread failed: ${err.message}`));
    worker.on('exit', (code) => lost(`the process-starting thread exited (${code})`));
    this.#worker = worker;
    return worker;
  }

  #failAll(why: string): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const handlers of pending) handlers.onExit({ exitCode: null, stdout: '', stderr: '', error: why });
  }
}
