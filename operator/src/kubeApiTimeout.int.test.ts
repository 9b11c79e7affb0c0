// --kube-api-timeout on the real API server: the operator reaches it through a loopback proxy that leaves the
// first read of the bundle ConfigMap and the first read of the CA ConfigMap unanswered (accepted, never answered:
// a paused or partitioned API server). Each read fails after the bound with KNA_ERR_KUBE_API_TIMEOUT, is logged with
// its verb and resource and counted, and the bundle reconcile and the certificate rotator retry and finish. Without
// the bound, both would wait on their first read for as long as the connection lives.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { CoreV1Api } from '@kubernetes/client-node';
import { eventually, startUnansweredProxy, useTestControlPlane, withNamespace } from '@kna/e2e';
import { startOperator } from './operator.js';
import { releaseNames } from './resources.js';
import { applyProductCrds, testFlags } from './testing/cluster.js';

const kube = useTestControlPlane({ shared: true });

describe('--kube-api-timeout', () => {
  before(() => applyProductCrds(kube()));

  it('a reconcile whose first ConfigMap read is never answered completes after the timeout and a retry', async () => {
    await withNamespace(kube(), async (namespace) => {
      const names = releaseNames('kyverno-notation-aws');
      const seen = new Set<string>();
      // The first GET of each of the two ConfigMaps (not a list or watch: those name the collection).
      const proxy = await startUnansweredProxy(kube().kubeConfig(), ({ method, path }) => {
        const first =
          method === 'GET' && [names.bundle, names.ca].some((name) => path === `/api/v1/namespaces/${namespace}/configmaps/${name}`) && !seen.has(path);
        seen.add(path);
        return first;
      });
      const lines: Record<string, unknown>[] = [];
      const log = pino(
        { level: 'warn' },
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
            done();
          },
        }),
      );
      // 2 s: long for a loopback API server, short for the test; the assertions do not depend on it.
      const operator = await startOperator({
        flags: testFlags(namespace, ['--kube-api-timeout=2s']),
        kubeConfig: proxy.kubeConfig(),
        log,
        watch: { backoff: { initialMs: 100, maxMs: 1_000 } },
      });
      try {
        const core = kube().kubeConfig().makeApiClient(CoreV1Api);
        // Written by the bundle reconcile and the certificate rotator once their read was retried.
        await eventually(() => core.readNamespacedConfigMap({ namespace, name: names.bundle }), { timeoutMs: 90_000 });
        await eventually(() => core.readNamespacedConfigMap({ namespace, name: names.ca }), { timeoutMs: 90_000 });
        assert.deepEqual([...proxy.unanswered].sort(), [
          `GET /api/v1/namespaces/${namespace}/configmaps/${names.bundle}`,
          `GET /api/v1/namespaces/${namespace}/configmaps/${names.ca}`,
        ]);

        const timedOut = lines.filter((l) => l.code === 'KNA_ERR_KUBE_API_TIMEOUT' && l.verb === 'get' && l.resource === 'configmaps');
        assert.deepEqual(timedOut.map((l) => l.name).sort(), [names.bundle, names.ca].sort(), JSON.stringify(lines));
        assert.ok(
          timedOut.every((l) => l.namespace === namespace && l.timeoutMs === 2_000),
          JSON.stringify(timedOut),
        );
        // The callers' own failure lines carry the explained error.
        const failed = lines.filter((l) => l.msg === 'reconcile failed; retrying' || l.msg === 'certificate reconcile failed; retrying');
        assert.equal(failed.length, 2, JSON.stringify(lines));
        for (const l of failed) {
          const err = l.err as { code?: string; message?: string };
          assert.equal(err.code, 'KNA_ERR_KUBE_API_TIMEOUT');
          assert.match(err.message ?? '', new RegExp(`^the API server did not answer get configmaps \\S+ in namespace ${namespace} within 2s$`));
        }

        const counted = await operator.metrics.registry.getSingleMetric('kna_operator_kube_api_timeouts_total')?.get();
        assert.deepEqual(
          counted?.values.map((v) => [v.labels, v.value]),
          [[{ verb: 'get', resource: 'configmaps' }, 2]],
        );
      } finally {
        // The proxy first: it ends the requests it holds, so that the operator's stop (which waits for a reconcile in
        // flight) cannot hang on one when the bound is broken, and the test fails instead of hanging.
        await proxy.close();
        await operator.stop();
      }
    });
  });
});
