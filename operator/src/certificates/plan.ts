// What the certificate rotator must do, as a pure function of what it observed and the time: which CAs
// stay published, whether a new CA is needed, whether the serving certificate must be (re-)issued and by
// which CA, and when to look again. The rotator (rotator.ts) does the I/O around it.
//
// The schedule, in fractions of a certificate's validity V (from its issuance to its notAfter):
//
//   leaf:  renewed at 2/3 V, so a replaced leaf stays valid for V/3 after its successor was written:
//          the time the kubelet and the verifier have to pick up the new one.
//   CA A:  at 2/3 V a new CA B is created and published next to A (Secret tls.crt, ConfigMap ca.crt,
//          injected caBundles). The leaf stays signed by A until B has been published for V_B/6 (the
//          time clients have to pick up the new bundle); then the leaf is re-issued by B. A stays
//          published until it expires, so the A-signed leaf, still served while the verifier picks up
//          its successor, verifies until then: with equal validities the switch comes at 5/6 V_A, which
//          leaves V_A/6 for that.
//
// Nothing here depends on the rotator running at exact times: every decision compares `now` with the
// certificates' own dates and with when each CA was first published (recorded in the ConfigMap), so a
// late, repeated or restarted reconcile reaches the same state. Lateness does eat into the margins: a
// late leaf renewal once (the leaf's V/3), a late CA rollover twice (the new CA is made late, and then
// the switch to it comes late too), so pick-up time + 2 × lateness must stay below V_A/6.

/** Renew a certificate once this fraction of its validity has passed. */
const RENEW_AT_FRACTION = 2 / 3;
/** A new CA signs the leaf only after it has been published for this fraction of its own validity. */
const CA_PROPAGATION_FRACTION = 1 / 6;
/**
 * An older CA keeps signing (while the new one propagates) only while this fraction of its validity
 * remains; below it, leaves it signs would be too short-lived and the new CA takes over early.
 */
const MIN_SIGNER_REMAINING_FRACTION = 1 / 12;
/** Even when nothing is due, look again after this long (a Secret edited by hand, a clock jump). */
const MAX_CHECK_INTERVAL_MS = 3_600_000;
/**
 * Never ask to be called back sooner than this (something due now that a write did not settle). It adds
 * to the lateness the margins must absorb, so it is small.
 */
export const MIN_CHECK_INTERVAL_MS = 100;

interface CertificateWindow {
  /** Identity (SHA-256 fingerprint). */
  readonly id: string;
  /** When it was issued (notBefore without the backdate, see pki.ts issuedAt). */
  readonly issuedAt: Date;
  readonly notAfter: Date;
}

export interface ObservedCa extends CertificateWindow {
  /** Its private key is in the CA Secret, so it can sign. */
  readonly hasKey: boolean;
}

export interface ObservedLeaf extends CertificateWindow {
  /** The id of the observed CA that signed it, if any did. */
  readonly issuerId: string | undefined;
  /** Its key is present and matches, and it names every required DNS name. */
  readonly usable: boolean;
}

export interface ObservedCertificates {
  /** The CA certificates of the CA Secret, in any order, expired ones included. */
  readonly cas: readonly ObservedCa[];
  readonly leaf: ObservedLeaf | undefined;
  /** When each CA (by id) was first published in the CA ConfigMap, for those it holds. */
  readonly publishedAt: ReadonlyMap<string, Date>;
}

export interface PlanOptions {
  readonly caValidityMs: number;
  readonly certValidityMs: number;
}

/** The CA a leaf is signed with: an existing one, or the one this plan creates. */
export type SignerRef = { readonly kind: 'existing'; readonly id: string } | { readonly kind: 'new' };

type LeafPlan =
  | { readonly action: 'keep' }
  | {
      readonly action: 'issue';
      readonly signer: SignerRef;
      readonly reason: string;
      /** The signer may not have reached every client yet (the older CAs could not sign any more). */
      readonly early: boolean;
    };

export interface CertificatePlan {
  /** A new CA is created; it becomes the newest. */
  readonly createCa: boolean;
  readonly createCaReason: string | undefined;
  /** Existing CAs that stay in the Secret and the ConfigMap (not expired), oldest first; a new CA goes last. */
  readonly keepCaIds: readonly string[];
  /** The CA whose key the Secret holds as tls.key (the newest with a key). */
  readonly newestKey: SignerRef | undefined;
  /** An older CA whose key must also be kept because it still signs the leaf. */
  readonly previousKeyId: string | undefined;
  readonly leaf: LeafPlan;
  /** First-publication time of every CA the ConfigMap will hold (ids; the new CA under "new"). */
  readonly publishedAt: ReadonlyMap<string, Date>;
  readonly nextCheckAt: Date;
}

export const NEW_CA = 'new';

function validityMs(cert: CertificateWindow): number {
  return cert.notAfter.getTime() - cert.issuedAt.getTime();
}

function renewAt(cert: CertificateWindow): number {
  return cert.issuedAt.getTime() + RENEW_AT_FRACTION * validityMs(cert);
}

function lastUsableAt(ca: CertificateWindow): number {
  return ca.notAfter.getTime() - MIN_SIGNER_REMAINING_FRACTION * validityMs(ca);
}

export function planCertificates(observed: ObservedCertificates, now: Date, options: PlanOptions): CertificatePlan {
  const t = now.getTime();
  const due: number[] = [t + MAX_CHECK_INTERVAL_MS];

  // CAs: the unexpired ones stay published; the newest with a key is the one that ages towards rollover.
  const valid = observed.cas.filter((ca) => ca.notAfter.getTime() > t).sort((a, b) => a.issuedAt.getTime() - b.issuedAt.getTime() || a.id.localeCompare(b.id));
  const keyed = valid.filter((ca) => ca.hasKey);
  const newestKeyed = keyed.at(-1);
  let createCaReason: string | undefined;
  if (!newestKeyed) createCaReason = valid.length === 0 ? 'no valid CA' : 'no valid CA with its key';
  else if (t >= renewAt(newestKeyed)) createCaReason = `CA ${newestKeyed.id} passed 2/3 of its validity`;
  const createCa = createCaReason !== undefined;
  for (const ca of valid) due.push(ca.notAfter.getTime());
  if (newestKeyed && !createCa) due.push(renewAt(newestKeyed));
  else due.push(t + RENEW_AT_FRACTION * options.caValidityMs);

  const publishedAt = new Map<string, Date>();
  for (const ca of valid) publishedAt.set(ca.id, observed.publishedAt.get(ca.id) ?? now);
  if (createCa) publishedAt.set(NEW_CA, now);

  // The signer: the newest CA once clients have had time to get it; until then an older one.
  const newest: SignerRef | undefined = createCa ? { kind: 'new' } : newestKeyed && { kind: 'existing', id: newestKeyed.id };
  let signer: SignerRef;
  let early = false;
  const newestReadyAt =
    newestKeyed && !createCa
      ? (observed.publishedAt.get(newestKeyed.id)?.getTime() ?? Number.POSITIVE_INFINITY) + CA_PROPAGATION_FRACTION * validityMs(newestKeyed)
      : Number.POSITIVE_INFINITY;
  const leaf = observed.leaf;
  const leafIssuer = leaf?.issuerId;
  if (newestKeyed && !createCa && (t >= newestReadyAt || leafIssuer === newestKeyed.id)) {
    signer = { kind: 'existing', id: newestKeyed.id };
  } else {
    const older = keyed.filter((ca) => ca !== newestKeyed || createCa).filter((ca) => t < lastUsableAt(ca));
    const chosen = older.find((ca) => ca.id === leafIssuer) ?? older.at(-1);
    if (chosen) {
      signer = { kind: 'existing', id: chosen.id };
      due.push(lastUsableAt(chosen));
      // A CA created or first published now (its time is recorded with it) is ready this much later.
      if (newestKeyed && !createCa) due.push(Number.isFinite(newestReadyAt) ? newestReadyAt : t + CA_PROPAGATION_FRACTION * validityMs(newestKeyed));
      else due.push(t + CA_PROPAGATION_FRACTION * options.caValidityMs);
    } else {
      // Nothing older can sign: the newest must, even if clients may not have it yet. When there is no
      // served leaf at all (a fresh install) nobody can be cut off.
      signer = newest ?? { kind: 'new' };
      early = leaf !== undefined && leaf.usable && leaf.notAfter.getTime() > t && leafIssuer !== undefined;
    }
  }

  // The leaf: (re-)issued when missing, unusable, expired, orphaned, due, or signed by another CA.
  const signerId = signer.kind === 'new' ? NEW_CA : signer.id;
  let reason: string | undefined;
  if (!leaf) reason = 'no serving certificate';
  else if (!leaf.usable) reason = 'the serving certificate is unusable (key or DNS names)';
  else if (leaf.notAfter.getTime() <= t) reason = 'the serving certificate expired';
  else if (leafIssuer === undefined || !valid.some((ca) => ca.id === leafIssuer))
    reason = 'the serving certificate is not signed by a valid CA of the CA Secret';
  else if (t >= renewAt(leaf)) reason = 'the serving certificate passed 2/3 of its validity';
  else if (leafIssuer !== signerId) reason = `moving the serving certificate to CA ${signerId}`;
  let leafPlan: LeafPlan;
  if (reason === undefined && leaf) {
    leafPlan = { action: 'keep' };
    due.push(renewAt(leaf));
  } else {
    leafPlan = { action: 'issue', signer, reason: reason ?? 'unknown', early };
    const signerNotAfter =
      signer.kind === 'new' ? t + options.caValidityMs : (valid.find((ca) => ca.id === signer.id)?.notAfter.getTime() ?? t + options.certValidityMs);
    const notAfter = Math.min(t + options.certValidityMs, signerNotAfter);
    due.push(t + RENEW_AT_FRACTION * (notAfter - t));
  }

  const keepCaIds = valid.map((ca) => ca.id);
  const previousKeyId = signer.kind === 'existing' && (createCa || signer.id !== newestKeyed?.id) ? signer.id : undefined;
  // Rounded up: a Date has millisecond precision, and a callback a fraction early would find nothing due.
  const next = Math.max(t + MIN_CHECK_INTERVAL_MS, Math.ceil(Math.min(...due)));
  return {
    createCa,
    createCaReason,
    keepCaIds,
    newestKey: newest,
    previousKeyId,
    leaf: leafPlan,
    publishedAt,
    nextCheckAt: new Date(next),
  };
}
