// Caller authentication (docs/architecture.md "The HTTP contract" and "The request pipeline"): Kyverno sends its service-account
// token as a bearer token; the verifier asks the API server (TokenReview) who it belongs to and
// accepts exactly the usernames of --allowedUsers. Reviews carry --tokenReviewAudiences so Kyverno
// >= 1.16's scoped tokens (audience kyverno-svc.kyverno.io) authenticate; with
// --tokenReviewAPIServerAudience a token those audiences reject gets a second review without audiences
// (the API server's own, what Kyverno < 1.16 sends), so one deployment serves both. The API server's
// audiences differ between clusters, so they cannot simply be listed beside Kyverno's. Outcomes are
// cached briefly by a hash of the token; the token itself is never logged or kept.
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { VERIFIER_ERR_FORBIDDEN, VERIFIER_ERR_TOKEN_REVIEW, VERIFIER_ERR_UNAUTHENTICATED } from '../errors.js';
import { describeNetworkError } from '../networkError.js';
import { ApiServerStatusError, type ApiServerClient } from './apiServer.js';
import { SingleFlight } from '../singleFlight.js';

export interface ReviewResult {
  readonly authenticated: boolean;
  readonly username?: string;
}

export interface TokenReviewer {
  review(token: string, audiences: readonly string[]): Promise<ReviewResult>;
}

/** TokenReview through the Kubernetes API (needs create on tokenreviews: system:auth-delegator). */
export function kubernetesTokenReviewer(apiServer: ApiServerClient): TokenReviewer {
  return {
    async review(token, audiences) {
      const review = await apiServer.post('/apis/authentication.k8s.io/v1/tokenreviews', {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec: { token, ...(audiences.length > 0 && { audiences: [...audiences] }) },
      });
      const status = (review as { status?: { authenticated?: unknown; user?: { username?: unknown } } } | null)?.status;
      const username = status?.user?.username;
      return { authenticated: status?.authenticated === true, ...(typeof username === 'string' && { username }) };
    },
  };
}

export interface AuthenticatorOptions {
  readonly reviewer: TokenReviewer;
  /** --allowedUsers: exact usernames. */
  readonly allowedUsers: readonly string[];
  /** --tokenReviewAudiences */
  readonly audiences: readonly string[];
  /** --tokenReviewAPIServerAudience: with audiences, also accept tokens for the API server's own audiences. */
  readonly apiServerAudience?: boolean;
  /** How long an accepted token is trusted without a new review; default 10 s. */
  readonly acceptedTtlMs?: number;
  /** How long a rejected token is remembered; default 2 s. */
  readonly rejectedTtlMs?: number;
  /** Told the full error of a failed review (the answer carries only a product-terms summary). */
  readonly onReviewError?: (err: unknown) => void;
}

export class RequestAuthenticator {
  readonly #options: AuthenticatorOptions;
  readonly #allowed: ReadonlySet<string>;
  readonly #cache = new LRUCache<string, ReviewResult>({ max: 1024 });
  readonly #reviews = new SingleFlight<ReviewResult>();

  constructor(options: AuthenticatorOptions) {
    this.#options = options;
    this.#allowed = new Set(options.allowedUsers);
  }

  /** Resolves with the caller's username, or throws 401/403/503-class coded errors. */
  async authenticate(authorization: string | undefined): Promise<string> {
    if (authorization === undefined || authorization === '') {
      throw new VERIFIER_ERR_UNAUTHENTICATED('Authorization header not supplied: send "Authorization: Bearer <service account token>"');
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match?.[1]) throw new VERIFIER_ERR_UNAUTHENTICATED('the Authorization header must be "Bearer <token>"');
    const token = match[1];
    const key = createHash('sha256').update(token).digest('hex');
    let result = this.#cache.get(key);
    if (!result) {
      try {
        result = await this.#reviews.run(key, () => this.#review(token)).result;
      } catch (err) {
        this.#options.onReviewError?.(err);
        throw new VERIFIER_ERR_TOKEN_REVIEW(describeApiError(err), { cause: err });
      }
      this.#cache.set(key, result, { ttl: result.authenticated ? (this.#options.acceptedTtlMs ?? 10_000) : (this.#options.rejectedTtlMs ?? 2_000) });
    }
    if (!result.authenticated || result.username === undefined) {
      const { audiences, apiServerAudience } = this.#options;
      throw new VERIFIER_ERR_UNAUTHENTICATED(
        audiences.length > 0
          ? `the bearer token was not accepted by TokenReview for audiences ${audiences.join(', ')}${apiServerAudience === true ? " or the API server's" : ''}`
          : 'the bearer token was not accepted by TokenReview',
      );
    }
    if (!this.#allowed.has(result.username)) throw new VERIFIER_ERR_FORBIDDEN(result.username);
    return result.username;
  }

  async #review(token: string): Promise<ReviewResult> {
    const { reviewer, audiences, apiServerAudience } = this.#options;
    const first = await reviewer.review(token, audiences);
    if (first.authenticated || audiences.length === 0 || apiServerAudience !== true) return first;
    return reviewer.review(token, []);
  }
}

/**
 * The failure in product terms: the API server's answer, or why it could not be reached. Never the
 * server's URL or the TLS library's text (a 503 body goes to whoever called; the log has the details).
 */
function describeApiError(err: unknown): string {
  if (err instanceof ApiServerStatusError) {
    const code = err.status;
    if (code === 403) return 'the verifier is not allowed to create TokenReviews (bind its service account to system:auth-delegator)';
    return `the API server answered HTTP ${code}`;
  }
  return `the API server could not be reached: ${describeNetworkError(err).reason}`;
}
