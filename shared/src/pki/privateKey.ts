// Private keys as the Secrets of this product and of the original service hold them. The original's
// certificate manager wrote PKCS#1 bytes under a "PRIVATE KEY" (PKCS#8) header, which Go tolerates and
// Node does not; such keys are re-read as PKCS#1 (or SEC1 for EC keys).
import { createPrivateKey, type KeyObject } from 'node:crypto';

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
