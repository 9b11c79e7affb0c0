// The real test components built by `pnpm tools` (e2e/tools/tools.sh), located without requiring the
// caller to have run `eval "$(pnpm -s tools:env)"` first.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const TOOLS_SH = join(REPO_ROOT, 'e2e/tools/tools.sh');
const AWS_PLUGIN_NAME = 'com.amazonaws.signer.notation.plugin';

export interface ToolsEnv {
  /** PATH with the cached components first. */
  readonly PATH: string;
  /** Directory holding plugins/com.amazonaws.signer.notation.plugin/. */
  readonly NOTATION_LIBEXEC: string;
}

let cached: ToolsEnv | undefined;

export function toolsEnv(): ToolsEnv {
  if (cached) return cached;
  const out = execFileSync('bash', ['-c', `eval "$(bash "$0" env 2>/dev/null)" && printf '%s\\0%s' "$PATH" "$NOTATION_LIBEXEC"`, TOOLS_SH], {
    encoding: 'utf8',
  });
  const [path = '', libexec = ''] = out.split('\0');
  cached = { PATH: path, NOTATION_LIBEXEC: libexec };
  return cached;
}

export class MissingToolError extends Error {
  readonly code = 'HARNESS_ERR_MISSING_TOOL';
  readonly tool: string;
  constructor(tool: string) {
    super(`${tool} is not installed: run 'pnpm tools' (it builds the test components into the user cache)`);
    this.tool = tool;
  }
}

/** Absolute path of a component's executable, or a MissingToolError that says how to get it. */
export function toolPath(name: string): string {
  for (const dir of toolsEnv().PATH.split(delimiter)) {
    const candidate = join(dir, name);
    if (dir !== '' && existsSync(candidate)) return candidate;
  }
  throw new MissingToolError(name);
}

export interface SignerPluginInfo {
  /** The plugin executable notation runs. */
  readonly path: string;
  /** Name and version as the binary reports them (`get-plugin-metadata`). */
  readonly name: string;
  readonly version: string;
  readonly description: string;
}

let plugin: SignerPluginInfo | undefined;

/** The AWS Signer plugin binary under NOTATION_LIBEXEC, identified by asking the binary itself. */
export function signerPlugin(): SignerPluginInfo {
  if (plugin) return plugin;
  const path = join(toolsEnv().NOTATION_LIBEXEC, 'plugins', AWS_PLUGIN_NAME, `notation-${AWS_PLUGIN_NAME}`);
  if (!existsSync(path)) throw new MissingToolError(`the AWS Signer plugin (${path})`);
  // The plugin contract: the request on stdin (an empty object for this command), the answer on stdout.
  const out = execFileSync(path, ['get-plugin-metadata'], { input: '{}', encoding: 'utf8', timeout: 30_000 });
  const metadata = JSON.parse(out) as { name?: unknown; version?: unknown; description?: unknown };
  plugin = { path, name: String(metadata.name), version: String(metadata.version), description: String(metadata.description) };
  return plugin;
}

/** One line for test and demo output: which plugin binary runs, and its version read from the binary. */
export function describeSignerPlugin(): string {
  const p = signerPlugin();
  return `AWS Signer plugin ${p.name} ${p.version} (get-plugin-metadata of ${p.path})`;
}
