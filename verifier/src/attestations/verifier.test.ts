// The attestation stage against the in-process fake registry and a notation stand-in: selection, every
// denial reason, outcome classes, the referrer/subject binding and the cache. The real registries, real
// notation and the AWS Signer plugin are exercised by attestations.int.test.ts.
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { Outcome } from '@kna/shared/errors';
import { VerdictCache } from '../cache/verdicts.js';
import type { AttestationSpec } from '../request/schema.js';
import { FailureKind, VerifyOutcome } from '../notation/classify.js';
import type { VerifyRequest, VerifyResult } from '../notation/engine.js';
import { requiredAttestations } from '../pipeline/workList.js';
import { SignatureCheck, type SignatureVerifier } from '../signature/check.js';
import { RegistryClient } from '../registry/client.js';
import { FakeRegistry, OCI_INDEX, OCI_MANIFEST } from '../../testkit/registry/fake-registry.js';
import { VERIFIER_ERR_BAD_FLAG } from '../errors.js';
import { AttestationFailureKind, ReferrerAttestationVerifier, type AttestationInput, type AttestationRegistry } from './verifier.js';

const SBOM = 'sbom/example';
const LICENSE = { all: [{ key: '{{creationInfo.licenseListVersion}}', operator: 'Equals', value: '3.17', message: 'invalid license version' }] };
const GOOD = { creationInfo: { licenseListVersion: '3.17' } };

/** notation stand-in: verified unless told otherwise per digest; records every run. */
class FakeNotation implements SignatureVerifier {
  readonly runs: VerifyRequest[] = [];
  readonly outcomes = new Map<string, Pick<VerifyResult, 'outcome' | 'kind' | 'reason'>>();

  verify(request: VerifyRequest): Promise<VerifyResult> {
    this.runs.push(request);
    const digest = request.reference.slice(request.reference.indexOf('@') + 1);
    const set = this.outcomes.get(digest) ?? { outcome: VerifyOutcome.Verified, kind: FailureKind.None, reason: 'signature verified' };
    return Promise.resolve({ ...set, warnings: [], durationMs: 1, exitCode: 0, stderr: '' });
  }

  unsigned(digest: string): void {
    this.outcomes.set(digest, { outcome: VerifyOutcome.Denied, kind: FailureKind.Unsigned, reason: 'no notation signature found' });
  }
}

let registry: FakeRegistry;
const client = new RegistryClient();
let notation: FakeNotation;
let cache: VerdictCache;
let verifier: ReferrerAttestationVerifier;

before(async () => {
  registry = await FakeRegistry.start();
});
after(async () => {
  await registry.close();
});
beforeEach(() => {
  notation = new FakeNotation();
  cache = new VerdictCache({ enabled: true, maxEntries: 100, ttlSeconds: 60, negativeTtlSeconds: 60 });
  verifier = new ReferrerAttestationVerifier({ registry: client, signatures: new SignatureCheck({ notation, cache }), maxPayloadBytes: 1024 });
});

interface Pushed {
  readonly repo: string;
  readonly digest: string;
  readonly size: number;
  readonly mediaType: string;
}

function image(): Pushed {
  const repo = `team/${randomUUID().slice(0, 8)}`;
  return { repo, ...registry.putImage(repo, 'v1') };
}

interface ReferrerSpec {
  readonly artifactType?: string;
  readonly payload?: unknown;
  /** Raw layers (instead of one JSON layer of `payload`). */
  readonly layers?: readonly Buffer[];
  readonly index?: boolean;
  readonly repo?: string;
}

/** Pushes a referrer of `subject` and returns its digest. */
function attach(subject: Pushed, spec: ReferrerSpec = {}): string {
  const repo = spec.repo ?? subject.repo;
  const artifactType = spec.artifactType ?? SBOM;
  const subjectDescriptor = { mediaType: subject.mediaType, digest: subject.digest, size: subject.size };
  if (spec.index) {
    return registry.putManifest(repo, { schemaVersion: 2, mediaType: OCI_INDEX, artifactType, manifests: [], subject: subjectDescriptor }).digest;
  }
  const layers = (spec.layers ?? [Buffer.from(JSON.stringify(spec.payload ?? GOOD))]).map((bytes) => ({
    mediaType: 'application/json',
    ...registry.putBlob(repo, bytes),
  }));
  const config = { mediaType: 'application/vnd.oci.empty.v1+json', ...registry.putBlob(repo, Buffer.from('{}')) };
  return registry.putManifest(repo, { schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType, config, layers, subject: subjectDescriptor }).digest;
}

function input(subject: Pushed, attestations: AttestationSpec[], extra: { signal?: AbortSignal; policyVersion?: string } = {}): AttestationInput {
  // What the pipeline hands the stage: the image's requirements, derived from the request's attestations.
  const reference = `${registry.host}/${subject.repo}:v1`;
  return {
    repository: { registry: registry.host, repository: subject.repo },
    digest: subject.digest,
    policy: { name: 'tenant-a', version: extra.policyVersion ?? 'p'.repeat(64), configDir: '/config/tenant-a', pluginConfig: { 'aws-region': 'us-west-2' } },
    required: requiredAttestations(attestations, { reference, canonicalReference: reference }),
    signal: extra.signal ?? new AbortController().signal,
  };
}

const sbom = (conditions?: unknown): AttestationSpec[] => [
  { imageReference: '*', type: [{ name: SBOM, ...(conditions !== undefined && { conditions: conditions as typeof LICENSE }) }] },
];
const blobReads = (subject: Pushed) => registry.requests.filter((r) => r.path.startsWith(`/v2/${subject.repo}/blobs/`) && r.method === 'GET').length;

describe('selection', () => {
  it('requires nothing, and asks the registry nothing, when no imageReference matches the image', async () => {
    const subject = image();
    const before = registry.requests.length;
    const result = await verifier.verify(input(subject, [{ imageReference: 'docker.io/*', type: [{ name: SBOM }] }]));
    assert.equal(result.outcome, 'verified');
    assert.equal(registry.requests.length, before);
    assert.equal(notation.runs.length, 0);
  });

  it('lists the referrers by the digest it is given, never by the tag', async () => {
    const subject = image();
    attach(subject);
    assert.equal((await verifier.verify(input(subject, sbom(LICENSE)))).outcome, 'verified');
    assert.equal(registry.requestsTo(`/v2/${subject.repo}/referrers/${subject.digest}`).length, 1);
    assert.equal(registry.requestsTo(`/v2/${subject.repo}/manifests/v1`).length, 0);
  });
});

describe('a signed referrer with a JSON payload', () => {
  it('passes when the conditions hold, verifying the referrer (not the image) with the policy', async () => {
    const subject = image();
    const referrer = attach(subject);
    const result = await verifier.verify(input(subject, sbom(LICENSE)));
    assert.deepEqual(result, { outcome: 'verified', kind: FailureKind.None, reason: '1 attestation referrer verified' });
    assert.equal(notation.runs.length, 1);
    const [run] = notation.runs;
    assert.ok(run);
    assert.equal(run.reference, `${registry.host}/${subject.repo}@${referrer}`);
    assert.equal(run.configDir, '/config/tenant-a');
    assert.deepEqual(run.pluginConfig, { 'aws-region': 'us-west-2' });
  });

  it('is denied when a condition fails, with the type, referrer digest and condition message', async () => {
    const subject = image();
    const referrer = attach(subject, { payload: { creationInfo: { licenseListVersion: '3.16' } } });
    const result = await verifier.verify(input(subject, sbom(LICENSE)));
    assert.deepEqual(result, {
      outcome: 'denied',
      kind: AttestationFailureKind.Conditions,
      reason: `attestation "sbom/example" (referrer ${referrer}): conditions not met: invalid license version`,
    });
  });

  it('is denied when a condition names a key the payload lacks (an error, not false)', async () => {
    const subject = image();
    attach(subject, { payload: { other: 1 } });
    const result = await verifier.verify(input(subject, sbom(LICENSE)));
    assert.equal(result.outcome, 'denied');
    assert.match(
      result.reason,
      /: conditions could not be evaluated on the payload: conditions\[0\]\.all\[0\]\.key: failed to resolve \{\{creationInfo\.licenseListVersion\}\}: .*Unknown key "creationInfo" in path/,
    );
  });

  it('ANDs the blocks of several entries naming the same type', async () => {
    const subject = image();
    attach(subject, { payload: { creationInfo: { licenseListVersion: '3.17' }, name: 'app' } });
    const named = { all: [{ key: '{{name}}', operator: 'Equals', value: 'other', message: 'wrong name' }] };
    const result = await verifier.verify(input(subject, [...sbom(LICENSE), ...sbom(named)]));
    assert.equal(result.outcome, 'denied');
    assert.match(result.reason, /conditions not met: wrong name$/);
  });

  it('accepts a gzipped payload', async () => {
    const subject = image();
    attach(subject, { layers: [gzipSync(Buffer.from(JSON.stringify(GOOD)))] });
    assert.equal((await verifier.verify(input(subject, sbom(LICENSE)))).outcome, 'verified');
  });
});

describe('denials', () => {
  it('a requested type the image lacks, naming the artifactTypes it has', async () => {
    const subject = image();
    attach(subject, { artifactType: 'application/vnd.cncf.notary.signature' });
    attach(subject, { artifactType: 'sbom/other' });
    const result = await verifier.verify(input(subject, [{ imageReference: '*', type: [{ name: SBOM }, { name: 'scan' }, { name: 'sbom/other' }] }]));
    assert.deepEqual(result, {
      outcome: 'denied',
      kind: AttestationFailureKind.Missing,
      reason:
        'no attestation of type "sbom/example" found; no attestation of type "scan" found ' +
        `(the image's referrers have artifactType "application/vnd.cncf.notary.signature", "sbom/other")`,
    });
    assert.equal(notation.runs.length, 0);
    const bare = image();
    assert.match((await verifier.verify(input(bare, sbom()))).reason, /^no attestation of type "sbom\/example" found \(the image has no referrers\)$/);
  });

  it('an unsigned referrer, whose payload is then not read', async () => {
    const subject = image();
    const referrer = attach(subject);
    notation.unsigned(referrer);
    const result = await verifier.verify(input(subject, sbom(LICENSE)));
    assert.deepEqual(result, {
      outcome: 'denied',
      kind: FailureKind.Unsigned,
      reason: `attestation "sbom/example" (referrer ${referrer}): no notation signature found`,
    });
    assert.equal(blobReads(subject), 0);
  });

  it('every matching referrer must pass, not just one of them; all failures are named', async () => {
    const subject = image();
    const good = attach(subject);
    const bad = attach(subject, { payload: { creationInfo: { licenseListVersion: '2.0' } } });
    const unsigned = attach(subject, { payload: { creationInfo: { licenseListVersion: '3.17' }, n: 2 } });
    notation.unsigned(unsigned);
    const result = await verifier.verify(input(subject, sbom(LICENSE)));
    assert.equal(result.outcome, 'denied');
    assert.ok(result.reason.includes(`(referrer ${bad}): conditions not met`), result.reason);
    assert.ok(result.reason.includes(`(referrer ${unsigned}): no notation signature found`), result.reason);
    assert.ok(!result.reason.includes(good), result.reason);
  });

  it('a referrer without layers, with two, or an index, when the type has conditions', async () => {
    const none = image();
    const noneDigest = attach(none, { layers: [] });
    assert.deepEqual(await verifier.verify(input(none, sbom(LICENSE))), {
      outcome: 'denied',
      kind: AttestationFailureKind.Payload,
      reason: `attestation "sbom/example" (referrer ${noneDigest}): the referrer has no payload: its manifest has no layers; an attestation with conditions must be an image manifest with exactly one layer`,
    });
    const two = image();
    attach(two, { layers: [Buffer.from('{}'), Buffer.from('{"a":1}')] });
    assert.match((await verifier.verify(input(two, sbom(LICENSE)))).reason, /: the referrer has 2 layers; an attestation payload must be a single layer$/);
    const index = image();
    attach(index, { index: true });
    assert.match((await verifier.verify(input(index, sbom(LICENSE)))).reason, /: the referrer has no payload: it is an image index/);
  });

  it('but a type without conditions needs only a signed referrer: its payload is not read (docs/architecture.md "Attestations")', async () => {
    const subject = image();
    attach(subject, { layers: [] });
    attach(subject, { layers: [Buffer.from('not json')] });
    assert.equal((await verifier.verify(input(subject, sbom()))).outcome, 'verified');
    assert.equal(blobReads(subject), 0);
  });

  it('a payload that is not JSON, not an object, or over --maxAttestationBytes (not even fetched)', async () => {
    const text = image();
    attach(text, { layers: [Buffer.from('SPDXVersion: SPDX-2.3')] });
    assert.match((await verifier.verify(input(text, sbom(LICENSE)))).reason, /: the payload is not JSON \(Unexpected token/);
    const list = image();
    attach(list, { payload: [GOOD] });
    assert.match((await verifier.verify(input(list, sbom(LICENSE)))).reason, /: the payload is a JSON array, not a JSON object/);
    const big = image();
    const bigDigest = attach(big, { payload: { ...GOOD, padding: 'x'.repeat(2000) } });
    const result = await verifier.verify(input(big, sbom(LICENSE)));
    assert.equal(result.outcome, 'denied');
    assert.equal(result.kind, AttestationFailureKind.Payload);
    assert.match(
      result.reason,
      new RegExp(`\\(referrer ${bigDigest}\\): the payload \\(\\d+ bytes\\) is larger than the 1024-byte limit \\(--maxAttestationBytes\\)`),
    );
    assert.equal(blobReads(big), 0);
  });

  it('a registry streaming more payload than the descriptor declared, stopped at the limit', async () => {
    const subject = image();
    attach(subject, { payload: { ...GOOD, n: 1 } });
    registry.intercept((_req, res, recorded) => {
      if (!recorded.path.startsWith(`/v2/${subject.repo}/blobs/`) || recorded.method !== 'GET') return false;
      // No Content-Length: the client learns the size only by reading.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(Buffer.alloc(4096, 0x20));
      return true;
    });
    const result = await verifier.verify(input(subject, sbom(LICENSE)));
    assert.equal(result.outcome, 'denied');
    assert.match(result.reason, /: the payload \(sha256:[0-9a-f]{64}\) is larger than the 1024-byte limit \(--maxAttestationBytes\)/);
  });

  it('a referrer listed under an image it does not name as its subject (a copied attestation)', async () => {
    const owner = image();
    const copied = attach(owner);
    assert.equal((await verifier.verify(input(owner, sbom(LICENSE)))).outcome, 'verified', 'its own image passes (and the verdict is cached)');
    const victim = image();
    // Whoever can push to the victim's repository copies the manifest (same digest) and lists it there.
    attach(owner, { repo: victim.repo });
    registry.intercept((_req, res, recorded) => {
      if (recorded.path !== `/v2/${victim.repo}/referrers/${victim.digest}`) return false;
      const manifests = [{ mediaType: OCI_MANIFEST, digest: copied, size: 0, artifactType: SBOM }];
      res.writeHead(200, { 'content-type': OCI_INDEX }).end(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
      return true;
    });
    const result = await verifier.verify(input(victim, sbom(LICENSE)));
    assert.equal(result.outcome, 'denied', 'the cached pass of the owner is not reused for another subject');
    assert.match(result.reason, new RegExp(`names subject ${owner.digest}, not this image`));
  });

  it('a referrer whose manifest contradicts the artifactType it is listed with', async () => {
    const subject = image();
    const other = attach(subject, { artifactType: 'something/else' });
    registry.intercept((_req, res, recorded) => {
      if (recorded.path !== `/v2/${subject.repo}/referrers/${subject.digest}`) return false;
      const manifests = [{ mediaType: OCI_MANIFEST, digest: other, size: 0, artifactType: SBOM }];
      res.writeHead(200, { 'content-type': OCI_INDEX }).end(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
      return true;
    });
    const result = await verifier.verify(input(subject, sbom()));
    assert.equal(result.outcome, 'denied');
    assert.equal(result.kind, AttestationFailureKind.Invalid);
    assert.match(result.reason, /the registry lists the referrer as "sbom\/example" but its manifest's artifactType is "something\/else"/);
  });
});

describe('outcome classes', () => {
  it('notation unavailable is could-not-verify, and is not cached', async () => {
    const subject = image();
    const referrer = attach(subject);
    notation.outcomes.set(referrer, {
      outcome: VerifyOutcome.CouldNotVerify,
      kind: FailureKind.Infrastructure,
      reason: 'registry unavailable to notation: EOF',
    });
    const first = await verifier.verify(input(subject, sbom(LICENSE)));
    assert.deepEqual(first, {
      outcome: 'could-not-verify',
      kind: FailureKind.Infrastructure,
      reason: `attestation "sbom/example" (referrer ${referrer}): registry unavailable to notation: EOF`,
    });
    notation.outcomes.delete(referrer);
    assert.equal((await verifier.verify(input(subject, sbom(LICENSE)))).outcome, 'verified');
    assert.equal(notation.runs.length, 2);
  });

  it('a registry that fails the listing is could-not-verify', async () => {
    const subject = image();
    registry.intercept((_req, res, recorded) => {
      if (!recorded.path.startsWith(`/v2/${subject.repo}/referrers/`)) return false;
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAVAILABLE","message":"maintenance"}]}');
      return true;
    });
    const result = await verifier.verify(input(subject, sbom()));
    assert.equal(result.outcome, 'could-not-verify');
    assert.match(result.reason, /^cannot list the image's referrers: referrers of .*: the registry failed \(HTTP 503/);
  });

  it('a denial outranks could-not-verify', async () => {
    const subject = image();
    const down = attach(subject);
    const unsigned = attach(subject, { payload: { ...GOOD, n: 1 } });
    notation.outcomes.set(down, { outcome: VerifyOutcome.CouldNotVerify, kind: FailureKind.Infrastructure, reason: 'EOF' });
    notation.unsigned(unsigned);
    const result = await verifier.verify(input(subject, sbom(LICENSE)));
    assert.equal(result.outcome, 'denied');
    assert.ok(!result.reason.includes(down), result.reason);
  });

  it('the request deadline is could-not-verify', async () => {
    const subject = image();
    attach(subject);
    const result = await verifier.verify(input(subject, sbom(LICENSE), { signal: AbortSignal.abort(new Error('deadline')) }));
    assert.equal(result.outcome, 'could-not-verify');
  });

  it('an unforeseen error is a denial, never a pass', async () => {
    const broken: AttestationRegistry = {
      listReferrers: () => Promise.reject(new TypeError('boom')),
      getManifest: () => Promise.reject(new TypeError('boom')),
      getBlob: () => Promise.reject(new TypeError('boom')),
    };
    const strict = new ReferrerAttestationVerifier({ registry: broken, signatures: new SignatureCheck({ notation, cache }), maxPayloadBytes: 1024 });
    const result = await strict.verify(input(image(), sbom()));
    assert.deepEqual(result, {
      outcome: 'denied',
      kind: AttestationFailureKind.Internal,
      reason: "cannot list the image's referrers: internal error while checking the attestation: boom",
    });
  });

  it('conditions that bypassed validation are denied, never passed', async () => {
    const subject = image();
    attach(subject);
    const badOperator = { all: [{ key: '{{creationInfo.licenseListVersion}}', operator: 'Equalz', value: '3.17' }] };
    const first = await verifier.verify(input(subject, sbom(badOperator)));
    assert.equal(first.outcome, 'denied');
    assert.equal(first.kind, AttestationFailureKind.Internal);
    assert.match(first.reason, /unknown condition operator "Equalz"/);
    const unhashable = JSON.parse('{"all":[{"key":"a","operator":"Equals","value":"\\ud800"}]}') as unknown;
    const second = await verifier.verify(input(subject, sbom(unhashable)));
    assert.equal(second.outcome, 'denied');
    assert.match(second.reason, /cannot canonicalise/);
  });

  it('a referrer whose trust policy level is skip is accepted without further checks', async () => {
    const subject = image();
    const referrer = attach(subject, { layers: [Buffer.from('not json')] });
    notation.outcomes.set(referrer, { outcome: VerifyOutcome.Skipped, kind: FailureKind.None, reason: 'trust policy level is skip' });
    assert.equal((await verifier.verify(input(subject, sbom(LICENSE)))).outcome, 'verified');
    assert.equal(blobReads(subject), 0);
  });

  it('refuses a limit that is not a positive number of bytes', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      assert.throws(
        () => new ReferrerAttestationVerifier({ registry: client, signatures: new SignatureCheck({ notation, cache }), maxPayloadBytes: bad }),
        (err: unknown) => err instanceof VERIFIER_ERR_BAD_FLAG && err.outcome === Outcome.BadRequest,
      );
    }
  });
});

describe('cache', () => {
  it('serves an identical request without notation or payload reads, but lists the referrers again', async () => {
    const subject = image();
    attach(subject);
    await verifier.verify(input(subject, sbom(LICENSE)));
    const reads = blobReads(subject);
    assert.equal(notation.runs.length, 1);
    assert.equal((await verifier.verify(input(subject, sbom(LICENSE)))).outcome, 'verified');
    assert.equal(notation.runs.length, 1);
    assert.equal(blobReads(subject), reads);
    assert.equal(registry.requestsTo(`/v2/${subject.repo}/referrers/${subject.digest}`).length, 2);
  });

  it('a referrer attached after a pass is checked on the next request (no stale pass)', async () => {
    const subject = image();
    attach(subject);
    assert.equal((await verifier.verify(input(subject, sbom(LICENSE)))).outcome, 'verified');
    const late = attach(subject, { payload: { creationInfo: { licenseListVersion: '1.0' } } });
    const result = await verifier.verify(input(subject, sbom(LICENSE)));
    assert.equal(result.outcome, 'denied');
    assert.match(result.reason, new RegExp(`\\(referrer ${late}\\): conditions not met`));
    assert.equal(notation.runs.length, 2, 'only the new referrer ran notation');
  });

  it('shares the referrer’s signature verdict between conditions, and keys everything by policy version', async () => {
    const subject = image();
    attach(subject);
    await verifier.verify(input(subject, sbom(LICENSE)));
    const stricter = { all: [...LICENSE.all, { key: '{{creationInfo.licenseListVersion}}', operator: 'NotEquals', value: '3.17', message: 'never' }] };
    assert.match((await verifier.verify(input(subject, sbom(stricter)))).reason, /conditions not met: never/);
    assert.equal(notation.runs.length, 1, 'new conditions re-evaluate the payload, not the signature');
    await verifier.verify(input(subject, sbom(LICENSE), { policyVersion: 'q'.repeat(64) }));
    assert.equal(notation.runs.length, 2, 'another policy version verifies again');
  });
});
