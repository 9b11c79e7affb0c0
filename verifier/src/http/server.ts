// The request listener: POST /checkimages (DESIGN.md §3). Fastify with a compiled request schema,
// a body parser that takes JSON whatever the Content-Type, authentication before the body is read,
// a deadline per request, load shedding, and one log line per request.
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import underPressure from '@fastify/under-pressure';
import type { Logger } from 'pino';
import { KnaError, Outcome } from '@kna/shared';
import { checkImages, type PipelineDeps, type PipelineResult } from '../pipeline/checkImages.js';
import { answer, type AnswerOptions } from '../pipeline/answer.js';
import type { RequestAuthenticator } from '../auth/tokenReview.js';
import { parseBody } from './body.js';
import { checkImagesRequestSchema, type CheckImagesRequest } from './requestSchema.js';
import type { VerifierMetrics } from '../metrics.js';
import { startDeadline } from '../deadline.js';

export interface ServerOptions {
  readonly pipeline: PipelineDeps;
  /** Absent when --reviewKyvernoToken=false. */
  readonly authenticator?: RequestAuthenticator;
  readonly answer: Omit<AnswerOptions, 'mode' | 'onInfraError'> & { readonly onInfraError: 'deny' | 'allow' };
  /** --verifyTimeoutSeconds in ms. */
  readonly requestTimeoutMs: number;
  readonly maxRequestBytes: number;
  readonly logger: Logger;
  readonly metrics?: VerifierMetrics;
  /** TLS options for HTTPS (absent = plain HTTP). */
  readonly https?: { key: string | Buffer; cert: string | Buffer };
  /**
   * Shed load (503 + Retry-After) above these; 0 disables one. Default: only an event loop delayed by
   * more than a second. Utilisation is off by default because a verifier serving cached answers at
   * full speed runs near 100% utilisation and is healthy.
   */
  readonly pressure?: { maxEventLoopDelayMs?: number; maxEventLoopUtilization?: number; maxHeapUsedBytes?: number };
}

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

function sendText(reply: FastifyReply, status: number, text: string, retryAfterSeconds?: number): FastifyReply {
  reply.code(status).type('text/plain; charset=utf-8').header('x-content-type-options', 'nosniff');
  if (retryAfterSeconds !== undefined) reply.header('retry-after', String(retryAfterSeconds));
  return reply.send(`${text}\n`);
}

export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const bodyChecks = {
    requestTimeout: options.requestTimeoutMs,
    connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(options.requestTimeoutMs / 10))),
  };
  const serverOptions: FastifyServerOptions & { https?: ServerOptions['https'] & typeof bodyChecks; http?: typeof bodyChecks } = {
    loggerInstance: options.logger,
    // One line per request is written by the route itself, with the outcome.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.maxRequestBytes,
    // A body still arriving at the request's budget is cut then (408 and close). Node reads requestTimeout
    // when the server is constructed (Fastify's assignment afterwards has no effect on Node 20), and checks
    // it only every connectionsCheckingInterval (30 s by default): both go to the constructor, the check
    // at a tenth of the budget (at most every second).
    requestTimeout: options.requestTimeoutMs,
    ...(options.https ? { https: { ...options.https, ...bodyChecks } } : { http: bodyChecks }),
    // Kyverno's apiCall waits up to its webhook timeout; give up on an idle socket a little after our own deadline.
    connectionTimeout: options.requestTimeoutMs + 5_000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false, useDefaults: false } },
  };
  const app = Fastify(serverOptions) as unknown as FastifyInstance;

  await app.register(underPressure, {
    maxEventLoopDelay: options.pressure?.maxEventLoopDelayMs ?? 1_000,
    maxEventLoopUtilization: options.pressure?.maxEventLoopUtilization ?? 0,
    maxHeapUsedBytes: options.pressure?.maxHeapUsedBytes ?? 0,
    retryAfter: 5,
    message: 'the verifier is overloaded; retry shortly',
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: options.maxRequestBytes }, (_req, body, done) => {
    try {
      done(null, parseBody(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  app.setSchemaErrorFormatter((errors, dataVar) => {
    const first = errors[0];
    const path = first ? `/${dataVar === 'body' ? '' : `${dataVar}/`}${first.instancePath.replace(/^\//, '')}` : '/';
    if (path === '/' && first?.keyword === 'type') {
      // No body at all (Fastify does not run the parser on an empty one) or a JSON scalar.
      return new KnaError('VERIFIER_ERR_BAD_REQUEST', Outcome.BadRequest, 'invalid request: the body must be a JSON object with an "images" field');
    }
    const detail = first?.message ?? 'invalid';
    return new KnaError('VERIFIER_ERR_BAD_REQUEST', Outcome.BadRequest, `invalid request: ${path === '/' ? '(body)' : path} ${detail}`);
  });

  app.setErrorHandler((err: FastifyError | KnaError | Error, request, reply) => {
    if (err instanceof KnaError) return sendText(reply, statusOf(err), err.message, err.outcome === Outcome.CouldNotVerify ? 5 : undefined);
    const status = 'statusCode' in err && typeof err.statusCode === 'number' ? err.statusCode : 500;
    if (status >= 500) request.log.error({ err }, 'unexpected error');
    const text = status === 413 ? `the body is larger than ${options.maxRequestBytes} bytes` : status >= 500 ? 'internal error' : err.message;
    return sendText(reply, status, text, status === 503 ? 5 : undefined);
  });

  app.setNotFoundHandler((request, reply) => sendText(reply, 404, `no route ${request.method} ${request.url}; the verifier serves POST /checkimages`));

  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.url !== '/checkimages' || request.method !== 'POST' || !options.authenticator) return;
    await options.authenticator.authenticate(request.headers.authorization);
  });

  app.route({
    method: ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'],
    url: '/checkimages',
    handler: (_request, reply) => sendText(reply.header('allow', 'POST'), 405, 'Method Not Allowed: use POST'),
  });

  app.post('/checkimages', { schema: { body: checkImagesRequestSchema } }, async (request, reply) => {
    const started = performance.now();
    const body = request.body as CheckImagesRequest;
    // The request's budget, also cancelled when the caller goes away: the response's 'close' before it
    // finished means that (the request's own 'close' fires as soon as its body has been read).
    const budget = startDeadline(options.requestTimeoutMs);
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) budget.abort(new Error('client closed the connection'));
    });
    let result: PipelineResult;
    try {
      result = await checkImages(options.pipeline, body, budget.signal);
    } finally {
      budget.clear();
    }
    const mode = body.mode ?? 'enforce';
    const answered = answer(result, { ...options.answer, mode, onInfraError: body.onInfraError ?? options.answer.onInfraError });
    const durationMs = performance.now() - started;
    const counts: Record<string, number> = {};
    for (const r of result.reports) counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
    options.metrics?.observeRequest(answered.status, durationMs, result.reports);
    request.log.info(
      {
        status: answered.status,
        trustPolicy: result.trustPolicy,
        policyVersion: result.policyVersion.slice(0, 12),
        images: counts,
        cache: result.reports.map((r) => r.cache).filter((c) => c !== undefined),
        durationMs: Math.round(durationMs),
      },
      'checkimages',
    );
    if (answered.status === 200) return reply.code(200).type('application/json; charset=utf-8').send(JSON.stringify(answered.json));
    return sendText(reply, answered.status, answered.text, answered.retryAfterSeconds);
  });

  return app;
}
