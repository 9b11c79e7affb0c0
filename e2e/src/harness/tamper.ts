// Test fixtures that damage a signature in the registry the way an attacker or a broken mirror would:
// the signature artifact stays well-formed and correctly addressed, but its envelope no longer matches.
import {
  deleteManifest,
  getBlob,
  getManifest,
  listReferrers,
  parseRef,
  pushBlob,
  pushManifest,
  supportsReferrersApi,
  updateReferrersTagIndex,
  MediaType,
  sha256,
  type Descriptor,
} from './oci.js';

const NOTARY_SIGNATURE = 'application/vnd.cncf.notary.signature';

/**
 * Replaces every notation signature of `reference` (by digest) with a copy whose JWS signature bytes
 * are flipped, so integrity verification fails. Returns the digests of the tampered signature manifests.
 */
export async function tamperSignatures(reference: string): Promise<string[]> {
  const ref = parseRef(reference);
  if (!ref.digest) throw new Error(`tamperSignatures needs a digest reference, got ${reference}`);
  const subject = ref.digest;
  const signatures = (await listReferrers(ref, subject)).filter((d) => d.artifactType === NOTARY_SIGNATURE);
  if (signatures.length === 0) throw new Error(`${reference} has no notation signature to tamper with`);
  const apiRegistry = await supportsReferrersApi(ref, subject);
  const replaced: { old: string; entry: Descriptor }[] = [];
  for (const signature of signatures) {
    const manifest = await getManifest(ref, signature.digest);
    if (!manifest) throw new Error(`signature manifest ${signature.digest} is missing`);
    const layers = manifest.json.layers as Descriptor[];
    const layer = layers[0];
    if (!layer) throw new Error(`signature manifest ${signature.digest} has no layer`);
    const envelope = JSON.parse((await getBlob(ref, layer.digest)).toString('utf8')) as { signature: string };
    const bytes = Buffer.from(envelope.signature, 'base64url');
    bytes[0] = (bytes[0] ?? 0) ^ 0xff;
    envelope.signature = bytes.toString('base64url');
    const newLayer = await pushBlob(ref, Buffer.from(JSON.stringify(envelope)), layer.mediaType);
    const newManifest = { ...manifest.json, layers: [newLayer] };
    const body = Buffer.from(JSON.stringify(newManifest));
    const desc = await pushManifest(ref, sha256(body), newManifest, MediaType.ImageManifest);
    await deleteManifest(ref, signature.digest);
    replaced.push({ old: signature.digest, entry: { ...signature, digest: desc.digest, size: desc.size } });
  }
  if (!apiRegistry) {
    await updateReferrersTagIndex(ref, subject, (entries) => entries.map((e) => replaced.find((r) => r.old === e.digest)?.entry ?? e));
  }
  return replaced.map((r) => r.entry.digest);
}
