// A private network namespace (only `lo`, brought up) and a private mount namespace for a whole run
// that involves the original service: it always binds :9080, :9443, :8080 and :8081 and reads its
// ServiceAccount from /var/run/secrets (docs/compatibility.md, "Running the original"), so the run
// must neither collide with anything else on the machine nor change the host's /run. Everything the
// run starts (API server, registries, fake AWS Signer API, both services) lives inside, on loopback.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Set in the environment of a process that runs inside the namespaces. */
export const ISOLATED_ENV = 'KNA_ISOLATED';

export function isIsolated(): boolean {
  return process.env[ISOLATED_ENV] === '1';
}

export class IsolationError extends Error {
  readonly code = 'HARNESS_ERR_ISOLATION';
}

function onPath(name: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, name)));
}

/** Why this machine cannot run an isolated run, or undefined when it can. */
export function isolationUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux namespaces (unshare)';
  if (process.getuid?.() !== 0) return "needs root: unshare --net --mount, and a tmpfs over /run for the original's ServiceAccount files";
  if (!onPath('unshare')) return 'needs unshare (util-linux) on PATH';
  if (!onPath('ip')) return 'needs ip (iproute2) on PATH to bring up lo in the private network namespace';
  return undefined;
}

interface IsolatedCommand {
  readonly command: string;
  readonly args: readonly string[];
  /** Added to this process's environment (ISOLATED_ENV is set too). */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * Runs `command` inside new network and mount namespaces, with this process's stdio, and resolves its
 * exit status. Nothing it leaves running survives it: the network namespace goes away with its last
 * process, and the processes the run starts are in process groups it stops itself.
 */
export function runIsolated(run: IsolatedCommand): Promise<number> {
  const why = isolationUnavailable();
  if (why) return Promise.reject(new IsolationError(`cannot isolate the run: it ${why}`));
  const child = spawn(
    'unshare',
    ['--net', '--mount', '--propagation', 'private', '--', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', run.command, ...run.args],
    { stdio: 'inherit', env: { ...process.env, ...run.env, [ISOLATED_ENV]: '1' } },
  );
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return new Promise((resolve, reject) => {
    child.once('error', (err) => reject(new IsolationError(`cannot run unshare: ${err.message}`)));
    child.once('exit', (code, signal) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(code ?? (signal ? 128 + 15 : 1));
    });
  });
}

/** Re-runs this very Node.js program (same loader flags and arguments) isolated, with `env` added. */
export function rerunIsolated(env: Readonly<Record<string, string>>): Promise<number> {
  return runIsolated({ command: process.execPath, args: [...process.execArgv, ...process.argv.slice(1)], env });
}
