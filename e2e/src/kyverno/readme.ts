// The README's "Try it with Kyverno" blocks, for the tests that run them: each fenced block tagged
// `<!-- kyverno-test: NAME -->` is read from README.md and run (or compared) as written, so the README
// cannot drift from what the tests do. Shell variables (`$KUBECONFIG`, `${VERIFIER_PORT:-9443}`…) are
// expanded by bash with the environment the test passes, exactly as a reader's shell would.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../harness/tools-env.js';

export const README_KYVERNO_BLOCKS = ['setup', 'operator', 'verifier', 'policy'] as const;
export type KyvernoBlock = (typeof README_KYVERNO_BLOCKS)[number];

/** Every `kyverno-test` block of the README (sh or yaml), its indentation removed. */
export function kyvernoReadmeBlocks(readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8')): Map<string, string> {
  const blocks = new Map<string, string>();
  for (const match of readme.matchAll(/^( *)<!-- kyverno-test: ([\w-]+) -->\n\1```(?:sh|yaml)\n([\s\S]*?)\n\1```/gm)) {
    const [, indent = '', name = '', body = ''] = match;
    if (blocks.has(name)) throw new Error(`README.md tags two blocks "kyverno-test: ${name}"`);
    blocks.set(
      name,
      body
        .split('\n')
        .map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line))
        .join('\n'),
    );
  }
  return blocks;
}

export function kyvernoReadmeBlock(name: KyvernoBlock): string {
  const block = kyvernoReadmeBlocks().get(name);
  if (block === undefined) throw new Error(`README.md has no block tagged "kyverno-test: ${name}"`);
  return block;
}

/**
 * The arguments of the README's one-line command `<prefix> <args…>` (e.g. `pnpm operator --`), expanded by
 * bash with `env` (variables, quotes) — what the program's argv is when a reader runs the line.
 */
export function kyvernoReadmeArgs(name: KyvernoBlock, prefix: string, env: Readonly<Record<string, string>>): string[] {
  const line = kyvernoReadmeBlock(name).trim();
  if (line.includes('\n') || !line.startsWith(`${prefix} `)) throw new Error(`README.md block "${name}" is not one line starting with "${prefix} ": ${line}`);
  const out = execFileSync('bash', ['-c', `set -u; printf '%s\\0' ${line.slice(prefix.length + 1)}`], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    encoding: 'utf8',
  });
  return out.split('\0').slice(0, -1);
}
