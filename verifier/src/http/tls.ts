// The serving certificate, read from the mounted tls-pair Secret and reloaded in place when the
// kubelet updates the files (docs/architecture.md "The request pipeline"). A pair that does not load keeps the previous one
// serving. Keys in any of the encodings Secrets hold, the original's quirk included, are read with
// parsePrivateKey (@kna/shared).
import { X509Certificate } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { createSecureContext } from 'node:tls';
import { parsePrivateKey } from '@kna/shared/private-key';

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
