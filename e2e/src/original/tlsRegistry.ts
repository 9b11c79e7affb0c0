// A registry both services reach over HTTPS: olareg (OCI referrers API) serving a certificate of a
// throwaway CA, on a loopback address that is not `localhost` or 127.0.0.1, because every client
// involved treats those two as plain HTTP and the original service cannot use plain HTTP at all
// (its digest lookup would go to http://, its notation to https://). Clients trust the CA through
// NODE_EXTRA_CA_CERTS (Node.js: the harness, our verifier) and SSL_CERT_FILE (Go: notation, the
// AWS Signer plugin, the original), both set when the isolated run starts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClusterCa } from '../kube/pki.js';
import { answers, startOnFreePort, type RunningProcess } from '../harness/processes.js';
import { toolPath } from '../harness/tools-env.js';

/** The registry's address: loopback (inside the private network namespace), but not a plain-HTTP name. */
export const TLS_REGISTRY_IP = '127.0.0.2';

export interface RegistryPki {
  /** PEM of the CA: the value of NODE_EXTRA_CA_CERTS and SSL_CERT_FILE. */
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** The files of a registry CA and a serving certificate for TLS_REGISTRY_IP, under `dir`. */
export function registryPkiFiles(dir: string): RegistryPki {
  return { caFile: join(dir, 'registry-ca.pem'), certFile: join(dir, 'registry.crt'), keyFile: join(dir, 'registry.key') };
}

export async function createRegistryPki(dir: string): Promise<RegistryPki> {
  mkdirSync(dir, { recursive: true });
  const files = registryPkiFiles(dir);
  const ca = await createClusterCa('kna-compat-registry-ca');
  const serving = await ca.issueServing({ ips: [TLS_REGISTRY_IP], dnsNames: [] });
  writeFileSync(files.caFile, ca.certPem);
  writeFileSync(files.certFile, serving.certPem);
  writeFileSync(files.keyFile, serving.keyPem, { mode: 0o600 });
  return files;
}

export interface RunningTlsRegistry extends RunningProcess {
  /** `127.0.0.2:<port>`, the registry part of image references. */
  readonly host: string;
}

/** olareg over HTTPS with in-memory storage; needs the CA in NODE_EXTRA_CA_CERTS of this process. */
export async function startTlsRegistry(options: { readonly dir: string; readonly pki: RegistryPki }): Promise<RunningTlsRegistry> {
  const olareg = toolPath('olareg');
  const proc = await startOnFreePort((port) => ({
    name: 'olareg (TLS)',
    command: olareg,
    args: [
      'serve',
      '--addr',
      TLS_REGISTRY_IP,
      '--port',
      String(port),
      '--store-type',
      'mem',
      '--api-delete',
      '--tls-cert',
      options.pki.certFile,
      '--tls-key',
      options.pki.keyFile,
    ],
    logFile: join(options.dir, 'olareg-tls.log'),
    ready: () => answers(`https://${TLS_REGISTRY_IP}:${port}/v2/`),
  }));
  return { ...proc, host: `${TLS_REGISTRY_IP}:${proc.port}` };
}
