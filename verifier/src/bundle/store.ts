// The trust policies the verifier serves with: the last good bundle, each of its trust policies
// materialised into a notation configuration directory named by its policy version (docs/architecture.md "The bundle contract").
// A new bundle is validated and materialised completely before it replaces the current one, so a
// request always sees one whole bundle; a broken bundle is reported and the last good one keeps serving.
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle } from '@kna/shared/bundle';
import { materializePolicy, prunePolicies } from '../notation/configDir.js';

export interface LoadedPolicy {
  /** spec.trustPolicyName */
  readonly name: string;
  /** Policy version: part of every cache key. */
  readonly version: string;
  /** NOTATION_CONFIG for this policy. */
  readonly configDir: string;
  /** The bundle's plugin configuration (--plugin-config), which the policy version already covers. */
  readonly pluginConfig: Readonly<Record<string, string>>;
}

export interface LoadedBundle {
  readonly version: string;
  readonly pluginConfig: Readonly<Record<string, string>>;
  readonly policies: ReadonlyMap<string, LoadedPolicy>;
  readonly source: string;
  readonly loadedAt: Date;
}

export interface BundleStoreEvents {
  loaded: [bundle: LoadedBundle];
  rejected: [source: string, error: Error];
}

export interface BundleStoreOptions {
  /** Where policy directories are written. */
  readonly workDir: string;
  /**
   * How long directories of replaced policy versions are kept, so verifications that started with
   * the previous bundle can finish (default 60 s; set above the request deadline).
   */
  readonly retainReplacedMs?: number;
}

export class BundleStore extends EventEmitter<BundleStoreEvents> {
  readonly #root: string;
  readonly #retainMs: number;
  #current: LoadedBundle | undefined;
  #pruneTimer: NodeJS.Timeout | undefined;

  constructor(options: BundleStoreOptions) {
    super();
    this.#root = join(options.workDir, 'policies');
    this.#retainMs = options.retainReplacedMs ?? 60_000;
    mkdirSync(this.#root, { recursive: true, mode: 0o700 });
  }

  get current(): LoadedBundle | undefined {
    return this.#current;
  }

  /** Materialises and installs `bundle` (already validated by parseBundle/renderBundle). */
  install(bundle: Bundle, source: string): LoadedBundle {
    if (this.#current?.version === bundle.version) return this.#current;
    const policies = new Map<string, LoadedPolicy>();
    const pluginConfig = { ...bundle.pluginConfig };
    for (const [name, policy] of Object.entries(bundle.trustPolicies)) {
      const trustStores = policy.trustStores.map((key) => {
        const store = bundle.trustStores[key];
        // parseBundle guarantees references resolve; this guards a bundle built in memory.
        if (!store) throw new Error(`trust policy ${name} references trust store ${key}, which the bundle does not contain`);
        return store;
      });
      const configDir = materializePolicy(this.#root, { version: policy.version, document: policy.document, trustStores });
      policies.set(name, { name, version: policy.version, configDir, pluginConfig });
    }
    const loaded: LoadedBundle = { version: bundle.version, pluginConfig, policies, source, loadedAt: new Date() };
    this.#current = loaded;
    this.#schedulePrune();
    this.emit('loaded', loaded);
    return loaded;
  }

  /** Reports a bundle that was not installed (the current one keeps serving). */
  reject(source: string, error: Error): void {
    this.emit('rejected', source, error);
  }

  #schedulePrune(): void {
    clearTimeout(this.#pruneTimer);
    this.#pruneTimer = setTimeout(() => {
      const keep = new Set([...(this.#current?.policies.values() ?? [])].map((p) => p.version));
      prunePolicies(this.#root, keep);
    }, this.#retainMs);
    this.#pruneTimer.unref();
  }

  close(): void {
    clearTimeout(this.#pruneTimer);
  }
}
