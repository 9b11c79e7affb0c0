// Where a registry named in an image reference is reached: which host serves its API, over which scheme,
// and under which name its credentials are filed.
import { canonicalRegistry } from '@kna/shared/image';

/** A repository in a registry, as an image reference names it (`registry/repository`). */
export interface RepositoryRef {
  /** `host[:port]` as written in the image reference (`docker.io`, `localhost:5000`, `1234….dkr.ecr….com`). */
  readonly registry: string;
  /** `library/nginx`, `team/app` (distribution-spec "Pulling manifests": `<name>`). */
  readonly repository: string;
}

/** An image: a repository plus a tag and/or a digest (the digest wins when both are given). */
export interface ImageRef extends RepositoryRef {
  readonly tag?: string;
  readonly digest?: string;
}

/** Docker Hub: the name people write (canonicalRegistry folds its aliases into it) and its API host. */
const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_API = 'registry-1.docker.io';

/**
 * The canonical name of a registry for credentials, messages and cache keys: shared's canonicalRegistry
 * (lower-case host[:port], Docker Hub's aliases folded into `docker.io`; docker config files key Docker
 * Hub as `https://index.docker.io/v1/`), the same function the image-reference parser applies.
 */
export { canonicalRegistry };

/** The host that serves the distribution API: Docker Hub's is not the one in image references. */
export function apiHostOf(registry: string): string {
  const canonical = canonicalRegistry(registry);
  return canonical === DOCKER_HUB ? DOCKER_HUB_API : canonical;
}

/** `host` of `host:port`, `[::1]:5000` → `::1`. */
export function hostnameOf(hostPort: string): string {
  if (hostPort.startsWith('[')) {
    const end = hostPort.indexOf(']');
    return end > 0 ? hostPort.slice(1, end) : hostPort;
  }
  const colons = hostPort.split(':').length - 1;
  // A bare IPv6 address (more than one colon, no brackets) has no port.
  if (colons !== 1) return hostPort;
  return hostPort.slice(0, hostPort.indexOf(':'));
}

const LOOPBACK: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '::1']);

export interface SchemePolicy {
  /** `host[:port]` entries that are reached over plain HTTP (a bare host covers every port). */
  readonly insecureRegistries: readonly string[];
  /** `--allowInsecureRegistry`: plain HTTP for every registry. */
  readonly allowInsecure: boolean;
}

/**
 * Whether a registry is reached over plain HTTP. HTTPS is the default everywhere; loopback registries
 * (what notation itself does for `localhost`, notation's specification) and registries the operator
 * listed are the exceptions. The original service never used plain HTTP (docs/architecture.md "The request pipeline").
 */
export function usesPlainHttp(hostPort: string, policy: SchemePolicy): boolean {
  if (policy.allowInsecure) return true;
  const host = hostPort.toLowerCase();
  if (LOOPBACK.has(hostnameOf(host))) return true;
  return policy.insecureRegistries.some((entry) => {
    const listed = entry.toLowerCase();
    return listed === host || (!listed.includes(':') && listed === hostnameOf(host)) || apiHostOf(listed) === host;
  });
}

/** `http(s)://<api host>/v2/<repository>` */
export function repositoryUrl(ref: RepositoryRef, policy: SchemePolicy): URL {
  const host = apiHostOf(ref.registry);
  const scheme = usesPlainHttp(host, policy) ? 'http' : 'https';
  return new URL(`${scheme}://${host}/v2/${ref.repository}/`);
}
