// `pnpm docs`: rewrites the generated parts of README.md (the verifier's flag table).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withGeneratedSection } from '@kna/shared/flags';
import { flagsMarkdown } from './flags.js';

export const README = fileURLToPath(new URL('../../../README.md', import.meta.url));

export function withFlagTable(readme: string): string {
  return withGeneratedSection(readme, 'flags', flagsMarkdown());
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(README, withFlagTable(readFileSync(README, 'utf8')));
  console.log('README.md verifier flag table updated');
}
