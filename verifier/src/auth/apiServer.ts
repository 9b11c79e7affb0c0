// The Kubernetes API server as the verifier reaches it, for TokenReview only (auth/tokenReview.ts):
// credentials from a kubeconfig or from the pod's ServiceAccount, one keep-alive connection pool, JSON
// POSTs with a bounded time. A general Kubernetes client added about 40 MiB to the verifier's idle
// memory for this one call (docs/benchmarks.md "Production runtime").
//
// Where the credentials come from (README flag table, --kubeconfig): --kubeconfig, else KUBECONFIG, else
// ~/.kube/config, else the pod's ServiceAccount (its token file, KUBERNETES_SERVICE_HOST/PORT and ca.crt).
// A kubeconfig user is a client certificate, a token or a token file; one that runs a command (exec) or
// names an auth provider is refused at start-up, naming what is not supported.
import { request as httpRequest, Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import { existsSync, readFileSync, statSync, type Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { isRecord } from '@kna/shared/manifests';
import { VERIFIER_ERR_BAD_FLAG, VERIFIER_ERR_KUBECONFIG } from '../errors.js';

/** Where a pod's ServiceAccount credentials are mounted. */
const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** A TokenReview that takes longer than this is answered 503 (the caller's request has a 25 s budget). */
const DEFAULT_TIMEOUT_MS = 10_000;
/** A TokenReview answer is a few hundred bytes; anything past this is not one. */
const MAX_RESPONSE_BYTES = 1 << 20;

/** The bearer token a request presents; a token file is read again when it changes (projected tokens rotate). */
interface BearerToken {
  current(): Promise<string>;
}

/** What the verifier needs to reach the API server as itself. */
export interface ApiServerCredentials {
  /** Base URL (`https://host:port`, possibly with a path prefix). */
  readonly server: URL;
  /** Where these credentials came from, for the start-up log: a kubeconfig's path and context, or the ServiceAccount. */
  readonly source: string;
  /** Certificate authorities (PEM) that sign the server's certificate; undefined: the system's. */
  readonly ca?: Buffer;
  readonly insecureSkipTlsVerify: boolean;
  /** Server name the certificate is checked against, when it differs from the URL's host. */
  readonly tlsServerName?: string;
  readonly clientCertificate?: { readonly cert: Buffer; readonly key: Buffer };
  readonly token?: BearerToken;
}

/** An HTTP answer outside 2xx from the API server; `message` is its Status message when it sent one. */
export class ApiServerStatusError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = 'ApiServerStatusError';
    this.status = status;
  }
}

class StaticToken implements BearerToken {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  current(): Promise<string> {
    return Promise.resolve(this.#value);
  }
}

/**
 * A token file, read at start and again whenever its identity, size or times change (the kubelet
 * replaces a projected token well before it expires). If a later read fails, the last token is kept:
 * the API server then says whether it still holds.
 */
export class TokenFile implements BearerToken {
  readonly path: string;
  #token: string;
  #version: string;

  /** Reads the file now: a missing or empty token file is a start-up error, made by `fail` from what is wrong. */
  constructor(path: string, fail: (detail: string) => Error = (detail) => new Error(detail)) {
    this.path = path;
    this.#version = fileVersion(statSync(path, { throwIfNoEntry: false }));
    let token: string;
    try {
      token = readFileSync(path, 'utf8').trim();
    } catch (err) {
      throw fail(`cannot read the token file ${path}: ${errorText(err)}`);
    }
    if (token === '') throw fail(`the token file ${path} is empty`);
    this.#token = token;
  }

  async current(): Promise<string> {
    try {
      const version = fileVersion(await stat(this.path));
      if (version !== this.#version) {
        const token = (await readFile(this.path, 'utf8')).trim();
        if (token !== '') {
          this.#token = token;
          this.#version = version;
        }
      }
    } catch {
      // Keep the last token (see above).
    }
    return this.#token;
  }
}

/** What changes when a file is rewritten or replaced (a projected volume swaps a symlink). */
function fileVersion(stats: Stats | undefined): string {
  return stats ? `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}` : '';
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// ---------------------------------------------------------------------------------------------------
// Kubeconfig

type YamlMap = Record<string, unknown>;

/** The cluster, context or user entry `name` of a kubeconfig list (`clusters: [{name, cluster: {…}}]`). */
function namedEntry(config: YamlMap, list: string, field: string, name: string): YamlMap | undefined {
  const entries = config[list];
  if (!Array.isArray(entries)) return undefined;
  const entry: unknown = entries.find((e) => isRecord(e) && e.name === name);
  if (!isRecord(entry)) return undefined;
  const value = entry[field];
  return isRecord(value) ? value : value === undefined || value === null ? {} : undefined;
}

/** Kubeconfig fields whose users the verifier cannot be: it runs no commands and knows no auth providers. */
const UNSUPPORTED_USER_FIELDS: Readonly<Record<string, string>> = {
  exec: 'exec credentials (a command that prints a token)',
  'auth-provider': 'an auth-provider',
  username: 'basic authentication (username/password)',
  password: 'basic authentication (username/password)',
  as: 'impersonation (as)',
  'as-uid': 'impersonation (as-uid)',
  'as-groups': 'impersonation (as-groups)',
  'as-user-extra': 'impersonation (as-user-extra)',
};

/**
 * The credentials of a kubeconfig file's current context. Relative file paths in it are relative to the
 * file's directory; `*-data` fields win over the file they stand for.
 */
export function kubeconfigCredentials(path: string): ApiServerCredentials {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new VERIFIER_ERR_KUBECONFIG(`kubeconfig ${file}`, `cannot read it: ${errorText(err)}`);
  }
  let config: unknown;
  try {
    config = parse(text);
  } catch (err) {
    throw new VERIFIER_ERR_KUBECONFIG(`kubeconfig ${file}`, `not valid YAML: ${errorText(err)}`);
  }
  const fail = (detail: string) => new VERIFIER_ERR_KUBECONFIG(`kubeconfig ${file}`, detail);
  if (!isRecord(config)) throw fail('not a kubeconfig (a YAML mapping with clusters, users, contexts and current-context)');
  const contextName = config['current-context'];
  if (typeof contextName !== 'string' || contextName === '') throw fail('no current-context is set');
  const context = namedEntry(config, 'contexts', 'context', contextName);
  if (!context) throw fail(`current-context ${JSON.stringify(contextName)} is not among its contexts`);
  const clusterName = context.cluster;
  if (typeof clusterName !== 'string') throw fail(`context ${JSON.stringify(contextName)} names no cluster`);
  const cluster = namedEntry(config, 'clusters', 'cluster', clusterName);
  if (!cluster) throw fail(`cluster ${JSON.stringify(clusterName)} of context ${JSON.stringify(contextName)} is not among its clusters`);
  const userName = context.user;
  const user = typeof userName === 'string' && userName !== '' ? namedEntry(config, 'users', 'user', userName) : {};
  if (!user) throw fail(`user ${JSON.stringify(userName)} of context ${JSON.stringify(contextName)} is not among its users`);

  const where = `kubeconfig ${file} (context ${JSON.stringify(contextName)})`;
  const failHere = (detail: string) => new VERIFIER_ERR_KUBECONFIG(where, detail);
  const unsupported = new Set<string>();
  for (const [key, what] of Object.entries(UNSUPPORTED_USER_FIELDS)) if (user[key] !== undefined && user[key] !== null) unsupported.add(what);
  if (unsupported.size > 0) {
    throw failHere(
      `user ${JSON.stringify(userName)} uses ${[...unsupported].join(' and ')}, which the verifier does not support; ` +
        'give it a client certificate, a token or a tokenFile (or run the verifier in the cluster with its ServiceAccount)',
    );
  }
  if (cluster['proxy-url'] !== undefined && cluster['proxy-url'] !== null)
    throw failHere(`cluster ${JSON.stringify(clusterName)} sets proxy-url, which the verifier does not support`);

  const dir = dirname(file);
  const string = (map: YamlMap, key: string): string | undefined => {
    const value = map[key];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string') throw failHere(`${key} must be a string`);
    return value;
  };
  /** The bytes of `<key>-data` (base64) or of the file `<key>` names. */
  const material = (map: YamlMap, key: string): Buffer | undefined => {
    const data = string(map, `${key}-data`);
    if (data !== undefined) return Buffer.from(data, 'base64');
    const path = string(map, key);
    if (path === undefined) return undefined;
    try {
      return readFileSync(resolve(dir, path));
    } catch (err) {
      throw failHere(`${key} ${resolve(dir, path)}: ${errorText(err)}`);
    }
  };

  const serverText = string(cluster, 'server');
  if (serverText === undefined) throw failHere(`cluster ${JSON.stringify(clusterName)} has no server`);
  let server: URL;
  try {
    server = new URL(serverText);
  } catch {
    throw failHere(`server ${JSON.stringify(serverText)} is not a URL`);
  }
  if (server.protocol !== 'https:' && server.protocol !== 'http:') throw failHere(`server ${JSON.stringify(serverText)} is not an http(s) URL`);

  const cert = material(user, 'client-certificate');
  const key = material(user, 'client-key');
  if ((cert === undefined) !== (key === undefined)) throw failHere(`user ${JSON.stringify(userName)} has a client certificate or key without the other`);
  const tokenText = string(user, 'token');
  const tokenFile = string(user, 'tokenFile');
  const token = tokenText !== undefined ? new StaticToken(tokenText) : tokenFile !== undefined ? new TokenFile(resolve(dir, tokenFile), failHere) : undefined;
  const ca = material(cluster, 'certificate-authority');
  const tlsServerName = string(cluster, 'tls-server-name');
  return {
    server,
    source: where,
    insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
    ...(ca && { ca }),
    ...(tlsServerName !== undefined && { tlsServerName }),
    ...(cert && key && { clientCertificate: { cert, key } }),
    ...(token && { token }),
  };
}

// ---------------------------------------------------------------------------------------------------
// In cluster

export interface InClusterOptions {
  readonly env: NodeJS.ProcessEnv;
  /** Default: SERVICE_ACCOUNT_DIR (token and ca.crt). */
  readonly serviceAccountDir?: string;
}

/** The pod's ServiceAccount: the API server at KUBERNETES_SERVICE_HOST:PORT, its token file and ca.crt. */
export function inClusterCredentials({ env, serviceAccountDir = SERVICE_ACCOUNT_DIR }: InClusterOptions): ApiServerCredentials {
  const source = `the pod's ServiceAccount (${serviceAccountDir})`;
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new VERIFIER_ERR_KUBECONFIG(
      source,
      'KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (is this a pod?); give a kubeconfig with --kubeconfig or KUBECONFIG',
    );
  }
  const caFile = join(serviceAccountDir, 'ca.crt');
  let ca: Buffer;
  try {
    ca = readFileSync(caFile);
  } catch (err) {
    throw new VERIFIER_ERR_KUBECONFIG(source, `cannot read ${caFile}: ${errorText(err)}`);
  }
  return {
    server: new URL(`https://${isIPv6(host) ? `[${host}]` : host}:${port}`),
    source,
    ca,
    insecureSkipTlsVerify: false,
    token: new TokenFile(join(serviceAccountDir, 'token'), (detail) => new VERIFIER_ERR_KUBECONFIG(source, detail)),
  };
}

// ---------------------------------------------------------------------------------------------------
// Which one

export interface CredentialSourceOptions {
  /** --kubeconfig ('' when not given). */
  readonly kubeconfig: string;
  /** --local: without a kubeconfig, token review is refused rather than tried in cluster. */
  readonly local: boolean;
  /** KUBECONFIG and HOME are read from here, KUBERNETES_SERVICE_* too in cluster. */
  readonly env: NodeJS.ProcessEnv;
  readonly serviceAccountDir?: string;
}

/**
 * The credentials for TokenReview, by precedence: --kubeconfig, KUBECONFIG (one file), ~/.kube/config,
 * then in cluster when the ServiceAccount token is mounted.
 */
export function apiServerCredentials(options: CredentialSourceOptions): ApiServerCredentials {
  const { env, serviceAccountDir = SERVICE_ACCOUNT_DIR } = options;
  const explicit = options.kubeconfig !== '' ? options.kubeconfig : env.KUBECONFIG;
  if (explicit) return kubeconfigCredentials(explicit);
  const home = env.HOME ? join(env.HOME, '.kube', 'config') : undefined;
  const haveHome = home !== undefined && existsSync(home);
  if (options.local && !haveHome) {
    throw new VERIFIER_ERR_BAD_FLAG(
      'token review needs a kubeconfig in local mode: set KUBECONFIG or --kubeconfig, or pass --reviewKyvernoToken=false to accept unauthenticated requests',
    );
  }
  if (haveHome) return kubeconfigCredentials(home);
  if (existsSync(join(serviceAccountDir, 'token'))) return inClusterCredentials({ env, serviceAccountDir });
  throw new VERIFIER_ERR_BAD_FLAG(
    `token review needs the API server: no --kubeconfig, KUBECONFIG or ~/.kube/config, and no ServiceAccount token in ${serviceAccountDir}; ` +
      'give a kubeconfig, or pass --reviewKyvernoToken=false to accept unauthenticated requests',
  );
}

// ---------------------------------------------------------------------------------------------------
// The client

export interface ApiServerClientOptions {
  /** Whole-request bound (connect, TLS, answer); default 10 s. */
  readonly timeoutMs?: number;
}

/** JSON requests to one API server over one keep-alive connection pool. */
export class ApiServerClient {
  readonly #credentials: ApiServerCredentials;
  readonly #agent: HttpAgent;
  readonly #timeoutMs: number;

  constructor(credentials: ApiServerCredentials, options: ApiServerClientOptions = {}) {
    this.#credentials = credentials;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#agent =
      credentials.server.protocol === 'https:'
        ? new HttpsAgent({
            keepAlive: true,
            rejectUnauthorized: !credentials.insecureSkipTlsVerify,
            ...(credentials.ca && !credentials.insecureSkipTlsVerify && { ca: credentials.ca }),
            ...(credentials.tlsServerName !== undefined && { servername: credentials.tlsServerName }),
            ...(credentials.clientCertificate && { cert: credentials.clientCertificate.cert, key: credentials.clientCertificate.key }),
          })
        : new HttpAgent({ keepAlive: true });
  }

  get source(): string {
    return this.#credentials.source;
  }

  /**
   * POSTs `body` as JSON to `path` (below the server's URL) and resolves with the parsed answer.
   * Rejects with ApiServerStatusError for an answer outside 2xx, or the network error.
   */
  async post(path: string, body: unknown): Promise<unknown> {
    const { server, token } = this.#credentials;
    const url = new URL(server.href.replace(/\/+$/, '') + path);
    const payload = Buffer.from(JSON.stringify(body));
    const headers: Record<string, string | number> = {
      accept: 'application/json',
      'content-type': 'application/json',
      'content-length': payload.length,
      ...(token && { authorization: `Bearer ${await token.current()}` }),
    };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolvePost, reject) => {
      const req = send(url, { method: 'POST', agent: this.#agent, headers }, (res) => {
        readBody(res).then((text) => {
          const status = res.statusCode ?? 0;
          if (status < 200 || status > 299) {
            reject(new ApiServerStatusError(status, statusMessage(text) ?? `HTTP ${status}`));
            return;
          }
          try {
            resolvePost(JSON.parse(text) as unknown);
          } catch {
            reject(new Error(`the API server's answer to POST ${path} is not JSON`));
          }
        }, reject);
      });
      const timer = setTimeout(() => {
        const err = new Error(`no answer within ${this.#timeoutMs / 1000} s`);
        reject(err);
        req.destroy(err);
      }, this.#timeoutMs);
      req.once('close', () => clearTimeout(timer));
      req.once('error', reject);
      req.end(payload);
    });
  }

  /** Closes the pooled connections. */
  close(): void {
    this.#agent.destroy();
  }
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_RESPONSE_BYTES) {
        res.destroy(new Error(`the API server's answer is larger than ${MAX_RESPONSE_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    res.once('end', () => resolveBody(Buffer.concat(chunks).toString('utf8')));
    res.once('error', reject);
  });
}

/** The message of a Kubernetes Status answer, if that is what `text` is. */
function statusMessage(text: string): string | undefined {
  try {
    const status: unknown = JSON.parse(text);
    return isRecord(status) && typeof status.message === 'string' ? status.message : undefined;
  } catch {
    return undefined;
  }
}
