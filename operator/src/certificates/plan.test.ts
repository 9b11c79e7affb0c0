// The rotation schedule as a pure function: examples of each decision, and a simulated timeline
// (fast-check) in which reconciles run late by up to D and clients and the verifier pick up every change
// up to d late. Whenever d + D stays below min(leaf validity/3, CA validity/6), the certificate being
// served must verify with every CA bundle a client can hold at that moment.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MIN_CHECK_INTERVAL_MS, NEW_CA, planCertificates, type ObservedCa, type ObservedCertificates, type ObservedLeaf } from './plan.js';

const S = 1000;
const at = (ms: number) => new Date(ms);
const options = { caValidityMs: 60 * S, certValidityMs: 15 * S };

function ca(id: string, issued: number, validity: number, hasKey = true): ObservedCa {
  return { id, issuedAt: at(issued), notAfter: at(issued + validity), hasKey };
}

function leaf(id: string, issued: number, notAfter: number, issuerId: string | undefined, usable = true): ObservedLeaf {
  return { id, issuedAt: at(issued), notAfter: at(notAfter), issuerId, usable };
}

describe('certificate plan', () => {
  it('creates a CA and a leaf signed by it on a fresh install, and looks again at 2/3 of the leaf', () => {
    const plan = planCertificates({ cas: [], leaf: undefined, publishedAt: new Map() }, at(0), options);
    assert.equal(plan.createCa, true);
    assert.deepEqual(plan.leaf, { action: 'issue', signer: { kind: 'new' }, reason: 'no serving certificate', early: false });
    assert.deepEqual(plan.newestKey, { kind: 'new' });
    assert.equal(plan.previousKeyId, undefined);
    assert.deepEqual([...plan.publishedAt.keys()], [NEW_CA]);
    assert.equal(plan.nextCheckAt.getTime(), 10 * S);
  });

  it('keeps a valid state (an adopted year-long CA and leaf) and writes nothing new', () => {
    const year = 365 * 86_400 * S;
    const observed: ObservedCertificates = {
      cas: [ca('A', 0, year)],
      leaf: leaf('L', 0, 150 * 86_400 * S, 'A'),
      publishedAt: new Map(),
    };
    const plan = planCertificates(observed, at(86_400 * S), options);
    assert.equal(plan.createCa, false);
    assert.deepEqual(plan.leaf, { action: 'keep' });
    assert.deepEqual(plan.keepCaIds, ['A']);
    // Not in the ConfigMap yet: published from now on.
    assert.equal(plan.publishedAt.get('A')?.getTime(), 86_400 * S);
    // Nothing due for months: the periodic re-check bounds the wait.
    assert.equal(plan.nextCheckAt.getTime(), 86_400 * S + 3_600_000);
  });

  it('renews the leaf at 2/3 of its validity with the same CA', () => {
    const observed = { cas: [ca('A', 0, 60 * S)], leaf: leaf('L', 0, 15 * S, 'A'), publishedAt: new Map([['A', at(0)]]) };
    assert.deepEqual(planCertificates(observed, at(9.9 * S), options).leaf, { action: 'keep' });
    const plan = planCertificates(observed, at(10 * S), options);
    assert.deepEqual(plan.leaf, {
      action: 'issue',
      signer: { kind: 'existing', id: 'A' },
      reason: 'the serving certificate passed 2/3 of its validity',
      early: false,
    });
  });

  it('rolls the CA at 2/3, keeps signing with the old one until the new one has been published for 1/6, then moves the leaf', () => {
    const A = ca('A', 0, 60 * S);
    // 40 s: A passed 2/3 → new CA; the leaf (due too) is still signed by A, whose key is kept.
    const roll = planCertificates({ cas: [A], leaf: leaf('L1', 30 * S, 45 * S, 'A'), publishedAt: new Map([['A', at(0)]]) }, at(40 * S), options);
    assert.equal(roll.createCa, true);
    assert.deepEqual(roll.leaf, {
      action: 'issue',
      signer: { kind: 'existing', id: 'A' },
      reason: 'the serving certificate passed 2/3 of its validity',
      early: false,
    });
    assert.deepEqual(roll.newestKey, { kind: 'new' });
    assert.equal(roll.previousKeyId, 'A');
    assert.deepEqual(roll.keepCaIds, ['A']);
    assert.equal(roll.nextCheckAt.getTime(), 50 * S, 'when the new CA is ready');

    const B = ca('B', 40 * S, 60 * S);
    const published = new Map([
      ['A', at(0)],
      ['B', at(40 * S)],
    ]);
    const pending = planCertificates({ cas: [B, A], leaf: leaf('L2', 40 * S, 55 * S, 'A'), publishedAt: published }, at(49 * S), options);
    assert.equal(pending.createCa, false);
    assert.deepEqual(pending.leaf, { action: 'keep' });
    assert.equal(pending.previousKeyId, 'A');
    assert.deepEqual(pending.keepCaIds, ['A', 'B']);

    const moved = planCertificates({ cas: [B, A], leaf: leaf('L2', 42 * S, 57 * S, 'A'), publishedAt: published }, at(50 * S), options);
    assert.deepEqual(moved.leaf, { action: 'issue', signer: { kind: 'existing', id: 'B' }, reason: 'moving the serving certificate to CA B', early: false });
    assert.equal(moved.previousKeyId, undefined, 'the old key is dropped once nothing signs with it');
    assert.deepEqual(moved.newestKey, { kind: 'existing', id: 'B' });

    // A expired: dropped from the bundle.
    const dropped = planCertificates({ cas: [B, A], leaf: leaf('L3', 52 * S, 67 * S, 'B'), publishedAt: published }, at(60 * S), options);
    assert.deepEqual(dropped.keepCaIds, ['B']);
    assert.deepEqual(dropped.leaf, { action: 'keep' });
  });

  it('starts the propagation clock of a new CA when it is first seen in the ConfigMap, not when it was made', () => {
    const A = ca('A', 0, 60 * S);
    const B = ca('B', 40 * S, 60 * S);
    // B is in the Secret but the ConfigMap write failed: long past 50 s the leaf stays with A.
    const plan = planCertificates({ cas: [A, B], leaf: leaf('L', 45 * S, 60 * S, 'A'), publishedAt: new Map([['A', at(0)]]) }, at(52 * S), options);
    assert.deepEqual(plan.leaf, { action: 'keep' });
    assert.equal(plan.publishedAt.get('B')?.getTime(), 52 * S);
  });

  it('moves to the new CA early only when no older CA can still sign, and says so', () => {
    const A = ca('A', 0, 60 * S);
    const B = ca('B', 54 * S, 60 * S);
    const plan = planCertificates(
      {
        cas: [A, B],
        leaf: leaf('L', 50 * S, 60 * S, 'A'),
        publishedAt: new Map([
          ['A', at(0)],
          ['B', at(55 * S)],
        ]),
      },
      at(56 * S),
      options,
    );
    assert.deepEqual(plan.leaf, { action: 'issue', signer: { kind: 'existing', id: 'B' }, reason: 'moving the serving certificate to CA B', early: true });
  });

  it('re-issues a leaf that is unusable, expired, or signed by no CA of the Secret', () => {
    const A = ca('A', 0, 60 * S);
    const published = new Map([['A', at(0)]]);
    const reason = (l: ObservedLeaf) => {
      const plan = planCertificates({ cas: [A], leaf: l, publishedAt: published }, at(5 * S), options).leaf;
      return plan.action === 'issue' ? plan.reason : 'keep';
    };
    assert.match(reason(leaf('L', 0, 15 * S, 'A', false)), /unusable/);
    assert.match(reason(leaf('L', -20 * S, 4 * S, 'A')), /expired/);
    assert.match(reason(leaf('L', 0, 15 * S, undefined)), /not signed by a valid CA/);
    assert.equal(reason(leaf('L', 0, 15 * S, 'A')), 'keep');
  });

  it('creates a CA when no valid one has its key, and keeps the keyless ones published until they expire', () => {
    const plan = planCertificates({ cas: [ca('X', 0, 60 * S, false)], leaf: undefined, publishedAt: new Map() }, at(5 * S), options);
    assert.equal(plan.createCa, true);
    assert.equal(plan.createCaReason, 'no valid CA with its key');
    assert.deepEqual(plan.keepCaIds, ['X']);
  });
});

// ---- simulated timeline ----

interface SimCa {
  readonly id: string;
  readonly issuedAt: number;
  readonly notAfter: number;
}
interface SimLeaf {
  readonly id: string;
  readonly issuedAt: number;
  readonly notAfter: number;
  readonly issuerId: string;
}

interface Timeline {
  leafWrites: { at: number; leaf: SimLeaf }[];
  bundleWrites: { at: number; ids: ReadonlySet<string> }[];
  cas: Map<string, SimCa>;
  reconciles: number;
  maxValidCas: number;
}

/** Runs reconciles from 0 to `horizon`, each `lateness()` after the nextCheckAt the previous one asked for. */
function simulate(o: { caValidityMs: number; certValidityMs: number }, horizon: number, lateness: () => number): Timeline {
  const tl: Timeline = { leafWrites: [], bundleWrites: [], cas: new Map(), reconciles: 0, maxValidCas: 0 };
  let secretCas: string[] = [];
  let keys = new Set<string>();
  let current: SimLeaf | undefined;
  let published = new Map<string, Date>();
  let bundle = new Set<string>();
  let n = 0;
  const observe = (): ObservedCertificates => ({
    cas: secretCas.map((id) => {
      const c = tl.cas.get(id);
      if (!c) throw new Error(id);
      return { id, issuedAt: at(c.issuedAt), notAfter: at(c.notAfter), hasKey: keys.has(id) };
    }),
    leaf: current && { id: current.id, issuedAt: at(current.issuedAt), notAfter: at(current.notAfter), issuerId: current.issuerId, usable: true },
    publishedAt: new Map([...published].filter(([id]) => bundle.has(id))),
  });
  for (let t = 0; t <= horizon;) {
    tl.reconciles++;
    const observed = observe();
    const plan = planCertificates(observed, at(t), o);
    let newId: string | undefined;
    if (plan.createCa) {
      newId = `ca${n++}`;
      tl.cas.set(newId, { id: newId, issuedAt: t, notAfter: t + o.caValidityMs });
    }
    const resolveId = (id: string) => (id === NEW_CA ? (newId ?? 'missing') : id);
    secretCas = [...plan.keepCaIds, ...(newId ? [newId] : [])];
    keys = new Set([plan.newestKey?.kind === 'new' ? (newId ?? '') : (plan.newestKey?.id ?? ''), plan.previousKeyId ?? ''].filter((k) => k !== ''));
    const nextBundle = new Set(secretCas);
    if ([...nextBundle].join() !== [...bundle].join()) tl.bundleWrites.push({ at: t, ids: nextBundle });
    bundle = nextBundle;
    published = new Map([...plan.publishedAt].map(([id, d]) => [resolveId(id), d]));
    if (plan.leaf.action === 'issue') {
      const signerId = plan.leaf.signer.kind === 'new' ? (newId ?? 'missing') : plan.leaf.signer.id;
      assert.ok(keys.has(signerId), `the signer ${signerId} has its key stored`);
      const signer = tl.cas.get(signerId);
      assert.ok(signer, `signer ${signerId} exists`);
      current = { id: `leaf${n++}`, issuedAt: t, notAfter: Math.min(t + o.certValidityMs, signer.notAfter), issuerId: signerId };
      tl.leafWrites.push({ at: t, leaf: current });
    }
    tl.maxValidCas = Math.max(tl.maxValidCas, secretCas.length);
    // Level-based: planning again on what was just written asks for nothing more.
    const again = planCertificates(observe(), at(t), o);
    assert.equal(again.createCa, false, `at ${t}: no second CA`);
    assert.deepEqual(again.leaf, { action: 'keep' }, `at ${t}: no second leaf`);
    assert.deepEqual(again.keepCaIds, secretCas, `at ${t}: same CAs`);
    assert.ok(plan.nextCheckAt.getTime() > t, 'nextCheckAt is in the future');
    t = plan.nextCheckAt.getTime() + lateness();
  }
  return tl;
}

/** The writes a party can still be acting on at `t` when it picks changes up to `d` late. */
function visible<T extends { at: number }>(writes: readonly T[], t: number, d: number): T[] {
  const before = writes.filter((w) => w.at <= t - d).at(-1);
  return [...(before ? [before] : []), ...writes.filter((w) => w.at > t - d && w.at <= t)];
}

describe('certificate schedule (simulated timeline)', () => {
  it('always serves a valid leaf whose CA every client bundle holds, if pick-up and lateness stay within the margins', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 6, max: 600 }).map((s) => s * S), // leaf validity
        fc.double({ min: 0.8, max: 12, noNaN: true }), // CA validity / leaf validity
        fc.double({ min: 0, max: 0.3, noNaN: true }), // reconcile lateness, as a share of the margin
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 50 }),
        (certValidityMs, ratio, latenessShare, jitter) => {
          const caValidityMs = Math.round(certValidityMs * ratio);
          const margin = Math.min(certValidityMs / 3, caValidityMs / 6);
          const maxLateness = latenessShare * margin;
          // Clients and the verifier may pick up any change this late: the rest of the margin, minus 1 %.
          // A CA rollover pays the lateness twice (the new CA comes late, then the move to it), and the
          // planner's minimum callback delay counts as lateness too.
          const d = 0.99 * margin - 2 * (maxLateness + MIN_CHECK_INTERVAL_MS);
          let i = 0;
          const horizon = 4 * caValidityMs;
          const tl = simulate({ caValidityMs, certValidityMs }, horizon, () => maxLateness * (jitter[i++ % jitter.length] ?? 0));

          const checkpoints = new Set<number>();
          for (const w of [...tl.leafWrites, ...tl.bundleWrites]) for (const dt of [0, 1, d / 2, d - 1, d, d + 1]) checkpoints.add(w.at + dt);
          for (const w of tl.leafWrites) checkpoints.add(w.leaf.notAfter - 1);
          for (const c of tl.cas.values()) checkpoints.add(c.notAfter - 1);
          for (let t = 0; t < horizon; t += margin / 7) checkpoints.add(t);
          for (const t of checkpoints) {
            if (t < d || t > horizon - caValidityMs / 2) continue; // start-up and the simulated end
            for (const { leaf: served } of visible(tl.leafWrites, t, d)) {
              assert.ok(served.notAfter > t, `leaf ${served.id} (until ${served.notAfter}) still served at ${t}`);
              const issuer = tl.cas.get(served.issuerId);
              assert.ok(issuer && issuer.notAfter > t, `issuer of ${served.id} valid at ${t}`);
              for (const { ids, at: bundleAt } of visible(tl.bundleWrites, t, d)) {
                assert.ok(ids.has(served.issuerId), `at ${t}: leaf ${served.id} (by ${served.issuerId}) vs bundle of ${bundleAt} [${[...ids].join()}]`);
              }
            }
          }
          // No churn: about one leaf per 2/3 validity, plus the moves at CA rollovers; at most two CAs live.
          const rollovers = tl.cas.size;
          assert.ok(
            tl.leafWrites.length <= Math.ceil(horizon / ((2 / 3) * Math.min(certValidityMs, caValidityMs / 6))) + 3 * rollovers + 2,
            `${tl.leafWrites.length} leaves`,
          );
          assert.ok(tl.maxValidCas <= 2, `${tl.maxValidCas} CAs live at once`);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('renews and rolls over on time when reconciles run exactly when asked (and re-planning asks for nothing more)', () => {
    const tl = simulate(options, 200 * S, () => 0);
    // CAs at 0, 40, 80, …; leaves every 10 s plus the move to each new CA 10 s after it appears.
    assert.deepEqual(
      [...tl.cas.values()].map((c) => c.issuedAt / S),
      [0, 40, 80, 120, 160, 200],
    );
    const moves = tl.leafWrites.filter((w, i) => i > 0 && w.leaf.issuerId !== tl.leafWrites[i - 1]?.leaf.issuerId).map((w) => w.at / S);
    assert.deepEqual(moves, [50, 90, 130, 170]);
  });
});
