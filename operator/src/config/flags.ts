// Command-line flags of the operator, in Go flag syntax like the verifier's (shared's parseFlagArgs), so the
// Deployment's args read the same for both. Durations take Go syntax (`15s`, `8760h`) so tests can use seconds.
import {
  DEFAULT_KUBE_API_TIMEOUT_MS,
  flagHelpLines,
  flagsMarkdown as flagTable,
  parseFlagArgs,
  type FlagSpec,
  type FlagValues,
  type ParsedFlags,
} from '@kna/shared';
import { OPERATOR_ERR_BAD_FLAG, OPERATOR_ERR_NO_NAMESPACE } from '../errors.js';

const HOUR = 3_600_000;

export const FLAGS = {
  namespace: {
    type: 'string',
    default: '',
    defaultText: '`POD_NAMESPACE`',
    help: 'Namespace of the bundle and CA ConfigMaps, the certificate Secrets, the Lease and the verifier Service.',
  },
  name: {
    type: 'string',
    default: 'kyverno-notation-aws',
    help: 'Release name: ConfigMaps <name>-bundle and <name>-ca, Lease <name>-operator.',
  },
  serviceName: { type: 'string', default: 'svc', help: 'The verifier Service: certificate names and SANs, and the apiCall URLs CA injection targets.' },
  extraServiceHosts: {
    type: 'string',
    default: '',
    help: "Comma-separated extra host names or IP addresses that reach the verifier (e.g. 127.0.0.1 when it runs out of cluster): added to the serving certificate's SANs and to the apiCall URL hosts CA injection targets. Empty in a cluster.",
  },
  pluginConfigMap: {
    type: 'string',
    default: 'notation-plugin-config',
    help: 'ConfigMap (in --namespace) whose data is the notation plugin configuration put into the bundle; watched. "" disables.',
  },
  'leader-elect': {
    type: 'bool',
    default: true,
    help: 'Elect a leader on the Lease <name>-operator; only the leader writes. false: this process writes unconditionally.',
  },
  'leader-elect-lease-duration': { type: 'duration', default: 15_000, help: 'How long a standby waits after the last renewal before taking the Lease over.' },
  'leader-elect-renew-deadline': { type: 'duration', default: 10_000, help: 'A leader that cannot renew within this stops writing at once and exits.' },
  'leader-elect-retry-period': { type: 'duration', default: 2_000, help: 'Interval between attempts to acquire or renew the Lease.' },
  caValidity: { type: 'duration', default: 365 * 24 * HOUR, help: 'Validity of a generated CA certificate.' },
  certValidity: { type: 'duration', default: 150 * 24 * HOUR, help: 'Validity of a generated serving certificate (renewed at 2/3 of its life).' },
  'inject-ca': {
    type: 'bool',
    default: true,
    help: 'Write the CA bundle into apiCall.service.caBundle of ClusterPolicies annotated notation.nirmata.io/inject-ca: "true".',
  },
  'metrics-bind-address': { type: 'string', default: ':8080', help: 'Address of the Prometheus /metrics listener ("0" disables).' },
  'health-probe-bind-address': { type: 'string', default: ':8081', help: 'Address of the /livez, /healthz and /readyz listener ("0" disables).' },
  logLevel: { type: 'string', default: 'info', help: 'trace, debug, info, warn or error.' },
  kubeconfig: { type: 'string', default: '', help: 'Kubeconfig (default: KUBECONFIG, ~/.kube/config or in-cluster).' },
  identity: { type: 'string', default: '', defaultText: '`POD_NAME`, else host name + pid', help: "This process's holderIdentity in the Lease." },
  'kube-api-timeout': {
    type: 'duration',
    default: DEFAULT_KUBE_API_TIMEOUT_MS,
    help: 'Every Kubernetes API request but a watch (get, list, create, update, patch, delete) fails after this without an answer and is retried with back-off (an API server that accepted the connection and never answers would otherwise stall the reconcile). Watches end at their own timeout.',
  },
  resyncPeriod: { type: 'duration', default: 10 * 60_000, help: 'Every watched list is re-listed this often (a safety net; the watches deliver changes).' },
  debounce: {
    type: 'duration',
    default: 100,
    help: 'Reconciles start at most this often: a change after a quiet period is reconciled at once, changes arriving within this after a reconcile started are reconciled together in the next one.',
  },
} as const satisfies Record<string, FlagSpec>;

export type Flags = FlagValues<typeof FLAGS>;
export type ParsedArgs = ParsedFlags<typeof FLAGS>;

export function parseFlags(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ParsedArgs {
  const parsed = parseFlagArgs(FLAGS, argv, { badFlag: (detail) => new OPERATOR_ERR_BAD_FLAG(detail) });
  if (parsed.help) return parsed;
  const { flags } = parsed;
  if (flags.namespace === '') flags.namespace = env.POD_NAMESPACE ?? '';
  if (flags.namespace === '') throw new OPERATOR_ERR_NO_NAMESPACE();
  if (flags.identity === '') flags.identity = env.POD_NAME ?? '';
  const leader = flags['leader-elect-lease-duration'];
  const renew = flags['leader-elect-renew-deadline'];
  const retry = flags['leader-elect-retry-period'];
  // client-go's NewLeaderElector refuses the same combinations.
  if (!(leader > renew)) throw new OPERATOR_ERR_BAD_FLAG('--leader-elect-lease-duration must be greater than --leader-elect-renew-deadline');
  if (!(renew > retry) || retry <= 0)
    throw new OPERATOR_ERR_BAD_FLAG('--leader-elect-renew-deadline must be greater than --leader-elect-retry-period, which must be positive');
  if (flags['kube-api-timeout'] <= 0) throw new OPERATOR_ERR_BAD_FLAG('--kube-api-timeout must be positive');
  if (flags.certValidity <= 0 || flags.caValidity <= 0) throw new OPERATOR_ERR_BAD_FLAG('--caValidity and --certValidity must be positive');
  if (!['trace', 'debug', 'info', 'warn', 'error'].includes(flags.logLevel))
    throw new OPERATOR_ERR_BAD_FLAG(`--logLevel: ${JSON.stringify(flags.logLevel)} is not one of trace, debug, info, warn, error`);
  for (const host of extraServiceHosts(flags)) {
    if (!/^[A-Za-z0-9.:-]+$/.test(host)) throw new OPERATOR_ERR_BAD_FLAG(`--extraServiceHosts: ${JSON.stringify(host)} is not a host name or IP address`);
  }
  return parsed;
}

/** --extraServiceHosts as a list (empty entries dropped). */
export function extraServiceHosts(flags: Pick<Flags, 'extraServiceHosts'>): string[] {
  return flags.extraServiceHosts
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
}

export function helpText(): string {
  return [
    "usage: operator [flags]   reconcile TrustPolicy/TrustStore into the bundle ConfigMap, manage the verifier's certificates",
    '',
    'Flags accept -name=value, --name=value or --name value; booleans may be bare or =false; durations take Go syntax (15s, 8760h).',
    '',
    ...flagHelpLines(FLAGS),
    '',
    'Environment: POD_NAMESPACE, POD_NAME (set by the Deployment from the downward API), KUBECONFIG.',
  ].join('\n');
}

/** The operator's flag table of the README (between the operator-flags:begin/end markers). */
export function flagsMarkdown(): string {
  return flagTable(FLAGS);
}
