// `pnpm docs`: rewrites the operator's flag table in README.md.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withGeneratedSection } from '@kna/shared';
import { flagsMarkdown } from './flags.js';

export const README = fileURLToPath(new URL('../../../README.md', import.meta.url));

export function withFlagTable(readme: string): string {
  return withGeneratedSection(readme, 'operator-flags', flagsMarkdown());
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(README, withFlagTable(readFileSync(README, 'utf8')));
  console.log('README.md operator flag table updated');
}
