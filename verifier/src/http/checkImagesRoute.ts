// POST /checkimages (docs/architecture.md "The HTTP contract"): authentication on the route before the
// body is read, the body validated by the request schema (its type derived from the same schema), a
// deadline per request, the answer serialised by its response schema, and one log line per request.
// An encapsulated plugin: its hooks apply to this route only.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { PipelineResult } from '../pipeline/checkImages.js';
import { answer, answerJsonSchema } from '../pipeline/answer.js';
import { checkImagesRequestSchema, type CheckImagesRequest } from '../request/schema.js';
import type { VerifierMetrics } from '../metrics.js';
import { startDeadline } from '../deadline.js';
import { sendText, textAnswer } from './reply.js';

/** What authenticates a caller from its Authorization header (auth/tokenReview.ts); throws a coded 401/403/503. */
export interface Authenticator {
  authenticate(authorization: string | undefined): Promise<unknown>;
}

export interface CheckImagesRouteOptions {
  /** Runs the pipeline for one validated request within the request's budget. */
  readonly check: (request: CheckImagesRequest, signal: AbortSignal) => Promise<PipelineResult>;
  /** Absent when --reviewKyvernoToken=false. */
  readonly authenticator?: Authenticator | undefined;
  /** --onInfraError, which a request's own onInfraError overrides. */
  readonly onInfraError: 'deny' | 'allow';
  /** --verifyTimeoutSeconds in ms. */
  readonly requestTimeoutMs: number;
  readonly metrics?: VerifierMetrics | undefined;
}

const responseSchema = {
  200: answerJsonSchema,
  // Every other answer is plain text with the reason (reply.ts).
  '4xx': { type: 'string' },
  '5xx': { type: 'string' },
} as const;

export function checkImagesRoute(instance: FastifyInstance, options: CheckImagesRouteOptions): Promise<void> {
  const app = instance.withTypeProvider<JsonSchemaToTsProvider>();
  const { authenticator, metrics } = options;

  app.route({
    method: ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'],
    url: '/checkimages',
    handler: (_request, reply) => sendText(reply.header('allow', 'POST'), 405, 'Method Not Allowed: use POST'),
  });

  app.post(
    '/checkimages',
    {
      schema: { body: checkImagesRequestSchema, response: responseSchema },
      // Before the body is read: an unauthenticated caller never gets its body parsed.
      ...(authenticator && {
        onRequest: async (request: FastifyRequest) => {
          await authenticator.authenticate(request.headers.authorization);
        },
      }),
    },
    async (request, reply) => {
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
        result = await options.check(body, budget.signal);
      } finally {
        budget.clear();
      }
      const answered = answer(result, { mode: body.mode ?? 'enforce', onInfraError: body.onInfraError ?? options.onInfraError });
      const durationMs = performance.now() - started;
      const counts: Record<string, number> = {};
      const cache: string[] = [];
      for (const r of result.reports) {
        counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
        if (r.cache !== undefined) cache.push(r.cache);
      }
      metrics?.observeRequest(answered.status, durationMs, result.reports);
      request.log.info(
        {
          status: answered.status,
          trustPolicy: result.trustPolicy,
          policyVersion: result.policyVersion.slice(0, 12),
          images: counts,
          cache,
          durationMs: Math.round(durationMs),
        },
        'checkimages',
      );
      if (answered.status === 200) return answered.json;
      return textAnswer(reply, answered.status, answered.text);
    },
  );
  return Promise.resolve();
}
