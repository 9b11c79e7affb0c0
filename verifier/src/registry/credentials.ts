// Registry credentials and where they come from (docs/architecture.md "The request pipeline" "Credentials", docs/architecture.md "The request pipeline":
// first non-anonymous source wins, resolved per registry host). A provider answers for one registry host;
// `undefined` means "anonymous as far as I know". Credentials are secrets: nothing here logs them, and
// error messages never include them.
import { readFile } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { canonicalRegistry, hostnameOf } from './endpoint.js';
import { isRecord } from '@kna/shared/manifests';

/** What a registry can be authenticated with (the docker config `auths` entry kinds). */
export type Credentials =
  /** Username and password: HTTP Basic, or basic auth at the token endpoint (Docker token flow). */
  | { readonly kind: 'basic'; readonly username: string; readonly password: string }
  /**
   * An OAuth2 refresh token (docker config `identitytoken`), exchanged at the token endpoint with
   * `grant_type=refresh_token` (distribution token auth "OAuth2 Token Authentication"). Docker config
   * semantics, not the original's: ORAS there received it as an access token (docs/architecture.md "The request pipeline").
   */
  | { readonly kind: 'identityToken'; readonly username?: string; readonly token: string }
  /** A bearer access token sent as is (docker config `registrytoken`). */
  | { readonly kind: 'registryToken'; readonly token: string };

/** Credentials for a registry host (canonical: `docker.io` for Docker Hub), or undefined for anonymous. */
export type CredentialProvider = (registryHost: string) => Promise<Credentials | undefined>;

export const anonymous: CredentialProvider = () => Promise.resolve(undefined);

/** The first provider with credentials for the host wins; a provider that fails fails the lookup. */
export function chainCredentials(...providers: readonly CredentialProvider[]): CredentialProvider {
  return async (registryHost) => {
    for (const provider of providers) {
      const found = await provider(registryHost);
      if (found) return found;
    }
    return undefined;
  };
}

/** A docker config document that is not what it should be. Never carries the document's content. */
export class DockerConfigError extends Error {
  readonly code = 'KNA_ERR_DOCKER_CONFIG';
}

interface Entry {
  /** Canonical host[:port], possibly with `*` label wildcards (kubelet allows `*.example.com`). */
  readonly host: string;
  readonly credentials: Credentials;
}

/**
 * A parsed docker config: the content of a `kubernetes.io/dockerconfigjson` Secret's `.dockerconfigjson`
 * or of `~/.docker/config.json` (`{"auths": {…}}`), or the legacy `kubernetes.io/dockercfg` form (the host
 * map at the top level). Keys may be hosts or URLs (`https://index.docker.io/v1/` is Docker Hub); an entry
 * has `auth` (base64 of `user:password`, which wins over `username`/`password` as in docker and kubelet),
 * `identitytoken` or `registrytoken`. Credential helpers (`credsStore`, `credHelpers`) are not run.
 * Entries without usable credentials are ignored.
 */
export class DockerConfig {
  readonly #entries: Entry[];

  private constructor(entries: Entry[]) {
    this.#entries = entries;
  }

  /** Parses untrusted JSON text or an already parsed value; throws DockerConfigError when it is not a docker config. */
  static parse(source: unknown, origin = 'docker config'): DockerConfig {
    let document: unknown = source;
    if (typeof source === 'string') {
      try {
        document = JSON.parse(source);
      } catch {
        throw new DockerConfigError(`${origin} is not valid JSON`);
      }
    }
    if (!isRecord(document)) throw new DockerConfigError(`${origin} is not a JSON object`);
    const auths = 'auths' in document ? document.auths : document;
    if (!isRecord(auths)) throw new DockerConfigError(`${origin}: "auths" is not an object`);
    const entries: Entry[] = [];
    for (const [key, value] of Object.entries(auths)) {
      const host = hostOfKey(key);
      if (!host || !isRecord(value)) continue;
      const credentials = credentialsOf(value, `${origin} entry ${JSON.stringify(key)}`);
      if (credentials) entries.push({ host, credentials });
    }
    return new DockerConfig(entries);
  }

  /** Hosts with credentials (for diagnostics; never the credentials). */
  get hosts(): string[] {
    return this.#entries.map((e) => e.host);
  }

  /** An exact host entry wins over a wildcard one; among equals, the first in the document. */
  lookup(registryHost: string): Credentials | undefined {
    const host = canonicalRegistry(registryHost);
    const exact = this.#entries.find((e) => e.host === host);
    if (exact) return exact.credentials;
    return this.#entries.find((e) => e.host.includes('*') && wildcardHostMatches(e.host, host))?.credentials;
  }

  provider(): CredentialProvider {
    return (registryHost) => Promise.resolve(this.lookup(registryHost));
  }
}

/** Credentials from docker config documents (pull secrets in the order given: the first match wins). */
export function dockerConfigCredentials(...configs: readonly DockerConfig[]): CredentialProvider {
  return chainCredentials(...configs.map((c) => c.provider()));
}

export interface DockerConfigFileOptions {
  /** Default: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
  readonly path?: string;
}

/**
 * The verifier's own docker config file (the "default keychain" of docs/architecture.md "The request pipeline"). Read again
 * only when its modification time changes; a missing file means anonymous, an unreadable or invalid one
 * fails the lookup (silently dropping credentials would turn into confusing 401s).
 */
export function dockerConfigFileCredentials(options: DockerConfigFileOptions = {}): CredentialProvider {
  const path = options.path ?? defaultDockerConfigPath();
  let loaded: { mtimeMs: number; config: DockerConfig } | undefined;
  return async (registryHost) => {
    let mtimeMs: number;
    try {
      // Synchronous: a stat of a local file costs microseconds on the event loop, where the promise form
      // is a round trip through libuv's thread pool (a thread woken, and the loop woken again) on every
      // registry exchange, which waits for a CPU on a loaded machine (docs/benchmarks.md "Where an
      // uncached request's time goes, against the original").
      mtimeMs = statSync(path).mtimeMs;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new DockerConfigError(`cannot read ${path}: ${(err as Error).message}`);
    }
    if (loaded?.mtimeMs !== mtimeMs) {
      const text = await readFile(path, 'utf8').catch((err: unknown) => {
        throw new DockerConfigError(`cannot read ${path}: ${(err as Error).message}`);
      });
      loaded = { mtimeMs, config: DockerConfig.parse(text, path) };
    }
    return loaded.config.lookup(registryHost);
  };
}

function defaultDockerConfigPath(): string {
  const dir = process.env.DOCKER_CONFIG ?? `${process.env.HOME ?? '/'}/.docker`;
  return `${dir}/config.json`;
}

/**
 * `https://index.docker.io/v1/` → `docker.io`, `http://reg:5000/v2/` → `reg:5000`, `reg.example.com` →
 * itself. A path in the key (`reg.example.com/team`) is dropped: providers answer per host, so such an entry
 * applies to the whole registry. Harmless for a client that only pulls, and simpler than kubelet's
 * per-path matching, which would need the repository in the provider's signature.
 */
export function hostOfKey(key: string): string | undefined {
  let rest = key.trim();
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(rest);
  if (scheme) rest = rest.slice(scheme[0].length);
  const host = rest.split('/', 1)[0] ?? '';
  if (!/^(?:\[[0-9a-f:.]+\]|[a-z0-9*](?:[a-z0-9*.-]*[a-z0-9*])?)(?::\d{1,5})?$/i.test(host)) return undefined;
  return canonicalRegistry(host);
}

/** Kubelet's rule: same number of labels, `*` matching within one label, ports equal. */
function wildcardHostMatches(pattern: string, host: string): boolean {
  const [patternName, patternPort] = splitPort(pattern);
  const [hostName, hostPort] = splitPort(host);
  if (patternPort !== hostPort) return false;
  const patternLabels = patternName.split('.');
  const hostLabels = hostName.split('.');
  if (patternLabels.length !== hostLabels.length) return false;
  return patternLabels.every((label, i) => {
    const escaped = label.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '[^.]*');
    return new RegExp(`^${escaped}$`).test(hostLabels[i] ?? '');
  });
}

function splitPort(hostPort: string): [string, string] {
  const name = hostnameOf(hostPort);
  return [name, hostPort.slice(name.length + (hostPort.startsWith('[') ? 2 : 0))];
}

function credentialsOf(entry: Record<string, unknown>, where: string): Credentials | undefined {
  const str = (name: string) => (typeof entry[name] === 'string' ? entry[name] : undefined);
  let username = str('username');
  let password = str('password');
  const auth = str('auth');
  if (auth) {
    const decoded = Buffer.from(auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new DockerConfigError(`${where}: "auth" is not base64 of "username:password"`);
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  }
  const identityToken = str('identitytoken');
  if (identityToken) return { kind: 'identityToken', token: identityToken, ...(username ? { username } : {}) };
  const registryToken = str('registrytoken');
  if (registryToken) return { kind: 'registryToken', token: registryToken };
  if (username && password !== undefined) return { kind: 'basic', username, password };
  return undefined;
}
