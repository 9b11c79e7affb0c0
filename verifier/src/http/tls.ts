// The serving certificate, read from the mounted tls-pair Secret and reloaded in place when the
// kubelet updates the files (docs/architecture.md "The request pipeline" "TLS"). A pair that does not load keeps the previous one
// serving. Keys the original wrote are PKCS#1 bytes under a "PRIVATE KEY" (PKCS#8) header, which Go
// tolerates and Node does not (docs/architecture.md "The two deployments"): such keys are re-read as PKCS#1.
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { createSecureContext } from 'node:tls';

const PEM_BLOCK = /-----BEGIN ([A-Z ]+)-----([\s\S]*?)-----END \1-----/;

/** Parses a PEM private key, including PKCS#1 or SEC1 bodies mislabelled "PRIVATE KEY". */
export function parsePrivateKey(pem: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (first) {
    const block = PEM_BLOCK.exec(pem);
    if (block?.[1] !== 'PRIVATE KEY' || block[2] === undefined) throw first;
    const der = Buffer.from(block[2].replace(/\s+/g, ''), 'base64');
    for (const type of ['pkcs1', 'sec1'] as const) {
      try {
        return createPrivateKey({ key: der, format: 'der', type });
      } catch {
        // try the next encoding
      }
    }
    throw first;
  }
}

export interface ServingPair {
  /** PKCS#8 PEM, whatever the file held. */
  readonly key: string;
  readonly cert: string;
  readonly notAfter: Date;
  readonly serialNumber: string;
}

/** Reads and checks a certificate/key pair: the key must match the certificate. */
export function loadServingPair(certFile: string, keyFile: string): ServingPair {
  const cert = readFileSync(certFile, 'utf8');
  const key = parsePrivateKey(readFileSync(keyFile, 'utf8'));
  const x509 = new X509Certificate(cert);
  if (!x509.checkPrivateKey(key)) throw new Error(`the key in ${keyFile} does not belong to the certificate in ${certFile}`);
  const keyPem = key.export({ format: 'pem', type: 'pkcs8' }).toString();
  // Fails on anything else Node's TLS layer would refuse, before the pair replaces a working one.
  createSecureContext({ key: keyPem, cert });
  return { key: keyPem, cert, notAfter: new Date(x509.validTo), serialNumber: x509.serialNumber };
}

export interface TlsReloaderOptions {
  readonly certFile: string;
  readonly keyFile: string;
  /** Called with a pair that loaded, to install (server.setSecureContext). */
  readonly apply: (pair: ServingPair) => void;
  readonly onError: (err: Error) => void;
  /** Poll interval in addition to file events (kubelet symlink swaps are not always reported); default 10 s. */
  readonly pollMs?: number;
}

/** Watches the pair's directory and re-applies the pair whenever it changes and loads. */
export function watchServingPair(options: TlsReloaderOptions, initial: ServingPair): { close(): void } {
  let current = `${initial.serialNumber}|${initial.cert.length}|${initial.key.length}`;
  const reload = () => {
    let pair: ServingPair;
    try {
      pair = loadServingPair(options.certFile, options.keyFile);
    } catch (err) {
      options.onError(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    const id = `${pair.serialNumber}|${pair.cert.length}|${pair.key.length}`;
    if (id === current) return;
    current = id;
    options.apply(pair);
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(options.certFile), () => reload());
  } catch {
    // Polling alone still reloads.
  }
  const timer = setInterval(reload, options.pollMs ?? 10_000);
  timer.unref();
  return {
    close: () => {
      watcher?.close();
      clearInterval(timer);
    },
  };
}
