// Network failures in product terms, for answers: what failed (refused, DNS, TLS: certificate not
// trusted…) and the system code, never the TLS library's internals ("error:0A00010B:SSL routines…",
// OpenSSL source paths) or request URLs. The full error goes to the log where it is caught.

/** The system or TLS error at the bottom of a `fetch failed` / client error chain. */
function rootCause(err: unknown): (Error & { code?: unknown }) | undefined {
  let cause: unknown = err;
  for (let depth = 0; depth < 4 && cause instanceof Error && cause.cause !== undefined; depth++) cause = cause.cause;
  return cause instanceof Error ? cause : err instanceof Error ? err : undefined;
}

// Node's certificate verification codes (X509_V_ERR_* names without the prefix) and its own.
const UNTRUSTED_CERTIFICATE =
  /^(?:UNABLE_TO_|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_|INVALID_CA|PATH_LENGTH_EXCEEDED|INVALID_PURPOSE|HOSTNAME_MISMATCH)/;

/** `text` without URLs: a quoted Go-style `Get "https://…": ` prefix is dropped, other URLs become their host. */
export function withoutUrls(text: string): string {
  return text.replace(/\b[A-Za-z]+ "https?:\/\/[^"]*": /g, '').replace(/\bhttps?:\/\/[^\s"',)]+/g, (url) => {
    try {
      return new URL(url).host;
    } catch {
      return '(url)';
    }
  });
}

/** A short reason for a failed network call (undici wraps the system error in `TypeError: fetch failed`). */
export function describeNetworkError(err: unknown): { code?: string; reason: string } {
  const error = rootCause(err);
  const code = typeof error?.code === 'string' ? error.code : undefined;
  const message = error?.message ?? String(err);
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { code, reason: `DNS lookup failed (${code})` };
    case 'ECONNREFUSED':
      return { code, reason: 'connection refused (ECONNREFUSED)' };
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
      return { code, reason: `connection closed by the other side (${code})` };
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return { code, reason: 'connect timeout' };
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return { code, reason: `TLS failed: the server certificate is not valid for this host name (${code})` };
    case 'CERT_HAS_EXPIRED':
      return { code, reason: `TLS failed: the server certificate has expired (${code})` };
    default:
      break;
  }
  if (code !== undefined && UNTRUSTED_CERTIFICATE.test(code)) return { code, reason: `TLS failed: the server certificate is not trusted (${code})` };
  if ((code !== undefined && (code.startsWith('ERR_SSL_') || code === 'EPROTO')) || /SSL routines|openssl/i.test(message)) {
    return {
      ...(code !== undefined && { code }),
      reason: `TLS handshake failed; the server may not serve TLS on this port${code !== undefined ? ` (${code})` : ''}`,
    };
  }
  const text = withoutUrls(message);
  return code === undefined ? { reason: text } : { code, reason: `${text} (${code})` };
}
