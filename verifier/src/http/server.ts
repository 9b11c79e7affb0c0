// The request listener (docs/architecture.md "The HTTP contract"): a Fastify instance with the listener's
// server options, and the plugins that make the verifier's HTTP layer — load shedding (loadShedding.ts),
// JSON bodies whatever the Content-Type (body.ts), POST /checkimages with authentication on the route
// (checkImagesRoute.ts), plain-text errors (reply.ts). The benchmarks register the same plugins.
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import fp from 'fastify-plugin';
import type { Logger } from 'pino';
import { KnaError, Outcome } from '@kna/shared/errors';
import { checkImages, type PipelineDeps } from '../pipeline/checkImages.js';
import type { VerifierMetrics } from '../metrics.js';
import { jsonBody } from './body.js';
import { checkImagesRoute, type Authenticator, type CheckImagesRouteOptions } from './checkImagesRoute.js';
import { loadShedding, type PressureLimits } from './loadShedding.js';
import { errorHandler, sendText } from './reply.js';

export interface ServerOptions {
  readonly pipeline: PipelineDeps;
  /** Absent when --reviewKyvernoToken=false. */
  readonly authenticator?: Authenticator;
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

/** The Fastify server options of the request listener: timeouts from the request budget, the body limit, logging. */
export function serverOptions(options: Pick<ServerOptions, 'requestTimeoutMs' | 'maxRequestBytes' | 'logger' | 'https'>): FastifyServerOptions {
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
  return serverOptions;
}

export interface CheckImagesApiOptions extends CheckImagesRouteOptions {
  readonly maxRequestBytes: number;
  readonly pressure?: PressureLimits | undefined;
}

/** The verifier's HTTP layer on a listener: errors, load shedding, body parsing and the /checkimages route. */
async function checkImagesApiPlugin(app: FastifyInstance, options: CheckImagesApiOptions): Promise<void> {
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
  app.setErrorHandler(errorHandler(options.maxRequestBytes));
  app.setNotFoundHandler((request, reply) => sendText(reply, 404, `no route ${request.method} ${request.url}; the verifier serves POST /checkimages`));
  await app.register(loadShedding, { limits: options.pressure, metrics: options.metrics });
  await app.register(jsonBody, { maxRequestBytes: options.maxRequestBytes });
  await app.register(checkImagesRoute, options);
}

export const checkImagesApi = fp(checkImagesApiPlugin, { name: 'kna-checkimages-api', fastify: '5.x' });

/** The request listener, not yet listening: the pipeline behind POST /checkimages. */
export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  // With https in the options Fastify makes an HTTPS server at run time; its type stays http.Server.
  const app = Fastify(serverOptions(options));
  await app.register(checkImagesApi, {
    check: (request, signal) => checkImages(options.pipeline, request, signal),
    authenticator: options.authenticator,
    onInfraError: options.answer.onInfraError,
    requestTimeoutMs: options.requestTimeoutMs,
    maxRequestBytes: options.maxRequestBytes,
    pressure: options.pressure,
    metrics: options.metrics,
  });
  return app;
}
