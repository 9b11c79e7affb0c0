// An in-process OCI registry for the client's unit tests: enough of the distribution API (manifests,
// blobs, referrers API with filtering and paging, Basic and bearer-token auth) to be correct by default,
// with switches and an `intercept` hook for the misbehaviour the tests need (no digest on HEAD, 429s,
// tampered content, endless bodies). The real registries are exercised by the *.int.test.ts files.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  readonly socket: Socket;
}

export type FakeAuth =
  | { readonly kind: 'basic'; readonly username: string; readonly password: string }
  | {
      readonly kind: 'bearer';
      /** Credentials the token endpoint requires; anonymous tokens when absent. */
      readonly username?: string;
      readonly password?: string;
      /** Refresh token accepted by the OAuth2 POST grant. */
      readonly refreshToken?: string;
      /** `expires_in` of issued tokens. Default 300. */
      readonly ttlSeconds?: number;
      /** Realm as sent in the challenge; default the absolute URL of /token. */
      readonly realm?: (self: FakeRegistry) => string;
      /** Scope as sent in the challenge; default `repository:<repo>:pull`. */
      readonly scope?: (repo: string) => string;
    };

export interface FakeRegistryOptions {
  readonly auth?: FakeAuth;
  /** Serve the referrers API. Default true. */
  readonly referrersApi?: boolean;
  /** Apply the artifactType filter and say so in OCI-Filters-Applied. Default true. */
  readonly filterReferrers?: boolean;
  /** Referrers per API page (Link header beyond). Default unlimited. */
  readonly referrersPageSize?: number;
  /** Send Docker-Content-Digest on manifest HEAD/GET. Default true. */
  readonly digestHeader?: boolean;
  /** Answer manifest HEAD with 405. Default false. */
  readonly headNotAllowed?: boolean;
}

interface StoredManifest {
  readonly bytes: Buffer;
  readonly mediaType: string;
  readonly digest: string;
}

function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Handles a request itself when it returns true. */
export type Interceptor = (req: IncomingMessage, res: ServerResponse, recorded: RecordedRequest) => boolean | Promise<boolean>;

export class FakeRegistry {
  readonly requests: RecordedRequest[] = [];
  /** Tokens issued by /token, and how many token requests there were. */
  readonly tokens = new Set<string>();
  tokenRequests = 0;
  readonly #options: FakeRegistryOptions;
  readonly #server: Server;
  readonly #manifests = new Map<string, Map<string, StoredManifest>>();
  readonly #blobs = new Map<string, Buffer>();
  readonly #interceptors: Interceptor[] = [];
  #port = 0;

  private constructor(options: FakeRegistryOptions) {
    this.#options = options;
    this.#server = createServer((req, res) => {
      void this.#handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500);
        res.end(String(err));
      });
    });
  }

  static async start(options: FakeRegistryOptions = {}): Promise<FakeRegistry> {
    const registry = new FakeRegistry(options);
    await new Promise<void>((resolve) => registry.#server.listen(0, '127.0.0.1', resolve));
    registry.#port = (registry.#server.address() as AddressInfo).port;
    return registry;
  }

  /** `127.0.0.1:<port>`: a loopback registry, so the client uses plain HTTP. */
  get host(): string {
    return `127.0.0.1:${this.#port}`;
  }

  get url(): string {
    return `http://${this.host}`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  intercept(interceptor: Interceptor): void {
    this.#interceptors.push(interceptor);
  }

  /** Requests for a path (`/v2/<repo>/…`) without the query. */
  requestsTo(path: string, method?: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path === path && (method === undefined || r.method === method));
  }

  putBlob(repo: string, data: Buffer): { digest: string; size: number } {
    const digest = sha256(data);
    this.#blobs.set(`${repo}@${digest}`, data);
    return { digest, size: data.length };
  }

  /** Stores a manifest (object → JSON bytes) under its digest and, when given, a tag. */
  putManifest(repo: string, document: object | Buffer, options: { tag?: string; mediaType?: string } = {}): StoredManifest & { size: number } {
    const bytes = Buffer.isBuffer(document) ? document : Buffer.from(JSON.stringify(document));
    const mediaType = options.mediaType ?? (Buffer.isBuffer(document) ? OCI_MANIFEST : ((document as { mediaType?: string }).mediaType ?? OCI_MANIFEST));
    const stored = { bytes, mediaType, digest: sha256(bytes) };
    const refs = this.#repo(repo);
    refs.set(stored.digest, stored);
    if (options.tag !== undefined) refs.set(options.tag, stored);
    return { ...stored, size: bytes.length };
  }

  /** A small random image (config + one layer) tagged `tag`. */
  putImage(repo: string, tag?: string): StoredManifest & { size: number } {
    const config = this.putBlob(repo, Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', nonce: randomBytes(8).toString('hex') })));
    const layer = this.putBlob(repo, randomBytes(64));
    return this.putManifest(
      repo,
      {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
      },
      tag === undefined ? {} : { tag },
    );
  }

  /** A referrer of `subject` with one JSON layer holding `payload`. */
  putReferrer(
    repo: string,
    subject: { digest: string; size: number; mediaType: string },
    artifactType: string,
    payload: object = {},
  ): StoredManifest & { size: number; layer: { digest: string; size: number } } {
    const layer = this.putBlob(repo, Buffer.from(JSON.stringify(payload)));
    const empty = this.putBlob(repo, Buffer.from('{}'));
    const stored = this.putManifest(repo, {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', ...empty },
      layers: [{ mediaType: 'application/json', ...layer }],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
      annotations: { 'org.opencontainers.image.created': '2026-01-01T00:00:00Z' },
    });
    return { ...stored, layer };
  }

  #repo(repo: string): Map<string, StoredManifest> {
    let refs = this.#manifests.get(repo);
    if (!refs) {
      refs = new Map();
      this.#manifests.set(repo, refs);
    }
    return refs;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
      socket: req.socket,
    };
    this.requests.push(recorded);
    for (const interceptor of this.#interceptors) if (await interceptor(req, res, recorded)) return;

    if (url.pathname === '/token') return this.#token(recorded, res);
    if (!this.#authorized(recorded, res, url)) return;
    const match = /^\/v2\/(.+)\/(manifests|blobs|referrers)\/([^/]+)$/.exec(url.pathname);
    if (!match) return this.#error(res, 404, 'NAME_UNKNOWN', 'no route');
    const [, repo = '', kind, ref = ''] = match;
    if (kind === 'manifests') return this.#manifest(recorded, res, repo, ref);
    if (kind === 'blobs') {
      const blob = this.#blobs.get(`${repo}@${ref}`);
      if (!blob) return this.#error(res, 404, 'BLOB_UNKNOWN', 'blob unknown to registry');
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': blob.length, 'docker-content-digest': ref });
      res.end(recorded.method === 'HEAD' ? undefined : blob);
      return;
    }
    return this.#referrers(recorded, res, repo, ref, url);
  }

  #manifest(req: RecordedRequest, res: ServerResponse, repo: string, ref: string): void {
    if (req.method === 'HEAD' && this.#options.headNotAllowed) {
      res.writeHead(405).end();
      return;
    }
    const stored = this.#manifests.get(repo)?.get(ref);
    if (!stored) {
      if (req.method === 'HEAD') res.writeHead(404).end();
      else this.#error(res, 404, 'MANIFEST_UNKNOWN', 'manifest unknown');
      return;
    }
    res.writeHead(200, {
      'content-type': stored.mediaType,
      'content-length': stored.bytes.length,
      ...(this.#options.digestHeader !== false && { 'docker-content-digest': stored.digest }),
    });
    res.end(req.method === 'HEAD' ? undefined : stored.bytes);
  }

  #referrers(req: RecordedRequest, res: ServerResponse, repo: string, digest: string, url: URL): void {
    if (this.#options.referrersApi === false) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n');
      return;
    }
    const artifactType = url.searchParams.get('artifactType');
    const filter = artifactType !== null && this.#options.filterReferrers !== false;
    const seen = new Set<string>();
    let all: object[] = [];
    for (const stored of this.#manifests.get(repo)?.values() ?? []) {
      if (seen.has(stored.digest)) continue;
      seen.add(stored.digest);
      const doc = JSON.parse(stored.bytes.toString('utf8')) as {
        subject?: { digest: string };
        artifactType?: string;
        config?: { mediaType: string };
        annotations?: object;
      };
      if (doc.subject?.digest !== digest) continue;
      const type = doc.artifactType ?? doc.config?.mediaType;
      if (filter && type !== artifactType) continue;
      all.push({ mediaType: stored.mediaType, digest: stored.digest, size: stored.bytes.length, artifactType: type, annotations: doc.annotations });
    }
    const pageSize = this.#options.referrersPageSize;
    const page = Number(url.searchParams.get('page') ?? '0');
    const headers: Record<string, string> = { 'content-type': OCI_INDEX };
    if (filter) headers['oci-filters-applied'] = 'artifactType';
    if (pageSize !== undefined) {
      const more = all.length > (page + 1) * pageSize;
      all = all.slice(page * pageSize, (page + 1) * pageSize);
      if (more) {
        const next = new URL(url);
        next.searchParams.set('page', String(page + 1));
        headers.link = `<${next.pathname}${next.search}>; rel="next"`;
      }
    }
    res.writeHead(200, headers).end(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: all }));
  }

  #authorized(req: RecordedRequest, res: ServerResponse, url: URL): boolean {
    const auth = this.#options.auth;
    if (!auth) return true;
    const header = req.headers.authorization ?? '';
    const repo = /^\/v2\/(.+)\/(?:manifests|blobs|referrers)\//.exec(url.pathname)?.[1] ?? '';
    if (auth.kind === 'basic') {
      if (header === `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`) return true;
      res.writeHead(401, { 'www-authenticate': 'Basic realm="fake"', 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
      return false;
    }
    if (header.startsWith('Bearer ') && this.tokens.has(header.slice(7))) return true;
    const realm = auth.realm ? auth.realm(this) : `${this.url}/token`;
    res.writeHead(401, {
      'www-authenticate': `Bearer realm="${realm}",service="fake-registry",scope="${auth.scope ? auth.scope(repo) : `repository:${repo}:pull`}"`,
      'content-type': 'application/json',
    });
    res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
    return false;
  }

  #token(req: RecordedRequest, res: ServerResponse): void {
    this.tokenRequests++;
    const auth = this.#options.auth;
    if (auth?.kind !== 'bearer') {
      res.writeHead(404).end();
      return;
    }
    if (req.method === 'POST') {
      const form = new URLSearchParams(req.body);
      if (form.get('grant_type') !== 'refresh_token' || form.get('refresh_token') !== auth.refreshToken) {
        res.writeHead(401).end();
        return;
      }
      return this.#issue(res, auth, 'access_token');
    }
    if (auth.username !== undefined) {
      const expected = `Basic ${Buffer.from(`${auth.username}:${auth.password ?? ''}`).toString('base64')}`;
      if (req.headers.authorization !== expected) {
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
        return;
      }
    }
    this.#issue(res, auth, 'token');
  }

  #issue(res: ServerResponse, auth: Extract<FakeAuth, { kind: 'bearer' }>, field: 'token' | 'access_token'): void {
    const token = randomBytes(12).toString('hex');
    this.tokens.add(token);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ [field]: token, expires_in: auth.ttlSeconds ?? 300 }));
  }

  #error(res: ServerResponse, status: number, code: string, message: string): void {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code, message }] }));
  }
}
