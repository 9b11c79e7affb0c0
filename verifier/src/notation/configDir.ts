// Materialises one trust policy into its own notation configuration directory, named by its policy
// version: trustpolicy.json plus the trust stores it references. notation refuses symlinks for both
// the policy file and trust store entries (notation's specification), and a Kubernetes volume
// is made of symlinks, so every file is written as a regular file. Directories are written under a
// temporary name and renamed into place, so a concurrent `notation verify` never sees a partial one.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

interface TrustStoreMaterial {
  readonly type: string;
  readonly name: string;
  /** PEM certificates. */
  readonly certificates: readonly string[];
}

export interface PolicyMaterial {
  /** The policy version (hex sha256): names the directory, part of every cache key. */
  readonly version: string;
  /** notation's trustpolicy.json document. */
  readonly document: unknown;
  readonly trustStores: readonly TrustStoreMaterial[];
}

const VERSION = /^[a-f0-9]{16,128}$/;

/** Writes the directory for `policy` under `root` unless it exists; returns its path. */
export function materializePolicy(root: string, policy: PolicyMaterial): string {
  if (!VERSION.test(policy.version)) throw new Error(`policy version ${JSON.stringify(policy.version)} is not a hex digest`);
  const dir = join(root, policy.version);
  // Same version = same content (the version is a hash of it), so an existing directory is reused.
  if (existsSync(dir)) return dir;
  const tmp = join(root, `.tmp-${policy.version}-${randomBytes(4).toString('hex')}`);
  mkdirSync(tmp, { recursive: true, mode: 0o700 });
  try {
    writeFileSync(join(tmp, 'trustpolicy.json'), JSON.stringify(policy.document, null, 2), { mode: 0o600 });
    for (const store of policy.trustStores) {
      if (!/^[a-zA-Z0-9_.-]+$/.test(store.name) || !/^(ca|signingAuthority|tsa)$/.test(store.type)) {
        throw new Error(`trust store ${store.type}:${store.name} has an invalid type or name`);
      }
      const storeDir = join(tmp, 'truststore', 'x509', store.type, store.name);
      mkdirSync(storeDir, { recursive: true, mode: 0o700 });
      store.certificates.forEach((pem, i) => writeFileSync(join(storeDir, `cert-${i}.pem`), pem, { mode: 0o600 }));
    }
    try {
      renameSync(tmp, dir);
    } catch (err) {
      // Another materialisation of the same version won the race: its directory is identical.
      if (!existsSync(dir)) throw err;
      rmSync(tmp, { recursive: true, force: true });
    }
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  return dir;
}

/** Removes policy directories under `root` whose version is not in `keep` (and stale temporaries). */
export function prunePolicies(root: string, keep: ReadonlySet<string>): string[] {
  if (!existsSync(root)) return [];
  const removed: string[] = [];
  for (const entry of readdirSync(root)) {
    if (keep.has(entry)) continue;
    rmSync(join(root, entry), { recursive: true, force: true });
    removed.push(entry);
  }
  return removed;
}
