// Two and three operator processes on one real API server: only the leader writes, audited with the API server's
// own audit log (every create/update/patch/delete of ConfigMaps, Secrets, Leases and the product's objects, with
// the client-certificate user of each process); a killed leader is replaced, a terminated one hands over at once,
// and a leader paused past its lease never writes again after it resumes, and exits non-zero.
// Takeover times are printed, not asserted (the machine may be loaded); the benchmark measures them.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, writeFileSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { CoordinationV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { eventually, freePort, useTestControlPlane, withNamespace, writeUserKubeconfig } from '@kna/e2e';
import { LeaderElector, type LeaderElectionEvent } from '@kna/shared';
import { createCa } from './certificates/pki.js';
import { applyProductCrds, trustPolicy, trustStore } from './testing/cluster.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const auditDir = mkdtempSync(join(tmpdir(), 'kna-audit-'));
const auditLog = join(auditDir, 'audit.log');
writeFileSync(
  join(auditDir, 'policy.yaml'),
  `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    verbs: [create, update, patch, delete]
    resources:
      - {group: "", resources: [configmaps, secrets]}
      - {group: coordination.k8s.io, resources: [leases]}
      - {group: notation.nirmata.io}
  - level: None
`,
);
const kube = useTestControlPlane({
  extraApiServerArgs: [`--audit-policy-file=${join(auditDir, 'policy.yaml')}`, `--audit-log-path=${auditLog}`, '--audit-log-mode=blocking'],
});

interface AuditEntry {
  verb: string;
  user: { username: string };
  objectRef?: { resource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
  requestReceivedTimestamp: string;
}

function audit(namespace: string): { user: string; resource: string; name: string; at: number }[] {
  return readFileSync(auditLog, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as AuditEntry)
    .filter((e) => e.user.username.startsWith('op-') && (e.responseStatus?.code ?? 0) < 300)
    .filter((e) => e.objectRef?.namespace === undefined || e.objectRef.namespace === namespace || e.objectRef.namespace === 'default')
    .map((e) => ({ user: e.user.username, resource: e.objectRef?.resource ?? '', name: e.objectRef?.name ?? '', at: Date.parse(e.requestReceivedTimestamp) }));
}

interface OperatorProcess {
  readonly user: string;
  readonly child: ChildProcess;
  readonly probe: string;
  readonly exited: Promise<number | null>;
}

async function spawnOperator(namespace: string, user: string, logDir: string): Promise<OperatorProcess> {
  const kubeconfig = await writeUserKubeconfig(kube(), { user, groups: ['system:masters'] });
  const port = await freePort();
  const log = openSync(join(logDir, `${user}.log`), 'a');
  // node --import tsx (not the tsx CLI, which runs the program in a child process that signals would miss).
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions=source',
      'operator/src/main.ts',
      `--namespace=${namespace}`,
      `--identity=${user}`,
      `--kubeconfig=${kubeconfig}`,
      '--metrics-bind-address=0',
      `--health-probe-bind-address=127.0.0.1:${port}`,
      '--leader-elect-lease-duration=10s',
      '--leader-elect-renew-deadline=8s',
      '--leader-elect-retry-period=1s',
      '--inject-ca=false',
      '--debounce=50ms',
    ],
    { cwd: ROOT, stdio: ['ignore', log, log] },
  );
  closeSync(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { user, child, probe: `http://127.0.0.1:${port}/readyz`, exited };
}

async function ready(op: OperatorProcess): Promise<void> {
  await eventually(
    async () => {
      const res = await fetch(op.probe);
      assert.equal(res.status, 200, await res.text());
    },
    { timeoutMs: 90_000, intervalMs: 200 },
  );
}

describe('leader election between operator processes', () => {
  before(() => applyProductCrds(kube()));

  it('lets only the leader write; SIGKILL, SIGTERM and SIGSTOP hand over; a paused leader never writes again', async () => {
    await withNamespace(kube(), async (namespace) => {
      const logDir = mkdtempSync(join(tmpdir(), 'kna-operators-'));
      const leases = kube().kubeConfig().makeApiClient(CoordinationV1Api);
      const co = kube().kubeConfig().makeApiClient(CustomObjectsApi);
      const holder = async () => (await leases.readNamespacedLease({ name: 'kyverno-notation-aws-operator', namespace })).spec?.holderIdentity;
      const waitHolder = async (user: string, since: number) => {
        await eventually(async () => assert.equal(await holder(), user), { timeoutMs: 90_000, intervalMs: 100 });
        console.log(`${user} took over after ${Date.now() - since} ms`);
      };
      const ca = await createCa({ commonName: 'Election Root', now: new Date(), validityMs: 365 * 24 * 3_600_000 });
      const apply = (json: string) => kube().kubectl(['apply', '-f', '-'], { input: json });
      const reconciled = (name: string) =>
        eventually(
          async () => {
            const tp = (await co.getClusterCustomObject({ group: 'notation.nirmata.io', version: 'v1alpha1', plural: 'trustpolicies', name })) as {
              status?: { conditions?: { status: string }[] };
            };
            assert.equal(tp.status?.conditions?.[0]?.status, 'True');
          },
          { timeoutMs: 90_000 },
        );
      await apply(trustStore(`store-${namespace}`, ca.cert.pem));
      const processes: OperatorProcess[] = [];
      try {
        const a = await spawnOperator(namespace, 'op-a', logDir);
        processes.push(a);
        await waitHolder('op-a', Date.now());
        await ready(a);
        const b = await spawnOperator(namespace, 'op-b', logDir);
        processes.push(b);
        await ready(b);
        await apply(trustPolicy(`one-${namespace}`, { store: `store-${namespace}` }));
        await reconciled(`one-${namespace}`);

        const killedAt = Date.now();
        a.child.kill('SIGKILL');
        await waitHolder('op-b', killedAt);
        await apply(trustPolicy(`two-${namespace}`, { store: `store-${namespace}` }));
        await reconciled(`two-${namespace}`);

        const a2 = await spawnOperator(namespace, 'op-a2', logDir);
        processes.push(a2);
        await ready(a2);
        const terminatedAt = Date.now();
        b.child.kill('SIGTERM');
        await waitHolder('op-a2', terminatedAt);
        assert.equal(await b.exited, 0, 'a terminated operator exits 0');
        await apply(trustPolicy(`three-${namespace}`, { store: `store-${namespace}` }));
        await reconciled(`three-${namespace}`);

        const c = await spawnOperator(namespace, 'op-c', logDir);
        processes.push(c);
        await ready(c);
        const stoppedAt = Date.now();
        a2.child.kill('SIGSTOP');
        await waitHolder('op-c', stoppedAt);
        const resumedAt = Date.now();
        a2.child.kill('SIGCONT');
        assert.equal(await a2.exited, 1, 'a leader that lost its lease while paused exits non-zero');
        await apply(trustPolicy(`four-${namespace}`, { store: `store-${namespace}` }));
        await reconciled(`four-${namespace}`);

        const writes = audit(namespace);
        const by = (user: string, lease: boolean) => writes.filter((w) => w.user === user && (w.resource === 'leases') === lease);
        const span = (user: string) => by(user, false).map((w) => w.at);
        assert.ok(span('op-a').length > 0 && span('op-b').length > 0 && span('op-a2').length > 0 && span('op-c').length > 0, 'every leader wrote something');
        assert.ok(
          span('op-a').every((t) => t <= killedAt),
          'op-a wrote only before it was killed',
        );
        assert.ok(
          span('op-b').every((t) => t > killedAt && t <= terminatedAt),
          'op-b wrote only while it led',
        );
        assert.ok(
          span('op-a2').every((t) => t > terminatedAt && t <= stoppedAt),
          'op-a2 wrote only while it led',
        );
        assert.ok(
          span('op-c').every((t) => t > stoppedAt),
          'op-c wrote only after it took over',
        );
        // Standbys do not even touch the Lease while it is held; the paused leader writes nothing after it resumes.
        assert.ok(
          by('op-b', true).every((t) => t.at > killedAt),
          'op-b did not write the Lease while op-a held it',
        );
        assert.deepEqual(
          writes.filter((w) => w.user === 'op-a2' && w.at >= resumedAt),
          [],
          'op-a2 wrote nothing after SIGCONT',
        );
      } finally {
        for (const p of processes) {
          p.child.kill('SIGCONT');
          p.child.kill('SIGKILL');
          await p.exited;
        }
      }
    });
  });

  it('an API request that never answers fails its attempt, and the next attempt wins the Lease', async () => {
    await withNamespace(kube(), async (namespace) => {
      const real = kube().kubeConfig().makeApiClient(CoordinationV1Api);
      // The real API server, except that the first read of the Lease is never answered.
      let reads = 0;
      const leases = Object.assign(Object.create(real) as CoordinationV1Api, {
        readNamespacedLease: (param: Parameters<CoordinationV1Api['readNamespacedLease']>[0]) =>
          reads++ === 0 ? new Promise<never>(() => undefined) : real.readNamespacedLease(param),
      });
      const events: LeaderElectionEvent[] = [];
      const elector = new LeaderElector({
        leases,
        namespace,
        name: 'unanswered',
        identity: 'candidate-a',
        leaseDurationMs: 4_000,
        renewDeadlineMs: 2_000,
        retryPeriodMs: 500,
        onEvent: (event) => events.push(event),
      });
      let leading = false;
      const running = elector.run(() => {
        leading = true;
      });
      try {
        await eventually(() => assert.ok(leading, JSON.stringify(events)), { timeoutMs: 60_000 });
        assert.ok(
          events.some((e) => e.type === 'error' && e.operation === 'get' && e.error.includes('did not answer the Lease get within 2000 ms')),
          JSON.stringify(events),
        );
        assert.ok(reads >= 2);
      } finally {
        // Bounded: without the time bound, the unanswered read would hold the elector (and its stop) forever.
        // The bound's timer goes with the stop, so a passing test does not wait it out.
        const bound = new AbortController();
        await Promise.race([
          Promise.all([elector.stop({ release: true }), running.catch(() => undefined)]).finally(() => bound.abort()),
          delay(10_000, undefined, { signal: bound.signal }).catch(() => undefined),
        ]);
      }
    });
  });
});
