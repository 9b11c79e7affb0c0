// Media types the verifier's registry client reads. The manifest kinds are the four that an image
// reference can name (OCI image-spec manifest.md / image-index.md, Docker Image Manifest V2 Schema 2);
// Docker schema 1 is deliberately absent: notation cannot sign or verify it.

export const MediaType = {
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  /** The artifactType of notation signatures (notation-go registry/repository.go). */
  NotationSignature: 'application/vnd.cncf.notary.signature',
} as const;

export type ManifestMediaType =
  typeof MediaType.OciManifest | typeof MediaType.OciIndex | typeof MediaType.DockerManifest | typeof MediaType.DockerManifestList;

const MANIFEST_TYPES: ReadonlySet<string> = new Set<ManifestMediaType>([
  MediaType.OciIndex,
  MediaType.OciManifest,
  MediaType.DockerManifestList,
  MediaType.DockerManifest,
]);

/**
 * The Accept header of every manifest request. Without it Docker-compatible registries may down-convert to
 * schema 1 or pick one platform's manifest out of a list, and the digest would not be the one kubelet pulls.
 */
export const MANIFEST_ACCEPT = [...MANIFEST_TYPES].join(', ');

export function isManifestMediaType(value: string): value is ManifestMediaType {
  return MANIFEST_TYPES.has(value);
}

export function isIndexMediaType(value: ManifestMediaType): boolean {
  return value === MediaType.OciIndex || value === MediaType.DockerManifestList;
}

/** `application/vnd.oci.image.index.v1+json; charset=utf-8` → the bare type, lower-cased (RFC 9110 §8.3.1). */
export function essence(contentType: string | null): string {
  return (contentType ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
}
