// `pnpm crds`: writes the CRDs generated from the TypeScript schemas into the Helm chart.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { crdFiles } from './definitions.js';

const root = join(import.meta.dirname, '..', '..', '..');
for (const file of crdFiles()) {
  const path = join(root, file.path);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, file.text);
  console.log(`wrote ${file.path}`);
}
