// Verifier replicas sharing a Redis, for the shared cache tier's end-to-end tests
// (verifier/src/cache/*.int.test.ts): the signing harness, a wrapper around the real notation that
// counts its `verify` runs (the count comes from the runs themselves, not from the cache's metrics), an
// HMAC key file every replica shares, a policy directory, signed images, and the replicas themselves.
import { accessSync, chmodSync, constants, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { delimiter, join } from 'node:path';
import type { Redis } from 'ioredis';
import { eventually, push, sign, startHarness, toolsEnv, type Harness } from '@kna/e2e';
import type { RunningVerifier, StartOptions } from '../src/app.js';
import { startLocalVerifier, writePolicyDir, type PodImage } from './localVerifier.js';

export interface SignedImage extends PodImage {
  readonly path: string;
  readonly tag: string;
  readonly digest: string;
  /** `<registry>/<path>@<digest>`: what notation is given. */
  readonly reference: string;
}

export interface ReplicaFixture {
  readonly harness: Harness;
  /** The policy directory every replica reads (local mode); rewrite a file in it to change a policy. */
  readonly policyDir: string;
  /** The key file of --cacheHMACKeyFile. */
  readonly hmacKeyFile: string;
  /** Every `notation verify` so far, one line each: `<NOTATION_CONFIG> <arguments>`. */
  runs(): string[];
  /** Runs for `reference`, and, given a policy `version`, under that version (its configuration directory). */
  runsOf(reference: string, version?: string): number;
  /** Pushes and signs `count` images `<prefix>/app<i>:v<i>`. */
  signImages(prefix: string, count: number): Promise<SignedImage[]>;
  /**
   * A replica sharing `redisURL`, with the counting notation and generous bounds for a loaded machine
   * (`flags` come last and override them); waits until it has loaded every policy of the fixture and,
   * unless `connects` is false, until it uses Redis (its breaker closed: connected).
   */
  startReplica(redisURL: string, options?: { flags?: readonly string[]; logger?: StartOptions['logger']; connects?: boolean }): Promise<RunningVerifier>;
  /** Removes every Redis key about this fixture's registry (its port is this run's own). */
  removeKeys(redis: Redis): Promise<void>;
  /** Closes the replicas it started and stops the harness. */
  stop(): Promise<void>;
}

function realNotation(): string {
  for (const dir of toolsEnv().PATH.split(delimiter)) {
    const candidate = join(dir, 'notation');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  throw new Error('notation is not among the built tools');
}

export async function startReplicaFixture(options: { policies: readonly string[] }): Promise<ReplicaFixture> {
  const harness = await startHarness();
  const runsFile = join(harness.dir, 'notation-runs');
  writeFileSync(runsFile, '');
  const wrapper = join(harness.dir, 'notation-counting');
  writeFileSync(wrapper, `#!/bin/sh\nif [ "$1" = verify ]; then echo "$NOTATION_CONFIG $*" >> '${runsFile}'; fi\nexec '${realNotation()}' "$@"\n`);
  chmodSync(wrapper, 0o755);
  const hmacKeyFile = join(harness.dir, 'cache-hmac-key');
  writeFileSync(hmacKeyFile, randomBytes(32).toString('base64'));
  const policyDir = writePolicyDir(harness, 'policies', { policies: options.policies });
  const replicas: RunningVerifier[] = [];
  const runs = () =>
    readFileSync(runsFile, 'utf8')
      .split('\n')
      .filter((l) => l !== '');

  return {
    harness,
    policyDir,
    hmacKeyFile,
    runs,
    runsOf: (reference, version) => runs().filter((line) => line.endsWith(` ${reference}`) && (version === undefined || line.includes(`/${version} `))).length,
    signImages: async (prefix, count) => {
      const images: SignedImage[] = [];
      for (let i = 0; i < count; i++) {
        const path = `${prefix}/app${i}`;
        const tag = `v${i}`;
        const { digest } = await push(`${harness.registry}/${path}:${tag}`);
        const reference = `${harness.registry}/${path}@${digest}`;
        await sign(harness, reference);
        images.push({ registry: harness.registry, path, tag, digest, reference });
      }
      return images;
    },
    startReplica: async (redisURL, replicaOptions = {}) => {
      const flags = [
        // The CLI engine, through the counting wrapper: these tests count verifications across replicas (the
        // helper engine gives the same outcomes, verifier/src/notation/parity.int.test.ts).
        '--notationEngine=cli',
        `--notationPath=${wrapper}`,
        `--redisURL=${redisURL}`,
        `--cacheHMACKeyFile=${hmacKeyFile}`,
        // Generous bounds for a loaded machine: these tests count runs and check answers, not latency.
        '--redisCommandTimeoutMilliseconds=5000',
        '--redisLockWaitMilliseconds=120000',
        '--verifyTimeoutSeconds=180',
        '--notationTimeoutSeconds=120',
        ...(replicaOptions.flags ?? []),
      ];
      const replica = await startLocalVerifier(harness, policyDir, { flags, ...(replicaOptions.logger && { logger: replicaOptions.logger }) });
      replicas.push(replica);
      await eventually(
        async () => {
          for (const policy of options.policies) if (!replica.store.current?.policies.has(policy)) throw new Error(`policy ${policy} not loaded`);
          if (replicaOptions.connects !== false && !/^kna_redis_breaker_state\{state="closed"\} 1$/m.test(await replica.metrics.registry.metrics())) {
            throw new Error('not connected to Redis');
          }
        },
        { timeoutMs: 60_000 },
      );
      return replica;
    },
    removeKeys: async (redis) => {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `kna:v1:*${harness.registry}/*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
    },
    stop: async () => {
      await Promise.all(replicas.splice(0).map((r) => r.close()));
      await harness.stop();
    },
  };
}
