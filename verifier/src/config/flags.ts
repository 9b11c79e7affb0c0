// Command-line flags of the verifier. Every flag of the original service is accepted under its own
// name with its documented meaning (the README "Running the verifier"), parsed the way Go's `flag` package does
// it so existing Deployments keep working: `-name=value` or `--name=value`, `--name value` for
// non-booleans, bare booleans (`--cacheEnabled`) and `--name=false`.
import { VERIFIER_ERR_BAD_FLAG } from '../errors.js';

type FlagType = 'bool' | 'string' | 'int' | 'number' | 'list';

interface FlagSpec<T extends FlagType = FlagType> {
  readonly type: T;
  readonly default: FlagValue<T>;
  readonly help: string;
  /** Accepted for compatibility with the original but without effect here; --help says why. */
  readonly compatOnly?: string;
}

type FlagValue<T extends FlagType> = T extends 'bool' ? boolean : T extends 'int' | 'number' ? number : T extends 'list' ? string[] : string;

const DEFAULT_ALLOWED_USERS = [
  'system:serviceaccount:kyverno:kyverno-admission-controller',
  'system:serviceaccount:kyverno:kyverno-reports-controller',
];

export const FLAGS = {
  // ---- the original's flags ----
  local: { type: 'bool', default: false, help: 'Run without a cluster: read TrustPolicy/TrustStore manifests from --policyDir, serve plain HTTP on --httpPort.' },
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
  bundleDir: { type: 'string', default: '/etc/kyverno-notation-aws/bundle', help: 'Directory where the operator\'s bundle ConfigMap is mounted (bundle.json).' },
  workDir: { type: 'string', default: '', help: 'Writable directory for materialised notation configurations (default: a new temporary directory).' },
  httpPort: { type: 'int', default: 9080, help: 'Plain-HTTP port (with --notls or --local).' },
  httpsPort: { type: 'int', default: 9443, help: 'HTTPS port.' },
  bindAddress: { type: 'string', default: '0.0.0.0', help: 'Interface the request listener binds to.' },
  tlsCertFile: { type: 'string', default: '/etc/kyverno-notation-aws/tls/tls.crt', help: 'Serving certificate (reloaded when the file changes).' },
  tlsKeyFile: { type: 'string', default: '/etc/kyverno-notation-aws/tls/tls.key', help: 'Serving key (PKCS#8, PKCS#1 or SEC1 PEM).' },
  notationPath: { type: 'string', default: '', help: 'The notation executable (default: notation from PATH).' },
  notationLibexec: {
    type: 'string',
    default: '',
    help: 'Directory holding plugins/<plugin>/notation-<plugin> (default: NOTATION_LIBEXEC, else the parent of PLUGINS_DIR).',
  },
  maxConcurrentVerifications: { type: 'int', default: 8, help: 'notation processes running at once.' },
  notationTimeoutSeconds: { type: 'int', default: 20, help: 'A notation run still going after this is killed (with its plugins).' },
  verifyTimeoutSeconds: { type: 'int', default: 25, help: 'Budget of one /checkimages request; stays below Kyverno\'s 30 s webhook timeout.' },
  negativeCacheTTLSeconds: { type: 'int', default: 10, help: 'Seconds a denial stays cached (could-not-verify is never cached).' },
  onInfraError: { type: 'string', default: 'deny', help: 'What could-not-verify answers: deny (503 + Retry-After) or allow (200, image left unpinned, with a warning).' },
  tokenReviewAudiences: { type: 'list', default: [], help: 'Audiences sent with TokenReview (e.g. kyverno-svc.kyverno.io for Kyverno >= 1.16 scoped tokens); empty = the API server\'s.' },
  kubeconfig: { type: 'string', default: '', help: 'Kubeconfig for TokenReview (default: KUBECONFIG, ~/.kube/config or in-cluster).' },
  pullSecretsDir: { type: 'string', default: '/etc/kyverno-notation-aws/pull-secrets', help: 'Where --imagePullSecrets are mounted.' },
  maxRequestBytes: { type: 'int', default: 1_048_576, help: 'Largest accepted request body.' },
  maxAttestationBytes: {
    type: 'int',
    default: 4_194_304,
    help: 'Largest attestation payload (the referrer\'s layer) read, and largest once gzip-decompressed; a larger one is denied.',
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

export type FlagName = keyof typeof FLAGS;
export type Flags = { -readonly [K in FlagName]: FlagValue<(typeof FLAGS)[K]['type']> };

function defaults(): Flags {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(FLAGS)) out[name] = Array.isArray(spec.default) ? [...spec.default] : spec.default;
  return out as Flags;
}

function convert(name: string, spec: FlagSpec, raw: string): unknown {
  switch (spec.type) {
    case 'bool':
      if (/^(1|t|true|TRUE|True)$/.test(raw)) return true;
      if (/^(0|f|false|FALSE|False)$/.test(raw)) return false;
      throw new VERIFIER_ERR_BAD_FLAG(`--${name}: ${JSON.stringify(raw)} is not a boolean (true/false)`);
    case 'int': {
      if (!/^-?\d+$/.test(raw)) throw new VERIFIER_ERR_BAD_FLAG(`--${name}: ${JSON.stringify(raw)} is not an integer`);
      return Number(raw);
    }
    case 'number': {
      // Go's float64 flag syntax, minus the exotic forms (hex, Inf, NaN) nobody puts in a Deployment.
      if (!/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw)) throw new VERIFIER_ERR_BAD_FLAG(`--${name}: ${JSON.stringify(raw)} is not a number`);
      return Number(raw);
    }
    case 'list':
      return raw === '' ? [] : raw.split(',');
    default:
      return raw;
  }
}

export interface ParsedArgs {
  readonly flags: Flags;
  /** Names given explicitly on the command line. */
  readonly explicit: ReadonlySet<FlagName>;
  readonly positionals: readonly string[];
  readonly help: boolean;
}

export function parseFlags(argv: readonly string[]): ParsedArgs {
  const flags = defaults() as Record<string, unknown>;
  const explicit = new Set<FlagName>();
  const positionals: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    if (name === 'help' || name === 'h') {
      help = true;
      continue;
    }
    const spec = (FLAGS as Record<string, FlagSpec>)[name];
    if (!spec) throw new VERIFIER_ERR_BAD_FLAG(`unknown flag ${arg}; see --help`);
    let raw: string;
    if (eq >= 0) raw = body.slice(eq + 1);
    else if (spec.type === 'bool') raw = 'true';
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new VERIFIER_ERR_BAD_FLAG(`flag --${name} needs a value`);
      raw = next;
      i++;
    }
    flags[name] = convert(name, spec, raw);
    explicit.add(name as FlagName);
  }
  return { flags: flags as Flags, explicit, positionals, help };
}

export function helpText(): string {
  const rows = Object.entries(FLAGS as Record<string, FlagSpec>).map(([name, spec]) => {
    const def = Array.isArray(spec.default) ? spec.default.join(',') : String(spec.default);
    const compat = spec.compatOnly ? ` (no effect: ${spec.compatOnly})` : '';
    return `  --${name}${spec.type === 'bool' ? '' : ` ${spec.type === 'list' ? 'a,b' : spec.type}`}\n      ${spec.help}${compat} (default ${def === '' ? '""' : def})`;
  });
  return [
    'usage: verifier [flags]                      serve POST /checkimages',
    '       verifier conditions --payload FILE --conditions FILE',
    '                                             evaluate attestation conditions offline',
    '',
    'Flags accept -name=value, --name=value or --name value; booleans may be bare or =false.',
    '',
    ...rows,
    '',
    'Environment: DEFAULT_TRUST_POLICY (trust policy when the request names none), PLUGINS_DIR, NOTATION_LIBEXEC,',
    'KUBECONFIG, AWS_* (credentials and region for the AWS Signer plugin and Amazon ECR), HTTP(S)_PROXY, NO_PROXY.',
  ].join('\n');
}

/** The flag table of the README (between the flags:begin/end markers), generated from FLAGS. */
export function flagsMarkdown(): string {
  const rows = Object.entries(FLAGS as Record<string, FlagSpec>).map(([name, spec]) => {
    const def = Array.isArray(spec.default) ? spec.default.join(',') : String(spec.default);
    const help = spec.compatOnly ? `${spec.help} No effect: ${spec.compatOnly}.` : spec.help;
    return `| \`--${name}\` | ${spec.type} | ${def === '' ? '""' : `\`${def}\``} | ${help.replace(/\|/g, '\\|')} |`;
  });
  return ['| flag | type | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
