// Reading response bodies from an untrusted registry: never more than a cap (checked against
// Content-Length before reading, and again while streaming, so an oversized body is refused after at most
// one chunk past the limit), hashed while it streams.
import { ContentHasher, type DigestAlgorithm } from './digest.js';
import type { HttpDetail } from './errors.js';

export interface ReadBody {
  readonly bytes: Buffer;
  readonly digest: string;
}

/** The body exceeded `maxBytes` (by its Content-Length, or while it streamed). */
export class BodyTooLargeError extends Error {
  readonly maxBytes: number;
  constructor(maxBytes: number) {
    super(`body larger than ${maxBytes} bytes`);
    this.maxBytes = maxBytes;
  }
}

export function declaredLength(response: Response): number | undefined {
  const header = response.headers.get('content-length');
  if (header === null || !/^\d+$/.test(header.trim())) return undefined;
  return Number(header);
}

/** Reads the whole body, failing as soon as it exceeds `maxBytes`; the stream is cancelled, not drained. */
export async function readCapped(response: Response, maxBytes: number, algorithm: DigestAlgorithm = 'sha256'): Promise<ReadBody> {
  const declared = declaredLength(response);
  if (declared !== undefined && declared > maxBytes) {
    await response.body?.cancel();
    throw new BodyTooLargeError(maxBytes);
  }
  const hasher = new ContentHasher(algorithm);
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (response.body) {
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.byteLength;
        if (total > maxBytes) {
          await reader.cancel();
          throw new BodyTooLargeError(maxBytes);
        }
        hasher.update(value);
        chunks.push(value);
      }
    } finally {
      reader.releaseLock();
    }
  }
  return { bytes: Buffer.concat(chunks, total), digest: hasher.digest() };
}

/**
 * Lets go of a body the caller did not read, so the connection can go back to the keep-alive pool: small
 * bodies (error documents) are read to the end, anything else is cancelled (which closes the connection,
 * cheaper than downloading what nobody wants).
 */
export async function discardBody(response: Response): Promise<void> {
  if (!response.body || response.bodyUsed) return;
  const declared = declaredLength(response);
  try {
    if (declared !== undefined && declared <= 64 * 1024) await response.arrayBuffer();
    else await response.body.cancel();
  } catch {
    // The connection is gone already; nothing to give back.
  }
}

/**
 * The first error of a distribution-spec error body (`{"errors":[{"code","message"}]}`, spec "Error
 * Codes"), as `CODE "message"`, reduced to printable characters and 200 characters: it ends up in
 * messages and logs, and the registry wrote it.
 */
async function registryErrorOf(response: Response): Promise<string | undefined> {
  if (!response.body || response.bodyUsed) return undefined;
  let text: string;
  try {
    text = (await readCapped(response, 16 * 1024)).bytes.toString('utf8');
  } catch {
    return undefined;
  }
  let code: unknown;
  let message: unknown;
  try {
    const parsed: unknown = JSON.parse(text);
    const first: unknown = (parsed as { errors?: unknown[] } | null)?.errors?.[0];
    if (typeof first === 'object' && first !== null) ({ code, message } = first as { code?: unknown; message?: unknown });
  } catch {
    // Not JSON (distribution's "404 page not found", an HTML error page): show its start.
    const plain = sanitise(text);
    return plain ? JSON.stringify(plain) : undefined;
  }
  const parts = [typeof code === 'string' ? sanitise(code) : '', typeof message === 'string' && message ? JSON.stringify(sanitise(message)) : ''];
  const joined = parts.filter(Boolean).join(' ');
  return joined || undefined;
}

function sanitise(text: string): string {
  // eslint-disable-next-line no-control-regex
  const printable = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return printable.length > 200 ? `${printable.slice(0, 200)}…` : printable;
}

/** Status and registry error of a failed response, for an error message. */
export async function detailOf(response: Response): Promise<HttpDetail> {
  const registryError = await registryErrorOf(response);
  return registryError === undefined ? { status: response.status } : { status: response.status, registryError };
}
