// `pnpm -s harness kube up|down`: a test control plane in the background for developers, driven from
// e2e/src/harness/cli.ts. `up` prints export lines for `eval`; `down` prints the matching unset line.
import { resolve } from 'node:path';
import { readControlPlaneState, startControlPlane, stopControlPlane, type ControlPlaneState } from './controlPlane.js';
import { KUBE_ERR_NO_DIR } from './errors.js';

export const KUBE_USAGE = `  kube up [--dir DIR]                 start etcd + kube-apiserver in the background; prints export lines
                                      (KUBECONFIG, KNA_KUBE_DIR…): eval "$(pnpm -s harness kube up)"
  kube down [--dir DIR]               stop the control plane of KNA_KUBE_DIR (or DIR) and remove its directory;
                                      prints an unset line: eval "$(pnpm -s harness kube down)"`;

function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

function variables(state: ControlPlaneState): Record<string, string> {
  return { ...state.env, KNA_KUBE_DIR: state.dir };
}

/** Starts a control plane that outlives this process; returns the lines to print on stdout. */
export async function kubeUp(dir: string | undefined): Promise<string> {
  const cp = await startControlPlane({ outliveParent: true, ...(dir !== undefined && { dir: resolve(dir) }) });
  console.error(`kube up in ${cp.dir}: kube-apiserver ${cp.server} (etcd ${cp.etcdUrl}), ready in ${cp.timings.totalMs} ms`);
  return Object.entries(variables(cp))
    .map(([k, v]) => `export ${k}=${shellQuote(v)}`)
    .join('\n');
}

/** Stops the control plane in `dir` (default: KNA_KUBE_DIR); returns the line to print on stdout. */
export async function kubeDown(dir: string | undefined): Promise<string> {
  const target = dir ?? process.env.KNA_KUBE_DIR;
  if (!target) throw new KUBE_ERR_NO_DIR();
  const state = readControlPlaneState(target);
  await stopControlPlane(target);
  console.error(`kube control plane in ${state.dir} stopped`);
  return `unset ${Object.keys(variables(state)).join(' ')}`;
}
