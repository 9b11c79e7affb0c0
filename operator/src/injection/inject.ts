// CA injection into Kyverno ClusterPolicies: the CA bundle goes into `context[].apiCall.service.caBundle` of every
// apiCall, in every rule, whose `service.url` host names the verifier Service — `<svc>.<ns>`, `<svc>.<ns>.svc` or
// `<svc>.<ns>.svc.cluster.local` — and nowhere else. Policies opt in with the annotation
// `notation.nirmata.io/inject-ca: "true"`. This replaces the original's sample, which had Kyverno read the
// serving Secret itself (and so needed Secret read access for Kyverno).
import { INJECT_CA_ANNOTATION } from '../resources.js';

/** The parts of a ClusterPolicy that injection reads and writes; everything else is carried along unchanged. */
export interface ClusterPolicy {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; resourceVersion?: string; annotations?: Record<string, string> } & Record<string, unknown>;
  spec?: { rules?: Rule[] } & Record<string, unknown>;
}

interface Rule {
  context?: { apiCall?: { service?: { url?: unknown; caBundle?: unknown } & Record<string, unknown> } & Record<string, unknown> }[];
  [key: string]: unknown;
}

/** The host names that reach `service` in `namespace` from inside the cluster. */
export function serviceHosts(service: string, namespace: string): string[] {
  return [`${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
}

function wantsInjection(policy: ClusterPolicy): boolean {
  return policy.metadata.annotations?.[INJECT_CA_ANNOTATION] === 'true';
}

function hostOf(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  try {
    // URL lower-cases the host and drops a trailing dot only for special schemes; Kyverno's urls are http(s).
    return new URL(url).hostname.replace(/\.$/, '');
  } catch {
    return undefined;
  }
}

/**
 * The policy with `caBundle` set in every apiCall targeting one of `hosts`, or undefined when nothing would change
 * (not annotated, no such apiCall, or the bundle is already there).
 */
export function injectCaBundle(policy: ClusterPolicy, caBundle: string, hosts: readonly string[]): ClusterPolicy | undefined {
  if (!wantsInjection(policy)) return undefined;
  const targets = new Set(hosts.map((h) => h.toLowerCase()));
  let changes = 0;
  const rules = (policy.spec?.rules ?? []).map((rule) => {
    if (!Array.isArray(rule.context)) return rule;
    const context = rule.context.map((entry) => {
      const service = entry.apiCall?.service;
      if (service === undefined || entry.apiCall === undefined) return entry;
      const host = hostOf(service.url);
      if (host === undefined || !targets.has(host) || service.caBundle === caBundle) return entry;
      changes++;
      return { ...entry, apiCall: { ...entry.apiCall, service: { ...service, caBundle } } };
    });
    return { ...rule, context };
  });
  if (changes === 0) return undefined;
  return { ...policy, spec: { ...policy.spec, rules } };
}
