// Typed views of the JSON a registry serves: descriptors, image manifests and indexes (OCI image-spec
// descriptor.md, manifest.md, image-index.md; Docker Image Manifest V2 Schema 2 has the same shape).
// The input is untrusted: shapes are checked field by field and anything that does not fit is reported
// with the JSON path of the first problem. Unknown fields are ignored, as the specs require.
import { isDigest } from './digest.js';
import { MediaType, essence, isIndexMediaType, isManifestMediaType, type ManifestMediaType } from './mediaTypes.js';

interface Platform {
  readonly architecture: string;
  readonly os: string;
  readonly variant?: string;
}

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly platform?: Platform;
}

interface ManifestCommon {
  readonly mediaType: ManifestMediaType;
  readonly artifactType?: string;
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

interface ImageManifest extends ManifestCommon {
  readonly kind: 'manifest';
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
}

interface ImageIndex extends ManifestCommon {
  readonly kind: 'index';
  readonly manifests: readonly Descriptor[];
}

export type Manifest = ImageManifest | ImageIndex;

/** Thrown with the JSON path of the first thing that does not fit. */
export class ShapeError extends Error {}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(obj: Json, key: string, path: string): string | undefined {
  const value = obj[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new ShapeError(`${path}.${key} must be a string`);
  return value;
}

function annotationsOf(obj: Json, path: string): Record<string, string> | undefined {
  const value = obj.annotations;
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw new ShapeError(`${path}.annotations must be an object`);
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new ShapeError(`${path}.annotations[${JSON.stringify(k)}] must be a string`);
  }
  // fromEntries defines own properties, so a "__proto__" key stays a key.
  return Object.fromEntries(Object.entries(value)) as Record<string, string>;
}

export function parseDescriptor(value: unknown, path: string): Descriptor {
  if (!isObject(value)) throw new ShapeError(`${path} must be an object`);
  const { mediaType, digest, size } = value;
  if (typeof mediaType !== 'string' || mediaType === '') throw new ShapeError(`${path}.mediaType must be a non-empty string`);
  if (typeof digest !== 'string' || !isDigest(digest)) throw new ShapeError(`${path}.digest must be a sha256 or sha512 digest`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw new ShapeError(`${path}.size must be a non-negative integer`);
  const artifactType = optionalString(value, 'artifactType', path);
  const annotations = annotationsOf(value, path);
  let platform: Platform | undefined;
  if (value.platform !== undefined) {
    const p = value.platform;
    if (!isObject(p) || typeof p.architecture !== 'string' || typeof p.os !== 'string') {
      throw new ShapeError(`${path}.platform must have string architecture and os`);
    }
    const variant = optionalString(p, 'variant', `${path}.platform`);
    platform = { architecture: p.architecture, os: p.os, ...(variant !== undefined && { variant }) };
  }
  return {
    mediaType,
    digest,
    size,
    ...(artifactType !== undefined && { artifactType }),
    ...(annotations !== undefined && { annotations }),
    ...(platform !== undefined && { platform }),
  };
}

function descriptorList(obj: Json, key: string): Descriptor[] {
  const value = obj[key];
  if (!Array.isArray(value)) throw new ShapeError(`$.${key} must be an array`);
  return value.map((d, i) => parseDescriptor(d, `$.${key}[${i}]`));
}

/**
 * The media type of a manifest document: its `mediaType` field and the response's Content-Type must not
 * disagree (image-spec manifest.md: the field, when present, MUST match; a document that claims to be two
 * things is refused rather than interpreted one way here and another way by notation or kubelet).
 */
export function manifestMediaType(document: Json, contentType: string | null): ManifestMediaType {
  const header = essence(contentType);
  const field = document.mediaType;
  if (field !== undefined && typeof field !== 'string') throw new ShapeError('$.mediaType must be a string');
  if (field !== undefined && !isManifestMediaType(field)) throw new ShapeError(`unsupported manifest media type ${JSON.stringify(field)}`);
  if (field !== undefined && isManifestMediaType(header) && header !== field) {
    throw new ShapeError(`$.mediaType ${field} contradicts the Content-Type ${header}`);
  }
  const mediaType = field ?? header;
  if (isManifestMediaType(mediaType)) return mediaType;
  // No mediaType field and a generic Content-Type: OCI manifests before image-spec 1.1 may omit the field.
  if (Array.isArray(document.manifests)) return MediaType.OciIndex;
  if (isObject(document.config) && Array.isArray(document.layers)) return MediaType.OciManifest;
  throw new ShapeError(`unsupported manifest media type ${JSON.stringify(header || 'none')}`);
}

/** Parses a manifest or index document (already known to be JSON). */
export function parseManifest(document: unknown, contentType: string | null): Manifest {
  if (!isObject(document)) throw new ShapeError('$ must be a JSON object');
  if (document.schemaVersion !== 2) throw new ShapeError('$.schemaVersion must be 2');
  const mediaType = manifestMediaType(document, contentType);
  const artifactType = optionalString(document, 'artifactType', '$');
  const annotations = annotationsOf(document, '$');
  const subject = document.subject === undefined || document.subject === null ? undefined : parseDescriptor(document.subject, '$.subject');
  const common = {
    mediaType,
    ...(artifactType !== undefined && { artifactType }),
    ...(subject !== undefined && { subject }),
    ...(annotations !== undefined && { annotations }),
  };
  if (isIndexMediaType(mediaType)) return { kind: 'index', ...common, manifests: descriptorList(document, 'manifests') };
  return { kind: 'manifest', ...common, config: parseDescriptor(document.config, '$.config'), layers: descriptorList(document, 'layers') };
}

/** JSON text → value, with the parse error as a ShapeError. */
export function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new ShapeError(`not JSON (${(err as Error).message})`);
  }
}
