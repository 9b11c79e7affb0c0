// Amazon ECR credentials: registry hosts `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]` (and the
// dual-stack `<account>.dkr-ecr[-fips].<region>.on.aws`, the ISO partitions) get a registry password from
// ECR's GetAuthorizationToken through the AWS SDK's default credential chain (IRSA, Pod Identity,
// environment), as the original's ECR keychain did (docs/architecture.md "The request pipeline"). Tokens are valid ~12 h
// and for every registry the caller may read in that region (the API's `registryIds` is deprecated for
// that reason), so one token per region is fetched, shared by concurrent lookups and kept until shortly
// before it expires. `public.ecr.aws` is answered anonymously (it serves public images without a token).
import type { ECRClientConfig } from '@aws-sdk/client-ecr';
import type { CredentialProvider, Credentials } from './credentials.js';
import { errorMessage } from '@kna/shared/errors';
import { SingleFlight } from '../singleFlight.js';

export interface EcrRegistry {
  readonly accountId: string;
  readonly region: string;
  /** The `-fips` endpoint variant: the token must come from ECR's FIPS endpoint too. */
  readonly fips: boolean;
}

const ECR_HOST =
  /^(\d{12})\.dkr[.-]ecr(-fips)?\.([a-z0-9]+(?:-[a-z0-9]+)*)\.(?:amazonaws\.com(?:\.cn)?|on\.aws|c2s\.ic\.gov|sc2s\.sgov\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)$/;

/** The ECR registry a host names, or undefined for any other host (a port or upper case never matches ECR). */
export function parseEcrHost(host: string): EcrRegistry | undefined {
  const match = ECR_HOST.exec(host);
  if (!match) return undefined;
  const [, accountId = '', fips, region = ''] = match;
  return { accountId, region, fips: fips !== undefined };
}

export interface EcrToken {
  /** base64 of `AWS:<password>`, as GetAuthorizationToken returns it. */
  readonly authorizationToken: string;
  readonly expiresAt?: Date;
}

/** The one call the provider needs; the SDK in production, a fake in tests. */
export interface EcrTokenSource {
  getAuthorizationToken(registry: EcrRegistry): Promise<EcrToken>;
}

export interface EcrCredentialsOptions {
  /** Default: `sdkEcrTokenSource()`. */
  readonly source?: EcrTokenSource;
  /** Fetch a new token this long before the current one expires. Default 10 minutes. */
  readonly refreshBeforeExpiryMs?: number;
  /** How long a token without `expiresAt` is kept. Default 30 minutes. */
  readonly defaultTtlMs?: number;
  /** Clock (tests). Default `Date.now`. */
  readonly now?: () => number;
}

/** A registry-credentials error of ECR's; the message names the region and the AWS error, never the token. */
export class EcrCredentialsError extends Error {
  readonly code = 'KNA_ERR_ECR_CREDENTIALS';
}

export function ecrCredentials(options: EcrCredentialsOptions = {}): CredentialProvider {
  const source = options.source ?? sdkEcrTokenSource();
  const refreshBefore = options.refreshBeforeExpiryMs ?? 10 * 60_000;
  const defaultTtl = options.defaultTtlMs ?? 30 * 60_000;
  const now = options.now ?? Date.now;
  const cached = new Map<string, { credentials: Credentials; refreshAt: number }>();
  const fetches = new SingleFlight<Credentials>();

  const fetchToken = async (registry: EcrRegistry): Promise<{ credentials: Credentials; refreshAt: number }> => {
    let token: EcrToken;
    try {
      token = await source.getAuthorizationToken(registry);
    } catch (err) {
      const name = err instanceof Error ? err.name : 'Error';
      const message = errorMessage(err);
      throw new EcrCredentialsError(
        `ECR GetAuthorizationToken in ${registry.region}${registry.fips ? ' (FIPS)' : ''} failed: ${name}: ${message}; ` +
          'the verifier needs AWS credentials (IRSA or Pod Identity) allowed ecr:GetAuthorizationToken',
        { cause: err },
      );
    }
    const decoded = Buffer.from(token.authorizationToken, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw new EcrCredentialsError(`ECR GetAuthorizationToken in ${registry.region} returned a token that is not base64 of "user:password"`);
    const fetchedAt = now();
    const expiresAt = token.expiresAt?.getTime() ?? fetchedAt + defaultTtl;
    // Never cache past expiry, and never for less than nothing when the token is already close to it.
    const refreshAt = Math.max(fetchedAt, expiresAt - refreshBefore);
    return { credentials: { kind: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }, refreshAt };
  };

  return async (registryHost) => {
    const registry = parseEcrHost(registryHost);
    if (!registry) return undefined;
    const key = `${registry.region}${registry.fips ? '/fips' : ''}`;
    const hit = cached.get(key);
    if (hit && now() < hit.refreshAt) return hit.credentials;
    return fetches.run(key, () =>
      fetchToken(registry).then((entry) => {
        cached.set(key, entry);
        return entry.credentials;
      }),
    ).result;
  };
}

export interface SdkEcrTokenSourceOptions {
  /** Extra ECRClient configuration (tests point `endpoint` at a local fake; production leaves it empty). */
  readonly clientConfig?: Omit<ECRClientConfig, 'region' | 'useFipsEndpoint'>;
  /** Per-call limit on the AWS API call, ms. Default 10 000. */
  readonly timeoutMs?: number;
}

/** GetAuthorizationToken through `@aws-sdk/client-ecr`, loaded on first use so that non-ECR users never load it. */
export function sdkEcrTokenSource(options: SdkEcrTokenSourceOptions = {}): EcrTokenSource {
  const clients = new Map<string, Promise<{ send: () => Promise<EcrToken> }>>();
  const timeoutMs = options.timeoutMs ?? 10_000;
  const clientFor = (registry: EcrRegistry) => {
    const key = `${registry.region}/${registry.fips}`;
    let client = clients.get(key);
    if (!client) {
      client = import('@aws-sdk/client-ecr').then(({ ECRClient, GetAuthorizationTokenCommand }) => {
        const ecr = new ECRClient({ ...options.clientConfig, region: registry.region, useFipsEndpoint: registry.fips });
        return {
          send: async () => {
            const out = await ecr.send(new GetAuthorizationTokenCommand({}), { abortSignal: AbortSignal.timeout(timeoutMs) });
            const data = out.authorizationData?.[0];
            if (!data?.authorizationToken) throw new EcrCredentialsError(`ECR GetAuthorizationToken in ${registry.region} returned no authorization data`);
            return { authorizationToken: data.authorizationToken, ...(data.expiresAt && { expiresAt: data.expiresAt }) };
          },
        };
      });
      // A failed import is not remembered: the next lookup tries again.
      client.catch(() => clients.delete(key));
      clients.set(key, client);
    }
    return client;
  };
  return {
    getAuthorizationToken: async (registry) => (await clientFor(registry)).send(),
  };
}
