// `pnpm compat [-- --readme]`: the differential suite against the original service v1.1
// (docs/compatibility.md). It checks what it needs, creates the TLS registry's CA, re-runs itself in
// private network and mount namespaces (the original binds fixed ports and needs its ServiceAccount
// under /run), and there runs compat.suite.ts under node:test. `--readme` only regenerates README.md's
// "Compatibility with v1.1" section from the cases.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRegistryPki, isIsolated, isolationUnavailable, originalBinary, rerunIsolated } from '@kna/e2e';
import { writeReadme } from './readme.js';

async function outer(): Promise<number> {
  if (process.argv.includes('--readme')) {
    console.log(writeReadme() ? 'README.md: compatibility section updated' : 'README.md: compatibility section already up to date');
    return 0;
  }
  const binary = originalBinary();
  const why = isolationUnavailable();
  if (why) throw new Error(`pnpm compat ${why}`);
  console.log(`original service: ${binary}`);
  const pkiDir = mkdtempSync(join(tmpdir(), 'kna-compat-pki-'));
  try {
    const pki = await createRegistryPki(pkiDir);
    return await rerunIsolated({ NODE_EXTRA_CA_CERTS: pki.caFile, SSL_CERT_FILE: pki.caFile });
  } finally {
    rmSync(pkiDir, { recursive: true, force: true });
  }
}

if (isIsolated()) {
  // node:test runs the suite's tests when this process has loaded it, and sets the exit code.
  await import('./compat.suite.js');
} else {
  outer().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exit(1);
    },
  );
}
