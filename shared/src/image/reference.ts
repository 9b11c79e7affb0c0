// Image references: the string Kyverno shows for an image, the parsed form the verifier resolves, and the
// digest-pinned value that goes into the JSON patch.
//
// Parsing follows the distribution reference grammar (distribution/reference regexp.go) with Docker's
// normalisation (ParseNormalizedNamed / splitDockerDomain), which is what Kyverno uses to build its `images`
// variable: `busybox` → `docker.io/library/busybox:latest`. It is stricter than the original service (which only
// prefixed `docker.io/library/` when there was no `/` at all, docs/architecture.md "The request pipeline") and says what is
// wrong instead of failing later in the registry client or in notation.
import { Outcome, defineError } from '../errors.js';

/** The reference cannot be used (malformed): the request is wrong, answered 400 (docs/architecture.md "The HTTP contract"). */
export const ERR_INVALID_IMAGE_REFERENCE = defineError(
  'KNA_ERR_INVALID_IMAGE_REFERENCE',
  Outcome.BadRequest,
  (reference: string, why: string) => `invalid image reference ${quote(reference)}: ${why}`,
);

/** One entry of Kyverno's `images` variable (docs/architecture.md "The HTTP contract"). Only `registry` and `path` are always set. */
export interface ImageInfo {
  /** Registry host, e.g. "111122223333.dkr.ecr.us-west-2.amazonaws.com"; "" when Kyverno's default-registry mutation is off. */
  registry: string;
  /** Repository path, e.g. "library/busybox". */
  path: string;
  /** Last path segment. */
  name?: string | undefined;
  tag?: string | undefined;
  digest?: string | undefined;
  /** JSON pointer of the image field in the admitted object; echoed as the patch path. */
  jsonPointer?: string | undefined;
  reference?: string | undefined;
  referenceWithTag?: string | undefined;
}

/** A parsed, normalised image reference. */
export interface ImageReference {
  /** Registry host[:port] in canonical form (canonicalRegistry: lower case, Docker Hub's names folded into `docker.io`). */
  registry: string;
  /** Repository path inside the registry, e.g. "library/busybox". */
  repository: string;
  /** `<registry>/<repository>`: what notation matches trust-policy registry scopes against. */
  name: string;
  /** Present when written, or "latest" when neither a tag nor a digest was written. */
  tag?: string;
  digest?: string;
}

const DEFAULT_REGISTRY = 'docker.io';
/**
 * Docker Hub's other names: `index.docker.io` (Docker's legacy default domain, folded by distribution's
 * ParseNormalizedNamed), the API host `registry-1.docker.io` and `registry.hub.docker.com`.
 */
const DOCKER_HUB_ALIASES: ReadonlySet<string> = new Set([DEFAULT_REGISTRY, 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);
const OFFICIAL_REPOSITORY_PREFIX = 'library/';
const DEFAULT_TAG = 'latest';
/** distribution/reference NameTotalLengthMax: registry + "/" + repository. */
const NAME_MAX_LENGTH = 255;

// distribution/reference regexp.go, anchored. A registry is a host (domain name or bracketed IPv6) and a port.
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const REGISTRY_RE = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
// Only the algorithms the OCI image spec registers, with their exact encoded length (lowercase hex).
const DIGEST_RE = /^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
const DIGEST_LENGTHS: Record<string, number> = { sha256: 64, sha512: 128 };
const HEX64_RE = /^[a-f0-9]{64}$/;
// Whitespace, C0/C1 controls, DEL, zero-width, bidi and line/paragraph separators: never part of a reference, and
// dangerous in logs and messages (they can hide or reorder text). Matching control characters is the point here.
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\s\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/u;

/**
 * The one spelling of a registry host[:port] that everything downstream compares: trust-policy registry
 * scopes (notation matches `<registry>/<repository>` against them byte for byte), `imageReferences`, cache
 * keys, credentials and the registry client. Host names are case-insensitive (RFC 4343), so the host is
 * lower-cased; Docker Hub's aliases become `docker.io`. Ports are kept as written: neither notation (oras-go's
 * ParseReference) nor Kyverno (distribution's reference.Parse) drops a default port, so `reg:443/app` and
 * `reg/app` are two scopes for notation and stay two names here.
 */
export function canonicalRegistry(registry: string): string {
  const host = registry.toLowerCase();
  return DOCKER_HUB_ALIASES.has(host) ? DEFAULT_REGISTRY : host;
}

/**
 * What is wrong with a registry as written (`host[:port]`), or undefined. Refuses what notation, Kyverno or
 * a registry client would each read differently: user information (`user:pass@host`), a scheme or path,
 * and a port that is not a plain decimal 1–65535 (leading zeros are read as octal by some parsers).
 */
export function registryProblem(registry: string): string | undefined {
  if (registry === '') return 'the registry is empty';
  if (registry.includes('@')) return 'user information ("user@" or "user:password@") is not part of a registry; give credentials with --imagePullSecrets';
  if (registry.includes('://')) return 'a registry has no scheme: remove the "…://" prefix';
  if (registry.includes('/')) return 'a registry is host[:port] without a path';
  if (!REGISTRY_RE.test(registry)) return `invalid registry host ${quote(registry)} (expected host[:port], e.g. registry.example.com:5000)`;
  const port = /:([0-9]+)$/.exec(registry)?.[1];
  if (port !== undefined) {
    if (port.length > 1 && port.startsWith('0')) return `the port ${quote(port)} has a leading zero; write it as ${quote(String(Number(port)))}`;
    if (Number(port) < 1 || Number(port) > 65535) return `the port ${quote(port)} is not between 1 and 65535`;
  }
  return undefined;
}

/**
 * A registry scope of a trust policy in canonical form (canonicalRegistry, and Docker Hub's official
 * images under `library/`), so that it names the repository the way parsed references do; `*` and
 * anything that is not `<registry>/<repository>` are returned unchanged for the validator to report.
 */
export function canonicalScope(scope: string): string {
  const slash = scope.indexOf('/');
  if (scope === '*' || slash <= 0) return scope;
  const registry = canonicalRegistry(scope.slice(0, slash));
  let repository = scope.slice(slash + 1);
  if (registry === DEFAULT_REGISTRY && repository !== '' && !repository.includes('/')) repository = OFFICIAL_REPOSITORY_PREFIX + repository;
  return `${registry}/${repository}`;
}

function quote(value: string): string {
  const shown = value.length > 300 ? `${value.slice(0, 300)}…` : value;
  return JSON.stringify(shown);
}

/** True when `value` is an OCI digest this service accepts: `sha256:<64 hex>` or `sha512:<128 hex>`, lowercase. */
export function isValidDigest(value: string): boolean {
  return DIGEST_RE.test(value);
}

function digestProblem(digest: string): string | undefined {
  if (DIGEST_RE.test(digest)) return undefined;
  const colon = digest.indexOf(':');
  if (colon < 0) return `digest ${quote(digest)} has no algorithm (expected sha256:<64 hex> or sha512:<128 hex>)`;
  const algorithm = digest.slice(0, colon);
  const length = DIGEST_LENGTHS[algorithm];
  if (length === undefined) return `unsupported digest algorithm ${quote(algorithm)} (expected sha256 or sha512)`;
  return `a ${algorithm} digest is ${length} lowercase hexadecimal characters, got ${quote(digest.slice(colon + 1))}`;
}

function repositoryProblem(repository: string): string | undefined {
  const components = repository.split('/');
  for (const component of components) {
    if (component === '') return `repository ${quote(repository)} has an empty path component (leading, trailing or doubled "/")`;
    if (component === '.' || component === '..') return `path component ${quote(component)} is not allowed`;
    if (PATH_COMPONENT_RE.test(component)) continue;
    if (PATH_COMPONENT_RE.test(component.toLowerCase())) {
      return `repository names must be lowercase (${quote(component)} → ${quote(component.toLowerCase())})`;
    }
    return `invalid path component ${quote(component)}: use lowercase letters and digits separated by ".", "_", "__" or "-"`;
  }
  return undefined;
}

/**
 * Parses an image reference as written in a pod spec (`busybox`, `ghcr.io/org/app:v1`, `host:5000/app@sha256:…`)
 * into its normalised parts. Throws ERR_INVALID_IMAGE_REFERENCE saying what is wrong.
 */
export function parseImageReference(reference: string): ImageReference {
  const fail = (why: string): never => {
    throw new ERR_INVALID_IMAGE_REFERENCE(reference, why);
  };
  if (reference === '') fail('the reference is empty');
  const control = CONTROL_RE.exec(reference);
  if (control)
    fail(
      `contains whitespace or a control character (U+${(control[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}) at position ${control.index}`,
    );
  if (reference.includes('://')) fail('a reference has no scheme: remove the "…://" prefix');

  let rest = reference;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (digest.includes('@')) fail('contains more than one "@"');
    if (digest === '') fail('empty digest after "@"');
    const problem = digestProblem(digest);
    if (problem !== undefined) fail(problem);
  }

  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > rest.lastIndexOf('/')) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (tag === '') fail('empty tag after ":"');
    if (!TAG_RE.test(tag)) fail(`invalid tag ${quote(tag)}: a tag is 1 to 128 letters, digits, "_", "." or "-" and does not start with "." or "-"`);
  }
  if (rest === '') fail('the repository name is empty');
  if (HEX64_RE.test(rest)) fail('a 64-character hexadecimal string is an image ID, not a repository name');

  // splitDockerDomain: the first component is a registry only if it looks like a host (has "." or ":", is
  // "localhost", or has uppercase letters, which repository names cannot have); otherwise Docker Hub is implied.
  let registry: string;
  let repository: string;
  const slash = rest.indexOf('/');
  const first = slash < 0 ? '' : rest.slice(0, slash);
  if (slash < 0 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    registry = DEFAULT_REGISTRY;
    repository = rest;
  } else {
    registry = first;
    repository = rest.slice(slash + 1);
  }
  const registryFault = registryProblem(registry);
  if (registryFault !== undefined) fail(registryFault);
  registry = canonicalRegistry(registry);
  if (registry === DEFAULT_REGISTRY && repository !== '' && !repository.includes('/')) repository = OFFICIAL_REPOSITORY_PREFIX + repository;
  const problem = repositoryProblem(repository);
  if (problem !== undefined) fail(problem);
  const name = `${registry}/${repository}`;
  if (name.length > NAME_MAX_LENGTH) fail(`the name ${quote(name)} is longer than ${NAME_MAX_LENGTH} characters`);

  const parsed: ImageReference = { registry, repository, name };
  if (tag !== undefined) parsed.tag = tag;
  else if (digest === undefined) parsed.tag = DEFAULT_TAG;
  if (digest !== undefined) parsed.digest = digest;
  return parsed;
}

/** The fully qualified text of a parsed reference: `<registry>/<repository>[:<tag>][@<digest>]`. */
export function formatImageReference(reference: Pick<ImageReference, 'registry' | 'repository' | 'tag' | 'digest'>): string {
  let text = `${reference.registry}/${reference.repository}`;
  if (reference.tag !== undefined) text += `:${reference.tag}`;
  if (reference.digest !== undefined) text += `@${reference.digest}`;
  return text;
}

function repositoryText(info: Pick<ImageInfo, 'registry' | 'path'>): string {
  return info.registry === '' ? info.path : `${info.registry}/${info.path}`;
}

/**
 * The image as Kyverno prints it (ImageInfo.String(), docs/architecture.md "The HTTP contract"): `<registry>/<path>` (or `<path>`
 * when the registry is empty), then `@<digest>` when there is a digest, else `:<tag>`. This is the string that
 * `imageReferences` wildcards and attestation `imageReference`s are matched against, so it is reproduced exactly,
 * including the trailing ":" Kyverno produces when there is neither a tag nor a digest.
 */
export function imageReferenceString(info: Pick<ImageInfo, 'registry' | 'path' | 'tag' | 'digest'>): string {
  const repository = repositoryText(info);
  if (info.digest !== undefined && info.digest !== '') return `${repository}@${info.digest}`;
  return `${repository}:${info.tag ?? ''}`;
}

/**
 * The patch value that pins an image to its verified digest: `<registry>/<path>@<digest>` (docs/architecture.md "The HTTP contract";
 * the tag is dropped). With an empty registry the path is used alone, as Kyverno does, rather than
 * producing a reference that starts with "/". Throws ERR_INVALID_IMAGE_REFERENCE if `digest` is not a digest.
 */
export function pinnedReference(info: Pick<ImageInfo, 'registry' | 'path'>, digest: string): string {
  const repository = repositoryText(info);
  const problem = digestProblem(digest);
  if (problem !== undefined) throw new ERR_INVALID_IMAGE_REFERENCE(`${repository}@${digest}`, problem);
  return `${repository}@${digest}`;
}
