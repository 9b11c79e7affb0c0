// `pnpm docs`: rewrites the generated parts of README.md (the verifier's flag table).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { flagsMarkdown } from './flags.js';

export const README = fileURLToPath(new URL('../../../README.md', import.meta.url));
const BEGIN = '<!-- flags:begin -->';
const END = '<!-- flags:end -->';

export function withFlagTable(readme: string): string {
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${BEGIN} … ${END} section`);
  return `${readme.slice(0, start + BEGIN.length)}\n${flagsMarkdown()}\n${readme.slice(end)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(README, withFlagTable(readFileSync(README, 'utf8')));
  console.log('README.md flag table updated');
}
