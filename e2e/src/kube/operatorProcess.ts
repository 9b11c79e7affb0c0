// The product's operator (`operator/src/main.ts`) as its own process, run the way `pnpm operator -- …` runs it
// (tsx, the source condition): for the tests that must see it exactly as a user or a pod does — flags as
// written in the README or in the chart's Deployment, a kubeconfig of its own, its health endpoint.
import { join } from 'node:path';
import { answers, startOnFreePort, type RunningProcess } from '../harness/processes.js';
import { REPO_ROOT } from '../harness/tools-env.js';

export interface OperatorProcessOptions {
  /** The operator's flags, given the loopback port its health probes must listen on. */
  readonly args: (probePort: number) => readonly string[];
  readonly logFile: string;
  /** The process's whole environment; the caller's when absent. */
  readonly env?: NodeJS.ProcessEnv;
}

export interface OperatorProcess extends RunningProcess {
  /** Its health port on 127.0.0.1 (/readyz, /healthz). */
  readonly port: number;
}

/** Starts the operator and resolves once its /readyz answers. Stop it with `stop()`. */
export function startOperatorProcess(options: OperatorProcessOptions): Promise<OperatorProcess> {
  return startOnFreePort((probePort) => ({
    name: 'operator',
    command: process.execPath,
    args: ['--conditions=source', '--import', 'tsx', join(REPO_ROOT, 'operator/src/main.ts'), ...options.args(probePort)],
    cwd: REPO_ROOT,
    ...(options.env && { env: options.env }),
    logFile: options.logFile,
    ready: () => answers(`http://127.0.0.1:${probePort}/readyz`),
    readyTimeoutMs: 120_000,
  }));
}
