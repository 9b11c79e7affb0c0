// KubeClient's request bound against a loopback HTTP server that accepts requests and leaves them unanswered (or
// answers the headers and never finishes the body): what an API server that is paused or partitioned looks like to
// a client. The bound on the real API server, through the operator's reconcile, is in the operator's
// kubeApiTimeout.int.test.ts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { KubeClient, requestTarget } from './client.js';
import { statusCodeOf } from './listWatch.js';
import { KubeRequestTimeoutError } from './errors.js';

describe('requestTarget', () => {
  const at = (method: string, path: string) => requestTarget(method, new URL(path, 'https://api.example:6443'));

  it('names the verb and resource of core and group requests, namespaced or not', () => {
    assert.deepEqual(at('GET', '/api/v1/namespaces/kna/configmaps/bundle'), { verb: 'get', resource: 'configmaps', namespace: 'kna', name: 'bundle' });
    assert.deepEqual(at('GET', '/api/v1/namespaces/kna/configmaps?labelSelector=a'), { verb: 'list', resource: 'configmaps', namespace: 'kna' });
    assert.deepEqual(at('GET', '/api/v1/namespaces/kna/configmaps?watch=true&timeoutSeconds=300'), {
      verb: 'watch',
      resource: 'configmaps',
      namespace: 'kna',
    });
    assert.deepEqual(at('POST', '/api/v1/namespaces/kna/secrets'), { verb: 'create', resource: 'secrets', namespace: 'kna' });
    assert.deepEqual(at('PUT', '/apis/notation.nirmata.io/v1alpha1/trustpolicies/tp/status'), {
      verb: 'update',
      resource: 'trustpolicies.notation.nirmata.io/status',
      name: 'tp',
    });
    assert.deepEqual(at('PATCH', '/apis/kyverno.io/v1/clusterpolicies/p'), { verb: 'patch', resource: 'clusterpolicies.kyverno.io', name: 'p' });
    assert.deepEqual(at('DELETE', '/api/v1/namespaces/kna/secrets/s'), { verb: 'delete', resource: 'secrets', namespace: 'kna', name: 's' });
    assert.deepEqual(at('DELETE', '/api/v1/namespaces/kna/secrets'), { verb: 'deletecollection', resource: 'secrets', namespace: 'kna' });
    assert.deepEqual(at('GET', '/apis/coordination.k8s.io/v1/namespaces/kna/leases/op'), {
      verb: 'get',
      resource: 'leases.coordination.k8s.io',
      namespace: 'kna',
      name: 'op',
    });
  });

  it('a namespace is an object of its own, and so are its status and finalize', () => {
    assert.deepEqual(at('GET', '/api/v1/namespaces/kna'), { verb: 'get', resource: 'namespaces', name: 'kna' });
    assert.deepEqual(at('PUT', '/api/v1/namespaces/kna/finalize'), { verb: 'update', resource: 'namespaces/finalize', name: 'kna' });
  });

  it('keeps a server path prefix out of the resource, and names a non-resource path by itself', () => {
    assert.deepEqual(at('GET', '/k8s/clusters/c-1/api/v1/namespaces/kna/configmaps/b'), { verb: 'get', resource: 'configmaps', namespace: 'kna', name: 'b' });
    assert.deepEqual(at('GET', '/version'), { verb: 'get', resource: '/version' });
  });
});

/** What the loopback server does with a request. */
type Behaviour = 'answer' | 'hang' | 'headers-only' | 'unauthorized';

describe('KubeClient: every request but a watch is bounded', () => {
  let server: Server;
  let behaviour: Behaviour = 'answer';
  const open = new Set<ServerResponse>();
  const seen: string[] = [];

  before(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      seen.push(`${req.method ?? ''} ${req.url ?? ''}`);
      req.resume();
      const watch = new URL(req.url ?? '/', 'http://x').searchParams.get('watch') === 'true';
      if (watch) {
        // A watch that starts and then delivers nothing.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.flushHeaders();
        open.add(res);
        return;
      }
      if (behaviour === 'hang') {
        open.add(res);
        return;
      }
      if (behaviour === 'unauthorized') {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', code: 401, message: 'Unauthorized' }));
        return;
      }
      if (behaviour === 'headers-only') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"apiVersion":"v1","kind":"ConfigMap",');
        open.add(res);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        req.url?.includes('/configmaps/')
          ? JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b', namespace: 'kna', resourceVersion: '7' } })
          : JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMapList', metadata: { resourceVersion: '9' }, items: [] }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  after(async () => {
    for (const res of open) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  function client(requestTimeoutMs: number, timeouts: KubeRequestTimeoutError[] = []): KubeClient {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: 'loopback', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
      users: [{ name: 'nobody' }],
      contexts: [{ name: 'loopback', cluster: 'loopback', user: 'nobody' }],
      currentContext: 'loopback',
    });
    return new KubeClient(kubeConfig, { requestTimeoutMs, onTimeout: (err) => timeouts.push(err) });
  }

  it('a read the server never answers fails with KNA_ERR_KUBE_API_TIMEOUT, naming the verb and resource', async () => {
    behaviour = 'hang';
    const timeouts: KubeRequestTimeoutError[] = [];
    const core = client(300, timeouts).api(CoreV1Api);
    const err: unknown = await core.readNamespacedConfigMap({ name: 'bundle', namespace: 'kna' }).then(
      () => assert.fail('answered'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof KubeRequestTimeoutError, String(err));
    assert.equal(err.code, 'KNA_ERR_KUBE_API_TIMEOUT');
    assert.equal(err.message, 'the API server did not answer get configmaps bundle in namespace kna within 300ms');
    assert.deepEqual([err.verb, err.resource, err.namespace, err.objectName], ['get', 'configmaps', 'kna', 'bundle']);
    assert.deepEqual(
      timeouts.map((t) => t.message),
      [err.message],
    );
  });

  it('so does a write, and an answer whose body never ends', async () => {
    behaviour = 'hang';
    const custom = client(300).api(CustomObjectsApi);
    await assert.rejects(
      custom.patchClusterCustomObject({ group: 'kyverno.io', version: 'v1', plural: 'clusterpolicies', name: 'p', body: [] }),
      (err: unknown) => err instanceof KubeRequestTimeoutError && err.verb === 'patch' && err.resource === 'clusterpolicies.kyverno.io',
    );
    behaviour = 'headers-only';
    await assert.rejects(
      client(300).api(CoreV1Api).readNamespacedConfigMap({ name: 'b', namespace: 'kna' }),
      (err: unknown) => err instanceof KubeRequestTimeoutError && err.verb === 'get',
    );
  });

  it("a list-watch's list is bounded; its watch is not (it ends at its own timeoutSeconds or by ListWatcher's watchdog)", async () => {
    const timeouts: KubeRequestTimeoutError[] = [];
    const source = client(200, timeouts).listWatchSource({ group: '', version: 'v1', plural: 'configmaps', namespace: 'kna' });
    const stop = new AbortController();
    for (const b of ['hang', 'headers-only'] as const) {
      behaviour = b;
      await assert.rejects(
        source.list(stop.signal),
        (err: unknown) => err instanceof KubeRequestTimeoutError && err.verb === 'list' && err.resource === 'configmaps' && err.namespace === 'kna',
      );
    }
    assert.equal(timeouts.length, 2);
    let ended = false;
    const watching = source.watch('9', 300, () => undefined, stop.signal).finally(() => (ended = true));
    watching.catch(() => undefined);
    // Well past the request bound: a watch must not have been cut by it.
    await sleep(1_000);
    assert.equal(ended, false);
    stop.abort();
    await watching.catch(() => undefined);
    assert.equal(timeouts.length, 2);
  });

  it('an answered request is no timeout, also after its bound has passed (a 401 whose body nobody reads too), and a stopped list is not one either', async () => {
    behaviour = 'answer';
    const timeouts: KubeRequestTimeoutError[] = [];
    // 2 s: far more than a loopback answer takes, even on a loaded machine.
    const kube = client(2_000, timeouts);
    const cm = await kube.api(CoreV1Api).readNamespacedConfigMap({ name: 'b', namespace: 'kna' });
    assert.equal(cm.metadata?.resourceVersion, '7');
    const listed = await kube.listWatchSource({ group: '', version: 'v1', plural: 'configmaps', namespace: 'kna' }).list(new AbortController().signal);
    assert.equal(listed.resourceVersion, '9');
    behaviour = 'unauthorized';
    await assert.rejects(kube.api(CoreV1Api).readNamespacedConfigMap({ name: 'b', namespace: 'kna' }), (err: unknown) => statusCodeOf(err) === 401);
    behaviour = 'hang';
    const stop = new AbortController();
    const listing = kube.listWatchSource({ group: '', version: 'v1', plural: 'configmaps' }).list(stop.signal);
    stop.abort();
    await assert.rejects(listing, (err: unknown) => !(err instanceof KubeRequestTimeoutError));
    await sleep(2_500);
    assert.deepEqual(
      timeouts.map((t) => t.message),
      [],
    );
  });
});
