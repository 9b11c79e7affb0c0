// Starts a server under test (serve.ts) in a child process and talks to it over IPC.
import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command, Message, ServerConfig, ServerStats } from './serve.js';

const SERVE = fileURLToPath(new URL('./serve.ts', import.meta.url));
/** serve.ts over the verifier's compiled JavaScript (serveCompiled.ts), as production runs the verifier. */
const SERVE_COMPILED = fileURLToPath(new URL('./serveCompiled.ts', import.meta.url));
/** What `pnpm build` writes and SERVE_COMPILED runs. */
const VERIFIER_COMPILED = fileURLToPath(new URL('../dist/app.js', import.meta.url));

export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  stats(): Promise<ServerStats>;
  /** Stats after a full garbage collection (only with --expose-gc among `nodeArgs`). */
  liveHeap(): Promise<ServerStats>;
  clearCache(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Forks serve.ts with this process's loader flags (tsx, --conditions=source) and `nodeArgs` (e.g.
 * --cpu-prof), its stdout (the verifier's request log) going to `logFile`.
 */
export async function startServer(
  config: ServerConfig,
  logFile: string,
  options: { nodeArgs?: readonly string[]; compiled?: boolean } = {},
): Promise<ServerProcess> {
  if (options.compiled && !existsSync(VERIFIER_COMPILED)) throw new Error(`${VERIFIER_COMPILED} is missing: run pnpm build first`);
  const log = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = options.compiled
      ? fork(SERVE_COMPILED, [JSON.stringify(config)], {
          execArgv: [...process.execArgv, ...(options.nodeArgs ?? [])],
          stdio: ['ignore', log, 'inherit', 'ipc'],
        })
      : fork(SERVE, [JSON.stringify(config)], { execArgv: [...process.execArgv, ...(options.nodeArgs ?? [])], stdio: ['ignore', log, 'inherit', 'ipc'] });
  } finally {
    closeSync(log);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start the ${config.kind} server`);

  let nextId = 1;
  const waiting = new Map<number, (message: Message) => void>();
  const url = await new Promise<string>((resolve, reject) => {
    child.on('message', (message: Message) => {
      if (message.type === 'ready') resolve(message.url);
      else if (message.type === 'failed') reject(new Error(`the ${config.kind} server failed to start:\n${message.error}`));
      else waiting.get(message.id)?.(message);
    });
    child.once('exit', (code) => reject(new Error(`the ${config.kind} server exited (${code}) before it was ready; its log: ${logFile}`)));
  });
  const ask = (cmd: Command['cmd']): Promise<Message> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, (m) => {
        waiting.delete(id);
        resolve(m);
      });
      child.send({ id, cmd } satisfies Command, (err) => {
        if (err) reject(err);
      });
    });
  return {
    url,
    pid,
    stats: async () => {
      const reply = await ask('stats');
      if (reply.type !== 'reply' || !reply.stats) throw new Error('the server sent no stats');
      return reply.stats;
    },
    liveHeap: async () => {
      const reply = await ask('liveHeap');
      if (reply.type !== 'reply' || !reply.stats) throw new Error('the server sent no stats');
      return reply.stats;
    },
    clearCache: async () => {
      await ask('clearCache');
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      if (child.connected) child.send({ id: 0, cmd: 'close' } satisfies Command);
      else child.kill('SIGTERM');
      await exited;
      clearTimeout(timer);
    },
  };
}
