// The verifier's view of registries: one RegistryClient with the credential chain of the original
// (docs/architecture.md "The request pipeline": the verifier's docker config, then the --imagePullSecrets, then Amazon ECR
// through the AWS default credential chain), shared by the pipeline (tag → digest, referrers) and by
// notation (the same credentials, handed over as NOTATION_USERNAME/NOTATION_PASSWORD).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Flags } from '../config/flags.js';
import { VERIFIER_ERR_BAD_FLAG } from '../errors.js';
import type { Credentials as NotationCredentials } from '../notation/engine.js';
import {
  DockerConfig,
  RegistryClient,
  chainCredentials,
  dockerConfigCredentials,
  dockerConfigFileCredentials,
  TagResolver,
  ecrCredentials,
  type RegistryObserver,
} from '../registry/index.js';
import type { DigestResolver } from './checkImages.js';
import { errorMessage } from '@kna/shared/errors';

export interface RegistryAccess {
  readonly client: RegistryClient;
  readonly resolver: DigestResolver;
  readonly notationCredentials: (registry: string) => Promise<NotationCredentials | undefined>;
  readonly insecure: (registry: string) => boolean;
}

export interface RegistryAccessOptions {
  readonly flags: Pick<Flags, 'imagePullSecrets' | 'pullSecretsDir' | 'allowInsecureRegistry' | 'tagCacheTTLSeconds'>;
  readonly env: NodeJS.ProcessEnv;
  readonly observer?: RegistryObserver;
}

/** Reads the mounted pull secrets now, so a missing or malformed one stops the start with its name. */
function pullSecrets(names: readonly string[], dir: string): DockerConfig[] {
  return names.map((name) => {
    const candidates = ['.dockerconfigjson', '.dockercfg'].map((key) => join(dir, name, key));
    const file = candidates.find((f) => existsSync(f));
    if (!file) {
      throw new VERIFIER_ERR_BAD_FLAG(`--imagePullSecrets: secret ${JSON.stringify(name)} is not mounted (looked for ${candidates.join(' and ')})`);
    }
    try {
      return DockerConfig.parse(readFileSync(file, 'utf8'), file);
    } catch (err) {
      throw new VERIFIER_ERR_BAD_FLAG(`--imagePullSecrets: ${errorMessage(err)}`);
    }
  });
}

export function registryAccess(options: RegistryAccessOptions): RegistryAccess {
  const dockerConfigDir = options.env.DOCKER_CONFIG ?? join(options.env.HOME ?? '/', '.docker');
  const credentials = chainCredentials(
    dockerConfigFileCredentials({ path: join(dockerConfigDir, 'config.json') }),
    dockerConfigCredentials(...pullSecrets(options.flags.imagePullSecrets, options.flags.pullSecretsDir)),
    ecrCredentials(),
  );
  const client = new RegistryClient({
    credentials,
    allowInsecure: options.flags.allowInsecureRegistry,
    ...(options.observer && { observer: options.observer }),
  });
  // Concurrent resolutions of one tag share one round trip; --tagCacheTTLSeconds adds a short memory.
  const tags = new TagResolver((ref, call) => client.resolveDigest(ref, call), { ttlSeconds: options.flags.tagCacheTTLSeconds });
  return {
    client,
    resolver: {
      resolveDigest: (image, signal) =>
        tags.resolve(
          {
            registry: image.registry,
            repository: image.repository,
            ...(image.tag !== undefined && { tag: image.tag }),
            ...(image.digest !== undefined && { digest: image.digest }),
          },
          { signal },
        ),
    },
    notationCredentials: async (registry) => {
      const found = await client.credentialsFor(registry);
      switch (found?.kind) {
        case 'basic':
          return { username: found.username, password: found.password };
        case 'identityToken':
          // notation sends a password without a username as an OAuth2 refresh token.
          return { password: found.token };
        default:
          // A bare registry token has no notation equivalent; notation then tries anonymously.
          return undefined;
      }
    },
    // notation reaches only `localhost` over plain HTTP by itself; 127.0.0.1 and --allowInsecureRegistry need the flag.
    insecure: (registry) => client.usesPlainHttp(registry),
  };
}
