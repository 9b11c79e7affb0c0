// Kyverno's real admission controller out of cluster against a test control plane: it listens on
// loopback only, registers URL webhooks the API server calls, and a ClusterPolicy in the original
// service's sample shape sends each Pod's images to an apiCall.service endpoint — here a small HTTPS
// endpoint of the test that records what Kyverno sends (body, Authorization) and answers like the
// verifier, so the request Kyverno builds and what it does with each answer are both checked.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, readlinkSync, renameSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { createServer, type Server } from 'node:https';
import { AuthenticationV1Api } from '@kubernetes/client-node';
import { createClusterCa } from '../kube/pki.js';
import { useTestControlPlane } from '../kube/testing.js';
import { KYVERNO_APICALL_AUDIENCE, KYVERNO_NAMESPACE, KYVERNO_SERVICE_ACCOUNT, KYVERNO_WEBHOOK_LABEL, startKyverno, type RunningKyverno } from './kyverno.js';
import { SAMPLE_ATTESTATION, checkImagesPolicy } from './policy.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const REGISTRY = '127.0.0.1:5999';

interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** An HTTPS endpoint on 127.0.0.1 that records every request and answers with `answer(body)`. */
async function startEndpoint(certPem: string, keyPem: string) {
  const recorded: Recorded[] = [];
  let answer: (body: Record<string, unknown>) => Answer = () => ({ status: 500, body: 'no answer set' });
  const server: Server = createServer({ cert: certPem, key: keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      recorded.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      let reply: Answer;
      try {
        reply = answer(JSON.parse(body) as Record<string, unknown>);
      } catch (err) {
        reply = { status: 400, body: String(err) };
      }
      res.writeHead(reply.status, { 'content-type': reply.status === 200 ? 'application/json' : 'text/plain' });
      res.end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `https://127.0.0.1:${port}/checkimages`,
    recorded,
    answerWith: (fn: typeof answer) => {
      answer = fn;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The local addresses of the TCP sockets `pid` listens on (from /proc: its socket inodes in its network namespace's tables). */
function listeningAddresses(pid: number): string[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m?.[1]) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  const found: string[] = [];
  for (const table of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local_address rem_address st … inode: st 0A is LISTEN.
      if (cols[3] !== '0A' || !inodes.has(cols[9] ?? '')) continue;
      const [hex = '', portHex = ''] = (cols[1] ?? '').split(':');
      const port = parseInt(portHex, 16);
      if (hex.length === 8) {
        const ip = [6, 4, 2, 0].map((i) => parseInt(hex.slice(i, i + 2), 16)).join('.');
        found.push(`${ip}:${port}`);
      } else {
        found.push(`[${hex}]:${port}`);
      }
    }
  }
  return found;
}

function podManifest(namespace: string, name: string, images: Record<string, string>, initImages: Record<string, string> = {}): string {
  const containers = (list: Record<string, string>) => Object.entries(list).map(([n, image]) => ({ name: n, image }));
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace },
    spec: { containers: containers(images), ...(Object.keys(initImages).length > 0 && { initContainers: containers(initImages) }) },
  });
}

const kube = useTestControlPlane();

describe('Kyverno out of cluster', () => {
  let kyverno: RunningKyverno | undefined;
  let endpoint: Awaited<ReturnType<typeof startEndpoint>> | undefined;
  const ns = 'test-notation';
  const serverNs = 'kyverno-notation-aws';

  before(async () => {
    kyverno = await startKyverno(kube());
    const ca = await createClusterCa('kna-e2e-endpoint-ca');
    const serving = await ca.issueServing({ ips: ['127.0.0.1'], dnsNames: [] });
    endpoint = await startEndpoint(serving.certPem, serving.keyPem);
    // The sample reads the CA bundle from the service's TLS Secret (what the operator will maintain).
    await kube().kubectl(['create', 'namespace', serverNs]);
    await kube().kubectl(['create', 'namespace', ns]);
    await kube().kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'kubernetes.io/tls',
        metadata: { name: 'svc.kyverno-notation-aws.svc.tls-pair', namespace: serverNs },
        data: { 'tls.crt': Buffer.from(serving.certPem).toString('base64'), 'tls.key': Buffer.from(serving.keyPem).toString('base64') },
      }),
    });
    const policy = checkImagesPolicy({
      namespaces: [ns],
      url: endpoint.url,
      ca: { tlsSecret: { namespace: serverNs, name: 'svc.kyverno-notation-aws.svc.tls-pair' } },
      imageReferences: [`${REGISTRY}/*`],
      attestations: [SAMPLE_ATTESTATION],
    });
    await kube().kubectl(['apply', '-f', '-'], { input: JSON.stringify(policy) });
    await kube().kubectl(['wait', '--for=condition=Ready', '--timeout=120s', 'clusterpolicy/check-images'], { timeoutMs: 130_000 });
  });

  after(async () => {
    await kyverno?.stop();
    await endpoint?.close();
  });

  const started = () => {
    assert.ok(kyverno && endpoint, 'Kyverno or the endpoint did not start');
    return { kyverno, endpoint };
  };

  it('listens on 127.0.0.1 only', () => {
    const { kyverno } = started();
    const addresses = listeningAddresses(kyverno.pid);
    assert.ok(addresses.includes(`127.0.0.1:${kyverno.port}`), `webhook port not among ${addresses.join(', ')}`);
    for (const address of addresses) assert.match(address, /^127\.0\.0\.1:\d+$/, `Kyverno listens on ${address}`);
  });

  it('registers its webhooks at its loopback URL, failing closed', async () => {
    const { kyverno } = started();
    const out = await kube().kubectl(['get', 'validatingwebhookconfigurations,mutatingwebhookconfigurations', '-l', KYVERNO_WEBHOOK_LABEL, '-o', 'json']);
    const list = JSON.parse(out.stdout) as { items: { metadata: { name: string }; webhooks?: { clientConfig: { url?: string; service?: unknown } }[] }[] };
    assert.ok(list.items.length >= 2, `only ${list.items.length} webhook configurations`);
    for (const item of list.items) {
      for (const webhook of item.webhooks ?? []) {
        assert.equal(webhook.clientConfig.service, undefined, `${item.metadata.name} uses a Service`);
        assert.ok(webhook.clientConfig.url?.startsWith(`https://127.0.0.1:${kyverno.port}/`), `${item.metadata.name}: ${webhook.clientConfig.url}`);
      }
    }
  });

  it('admits a pod with the answered patch applied, after sending the sample request with a scoped token', async (t) => {
    const { endpoint } = started();
    endpoint.answerWith(() => ({
      status: 200,
      body: JSON.stringify({ verified: true, results: [{ op: 'replace', path: '/spec/containers/0/image', value: `${REGISTRY}/demo/app@${DIGEST}` }] }),
    }));
    const before = endpoint.recorded.length;
    await kube().kubectl(['apply', '-f', '-'], { input: podManifest(ns, 'signed', { app: `${REGISTRY}/demo/app:v1` }) });

    const image = await kube().kubectl(['-n', ns, 'get', 'pod', 'signed', '-o', 'jsonpath={.spec.containers[0].image}']);
    assert.equal(image.stdout, `${REGISTRY}/demo/app@${DIGEST}`);

    const calls = endpoint.recorded.slice(before);
    assert.ok(calls.length >= 1, 'the apiCall never arrived');
    const call = calls[0];
    assert.ok(call);
    assert.equal(call.method, 'POST');
    assert.equal(call.url, '/checkimages');
    const body = JSON.parse(call.body) as Record<string, unknown>;
    t.diagnostic(`Kyverno's /checkimages body: ${call.body}`);
    const app = (body.images as { containers?: Record<string, Record<string, unknown>> }).containers?.app;
    assert.ok(app, call.body);
    assert.deepEqual(
      { registry: app.registry, path: app.path, name: app.name, tag: app.tag, jsonPointer: app.jsonPointer },
      { registry: REGISTRY, path: 'demo/app', name: 'app', tag: 'v1', jsonPointer: '/spec/containers/0/image' },
    );
    assert.deepEqual(body.imageReferences, [`${REGISTRY}/*`]);
    assert.equal(body.trustPolicy, `tp-${ns}`);
    // The escaped key reaches the service unsubstituted, for it to evaluate on the attestation.
    assert.deepEqual(body.attestations, [
      {
        imageReference: '*',
        type: [
          {
            name: 'sbom/example',
            conditions: { all: [{ key: '{{creationInfo.licenseListVersion}}', operator: 'Equals', value: '3.17', message: 'invalid license version' }] },
          },
        ],
      },
    ]);

    // Kyverno's scoped token: a ServiceAccount token for its audience, which TokenReview resolves to
    // the admission controller's ServiceAccount only when the review names that audience.
    const auth = call.headers.authorization ?? '';
    assert.match(auth, /^Bearer \S+$/);
    const token = auth.slice('Bearer '.length);
    const review = await kube()
      .kubeConfig()
      .makeApiClient(AuthenticationV1Api)
      .createTokenReview({ body: { spec: { token, audiences: [KYVERNO_APICALL_AUDIENCE] } } });
    assert.equal(review.status?.authenticated, true, review.status?.error);
    assert.equal(review.status.user?.username, `system:serviceaccount:${KYVERNO_NAMESPACE}:${KYVERNO_SERVICE_ACCOUNT}`);
  });

  it("rejects a pod when the service answers 406, with the service's reason in kubectl's error", async () => {
    const { endpoint } = started();
    const reason = 'container "app" image 127.0.0.1:5999/demo/unsigned:v1: signature not found; sign the image';
    endpoint.answerWith(() => ({ status: 406, body: reason }));
    const res = await kube().kubectl(['apply', '-f', '-'], { input: podManifest(ns, 'unsigned', { app: `${REGISTRY}/demo/unsigned:v1` }), allowFailure: true });
    assert.notEqual(res.status, 0, 'the pod was admitted');
    assert.ok(res.stderr.includes(reason), res.stderr);
    const get = await kube().kubectl(['-n', ns, 'get', 'pod', 'unsigned', '--ignore-not-found', '-o', 'name']);
    assert.equal(get.stdout, '');
  });

  it('pins init containers and every container with the patches answered', async () => {
    const { endpoint } = started();
    endpoint.answerWith((body) => {
      const images = body.images as Record<string, Record<string, { jsonPointer: string; registry: string; path: string }>>;
      const results = Object.values(images)
        .flatMap((group) => Object.values(group))
        .map((i) => ({ op: 'replace', path: i.jsonPointer, value: `${i.registry}/${i.path}@${DIGEST}` }));
      return { status: 200, body: JSON.stringify({ verified: true, results }) };
    });
    await kube().kubectl(['apply', '-f', '-'], {
      input: podManifest(ns, 'multi', { a: `${REGISTRY}/demo/a:v1`, b: `${REGISTRY}/demo/b:v2` }, { init: `${REGISTRY}/demo/init:v3` }),
    });
    const out = await kube().kubectl(['-n', ns, 'get', 'pod', 'multi', '-o', 'jsonpath={.spec.initContainers[*].image} {.spec.containers[*].image}']);
    assert.equal(out.stdout, [`${REGISTRY}/demo/init@${DIGEST}`, `${REGISTRY}/demo/a@${DIGEST}`, `${REGISTRY}/demo/b@${DIGEST}`].join(' '));
  });

  it('sends no Authorization header when no scoped token is mounted', async () => {
    const { kyverno, endpoint } = started();
    endpoint.answerWith(() => ({ status: 200, body: JSON.stringify({ verified: true, results: [] }) }));
    // Kyverno reads the token file on every call, so moving it away takes effect at once.
    renameSync(kyverno.tokenFile, `${kyverno.tokenFile}.away`);
    try {
      const before = endpoint.recorded.length;
      await kube().kubectl(['apply', '-f', '-'], { input: podManifest(ns, 'no-token', { app: `${REGISTRY}/demo/app:v1` }) });
      const call = endpoint.recorded.slice(before)[0];
      assert.ok(call, 'the apiCall never arrived');
      assert.equal(call.headers.authorization, undefined);
    } finally {
      renameSync(`${kyverno.tokenFile}.away`, kyverno.tokenFile);
    }
  });
});
