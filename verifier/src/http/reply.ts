// How the verifier answers anything but a verdict of 200: plain text with the reason (docs/architecture.md
// "The error and outcome model"), the status from the error's outcome, Retry-After on every 503.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { KnaError, Outcome } from '@kna/shared/errors';

/** Seconds every 503 of the verifier asks the caller to wait (Retry-After): could-not-verify and shed load alike. */
const RETRY_AFTER_SECONDS = 5;

function statusOf(err: KnaError): number {
  switch (err.code) {
    case 'VERIFIER_ERR_UNAUTHENTICATED':
      return 401;
    case 'VERIFIER_ERR_FORBIDDEN':
      return 403;
    default:
      break;
  }
  switch (err.outcome) {
    case Outcome.BadRequest:
      return 400;
    case Outcome.Denied:
      return 406;
    case Outcome.CouldNotVerify:
      return 503;
    default:
      return 500;
  }
}

/** The part of a reply a plain-text answer sets (any route's reply, whatever its schema). */
interface TextReply {
  code(status: number): unknown;
  type(contentType: string): unknown;
  header(name: string, value: string): unknown;
}

/** Sets the status and headers of a plain-text answer and returns its body; a 503 asks the caller to retry after RETRY_AFTER_SECONDS. */
export function textAnswer(reply: TextReply, status: number, text: string): string {
  reply.code(status);
  reply.type('text/plain; charset=utf-8');
  reply.header('x-content-type-options', 'nosniff');
  if (status === 503) reply.header('retry-after', String(RETRY_AFTER_SECONDS));
  return `${text}\n`;
}

/** Sends a plain-text answer (textAnswer). */
export function sendText(reply: FastifyReply, status: number, text: string): FastifyReply {
  return reply.send(textAnswer(reply, status, text));
}

/**
 * The listener's error handler: a coded error answers with its outcome's status and its message; an error
 * that carries a status was raised on purpose (Fastify's own 4xx/5xx, a plugin's 503) and its message is the
 * reason. Only an error nobody classified is an `internal error`, logged with its detail under the request
 * id the answer names.
 */
export function errorHandler(maxRequestBytes: number) {
  return (err: FastifyError | KnaError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    if (err instanceof KnaError) return sendText(reply, statusOf(err), err.message);
    if ('statusCode' in err && typeof err.statusCode === 'number' && err.statusCode >= 400) {
      const status = err.statusCode;
      if (status >= 500) request.log.error({ status, err: err.message, code: err.code }, 'request failed');
      return sendText(reply, status, status === 413 ? `the body is larger than ${maxRequestBytes} bytes` : err.message);
    }
    request.log.error({ err, reqId: request.id }, 'unexpected error');
    return sendText(reply, 500, `internal error (request ${request.id}; the verifier's log has the detail)`);
  };
}
