// Leases (coordination.k8s.io/v1) on the real API server, the ground the operator's leader election
// stands on (docs/architecture.md "The two deployments"): MicroTime needs six fractional digits
// (toMicroTime from @kna/shared), and two writers of the same resourceVersion get exactly one 409.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApiException, CoordinationV1Api, type V1Lease, type V1MicroTime } from '@kubernetes/client-node';
import { toMicroTime } from '@kna/shared';
import { useTestControlPlane, withNamespace } from './testing.js';

// client-node 1.4 types MicroTime fields as V1MicroTime (a Date) but sends any non-Date value as it is,
// so the six-digit string goes on the wire unchanged.
function microTime(at?: Date): V1MicroTime {
  return toMicroTime(at) as unknown as V1MicroTime;
}

function lease(namespace: string, name: string, holder: string, renewTime: V1MicroTime): V1Lease {
  return {
    metadata: { name, namespace },
    spec: { holderIdentity: holder, leaseDurationSeconds: 15, acquireTime: renewTime, renewTime, leaseTransitions: 0 },
  };
}

const kube = useTestControlPlane({ shared: true });

describe('Leases', () => {
  it('take a MicroTime with six fractional digits and refuse the three that a Date gives', () =>
    withNamespace(kube(), async (namespace) => {
      const api = kube().kubeConfig().makeApiClient(CoordinationV1Api);
      // The trap (kubernetes-client/javascript#828): a plain Date is serialised with toISOString().
      const plainDate: V1MicroTime = new Date('2026-01-02T03:04:05.123Z');
      await assert.rejects(api.createNamespacedLease({ namespace, body: lease(namespace, 'with-date', 'a', plainDate) }), (err: unknown) => {
        assert.ok(err instanceof ApiException, String(err));
        assert.equal(err.code, 400);
        const status = JSON.parse(String(err.body)) as { message?: string };
        assert.match(status.message ?? '', /cannot parse "\.123Z" as "\.000000"/);
        return true;
      });

      const now = microTime(new Date('2026-01-02T03:04:05.123Z'));
      const created = await api.createNamespacedLease({ namespace, body: lease(namespace, 'with-string', 'a', now) });
      // Read back, MicroTime fields stay strings at run time (client-node does not revive V1MicroTime):
      // the operator must parse them itself before doing arithmetic on them.
      assert.equal(typeof created.spec?.renewTime, 'string');
      assert.equal(created.spec?.renewTime, '2026-01-02T03:04:05.123000Z');
      const read = await api.readNamespacedLease({ namespace, name: 'with-string' });
      assert.equal(read.spec?.acquireTime, '2026-01-02T03:04:05.123000Z');
    }));

  it('let exactly one of two clients that race on the same resourceVersion win; the other gets 409', () =>
    withNamespace(kube(), async (namespace) => {
      // Two independent clients with their own identities, as two operator replicas would have.
      const contenders = await Promise.all(
        ['replica-a', 'replica-b'].map(async (identity) => ({
          identity,
          api: (await kube().kubeConfigForUser({ user: identity, groups: ['system:masters'] })).makeApiClient(CoordinationV1Api),
        })),
      );
      const [first] = contenders;
      assert.ok(first);
      await first.api.createNamespacedLease({ namespace, body: lease(namespace, 'leader', 'nobody', microTime()) });

      for (let round = 0; round < 5; round++) {
        const observed = await Promise.all(contenders.map((c) => c.api.readNamespacedLease({ namespace, name: 'leader' })));
        const versions = new Set(observed.map((l) => l.metadata?.resourceVersion));
        assert.equal(versions.size, 1, 'both contenders must start from the same resourceVersion');
        const results = await Promise.allSettled(
          contenders.map((c, i) => {
            const seen = observed[i];
            assert.ok(seen?.spec && seen.metadata);
            const now = microTime();
            // client-go's tryAcquireOrRenew: write back the object just read, so it carries its resourceVersion.
            const body: V1Lease = {
              metadata: seen.metadata,
              spec: {
                holderIdentity: c.identity,
                leaseDurationSeconds: seen.spec.leaseDurationSeconds ?? 15,
                acquireTime: now,
                renewTime: now,
                leaseTransitions: (seen.spec.leaseTransitions ?? 0) + 1,
              },
            };
            return c.api.replaceNamespacedLease({ namespace, name: 'leader', body });
          }),
        );
        const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [contenders[i]?.identity] : []));
        const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
        assert.equal(won.length, 1, `round ${round}: exactly one update must succeed, got ${JSON.stringify(results.map((r) => r.status))}`);
        assert.equal(lost.length, 1);
        const conflict = lost[0];
        assert.ok(conflict instanceof ApiException, String(conflict));
        assert.equal(conflict.code, 409);
        assert.equal((JSON.parse(String(conflict.body)) as { reason?: string }).reason, 'Conflict');

        const current: V1Lease = await first.api.readNamespacedLease({ namespace, name: 'leader' });
        assert.equal(current.spec?.holderIdentity, won[0]);
        assert.equal(current.spec?.leaseTransitions, round + 1);
        assert.notEqual(current.metadata?.resourceVersion, [...versions][0]);
      }
    }));
});
