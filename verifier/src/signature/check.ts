// The signature check of one `<registry>/<repository>@<digest>` under one trust policy: the only place
// that asks notation for a verdict, used by the image stage (pipeline/checkImages.ts) and by the
// attestation stage for every referrer (attestations/verifier.ts), so both are verified, cached and
// credentialed the same way. The verdict is looked up under imageKey (docs/architecture.md "Caches and
// what they are keyed by"); on a miss notation runs with the registry's credentials and, for a
// registry served over plain HTTP, --insecure-registry.
import type { LoadedPolicy } from '../bundle/store.js';
import { imageKey, type CacheSource, type Verdict, type VerdictCache, type VerdictRepository } from '../cache/verdicts.js';
import type { Credentials, ManifestDescriptor, VerifyRequest, VerifyResult } from '../notation/engine.js';

/** What the check needs of notation: the runner, wrapped with metrics and logs by app.ts; tests pass stand-ins. */
export interface SignatureVerifier {
  verify(request: VerifyRequest): Promise<VerifyResult>;
}

export interface SignatureCheckOptions {
  readonly notation: SignatureVerifier;
  readonly cache: VerdictCache;
  /** Registry credentials for notation (NOTATION_USERNAME/PASSWORD). */
  readonly credentials?: (registry: string) => Promise<Credentials | undefined>;
  /** Whether notation must use plain HTTP for this registry host. */
  readonly insecureRegistry?: (registry: string) => boolean;
}

export interface SignatureTarget {
  readonly policy: LoadedPolicy;
  readonly repository: VerdictRepository;
  /** Always a digest: a tag was resolved before, so a moved tag never passes on this verdict. */
  readonly digest: string;
  /** The digest's manifest, when the tag's resolution described it (VerifyRequest.manifest). */
  readonly manifest?: ManifestDescriptor;
  readonly signal: AbortSignal;
}

export interface CheckedSignature {
  readonly verdict: Verdict;
  readonly source: CacheSource;
}

export class SignatureCheck {
  readonly #options: SignatureCheckOptions;

  constructor(options: SignatureCheckOptions) {
    this.#options = options;
  }

  /** The verdicts (images', referrers' signatures and attestations') live in this one cache. */
  get cache(): VerdictCache {
    return this.#options.cache;
  }

  check(target: SignatureTarget): Promise<CheckedSignature> {
    const { policy, repository, digest, manifest, signal } = target;
    return this.#options.cache.getOrCompute(imageKey(policy.version, repository, digest), async (): Promise<Verdict> => {
      const credentials = await this.#options.credentials?.(repository.registry);
      const result = await this.#options.notation.verify({
        reference: `${repository.registry}/${repository.repository}@${digest}`,
        configDir: policy.configDir,
        pluginConfig: policy.pluginConfig,
        signal,
        ...(manifest !== undefined && { manifest }),
        ...(credentials !== undefined && { credentials }),
        ...(this.#options.insecureRegistry?.(repository.registry) === true && { insecureRegistry: true }),
      });
      return { outcome: result.outcome, digest, reason: result.reason, kind: result.kind, warnings: result.warnings, verifiedAt: new Date().toISOString() };
    });
  }
}
