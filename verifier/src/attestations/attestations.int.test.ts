// Attestations end to end (docs/architecture.md "Attestations"): POST /checkimages on an in-process
// local-mode verifier, against real notation + the AWS Signer plugin + the fake AWS Signer API, on both
// registry kinds (olareg: OCI referrers API; docker-registry: referrers tag schema). The referrers are
// pushed and notation-signed by the signing harness, as a CI pipeline would attach an SBOM.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { attach, describeSignerPlugin, push, sign, startHarness, type Harness } from '@kna/e2e';
import type { RunningVerifier } from '../app.js';
import { podRequest, postCheckImages, startLocalVerifier, writePolicyDir, type PodImage } from '../../testkit/localVerifier.js';

const SBOM = 'sbom/example';
const LIMIT = 8192;
const HINT = 'attach a signed attestation that meets the conditions';
// The sample policy's attestation (docs/architecture.md "The HTTP contract").
const LICENSE = { all: [{ key: '{{creationInfo.licenseListVersion}}', operator: 'Equals', value: '3.17', message: 'invalid license version' }] };
const GOOD = { spdxVersion: 'SPDX-2.3', creationInfo: { licenseListVersion: '3.17' }, packages: [{ name: 'app' }] };

let harness: Harness;
let verifier: RunningVerifier;

before(async () => {
  console.log(`under test: ${describeSignerPlugin()}`);
  harness = await startHarness();
  verifier = await startLocalVerifier(harness, writePolicyDir(harness, 'policies', { policies: ['tenant-a'] }), { flags: [`--maxAttestationBytes=${LIMIT}`] });
});

after(async () => {
  // Either may be missing when `before` failed half-way.
  await (verifier as RunningVerifier | undefined)?.close();
  await (harness as Harness | undefined)?.stop();
});

interface Image extends PodImage {
  readonly tag: string;
  readonly digest: string;
}

/** A notation-signed image (or multi-arch index) in `registry`, under a fresh repository. */
async function signedImage(registry: string, options: { index?: boolean } = {}): Promise<Image> {
  const path = `att/${randomUUID().slice(0, 8)}`;
  const { digest } = await push(`${registry}/${path}:v1`, { index: options.index ?? false });
  await sign(harness, `${registry}/${path}@${digest}`);
  return { registry, path, tag: 'v1', digest };
}

/** Attaches a referrer of `image`, notation-signed unless told otherwise; returns its digest. */
async function attachTo(image: Image, payload: unknown, options: { signed?: boolean; gzip?: boolean; artifactType?: string } = {}): Promise<string> {
  const { descriptor } = await attach(harness, `${image.registry}/${image.path}@${image.digest}`, {
    artifactType: options.artifactType ?? SBOM,
    payload: Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload)),
    gzip: options.gzip ?? false,
    sign: options.signed ?? true,
  });
  return descriptor.digest;
}

function body(image: Image, attestations: unknown = [{ imageReference: '*', type: [{ name: SBOM, conditions: LICENSE }] }]): Record<string, unknown> {
  return podRequest({ app: { registry: image.registry, path: image.path, tag: image.tag } }, { trustPolicy: 'tenant-a', attestations });
}

const check = (request: unknown) => postCheckImages(verifier.url, request);

/** The 406 line of one image whose attestation check failed (answer.ts). */
function denial(image: Image, reason: string): string {
  return `container "app" image ${image.registry}/${image.path}:v1 (${image.digest}): attestation check failed: ${reason}; ${HINT}\n`;
}

function patched(image: Image): unknown {
  return { verified: true, results: [{ op: 'replace', path: '/spec/containers/0/image', value: `${image.registry}/${image.path}@${image.digest}` }] };
}

for (const kind of ['referrers API', 'referrers tag schema'] as const) {
  describe(`attestations on the registry with the ${kind}`, () => {
    const registry = () => (kind === 'referrers API' ? harness.registry : harness.registryTagSchema);

    it('admits an image whose signed SBOM meets the conditions (200 + patch)', async () => {
      const image = await signedImage(registry());
      await attachTo(image, GOOD);
      const res = await check(body(image));
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json(), patched(image));
    });

    it('denies an SBOM that fails a condition, with the condition message (406)', async () => {
      const image = await signedImage(registry());
      const referrer = await attachTo(image, { ...GOOD, creationInfo: { licenseListVersion: '3.16' } });
      const res = await check(body(image));
      assert.equal(res.status, 406);
      assert.equal(res.text, denial(image, `attestation "sbom/example" (referrer ${referrer}): conditions not met: invalid license version`));
    });

    it('denies an SBOM referrer that is not signed (406)', async () => {
      const image = await signedImage(registry());
      const referrer = await attachTo(image, GOOD, { signed: false });
      const res = await check(body(image));
      assert.equal(res.status, 406);
      assert.equal(res.text, denial(image, `attestation "sbom/example" (referrer ${referrer}): no notation signature found`));
    });

    it('denies an image without the requested attestation type (406)', async () => {
      const image = await signedImage(registry());
      await attachTo(image, GOOD, { artifactType: 'sbom/other' });
      const res = await check(body(image));
      assert.equal(res.status, 406);
      assert.equal(
        res.text,
        denial(
          image,
          `no attestation of type "sbom/example" found (the image's referrers have artifactType "application/vnd.cncf.notary.signature", "sbom/other")`,
        ),
      );
    });

    it('denies payloads that are not JSON, not an object, or too large, saying which (406)', async () => {
      const image = await signedImage(registry());
      const text = await attachTo(image, Buffer.from('SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\n'));
      const list = await attachTo(image, [GOOD]);
      const large = await attachTo(image, { ...GOOD, padding: 'x'.repeat(LIMIT) });
      const res = await check(body(image));
      assert.equal(res.status, 406);
      const lines = res.text.trim().split('\n');
      assert.equal(lines.length, 1, 'one line for the image, naming each failing referrer');
      assert.ok(res.text.includes(`(referrer ${text}): the payload is not JSON (Unexpected token`), res.text);
      assert.ok(res.text.includes(`(referrer ${list}): the payload is a JSON array, not a JSON object`), res.text);
      assert.match(
        res.text,
        new RegExp(`\\(referrer ${large}\\): the payload \\(\\d+ bytes\\) is larger than the ${LIMIT}-byte limit \\(--maxAttestationBytes\\)`),
      );
    });

    it('accepts a gzipped payload (200)', async () => {
      const image = await signedImage(registry());
      await attachTo(image, GOOD, { gzip: true });
      const res = await check(body(image));
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json(), patched(image));
    });

    it('checks the attestations of a multi-architecture index (200, pinned to the index)', async () => {
      const image = await signedImage(registry(), { index: true });
      await attachTo(image, GOOD);
      const res = await check(body(image));
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json(), patched(image));
      const failing = await signedImage(registry(), { index: true });
      await attachTo(failing, { ...GOOD, creationInfo: { licenseListVersion: '2.0' } });
      assert.equal((await check(body(failing))).status, 406);
    });

    it('serves a second identical request from the cache: no notation run at all', async () => {
      const image = await signedImage(registry());
      await attachTo(image, GOOD);
      const before = verifier.runner.runs;
      assert.equal((await check(body(image))).status, 200);
      assert.equal(verifier.runner.runs - before, 2, 'the image and its SBOM referrer');
      const again = await check(body(image));
      assert.equal(again.status, 200, again.text);
      assert.equal(verifier.runner.runs - before, 2);
    });

    it('sees an attestation attached after a first verification (no stale pass)', async () => {
      const image = await signedImage(registry());
      await attachTo(image, GOOD);
      assert.equal((await check(body(image))).status, 200);
      const late = await attachTo(image, { ...GOOD, creationInfo: { licenseListVersion: '1.0' } });
      const res = await check(body(image));
      assert.equal(res.status, 406);
      assert.equal(res.text, denial(image, `attestation "sbom/example" (referrer ${late}): conditions not met: invalid license version`));
    });

    it('does not require an attestation whose imageReference does not match the image (200)', async () => {
      const image = await signedImage(registry());
      const res = await check(body(image, [{ imageReference: 'other.example.com/*', type: [{ name: SBOM, conditions: LICENSE }] }]));
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json(), patched(image));
      const matching = await check(body(image, [{ imageReference: `${registry()}/att/*`, type: [{ name: SBOM }] }]));
      assert.equal(matching.status, 406, 'the same image with a matching pattern needs the SBOM');
    });
  });
}

describe('malformed attestations', () => {
  it('are a 400 naming the JSON path, before any image is verified', async () => {
    const image = await signedImage(harness.registry);
    const before = verifier.runner.runs;
    const res = await check(
      body(image, [{ imageReference: '*', type: [{ name: SBOM, conditions: { all: [{ key: '{{a}}', operator: 'Equalz', value: 'b' }] } }] }]),
    );
    assert.equal(res.status, 400);
    assert.match(res.text, /^attestations\[0\]\.type\[0\]\.conditions\.all\[0\]\.operator: unknown condition operator "Equalz"/);
    const empty = await check(
      body(image, [{ imageReference: '*', type: [{ name: SBOM, conditions: { all: [{ key: null, operator: 'Equals', value: 'b' }] } }] }]),
    );
    assert.equal(empty.status, 400);
    assert.match(empty.text, /attestations\[0\]\.type\[0\]\.conditions\.all\[0\]\.key: condition key cannot be empty/);
    assert.equal(verifier.runner.runs, before);
  });
});
