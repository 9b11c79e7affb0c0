// Command-line flags of the verifier. Every flag of the original service is accepted under its own
// name with its documented meaning (the README "Running the verifier"), in Go flag syntax (shared's parseFlagArgs) so
// existing Deployments keep working.
import { flagHelpLines, flagsMarkdown as flagTable, parseFlagArgs, type FlagSpec, type FlagValues, type ParsedFlags } from '@kna/shared/flags';
import { VERIFIER_ERR_BAD_FLAG } from '../errors.js';

const DEFAULT_ALLOWED_USERS = ['system:serviceaccount:kyverno:kyverno-admission-controller', 'system:serviceaccount:kyverno:kyverno-reports-controller'];

export const FLAGS = {
  // ---- the original's flags ----
  local: {
    type: 'bool',
    default: false,
    help: 'Run without a cluster: read TrustPolicy/TrustStore manifests from --policyDir, serve plain HTTP on --httpPort.',
  },
  notls: { type: 'bool', default: false, help: 'Do not serve HTTPS; serve plain HTTP on --httpPort instead.' },
  imagePullSecrets: {
    type: 'list',
    default: [],
    help: 'Comma-separated dockerconfigjson Secrets (mounted under --pullSecretsDir/<name>/.dockerconfigjson) used as registry credentials.',
  },
  allowInsecureRegistry: { type: 'bool', default: false, help: 'Allow plain-HTTP registries (localhost registries are always reached over HTTP).' },
  pluginConfigMap: {
    type: 'string',
    default: 'notation-plugin-config',
    help: 'ConfigMap whose data is the notation plugin configuration (in the bundle; in local mode a ConfigMap manifest in --policyDir). "" disables.',
  },
  debug: { type: 'bool', default: false, help: 'Log notation output of every verification at debug level.' },
  maxSignatureAttempts: { type: 'int', default: 30, help: 'Maximum signatures evaluated per artifact (notation --max-signatures).' },
  'metrics-bind-address': { type: 'string', default: ':8080', help: 'Address of the Prometheus /metrics listener ("0" disables).' },
  'health-probe-bind-address': { type: 'string', default: ':8081', help: 'Address of the /livez, /healthz and /readyz listener ("0" disables).' },
  'leader-elect': {
    type: 'bool',
    default: false,
    help: 'Accepted for compatibility.',
    compatOnly: 'the verifier is stateless; the operator elects a leader for every cluster write',
  },
  cacheEnabled: { type: 'bool', default: true, help: 'Cache verification outcomes by (policy version, registry/repository, digest).' },
  cacheMaxSize: { type: 'int', default: 1000, help: 'Maximum number of cached outcomes (a hard bound).' },
  cacheTTLDurationSeconds: {
    type: 'int',
    default: 3600,
    help: 'Seconds a successful verification stays cached; this bounds how long a revoked signature can still be admitted.',
  },
  reviewKyvernoToken: { type: 'bool', default: true, help: 'Require a bearer token and check it with a Kubernetes TokenReview.' },
  allowedUsers: { type: 'list', default: DEFAULT_ALLOWED_USERS, help: 'Usernames (exact match) allowed to call the verifier after TokenReview.' },
  logLevel: { type: 'string', default: 'info', help: 'trace, debug, info, warn or error.' },

  // ---- this verifier's additions ----
  policyDir: { type: 'string', default: '', help: 'Local mode: directory of TrustPolicy, TrustStore and plugin ConfigMap YAML manifests (re-read on change).' },
  bundleDir: { type: 'string', default: '/etc/kyverno-notation-aws/bundle', help: "Directory where the operator's bundle ConfigMap is mounted (bundle.json)." },
  workDir: { type: 'string', default: '', help: 'Writable directory for materialised notation configurations (default: a new temporary directory).' },
  httpPort: { type: 'int', default: 9080, help: 'Plain-HTTP port (with --notls or --local).' },
  httpsPort: { type: 'int', default: 9443, help: 'HTTPS port.' },
  bindAddress: { type: 'string', default: '0.0.0.0', help: 'Interface the request listener binds to.' },
  tlsCertFile: { type: 'string', default: '/etc/kyverno-notation-aws/tls/tls.crt', help: 'Serving certificate (reloaded when the file changes).' },
  tlsKeyFile: { type: 'string', default: '/etc/kyverno-notation-aws/tls/tls.key', help: 'Serving key (PKCS#8, PKCS#1 or SEC1 PEM).' },
  notationEngine: {
    type: 'string',
    default: 'helper',
    help: 'How a cache miss is verified: helper (one resident kna-notation-helper on notation-go) or cli (a notation process per verification, the reference the helper is tested against); docs/architecture.md "Two notation engines".',
  },
  notationPath: { type: 'string', default: '', help: 'The notation executable (default: notation from PATH; --notationEngine=cli).' },
  notationHelperPath: {
    type: 'string',
    default: 'kna-notation-helper',
    help: 'The notation helper executable, a path or a name looked up on PATH (--notationEngine=helper).',
  },
  notationLibexec: {
    type: 'string',
    default: '',
    help: 'Directory holding plugins/<plugin>/notation-<plugin> (default: NOTATION_LIBEXEC, else the parent of PLUGINS_DIR).',
  },
  maxConcurrentVerifications: { type: 'int', default: 8, help: 'Verifications running at once (notation processes, or requests in the helper).' },
  notationNiceness: {
    type: 'int',
    default: 10,
    help: "CPU niceness added to notation and its plugins (0-19; 0: the verifier's own priority), so that cached answers stay fast while verifications saturate the CPU. The resident helper stays in the verifier's session; a CLI run's own session gets the same niceness where the kernel schedules by session (autogroup).",
  },
  notationTimeoutSeconds: {
    type: 'int',
    default: 20,
    help: 'A verification still going after this is stopped with its plugins (the notation process killed, or cancelled in the helper).',
  },
  verifyTimeoutSeconds: { type: 'int', default: 25, help: "Budget of one /checkimages request; stays below Kyverno's 30 s webhook timeout." },
  negativeCacheTTLSeconds: { type: 'int', default: 10, help: 'Seconds a denial stays cached (could-not-verify is never cached).' },
  tagCacheTTLSeconds: {
    type: 'int',
    default: 0,
    help: 'Seconds a tag → digest resolution is reused without asking the registry (0: every request resolves its tags). The patch pins the digest that was verified, so this never admits unverified content, but after a tag moves a pod may be pinned to the previous image for up to this long.',
  },
  onInfraError: {
    type: 'string',
    default: 'deny',
    help: 'What could-not-verify answers: deny (503 + Retry-After) or allow (200, image left unpinned, with a warning).',
  },
  tokenReviewAudiences: {
    type: 'list',
    default: [],
    help: "Audiences sent with TokenReview (e.g. kyverno-svc.kyverno.io for Kyverno >= 1.16 scoped tokens); empty = the API server's.",
  },
  tokenReviewAPIServerAudience: {
    type: 'bool',
    default: false,
    help: "With --tokenReviewAudiences, also accept tokens for the API server's own audiences (a second TokenReview), as Kyverno < 1.16 sends.",
  },
  kubeconfig: {
    type: 'string',
    default: '',
    help: 'Kubeconfig for TokenReview (default: KUBECONFIG, ~/.kube/config or in-cluster); its user a client certificate, token or tokenFile (exec and auth-provider are refused).',
  },
  pullSecretsDir: { type: 'string', default: '/etc/kyverno-notation-aws/pull-secrets', help: 'Where --imagePullSecrets are mounted.' },
  maxRequestBytes: { type: 'int', default: 1_048_576, help: 'Largest accepted request body.' },
  maxAttestationBytes: {
    type: 'int',
    default: 4_194_304,
    help: "Largest attestation payload (the referrer's layer) read, and largest once gzip-decompressed; a larger one is denied.",
  },
  // The shared (L2) cache tier in Redis; README "Caching".
  redisURL: {
    type: 'string',
    default: '',
    help: 'Shared cache tier across replicas: redis://[:password@]host:port[/db] or rediss://… (TLS). "" = in-process cache only. Needs --cacheHMACKeyFile.',
  },
  redisPasswordFile: { type: 'string', default: '', help: 'File holding the Redis password (overrides one in --redisURL).' },
  redisCAFile: { type: 'string', default: '', help: 'PEM CA bundle that signed the Redis server certificate (rediss:// only; default: the system roots).' },
  cacheHMACKeyFile: {
    type: 'string',
    default: '',
    help: 'File holding the key (at least 32 bytes) of the HMAC-SHA256 that signs every shared cache entry; an entry whose MAC does not verify is a miss. Required with --redisURL.',
  },
  redisCommandTimeoutMilliseconds: {
    type: 'int',
    default: 100,
    help: 'A Redis command not answered in this time fails, and the shared tier is skipped for --redisBreakerOpenMilliseconds.',
  },
  redisBreakerOpenMilliseconds: {
    type: 'int',
    default: 5000,
    help: 'After a Redis failure, how long requests skip Redis before one request probes it again.',
  },
  redisLockWaitMilliseconds: {
    type: 'int',
    default: 5000,
    help: 'Longest wait for another replica verifying the same image (cross-replica single-flight) before verifying here too.',
  },
  // Load shedding (@fastify/under-pressure, sampled every second). The defaults suit a pod with a
  // CPU limit of 0.5: such a pod is throttled in every CFS period it is busy, so its event loop is
  // "utilised" most of the time and stalls for tens of milliseconds while healthy; only a delay that
  // leaves no hope of answering inside Kyverno's webhook timeout is worth a 503 (Kyverno does not retry
  // an apiCall, so a shed request fails the admission like a timeout would, only sooner).
  maxEventLoopDelay: {
    type: 'int',
    default: 3000,
    help: 'Load shedding: answer 503 + Retry-After while the mean event-loop delay of the last second is above this many milliseconds; 0 disables.',
  },
  maxEventLoopUtilization: {
    type: 'number',
    default: 0,
    help: 'Load shedding: answer 503 + Retry-After while the event loop was busy more than this fraction (0-1) of the last second; 0 disables (a CPU-limited pod is busy most of the time and still healthy).',
  },
  maxHeapUsedBytes: {
    type: 'int',
    default: 0,
    help: 'Load shedding: answer 503 + Retry-After while the V8 heap in use is above this many bytes; 0 disables (the cache is bounded by --cacheMaxSize).',
  },
} as const satisfies Record<string, FlagSpec>;

export type Flags = FlagValues<typeof FLAGS>;
export type ParsedArgs = ParsedFlags<typeof FLAGS>;

export function parseFlags(argv: readonly string[]): ParsedArgs {
  return parseFlagArgs(FLAGS, argv, { badFlag: (detail) => new VERIFIER_ERR_BAD_FLAG(detail) });
}

/** --notationEngine's values (docs/architecture.md "Two notation engines"). */
export type NotationEngineName = 'helper' | 'cli';

/** The flags checkFlags narrowed to the values they can take. */
export interface CheckedFlags {
  readonly onInfraError: 'deny' | 'allow';
  readonly notationEngine: NotationEngineName;
}

/**
 * Checks the flags that need no file or service, so that every such mistake is refused before anything
 * is looked up or started, with the same error (VERIFIER_ERR_BAD_FLAG: exit status 2 from main.ts).
 */
export function checkFlags(flags: Flags): CheckedFlags {
  const { onInfraError, notationEngine } = flags;
  if (onInfraError !== 'deny' && onInfraError !== 'allow') {
    throw new VERIFIER_ERR_BAD_FLAG(`--onInfraError must be deny or allow, not ${JSON.stringify(onInfraError)}`);
  }
  if (notationEngine !== 'helper' && notationEngine !== 'cli') {
    throw new VERIFIER_ERR_BAD_FLAG(`--notationEngine must be cli or helper, not ${JSON.stringify(notationEngine)}`);
  }
  for (const name of ['maxEventLoopDelay', 'maxHeapUsedBytes', 'tagCacheTTLSeconds'] as const) {
    if (flags[name] < 0) throw new VERIFIER_ERR_BAD_FLAG(`--${name} must be 0 (off) or positive, not ${flags[name]}`);
  }
  if (!(flags.maxEventLoopUtilization >= 0 && flags.maxEventLoopUtilization <= 1)) {
    throw new VERIFIER_ERR_BAD_FLAG(`--maxEventLoopUtilization is a fraction between 0 (off) and 1, not ${flags.maxEventLoopUtilization}`);
  }
  if (!(flags.notationNiceness >= 0 && flags.notationNiceness <= 19)) {
    throw new VERIFIER_ERR_BAD_FLAG(`--notationNiceness is between 0 (off) and 19, not ${flags.notationNiceness}`);
  }
  if (flags.local && flags.policyDir === '') throw new VERIFIER_ERR_BAD_FLAG('--local needs --policyDir DIR (TrustPolicy/TrustStore manifests)');
  return { onInfraError, notationEngine };
}

export function helpText(): string {
  return [
    'usage: verifier [flags]                      serve POST /checkimages',
    '       verifier conditions --payload FILE --conditions FILE',
    '                                             evaluate attestation conditions offline',
    '',
    'Flags accept -name=value, --name=value or --name value; booleans may be bare or =false.',
    '',
    ...flagHelpLines(FLAGS),
    '',
    'Environment: DEFAULT_TRUST_POLICY (trust policy when the request names none), PLUGINS_DIR, NOTATION_LIBEXEC,',
    'KUBECONFIG, AWS_* (credentials and region for the AWS Signer plugin and Amazon ECR), HTTP(S)_PROXY, NO_PROXY.',
  ].join('\n');
}

/** The flag table of the README (between the flags:begin/end markers), generated from FLAGS. */
export function flagsMarkdown(): string {
  return flagTable(FLAGS);
}
