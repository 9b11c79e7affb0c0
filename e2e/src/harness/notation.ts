// Running the real notation CLI for the harness: signing through the AWS Signer plugin (against the
// fake Signer API) and bare `notation verify` for the smoke tests and benchmarks.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toolPath, toolsEnv } from './tools-env.js';

export const AWS_PLUGIN = 'com.amazonaws.signer.notation.plugin';

export interface NotationResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface NotationRun {
  readonly args: readonly string[];
  /** NOTATION_CONFIG for this run. */
  readonly configDir: string;
  /** Extra environment (AWS credentials, proxy); nothing else of the caller's environment is passed. */
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

export function runNotation(run: NotationRun): Promise<NotationResult> {
  const tools = toolsEnv();
  const env = {
    PATH: tools.PATH,
    HOME: run.configDir,
    NOTATION_CONFIG: run.configDir,
    NOTATION_LIBEXEC: tools.NOTATION_LIBEXEC,
    NOTATION_CACHE: join(run.configDir, 'cache'),
    ...run.env,
  };
  return new Promise((resolve, reject) => {
    execFile(
      toolPath('notation'),
      [...run.args],
      { env, timeout: run.timeoutMs ?? 60_000, killSignal: 'SIGKILL', maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') {
          reject(new Error(`notation ${run.args.join(' ')} could not run: ${err.message}`));
          return;
        }
        resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
      },
    );
  });
}

/** `key=value` pairs as repeated --plugin-config flags. */
export function pluginConfigArgs(config: Readonly<Record<string, string>>): string[] {
  return Object.entries(config).flatMap(([k, v]) => ['--plugin-config', `${k}=${v}`]);
}

interface TrustPolicyStatement {
  name: string;
  registryScopes: string[];
  signatureVerification: { level: string; override?: Record<string, string> };
  trustStores: string[];
  trustedIdentities: string[];
}

export interface VerifyConfig {
  /** Where to write trustpolicy.json and the trust store (a fresh directory). */
  readonly dir: string;
  readonly statements: readonly TrustPolicyStatement[];
  /** Trust stores: `signingAuthority:<name>` → PEM certificates. */
  readonly trustStores: Readonly<Record<string, readonly string[]>>;
}

/** Materialises a notation configuration directory for `notation verify`. */
export function writeVerifyConfig(config: VerifyConfig): string {
  mkdirSync(config.dir, { recursive: true });
  writeFileSync(join(config.dir, 'trustpolicy.json'), JSON.stringify({ version: '1.0', trustPolicies: config.statements }, null, 2));
  for (const [store, pems] of Object.entries(config.trustStores)) {
    const [type, name] = store.split(':');
    if (!type || !name) throw new Error(`trust store ${JSON.stringify(store)} must be <type>:<name>`);
    const storeDir = join(config.dir, 'truststore', 'x509', type, name);
    mkdirSync(storeDir, { recursive: true });
    pems.forEach((pem, i) => writeFileSync(join(storeDir, `cert-${i}.pem`), pem));
  }
  return config.dir;
}
