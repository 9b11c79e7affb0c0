// Background processes of the harness (registries, the detached fake signer, kube-apiserver, etcd):
// each runs in its own process group so that stopping it also stops whatever it started, and each is
// stopped when the process that started it exits, unless it was started to outlive it (`harness up`).
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * `count` distinct ports that were free a moment ago on 127.0.0.1: the listeners are held open until
 * all are taken, so two ports asked for together never coincide. Callers still retry when a process
 * loses the race for one afterwards.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
      const address = server.address();
      ports.push(typeof address === 'object' && address ? address.port : 0);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const [port = 0] = await freePorts(1);
  return port;
}

/**
 * Whether `pid` still runs. A killed process whose threads have all become zombies (waiting for a
 * parent, often PID 1, to reap it) counts as gone; one with any live thread does not, because a Go
 * program's other threads can keep its listening sockets open for a moment after the main thread died.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    // No /proc (not Linux): signal 0 succeeded, so it runs. (If it just exited, the next poll sees it.)
    return true;
  }
  return tasks.some((task) => {
    try {
      // "<tid> (<comm>) <state> …": the command name may itself contain ") ".
      const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8');
      return stat[stat.lastIndexOf(')') + 2] !== 'Z';
    } catch {
      return false;
    }
  });
}

/** Signals the whole process group led by `pid` (ignores a group that is already gone). */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/**
 * Stops a process group: SIGTERM, then SIGKILL after `graceMs`; resolves once every thread of the
 * leader has exited (so its ports are free), or after 10 more seconds for a thread stuck in the kernel.
 */
export async function stopGroup(pid: number, graceMs = 3_000): Promise<void> {
  signalGroup(pid, 'SIGTERM');
  let deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(25);
  signalGroup(pid, 'SIGKILL');
  deadline = Date.now() + 10_000;
  while (isAlive(pid) && Date.now() < deadline) await sleep(10);
}

const ownedGroups = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort for a test process that ends without stopping what it started (a failed assertion
  // that skipped the cleanup, an uncaught exception): no registry or API server is left behind.
  process.on('exit', () => {
    for (const pid of ownedGroups) signalGroup(pid, 'SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const pid of ownedGroups) signalGroup(pid, 'SIGKILL');
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}

export interface ProcessSpec {
  /** For messages: "olareg", "kube-apiserver"… */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** stdout and stderr go here. */
  readonly logFile: string;
  /** Polled until it resolves true; the process is then considered started. */
  readonly ready: () => Promise<boolean>;
  /** 90 s by default: a bound for a loaded machine, not an expected time. */
  readonly readyTimeoutMs?: number;
  /** Keep running after this process exits (the CLI's `up`). */
  readonly outliveParent?: boolean;
}

export interface RunningProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  stop(): Promise<void>;
}

export class ProcessStartError extends Error {
  readonly code = 'HARNESS_ERR_PROCESS_START';
  readonly process: string;
  readonly logTail: string;
  constructor(process: string, reason: string, logTail: string) {
    super(`${process} did not start: ${reason}\n--- last lines of its log ---\n${logTail}`);
    this.process = process;
    this.logTail = logTail;
  }
}

function tail(file: string, lines = 20): string {
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
}

export async function startProcess(spec: ProcessSpec): Promise<RunningProcess> {
  const fd = openSync(spec.logFile, 'a');
  const child = spawn(spec.command, spec.args, {
    env: spec.env ?? process.env,
    cwd: spec.cwd,
    detached: true,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const pid = await new Promise<number>((resolve, reject) => {
    child.once('spawn', () => resolve(child.pid ?? 0));
    child.once('error', (err) => reject(new ProcessStartError(spec.name, `cannot run ${spec.command}: ${err.message}`, '')));
  });
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = signal ? `killed by ${signal}` : `exited with status ${code ?? '?'}`;
    ownedGroups.delete(pid);
  });
  if (spec.outliveParent) {
    child.unref();
  } else {
    installExitHook();
    ownedGroups.add(pid);
  }
  const running: RunningProcess = {
    name: spec.name,
    pid,
    logFile: spec.logFile,
    stop: async () => {
      ownedGroups.delete(pid);
      await stopGroup(pid);
    },
  };

  const deadline = Date.now() + (spec.readyTimeoutMs ?? 90_000);
  for (;;) {
    if (exited !== undefined) throw new ProcessStartError(spec.name, exited, tail(spec.logFile));
    if (await spec.ready().catch(() => false)) return running;
    if (Date.now() > deadline) {
      await running.stop();
      throw new ProcessStartError(spec.name, `not ready after ${spec.readyTimeoutMs ?? 90_000} ms`, tail(spec.logFile));
    }
    await sleep(50);
  }
}

/** Resolves true when `url` answers with a status below 500 (any answer means the listener is up). */
export async function answers(url: string, init?: RequestInit): Promise<boolean> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(1_000) });
    await res.arrayBuffer();
    return res.status < 500;
  } catch {
    return false;
  }
}

/** Starts a process that needs a port of its own, retrying with another port if it loses the race for one. */
export async function startOnFreePort(build: (port: number) => ProcessSpec, attempts = 3): Promise<RunningProcess & { port: number }> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    const port = await freePort();
    try {
      return { ...(await startProcess(build(port))), port };
    } catch (err) {
      last = err;
      if (!(err instanceof ProcessStartError) || !/address already in use|bind/i.test(err.logTail)) throw err;
    }
  }
  throw last;
}
