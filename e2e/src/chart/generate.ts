// `pnpm chart`: regenerates the README's table of chart values and charts/install.yaml (needs helm: `pnpm tools`).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHART_DIR, INSTALL_YAML, README, renderInstallYaml, withValuesTable } from './files.js';

writeFileSync(README, withValuesTable(readFileSync(README, 'utf8'), readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')));
console.log('README.md chart values table updated');
writeFileSync(INSTALL_YAML, await renderInstallYaml());
console.log('wrote charts/install.yaml');
