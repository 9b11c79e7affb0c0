// The fake AWS Signer API as a background process, for `harness up`: serves the chain that `up`
// saved in the state directory and writes its port to <dir>/signer.port once it listens.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeSigner } from './fake-signer.js';
import { loadSignerKeys } from './harness.js';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: signer-main.ts <harness dir>');
  process.exit(2);
}
const signer = await startFakeSigner({ keys: loadSignerKeys(dir) });
writeFileSync(join(dir, 'signer.port'), String(signer.port));
console.error(`fake AWS Signer API listening on ${signer.url}`);
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void signer.close().then(() => process.exit(0));
  });
}
