// Reading charts/samples/: the Kyverno ClusterPolicies and the apiCalls in them.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../harness/tools-env.js';

export const SAMPLES_DIR = join(REPO_ROOT, 'charts', 'samples');

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> };
  [key: string]: unknown;
}

export function sampleFiles(): string[] {
  return readdirSync(SAMPLES_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
}

export function readObjects(file: string): KubeObject[] {
  return parseAllDocuments(readFileSync(join(SAMPLES_DIR, file), 'utf8'))
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
}

export interface ApiCallService {
  rule: string;
  method?: string;
  data: { key: string; value: unknown }[];
  url: string;
  caBundle?: string;
}

interface Rule {
  name: string;
  match?: { any?: { resources?: { namespaces?: string[] } }[] };
  context?: { name: string; apiCall?: { method?: string; data?: { key: string; value: unknown }[]; service?: { url: string; caBundle?: string } } }[];
}

export function policyRules(policy: KubeObject): Rule[] {
  const spec = policy.spec as { rules?: Rule[] } | undefined;
  return spec?.rules ?? [];
}

/** Every apiCall of the policy that calls a service (rather than the Kubernetes API). */
export function serviceCalls(policy: KubeObject): ApiCallService[] {
  return policyRules(policy).flatMap((rule) =>
    (rule.context ?? []).flatMap((entry) => {
      const call = entry.apiCall;
      if (!call?.service) return [];
      return [
        {
          rule: rule.name,
          ...(call.method !== undefined && { method: call.method }),
          data: call.data ?? [],
          url: call.service.url,
          ...(call.service.caBundle !== undefined && { caBundle: call.service.caBundle }),
        },
      ];
    }),
  );
}

/** The namespaces a rule matches (resources.namespaces of its match.any entries). */
export function matchedNamespaces(rule: Rule): string[] {
  return (rule.match?.any ?? []).flatMap((m) => m.resources?.namespaces ?? []);
}
