// Just enough of the OCI distribution API to put test content into the harness registries: blobs,
// manifests, indexes and referrers (with the referrers tag schema for registries without the
// referrers API). Test-side tooling only: the verifier has its own registry client.
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';

export const MediaType = {
  ImageManifest: 'application/vnd.oci.image.manifest.v1+json',
  ImageIndex: 'application/vnd.oci.image.index.v1+json',
  ImageConfig: 'application/vnd.oci.image.config.v1+json',
  Layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  Empty: 'application/vnd.oci.empty.v1+json',
} as const;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string };
}

export interface ImageRef {
  /** host[:port] */
  readonly registry: string;
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

/** Parses `host[:port]/repo[:tag][@digest]` (the harness always names the registry explicitly). */
export function parseRef(ref: string): ImageRef {
  const slash = ref.indexOf('/');
  if (slash <= 0) throw new Error(`reference ${JSON.stringify(ref)} must start with a registry host, e.g. localhost:5000/repo:tag`);
  const registry = ref.slice(0, slash);
  let rest = ref.slice(slash + 1);
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  if (!/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/.test(rest)) {
    throw new Error(`invalid repository ${JSON.stringify(rest)} in ${JSON.stringify(ref)}`);
  }
  return { registry, repository: rest, ...(tag !== undefined && { tag }), ...(digest !== undefined && { digest }) };
}

export function formatRef(ref: ImageRef): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/**
 * The URL scheme of a harness registry: plain HTTP for the loopback names (`localhost:<port>`,
 * `127.0.0.1:<port>`, what notation itself reaches over HTTP), HTTPS for any other address, such as
 * the TLS registry the comparison with the original service uses (its CA in NODE_EXTRA_CA_CERTS).
 */
export function registryOrigin(registry: string): string {
  const host = registry.replace(/:\d+$/, '');
  return `${host === 'localhost' || host === '127.0.0.1' ? 'http' : 'https'}://${registry}`;
}

function baseUrl(ref: ImageRef): string {
  return `${registryOrigin(ref.registry)}/v2/${ref.repository}`;
}

async function expectOk(res: Response, what: string): Promise<void> {
  if (!res.ok) {
    throw new Error(`${what}: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`);
  }
}

export async function pushBlob(ref: ImageRef, data: Buffer, mediaType: string): Promise<Descriptor> {
  const digest = sha256(data);
  const head = await fetch(`${baseUrl(ref)}/blobs/${digest}`, { method: 'HEAD' });
  if (!head.ok) {
    const start = await fetch(`${baseUrl(ref)}/blobs/uploads/`, { method: 'POST' });
    await expectOk(start, `start upload to ${ref.registry}/${ref.repository}`);
    const location = start.headers.get('location');
    if (!location) throw new Error(`registry ${ref.registry} gave no upload location`);
    const url = new URL(location, registryOrigin(ref.registry));
    url.searchParams.set('digest', digest);
    const put = await fetch(url, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(data.length) },
      body: new Uint8Array(data),
    });
    await expectOk(put, `upload blob ${digest}`);
  }
  return { mediaType, digest, size: data.length };
}

export async function pushManifest(ref: ImageRef, reference: string, manifest: object, mediaType: string): Promise<Descriptor> {
  const body = Buffer.from(JSON.stringify(manifest));
  const res = await fetch(`${baseUrl(ref)}/manifests/${reference}`, {
    method: 'PUT',
    headers: { 'content-type': mediaType },
    body,
  });
  await expectOk(res, `push manifest ${ref.registry}/${ref.repository}:${reference}`);
  return { mediaType, digest: sha256(body), size: body.length };
}

export interface FetchedManifest {
  readonly descriptor: Descriptor;
  readonly body: Buffer;
  readonly json: Record<string, unknown>;
}

const ACCEPT = [MediaType.ImageManifest, MediaType.ImageIndex, 'application/vnd.docker.distribution.manifest.v2+json'].join(', ');

export async function getManifest(ref: ImageRef, reference: string): Promise<FetchedManifest | undefined> {
  const res = await fetch(`${baseUrl(ref)}/manifests/${reference}`, { headers: { accept: ACCEPT } });
  if (res.status === 404) return undefined;
  await expectOk(res, `get manifest ${ref.registry}/${ref.repository}:${reference}`);
  const body = Buffer.from(await res.arrayBuffer());
  const json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  const mediaType = (typeof json.mediaType === 'string' ? json.mediaType : res.headers.get('content-type')) ?? MediaType.ImageManifest;
  return { descriptor: { mediaType, digest: sha256(body), size: body.length }, body, json };
}

export async function getBlob(ref: ImageRef, digest: string): Promise<Buffer> {
  const res = await fetch(`${baseUrl(ref)}/blobs/${digest}`);
  await expectOk(res, `get blob ${digest}`);
  return Buffer.from(await res.arrayBuffer());
}

export async function deleteManifest(ref: ImageRef, digest: string): Promise<void> {
  const res = await fetch(`${baseUrl(ref)}/manifests/${digest}`, { method: 'DELETE' });
  await expectOk(res, `delete manifest ${digest}`);
}

/** Pushes a small image with random content, so every push has a digest of its own; tagged when `tag` is given. */
async function pushRandomImage(ref: ImageRef, tag?: string, platform?: { architecture: string; os: string }): Promise<Descriptor> {
  const layer = await pushBlob(ref, gzipSync(randomBytes(256)), MediaType.Layer);
  const config = await pushBlob(
    ref,
    Buffer.from(
      JSON.stringify({
        architecture: platform?.architecture ?? 'amd64',
        os: platform?.os ?? 'linux',
        config: { Labels: { 'dev.kna.harness.nonce': randomBytes(8).toString('hex') } },
        rootfs: { type: 'layers', diff_ids: [sha256(randomBytes(8))] },
      }),
    ),
    MediaType.ImageConfig,
  );
  const manifest = { schemaVersion: 2, mediaType: MediaType.ImageManifest, config, layers: [layer] };
  const desc = await pushManifest(ref, tag ?? sha256(Buffer.from(JSON.stringify(manifest))), manifest, MediaType.ImageManifest);
  return platform ? { ...desc, platform } : desc;
}

export interface PushOptions {
  /** Push a multi-architecture index (linux/amd64 + linux/arm64) instead of a single image. */
  readonly index?: boolean;
}

/** Pushes a random image (or index) and tags it; returns the digest of what the tag points to. */
export async function pushImage(ref: ImageRef, options: PushOptions = {}): Promise<Descriptor> {
  const tag = ref.tag ?? 'latest';
  if (!options.index) return pushRandomImage(ref, tag);
  const manifests = [
    await pushRandomImage(ref, undefined, { architecture: 'amd64', os: 'linux' }),
    await pushRandomImage(ref, undefined, { architecture: 'arm64', os: 'linux' }),
  ];
  return pushManifest(ref, tag, { schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests }, MediaType.ImageIndex);
}

/** The referrers tag schema's tag for a subject digest (OCI distribution spec, "Referrers Tag Schema"). */
function referrersTag(digest: string): string {
  return digest.replace(':', '-');
}

/** Whether the registry implements the OCI referrers API (404 on the endpoint means it does not). */
export async function supportsReferrersApi(ref: ImageRef, digest: string): Promise<boolean> {
  const res = await fetch(`${baseUrl(ref)}/referrers/${digest}`);
  await res.arrayBuffer();
  return res.ok && (res.headers.get('content-type') ?? '').includes(MediaType.ImageIndex);
}

/** Lists referrers through the API, or the tag schema index when the registry has no API. */
export async function listReferrers(ref: ImageRef, digest: string): Promise<Descriptor[]> {
  if (await supportsReferrersApi(ref, digest)) {
    const res = await fetch(`${baseUrl(ref)}/referrers/${digest}`);
    const index = (await res.json()) as { manifests?: Descriptor[] };
    return index.manifests ?? [];
  }
  const index = await getManifest(ref, referrersTag(digest));
  return (index?.json.manifests as Descriptor[] | undefined) ?? [];
}

/** Rewrites the tag-schema index of a subject: `update` gets the current entries and returns the new ones. */
export async function updateReferrersTagIndex(ref: ImageRef, subjectDigest: string, update: (entries: Descriptor[]) => Descriptor[]): Promise<void> {
  const current = await getManifest(ref, referrersTag(subjectDigest));
  const entries = update((current?.json.manifests as Descriptor[] | undefined) ?? []);
  await pushManifest(ref, referrersTag(subjectDigest), { schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests: entries }, MediaType.ImageIndex);
}

export interface AttachOptions {
  readonly artifactType: string;
  readonly payload: Buffer;
  /** Media type of the single layer; defaults to application/json. */
  readonly mediaType?: string;
  /** Gzip the payload (and add +gzip to the media type). */
  readonly gzip?: boolean;
  readonly annotations?: Record<string, string>;
}

/** Pushes an artifact that refers to `subject` (an attestation: SBOM, scan report…); returns its descriptor. */
export async function attachReferrer(subject: ImageRef & { digest: string }, options: AttachOptions): Promise<Descriptor> {
  const subjectManifest = await getManifest(subject, subject.digest);
  if (!subjectManifest) throw new Error(`subject ${formatRef(subject)} does not exist`);
  const data = options.gzip ? gzipSync(options.payload) : options.payload;
  const mediaType = (options.mediaType ?? 'application/json') + (options.gzip ? '+gzip' : '');
  const layer = await pushBlob(subject, data, mediaType);
  const config = await pushBlob(subject, Buffer.from('{}'), MediaType.Empty);
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ImageManifest,
    artifactType: options.artifactType,
    config,
    layers: [layer],
    subject: subjectManifest.descriptor,
    annotations: { 'org.opencontainers.image.created': new Date().toISOString(), ...options.annotations },
  };
  const body = Buffer.from(JSON.stringify(manifest));
  const desc = await pushManifest(subject, sha256(body), manifest, MediaType.ImageManifest);
  const entry: Descriptor = {
    ...desc,
    artifactType: options.artifactType,
    annotations: manifest.annotations,
  };
  if (!(await supportsReferrersApi(subject, subject.digest))) {
    await updateReferrersTagIndex(subject, subject.digest, (entries) => [...entries.filter((e) => e.digest !== entry.digest), entry]);
  }
  return entry;
}

/**
 * Copies the manifest (or index) `from` names by digest, with its blobs and child manifests, into another
 * repository under `to.tag`: the same digest in a second repository. Referrers (signatures, attestations)
 * are not copied, so the copy starts unsigned.
 */
export async function copyImage(from: ImageRef & { digest: string }, to: ImageRef): Promise<Descriptor> {
  const fetched = await getManifest(from, from.digest);
  if (!fetched) throw new Error(`${formatRef(from)} does not exist`);
  const json = fetched.json as { config?: Descriptor; layers?: Descriptor[]; manifests?: Descriptor[] };
  for (const blob of [...(json.config ? [json.config] : []), ...(json.layers ?? [])]) {
    await pushBlob(to, await getBlob(from, blob.digest), blob.mediaType);
  }
  for (const child of json.manifests ?? []) await copyImage({ ...from, digest: child.digest }, { registry: to.registry, repository: to.repository });
  const res = await fetch(`${baseUrl(to)}/manifests/${to.tag ?? fetched.descriptor.digest}`, {
    method: 'PUT',
    headers: { 'content-type': fetched.descriptor.mediaType },
    body: new Uint8Array(fetched.body),
  });
  await expectOk(res, `copy ${formatRef(from)} to ${formatRef(to)}`);
  return fetched.descriptor;
}
