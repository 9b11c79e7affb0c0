// A redis-server of a test's (or a benchmark's) own on a free loopback port, plain or TLS, that it may
// kill, pause with SIGSTOP, resume and start again on the same port without disturbing anybody else:
// the shared cache tier's fault tests and benchmark (verifier/src/cache/, docs/benchmarks.md).
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, signalGroup, startOnFreePort, startProcess, type ProcessSpec, type RunningProcess } from './processes.js';

export interface RedisTlsFiles {
  /** PEM files: the server's certificate and key, and the CA that issued it. */
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
}

export interface RedisServerOptions {
  /** Where its log (and nothing else: no persistence) goes. */
  readonly dir: string;
  /** Serve TLS only (`--port 0 --tls-port`), without asking clients for certificates. */
  readonly tls?: RedisTlsFiles;
}

export interface RunningRedis {
  /** redis://127.0.0.1:<port> or rediss://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  readonly logFile: string;
  /** SIGKILL, as a crashed or evicted server; resolves once it is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port (after kill). */
  restart(): Promise<void>;
  /** SIGSTOP: connections stay open, nothing answers. */
  pause(): void;
  /** SIGCONT */
  resume(): void;
  stop(): Promise<void>;
}

/** Whether a Redis answers PING on `port` (over TLS, trusting `tls.caFile`, when given). */
export function redisAnswers(port: number, tls?: RedisTlsFiles, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const ping = () => socket.write('PING\r\n');
    const socket: Socket = tls ? connectTls({ host: '127.0.0.1', port, ca: readFileSync(tls.caFile) }, ping) : connectTcp({ host: '127.0.0.1', port }, ping);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.on('error', () => done(false));
  });
}

function spec(port: number, options: RedisServerOptions): ProcessSpec {
  const listen = options.tls
    ? [
        '--port',
        '0',
        '--tls-port',
        String(port),
        '--tls-cert-file',
        options.tls.certFile,
        '--tls-key-file',
        options.tls.keyFile,
        '--tls-ca-cert-file',
        options.tls.caFile,
        '--tls-auth-clients',
        'no',
      ]
    : ['--port', String(port)];
  return {
    name: 'redis-server',
    command: 'redis-server',
    args: [...listen, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', options.dir],
    logFile: join(options.dir, `redis-${port}.log`),
    ready: () => redisAnswers(port, options.tls),
    readyTimeoutMs: 60_000,
  };
}

/** Starts a redis-server on a free loopback port. Stop it in an `after` hook. */
export async function startRedisServer(options: RedisServerOptions): Promise<RunningRedis> {
  const first = await startOnFreePort((port) => spec(port, options));
  const port = first.port;
  let current: RunningProcess = first;
  return {
    url: `${options.tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`,
    port,
    logFile: first.logFile,
    kill: async () => {
      signalGroup(current.pid, 'SIGKILL');
      const deadline = Date.now() + 10_000;
      while (isAlive(current.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    },
    restart: async () => {
      current = await startProcess(spec(port, options));
    },
    pause: () => signalGroup(current.pid, 'SIGSTOP'),
    resume: () => signalGroup(current.pid, 'SIGCONT'),
    stop: async () => {
      // A stopped process ignores SIGTERM until it runs again.
      signalGroup(current.pid, 'SIGCONT');
      await current.stop();
    },
  };
}
