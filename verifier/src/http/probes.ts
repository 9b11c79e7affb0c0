// The probe and metrics listeners' routes (--health-probe-bind-address, --metrics-bind-address): each
// listener is a Fastify instance of its own, so a slow or shed /checkimages never delays a probe.
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export interface ProbeOptions {
  /** Why the verifier is not ready (no bundle loaded, shutting down…); empty when it is. */
  readonly notReady: () => readonly string[];
}

/** /livez and /healthz (the process answers), /readyz (503 with the reasons until it can serve). */
export function probeRoutes(app: FastifyInstance, { notReady }: ProbeOptions): Promise<void> {
  app.get('/livez', () => 'ok');
  app.get('/healthz', () => 'ok');
  app.get('/readyz', async (_request, reply) => {
    const problems = notReady();
    if (problems.length > 0) return reply.code(503).send(problems.join('; '));
    return 'ok';
  });
  return Promise.resolve();
}

export interface MetricsOptions {
  readonly registry: Registry;
}

/** /metrics in the Prometheus text format. */
export function metricsRoute(app: FastifyInstance, { registry }: MetricsOptions): Promise<void> {
  app.get('/metrics', async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  return Promise.resolve();
}
