// The two CustomResourceDefinitions, generated from the schemas in trust-policy.ts / trust-store.ts. `pnpm crds`
// writes them into the Helm chart (generate.ts); definitions.test.ts fails when the chart copy is stale.
import { stringify } from 'yaml';
import { GROUP, VERSION } from './common.js';
import type { StructuralSchema } from './schema.js';
import { TRUST_POLICY_KIND, TRUST_POLICY_PLURAL, trustPolicySchema } from './trust-policy.js';
import { TRUST_STORE_KIND, TRUST_STORE_PLURAL, trustStoreSchema } from './trust-store.js';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description: string;
  priority?: number;
}

/** apiextensions.k8s.io/v1 CustomResourceDefinition, the fields this product sets. */
export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string };
  spec: {
    group: string;
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames: string[]; categories: string[] };
    scope: 'Cluster';
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      schema: { openAPIV3Schema: StructuralSchema };
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
    }[];
  };
}

const READY = '.status.conditions[?(@.type=="Ready")]';
const readyColumns: PrinterColumn[] = [
  { name: 'Ready', type: 'string', jsonPath: `${READY}.status`, description: 'Whether the object is in the served bundle.' },
];
const reasonColumn: PrinterColumn = { name: 'Reason', type: 'string', jsonPath: `${READY}.reason`, description: 'Why the object is (not) ready.' };
const messageColumn: PrinterColumn = {
  name: 'Message',
  type: 'string',
  jsonPath: `${READY}.message`,
  description: 'What to fix when the object is not ready.',
  priority: 1,
};
const ageColumn: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since creation.' };

function definition(options: {
  kind: string;
  plural: string;
  shortName: string;
  schema: StructuralSchema;
  columns: PrinterColumn[];
}): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${options.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      names: {
        kind: options.kind,
        listKind: `${options.kind}List`,
        plural: options.plural,
        singular: options.kind.toLowerCase(),
        shortNames: [options.shortName],
        // `kubectl get notation` lists both kinds.
        categories: ['notation'],
      },
      scope: 'Cluster',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: options.schema },
          subresources: { status: {} },
          additionalPrinterColumns: options.columns,
        },
      ],
    },
  };
}

/** The TrustPolicy and TrustStore CRDs (in that order). */
export function customResourceDefinitions(): [CustomResourceDefinition, CustomResourceDefinition] {
  return [
    definition({
      kind: TRUST_POLICY_KIND,
      plural: TRUST_POLICY_PLURAL,
      shortName: 'tp',
      schema: trustPolicySchema,
      columns: [
        { name: 'TrustPolicyName', type: 'string', jsonPath: '.spec.trustPolicyName', description: 'The name requests select the policy by.' },
        ...readyColumns,
        reasonColumn,
        {
          name: 'Bundle',
          type: 'string',
          jsonPath: '.status.bundleVersionShort',
          description: 'Short version of the first bundle that holds this object as it is now.',
        },
        ageColumn,
        messageColumn,
        { name: 'PolicyVersion', type: 'string', jsonPath: '.status.policyVersion', description: 'Version of the policy in the bundle.', priority: 1 },
      ],
    }),
    definition({
      kind: TRUST_STORE_KIND,
      plural: TRUST_STORE_PLURAL,
      shortName: 'ts',
      schema: trustStoreSchema,
      columns: [
        { name: 'TrustStoreName', type: 'string', jsonPath: '.spec.trustStoreName', description: 'The name trust policies reference.' },
        { name: 'Type', type: 'string', jsonPath: '.spec.type', description: 'ca, signingAuthority or tsa.' },
        ...readyColumns,
        { name: 'Certs', type: 'integer', jsonPath: '.status.certificateCount', description: 'Certificates in caBundle.' },
        // A string, not a date: kubectl prints future dates of type "date" as <invalid>.
        { name: 'Expires', type: 'string', jsonPath: '.status.earliestExpiry', description: 'When the first certificate expires.' },
        ageColumn,
        { ...reasonColumn, priority: 1 },
        messageColumn,
      ],
    }),
  ];
}

/**
 * Where the chart keeps the CRDs, relative to the repository root. Not Helm's special `crds/` folder: the
 * chart renders them from templates (behind `crds.install`, kept on uninstall) as the original chart did,
 * so an upgrade from the original release keeps them instead of deleting them with every TrustPolicy.
 */
export const CHART_CRD_DIR = 'charts/kyverno-notation-aws/files/crds';

const HEADER = '# Generated by `pnpm crds` from shared/src/crd (the TypeScript source of truth). Do not edit.\n';

/** The chart's CRD files: path relative to the repository root, and YAML text. */
export function crdFiles(): { path: string; text: string }[] {
  return customResourceDefinitions().map((crd) => ({
    path: `${CHART_CRD_DIR}/${crd.metadata.name}.yaml`,
    text: HEADER + stringify(crd, { lineWidth: 0 }),
  }));
}
