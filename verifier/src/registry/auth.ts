// Registry authentication: anonymous, HTTP Basic, and the Docker/OCI bearer-token flow (distribution's
// "Token Authentication Specification"): a 401 carries `WWW-Authenticate: Bearer realm=…,service=…,scope=…`;
// the client asks the realm for a token (with basic credentials when it has them, or an OAuth2 refresh
// token — docker config's `identitytoken` — per "OAuth2 Token Authentication") and repeats the request with
// `Authorization: Bearer <token>`. Tokens are cached per (registry, scope, credentials) until shortly
// before they expire, and concurrent requests that need the same token share one token request. Once a
// registry has challenged, later requests authenticate up front instead of collecting a 401 each.
import { createHash } from 'node:crypto';
import { KnaError, errorMessage } from '@kna/shared/errors';
import { detailOf, readCapped } from './body.js';
import { parseChallenges, type Challenge } from './challenge.js';
import type { CredentialProvider, Credentials } from './credentials.js';
import { usesPlainHttp, type SchemePolicy } from './endpoint.js';
import {
  ERR_REGISTRY_AUTH_CHALLENGE,
  ERR_REGISTRY_CREDENTIALS_REJECTED,
  ERR_REGISTRY_CREDENTIALS_UNAVAILABLE,
  ERR_REGISTRY_DEADLINE,
  ERR_REGISTRY_FORBIDDEN,
  ERR_REGISTRY_NO_CREDENTIALS,
  ERR_REGISTRY_PROTOCOL,
  ERR_REGISTRY_UNAVAILABLE,
  ERR_REGISTRY_UNEXPECTED_STATUS,
  type HttpDetail,
} from './errors.js';
import { RegistryOperation, type CallOptions, type RegistryRequest, type Transport } from './transport.js';
import { SingleFlight } from '../singleFlight.js';

export interface AuthenticatorOptions {
  readonly transport: Transport;
  readonly credentials: CredentialProvider;
  readonly schemePolicy: SchemePolicy;
  /** `client_id` sent with OAuth2 token requests. Default `kyverno-notation-aws`. */
  readonly clientId?: string;
  /**
   * Longest a token is cached, whatever `expires_in` says. Default 1 hour. A registry that revokes a
   * token earlier answers 401, and the client then fetches a new one once.
   */
  readonly maxTokenTtlMs?: number;
}

/** Who the request is for: the canonical registry name (for credentials) and the token scope it needs. */
export interface AuthTarget {
  readonly registry: string;
  /** `repository:<name>:pull` */
  readonly scope: string;
}

type KnownScheme = { readonly scheme: 'basic' } | { readonly scheme: 'bearer'; readonly realm: URL; readonly service?: string };

interface CachedToken {
  readonly token: string;
  readonly expiresAt: number;
}

/** Token responses this large are not token responses. */
const MAX_TOKEN_RESPONSE = 1 << 20;
/** distribution token spec: "If omitted, clients should assume 60 seconds." */
const DEFAULT_TOKEN_TTL_S = 60;

export class Authenticator {
  readonly #transport: Transport;
  readonly #credentials: CredentialProvider;
  readonly #schemePolicy: SchemePolicy;
  readonly #clientId: string;
  readonly #maxTokenTtlMs: number;
  readonly #schemes = new Map<string, KnownScheme>();
  readonly #tokens = new Map<string, CachedToken>();
  readonly #tokenRequests = new SingleFlight<string>();

  constructor(options: AuthenticatorOptions) {
    this.#transport = options.transport;
    this.#credentials = options.credentials;
    this.#schemePolicy = options.schemePolicy;
    this.#clientId = options.clientId ?? 'kyverno-notation-aws';
    this.#maxTokenTtlMs = options.maxTokenTtlMs ?? 3_600_000;
  }

  /** The credentials the verifier holds for a registry (also what notation must be given). */
  async credentialsFor(registry: string, call: CallOptions = {}): Promise<Credentials | undefined> {
    try {
      return await abortable(this.#credentials(registry), call.signal);
    } catch (err) {
      if (err instanceof KnaError) throw err;
      if (call.signal?.aborted) throw new ERR_REGISTRY_DEADLINE(`credentials for ${registry}`, { cause: err });
      throw new ERR_REGISTRY_CREDENTIALS_UNAVAILABLE(registry, errorMessage(err), { cause: err });
    }
  }

  /**
   * `Transport.exchange` with authentication: sends the request with what the registry is known to want,
   * answers one 401 challenge, and maps a second 401 or a 403 to a coded error. `consume` never sees 401/403.
   */
  async exchange<T>(target: AuthTarget, request: RegistryRequest, call: CallOptions, consume: (response: Response) => Promise<T>): Promise<T> {
    const credentials = await this.credentialsFor(target.registry, call);
    const host = request.url.host;
    let authorization = await this.#upFront(host, target.scope, credentials, request, call);
    for (let round = 0; ; round++) {
      const headers = authorization === undefined ? request.headers : { ...request.headers, authorization };
      const result = await this.#transport.exchange({ ...request, ...(headers && { headers }) }, call, async (response) => {
        if (response.status === 401 || response.status === 403) {
          const detail: HttpDetail = await detailOf(response);
          return { refused: detail, challenge: response.headers.get('www-authenticate') ?? '' } as const;
        }
        return { value: await consume(response) } as const;
      });
      if ('value' in result) return result.value;
      const { refused, challenge } = result;
      if (refused.status === 403) throw new ERR_REGISTRY_FORBIDDEN(request.subject, target.registry, refused);
      if (round > 0 || credentials?.kind === 'registryToken') throw this.#unauthorized(request, target, credentials, refused);
      const rejected = authorization?.startsWith('Bearer ') ? authorization.slice('Bearer '.length) : undefined;
      authorization = await this.#answer(parseChallenges(challenge), host, target, credentials, request, call, refused, rejected);
    }
  }

  #unauthorized(request: RegistryRequest, target: AuthTarget, credentials: Credentials | undefined, detail: HttpDetail): KnaError {
    return credentials
      ? new ERR_REGISTRY_CREDENTIALS_REJECTED(request.subject, target.registry, detail)
      : new ERR_REGISTRY_NO_CREDENTIALS(request.subject, target.registry, detail);
  }

  /** The Authorization header to send before any challenge, from what this host asked for before. */
  async #upFront(host: string, scope: string, credentials: Credentials | undefined, request: RegistryRequest, call: CallOptions): Promise<string | undefined> {
    if (credentials?.kind === 'registryToken') return `Bearer ${credentials.token}`;
    const known = this.#schemes.get(host);
    if (known?.scheme === 'basic') return credentials?.kind === 'basic' ? basicHeader(credentials.username, credentials.password) : undefined;
    if (known?.scheme === 'bearer') {
      const token = await this.#token(known, scope, scope, host, credentials, request, call, undefined);
      return `Bearer ${token}`;
    }
    return undefined;
  }

  async #answer(
    challenges: Challenge[],
    host: string,
    target: AuthTarget,
    credentials: Credentials | undefined,
    request: RegistryRequest,
    call: CallOptions,
    detail: HttpDetail,
    rejected: string | undefined,
  ): Promise<string> {
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer) {
      const realm = this.#realmOf(bearer, request, target);
      const known: KnownScheme = { scheme: 'bearer', realm, ...(bearer.params.service !== undefined && { service: bearer.params.service }) };
      this.#schemes.set(host, known);
      // Ask for what the registry says it needs; cache under the scope this client asks for, so that the
      // next request for the repository finds it before any challenge.
      const requested = bearer.params.scope || target.scope;
      return `Bearer ${await this.#token(known, requested, target.scope, host, credentials, request, call, rejected)}`;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      this.#schemes.set(host, { scheme: 'basic' });
      if (credentials?.kind === 'basic') return basicHeader(credentials.username, credentials.password);
      if (credentials)
        throw new ERR_REGISTRY_AUTH_CHALLENGE(request.subject, target.registry, 'the registry wants a username and password, the verifier holds a token');
      throw new ERR_REGISTRY_NO_CREDENTIALS(request.subject, target.registry, detail);
    }
    if (!credentials) throw new ERR_REGISTRY_NO_CREDENTIALS(request.subject, target.registry, detail);
    throw new ERR_REGISTRY_AUTH_CHALLENGE(
      request.subject,
      target.registry,
      `HTTP 401 without a Basic or Bearer challenge (${JSON.stringify(challenges.map((c) => c.scheme))})`,
    );
  }

  #realmOf(challenge: Challenge, request: RegistryRequest, target: AuthTarget): URL {
    const realm = challenge.params.realm;
    if (!realm) throw new ERR_REGISTRY_AUTH_CHALLENGE(request.subject, target.registry, 'the Bearer challenge has no realm');
    let url: URL;
    try {
      // A relative realm (olareg sends "/token") is relative to the registry.
      url = new URL(realm, request.url);
    } catch {
      throw new ERR_REGISTRY_AUTH_CHALLENGE(request.subject, target.registry, `the Bearer realm ${JSON.stringify(realm)} is not a URL`);
    }
    // Credentials go to the realm: never in clear text unless plain HTTP is allowed for that host.
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && usesPlainHttp(url.host, this.#schemePolicy))) {
      throw new ERR_REGISTRY_AUTH_CHALLENGE(request.subject, target.registry, `the token realm ${url.origin} is not HTTPS`);
    }
    return url;
  }

  async #token(
    known: Extract<KnownScheme, { scheme: 'bearer' }>,
    scope: string,
    cacheScope: string,
    host: string,
    credentials: Credentials | undefined,
    request: RegistryRequest,
    call: CallOptions,
    rejected: string | undefined,
  ): Promise<string> {
    const key = `${host}\n${cacheScope}\n${fingerprint(credentials)}`;
    const cached = this.#tokens.get(key);
    // A token the registry just refused is dropped; one that another request fetched meanwhile is used.
    if (cached && cached.token !== rejected && this.#transport.clock.now() < cached.expiresAt) return cached.token;
    if (cached) this.#tokens.delete(key);
    // Shared by every request waiting for this token, so it does not run under any one caller's signal
    // (each caller still leaves at its own deadline); the per-request timeout bounds it.
    const pending = this.#tokenRequests.run(key, () =>
      this.#requestToken(known, scope, credentials, request).then(({ token, ttlMs }) => {
        this.#sweep();
        // Renew a little early: a token that expires in flight costs a 401 and a retry.
        this.#tokens.set(key, { token, expiresAt: this.#transport.clock.now() + ttlMs - Math.min(30_000, ttlMs / 10) });
        return token;
      }),
    ).result;
    return abortable(pending, call.signal).catch((err: unknown) => {
      if (err instanceof KnaError) throw err;
      throw new ERR_REGISTRY_DEADLINE(request.subject, { cause: err });
    });
  }

  async #requestToken(
    known: Extract<KnownScheme, { scheme: 'bearer' }>,
    scope: string,
    credentials: Credentials | undefined,
    request: RegistryRequest,
  ): Promise<{ token: string; ttlMs: number }> {
    const subject = request.subject;
    const registry = request.url.host;
    const params = new URLSearchParams();
    if (known.service !== undefined) params.set('service', known.service);
    for (const s of scope.split(' ').filter(Boolean)) params.append('scope', s);

    let tokenRequest: RegistryRequest;
    if (credentials?.kind === 'identityToken') {
      params.set('grant_type', 'refresh_token');
      params.set('refresh_token', credentials.token);
      params.set('client_id', this.#clientId);
      tokenRequest = {
        operation: RegistryOperation.Token,
        subject,
        url: known.realm,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: params.toString(),
      };
    } else {
      const url = new URL(known.realm);
      if (credentials?.kind === 'basic') params.set('account', credentials.username);
      for (const [k, v] of params) url.searchParams.append(k, v);
      tokenRequest = {
        operation: RegistryOperation.Token,
        subject,
        url,
        ...(credentials?.kind === 'basic' && { headers: { authorization: basicHeader(credentials.username, credentials.password) } }),
      };
    }

    return this.#transport.exchange(tokenRequest, {}, async (response) => {
      if (response.ok) return parseTokenResponse(await readTokenBody(response, subject), subject, this.#maxTokenTtlMs);
      const detail: HttpDetail = await detailOf(response);
      if (response.status === 401 || response.status === 403) {
        throw credentials ? new ERR_REGISTRY_CREDENTIALS_REJECTED(subject, registry, detail) : new ERR_REGISTRY_NO_CREDENTIALS(subject, registry, detail);
      }
      if (response.status >= 500) throw new ERR_REGISTRY_UNAVAILABLE(`token endpoint ${known.realm.origin} for ${subject}`, detail, '');
      throw new ERR_REGISTRY_UNEXPECTED_STATUS(`token endpoint ${known.realm.origin} for ${subject}`, detail);
    });
  }

  #sweep(): void {
    if (this.#tokens.size < 1024) return;
    const now = this.#transport.clock.now();
    for (const [key, entry] of this.#tokens) if (entry.expiresAt <= now) this.#tokens.delete(key);
  }
}

async function readTokenBody(response: Response, subject: string): Promise<unknown> {
  try {
    return JSON.parse((await readCapped(response, MAX_TOKEN_RESPONSE)).bytes.toString('utf8'));
  } catch (err) {
    if (err instanceof KnaError) throw err;
    throw new ERR_REGISTRY_PROTOCOL(subject, `the token endpoint's answer is not JSON of at most ${MAX_TOKEN_RESPONSE} bytes`, { cause: err });
  }
}

/** `{token | access_token, expires_in?}` (distribution token spec "Token Response Fields"). */
export function parseTokenResponse(body: unknown, subject: string, maxTtlMs: number): { token: string; ttlMs: number } {
  const fields = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const token = typeof fields.token === 'string' && fields.token ? fields.token : fields.access_token;
  if (typeof token !== 'string' || token === '') throw new ERR_REGISTRY_PROTOCOL(subject, 'the token endpoint returned no token');
  if (/[\r\n]/.test(token)) throw new ERR_REGISTRY_PROTOCOL(subject, 'the token endpoint returned a token that cannot be sent in a header');
  const expiresIn =
    typeof fields.expires_in === 'number' && Number.isFinite(fields.expires_in) && fields.expires_in > 0 ? fields.expires_in : DEFAULT_TOKEN_TTL_S;
  // Some registries get the unit wrong (olareg 0.2.2 sends nanoseconds): the cap keeps that sane.
  return { token, ttlMs: Math.min(expiresIn * 1000, maxTtlMs) };
}

function basicHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

/** Tokens obtained with different credentials must not be shared; the secret itself is not kept in the key. */
function fingerprint(credentials: Credentials | undefined): string {
  if (!credentials) return 'anonymous';
  const secret =
    credentials.kind === 'basic'
      ? `${credentials.username}\0${credentials.password}`
      : credentials.kind === 'identityToken'
        ? `${credentials.username ?? ''}\0${credentials.token}`
        : credentials.token;
  return createHash('sha256').update(`${credentials.kind}\0${secret}`).digest('base64url').slice(0, 22);
}

/** Waits for a shared promise, but lets this caller leave when its own signal fires. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted', { cause: signal.reason }));
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([promise, aborted]).finally(() => {
    signal.removeEventListener('abort', onAbort);
  });
}
