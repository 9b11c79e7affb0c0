// The request listener: POST /checkimages (docs/architecture.md "The HTTP contract"). Fastify with a compiled request schema,
// a body parser that takes JSON whatever the Content-Type, authentication before the body is read,
// a deadline per request, load shedding, and one log line per request.
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import underPressure from '@fastify/under-pressure';
import type { Logger } from 'pino';
import { KnaError, Outcome } from '@kna/shared';
import { checkImages, type PipelineDeps, type PipelineResult } from '../pipeline/checkImages.js';
import { RETRY_AFTER_SECONDS, answer } from '../pipeline/answer.js';
import type { RequestAuthenticator } from '../auth/tokenReview.js';
import { parseBody } from './body.js';
import { checkImagesRequestSchema, type CheckImagesRequest } from '../request/schema.js';
import type { VerifierMetrics } from '../metrics.js';
import { startDeadline } from '../deadline.js';

export interface ServerOptions {
  readonly pipeline: PipelineDeps;
  /** Absent when --reviewKyvernoToken=false. */
  readonly authenticator?: RequestAuthenticator;
  /** --onInfraError, which a request's own onInfraError overrides. */
  readonly answer: { readonly onInfraError: 'deny' | 'allow' };
  /** --verifyTimeoutSeconds in ms. */
  readonly requestTimeoutMs: number;
  readonly maxRequestBytes: number;
  readonly logger: Logger;
  readonly metrics?: VerifierMetrics;
  /** TLS options for HTTPS (absent = plain HTTP). */
  readonly https?: { key: string | Buffer; cert: string | Buffer };
  /**
   * Shed load (503 + Retry-After) above these (--maxEventLoopDelay, --maxEventLoopUtilization,
   * --maxHeapUsedBytes); 0 disables one, and all 0 or absent registers no shedding at all.
   */
  readonly pressure?: PressureLimits;
}

export interface PressureLimits {
  readonly maxEventLoopDelayMs: number;
  /** A fraction of the last sample interval, 0-1. */
  readonly maxEventLoopUtilization: number;
  readonly maxHeapUsedBytes: number;
  /** How often under-pressure samples (ms); default 1000. Tests make it short. */
  readonly sampleIntervalMs?: number;
}

/** The reason of a shed request, in the words and units of the flag that set the limit. */
function pressureReason(type: string, value: number | undefined, limits: PressureLimits): string {
  const v = value ?? 0;
  switch (type) {
    case underPressure.TYPE_EVENT_LOOP_DELAY:
      return `event loop delay ${Math.round(v)} ms is above --maxEventLoopDelay=${limits.maxEventLoopDelayMs}`;
    case underPressure.TYPE_EVENT_LOOP_UTILIZATION:
      return `event loop utilisation ${v.toFixed(2)} is above --maxEventLoopUtilization=${limits.maxEventLoopUtilization}`;
    case underPressure.TYPE_HEAP_USED_BYTES:
      return `heap in use ${v} bytes is above --maxHeapUsedBytes=${limits.maxHeapUsedBytes}`;
    default:
      return `${type} ${v}`;
  }
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

  const limits = options.pressure;
  if (limits && (limits.maxEventLoopDelayMs > 0 || limits.maxEventLoopUtilization > 0 || limits.maxHeapUsedBytes > 0)) {
    await app.register(underPressure, {
      maxEventLoopDelay: limits.maxEventLoopDelayMs,
      maxEventLoopUtilization: limits.maxEventLoopUtilization,
      maxHeapUsedBytes: limits.maxHeapUsedBytes,
      // Utilisation of the last sample interval, not since start-up (under-pressure's default), so a
      // busy start does not shed for minutes afterwards.
      eventLoopUtilizationMode: 'interval',
      ...(limits.sampleIntervalMs !== undefined && { sampleInterval: limits.sampleIntervalMs }),
      // Our own answer instead of under-pressure's error: the caller and the log see which limit was
      // crossed, and the answer has the same shape as every other 503 (text, Retry-After).
      pressureHandler: (request, reply, type, value) => {
        const reason = `the verifier is overloaded (${pressureReason(type, value, limits)}); retry shortly`;
        options.metrics?.observeRequest(503, 0, []);
        request.log.warn({ status: 503, shed: type, value }, reason);
        sendText(reply, 503, reason, RETRY_AFTER_SECONDS);
      },
    });
  }

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
    if (err instanceof KnaError) return sendText(reply, statusOf(err), err.message, err.outcome === Outcome.CouldNotVerify ? RETRY_AFTER_SECONDS : undefined);
    // An error that carries a status was raised on purpose (Fastify's own 4xx/5xx, a plugin's 503):
    // its message is the reason and goes to the caller. Only an error nobody classified is an
    // `internal error`, logged with its detail under the request id the answer names.
    if ('statusCode' in err && typeof err.statusCode === 'number' && err.statusCode >= 400) {
      const status = err.statusCode;
      if (status >= 500) request.log.error({ status, err: err.message, code: err.code }, 'request failed');
      const text = status === 413 ? `the body is larger than ${options.maxRequestBytes} bytes` : err.message;
      return sendText(reply, status, text, status === 503 ? RETRY_AFTER_SECONDS : undefined);
    }
    request.log.error({ err, reqId: request.id }, 'unexpected error');
    return sendText(reply, 500, `internal error (request ${request.id}; the verifier's log has the detail)`);
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

  app.post<{ Body: CheckImagesRequest }>('/checkimages', { schema: { body: checkImagesRequestSchema } }, async (request, reply) => {
    const started = performance.now();
    const body = request.body;
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
    const answered = answer(result, { mode, onInfraError: body.onInfraError ?? options.answer.onInfraError });
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
