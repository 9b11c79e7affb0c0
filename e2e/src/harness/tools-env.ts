// The real test components built by `pnpm tools` (e2e/tools/tools.sh), located without requiring the
// caller to have run `eval "$(pnpm -s tools:env)"` first.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const TOOLS_SH = join(REPO_ROOT, 'e2e/tools/tools.sh');

export interface ToolsEnv {
  /** PATH with the cached components first. */
  readonly PATH: string;
  /** Directory holding plugins/com.amazonaws.signer.notation.plugin/. */
  readonly NOTATION_LIBEXEC: string;
  /** "real" or "stand-in" (see e2e/signer-plugin/README.md). */
  readonly signerPluginKind: string;
}

let cached: ToolsEnv | undefined;

export function toolsEnv(): ToolsEnv {
  if (cached) return cached;
  const out = execFileSync('bash', ['-c', `eval "$(bash "$0" env 2>/dev/null)" && printf '%s\\0%s\\0%s' "$PATH" "$NOTATION_LIBEXEC" "$KNA_AWS_SIGNER_PLUGIN_KIND"`, TOOLS_SH], {
    encoding: 'utf8',
  });
  const [path = '', libexec = '', kind = ''] = out.split('\0');
  cached = { PATH: path, NOTATION_LIBEXEC: libexec, signerPluginKind: kind };
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
