// Clients of a test control plane: kubectl and helm run as the admin with their caches inside the
// control plane's directory, and @kubernetes/client-node configurations for the admin or any token
// (the way the operator talks to the API server; the verifier has its own TokenReview client).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { toolPath } from '../harness/tools-env.js';
import type { ControlPlaneState } from './controlPlane.js';
import { KUBE_ERR_COMMAND } from './errors.js';

export interface CommandResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CommandOptions {
  /** Written to stdin (a manifest for `kubectl apply -f -`). */
  readonly input?: string;
  /** Resolve with a non-zero status instead of throwing KNA_E2E_KUBE_ERR_COMMAND. */
  readonly allowFailure?: boolean;
  /** Killed after this long; 60 s by default (nothing here waits for a kubelet). */
  readonly timeoutMs?: number;
  /** Extra environment (KUBECONFIG of another user…). */
  readonly env?: Readonly<Record<string, string>>;
}

/** Runs a cached tool (kubectl, helm) against the control plane; stdout and stderr are collected. */
export async function runTool(
  state: Pick<ControlPlaneState, 'env'>,
  tool: string,
  args: readonly string[],
  options: CommandOptions = {},
): Promise<CommandResult> {
  const child = spawn(toolPath(tool), args, {
    env: { ...process.env, ...state.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
    timeout: options.timeoutMs ?? 60_000,
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  child.stdin.end(options.input ?? '');
  const status = await new Promise<number | string>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  const result = {
    status: typeof status === 'number' ? status : -1,
    stdout: Buffer.concat(out).toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
  };
  if (result.status !== 0 && options.allowFailure !== true) {
    const shown = [tool, ...args].join(' ');
    throw new KUBE_ERR_COMMAND(shown, typeof status === 'number' ? `exit status ${status}` : `killed by ${status}`, result.stderr);
  }
  return result;
}

export function kubectl(state: Pick<ControlPlaneState, 'env'>, args: readonly string[], options?: CommandOptions): Promise<CommandResult> {
  return runTool(state, 'kubectl', args, options);
}

export function helm(state: Pick<ControlPlaneState, 'env'>, args: readonly string[], options?: CommandOptions): Promise<CommandResult> {
  return runTool(state, 'helm', args, options);
}

/** A client-node configuration for the admin (or the user of another kubeconfig file). */
export function kubeConfigFromFile(kubeconfig: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return kc;
}

/** A client-node configuration that authenticates with a bearer token (a ServiceAccount token). */
export function kubeConfigForToken(state: Pick<ControlPlaneState, 'server' | 'caFile'>, token: string, name = 'token-user'): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'kna-e2e', server: state.server, caData: Buffer.from(readFileSync(state.caFile)).toString('base64'), skipTLSVerify: false }],
    users: [{ name, token }],
    contexts: [{ name, cluster: 'kna-e2e', user: name }],
    currentContext: name,
  });
  return kc;
}
