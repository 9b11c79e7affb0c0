// From the per-image reports to the HTTP answer (docs/architecture.md "The HTTP contract"): 200 with the patches when every
// selected image verified (or was skipped by its trust policy level); 406 with one plain-text line per
// failing image when anything was denied; 503 + Retry-After when something could not be verified
// and nothing was denied, unless the caller chose onInfraError=allow. A denial is never turned into
// an allow. In audit mode the answer is always 200 and carries the verdict instead.
import type { FromSchema, JSONSchema } from 'json-schema-to-ts';
import { FailureKind } from '../notation/classify.js';
import { ImageGroup } from './images.js';
import { Stage, type ImageReport, type PipelineResult } from './checkImages.js';

const jsonPatchOp = {
  type: 'object',
  required: ['op', 'path', 'value'],
  additionalProperties: false,
  properties: { op: { const: 'replace' }, path: { type: 'string' }, value: { type: 'string' } },
} as const satisfies JSONSchema;

type JsonPatchOp = FromSchema<typeof jsonPatchOp>;

/**
 * The 200 answer's JSON: the patches pinning every verified image to its digest, warnings, and in audit
 * mode the verdict (message, reports). The HTTP layer serialises the answer with this schema.
 */
export const answerJsonSchema = {
  type: 'object',
  required: ['verified', 'results'],
  additionalProperties: false,
  properties: {
    verified: { type: 'boolean' },
    results: { type: 'array', items: jsonPatchOp },
    warnings: { type: 'array', items: { type: 'string' } },
    message: { type: 'string' },
    reports: {
      type: 'array',
      items: {
        type: 'object',
        required: ['image', 'container', 'digest', 'outcome', 'reason'],
        additionalProperties: false,
        properties: {
          image: { type: 'string' },
          container: { type: 'string' },
          digest: { type: ['string', 'null'] },
          outcome: { type: 'string' },
          reason: { type: 'string' },
        },
      },
    },
  },
} as const satisfies JSONSchema;

type AnswerJson = FromSchema<typeof answerJsonSchema>;

export interface AnswerOptions {
  readonly mode: 'enforce' | 'audit';
  readonly onInfraError: 'deny' | 'allow';
}

export type Answer =
  | { readonly status: 200; readonly json: AnswerJson }
  /** 503 answers carry Retry-After (http/reply.ts). */
  | { readonly status: 406 | 503; readonly text: string };

const HINTS: Record<string, string> = {
  [FailureKind.Unsigned]: 'sign it with AWS Signer or exclude it with imageReferences',
  [FailureKind.UntrustedIdentity]: 'sign it with a signing profile listed in trustedIdentities, or add the profile to the trust policy',
  [FailureKind.Revoked]: 'the signing profile or signing job was revoked in AWS Signer; sign the image again with an active profile',
  [FailureKind.UntrustedRoot]: "the signature's certificate chain does not lead to a certificate of the trust policy's trust stores; check the TrustStore",
  [FailureKind.Integrity]: 'the signature does not match its envelope; sign the image again',
  [FailureKind.Expired]: 'the signature or a certificate of its chain has expired; sign the image again',
  [FailureKind.NoApplicablePolicy]: 'add a registryScopes entry for this repository to the trust policy, or exclude the image with imageReferences',
  [FailureKind.NotFound]: 'check the image reference; the registry does not have it',
  [FailureKind.Infrastructure]: 'retry; check that the registry and AWS Signer are reachable from the verifier',
};

function hintFor(report: ImageReport): string {
  if (report.stage === Stage.Attestation)
    return report.outcome === 'could-not-verify' ? (HINTS[FailureKind.Infrastructure] ?? '') : 'attach a signed attestation that meets the conditions';
  return (
    HINTS[report.kind ?? ''] ?? (report.outcome === 'could-not-verify' ? (HINTS[FailureKind.Infrastructure] ?? '') : 'check the trust policy and the signature')
  );
}

/** `container "app" image repo:v1 (sha256:…): <reason>; <hint>` */
function describeFailure(report: ImageReport): string {
  const digest = report.digest !== undefined ? ` (${report.digest})` : '';
  const stage =
    report.stage === Stage.Resolve ? 'could not resolve the image to a digest: ' : report.stage === Stage.Attestation ? 'attestation check failed: ' : '';
  const prefix = report.outcome === 'could-not-verify' ? 'could not be verified: ' : '';
  return `${ImageGroup[report.group]} ${JSON.stringify(report.container)} image ${report.image}${digest}: ${prefix}${stage}${report.reason}; ${hintFor(report)}`;
}

export function answer(result: PipelineResult, options: AnswerOptions): Answer {
  // One pass over the reports: the patches of verified images and a line per failing image, in report order.
  let denied = 0;
  let unverifiable = 0;
  const results: JsonPatchOp[] = [];
  const lines: string[] = [];
  for (const r of result.reports) {
    if (r.outcome === 'denied' || r.outcome === 'could-not-verify') {
      if (r.outcome === 'denied') denied++;
      else unverifiable++;
      lines.push(describeFailure(r));
    } else if (r.outcome === 'verified' && r.pinned !== undefined) {
      results.push({ op: 'replace', path: r.jsonPointer, value: r.pinned });
    }
  }

  if (options.mode === 'audit') {
    return {
      status: 200,
      json: {
        verified: lines.length === 0,
        ...(result.warnings.length > 0 && { warnings: [...result.warnings] }),
        ...(lines.length > 0 && { message: lines.join('\n') }),
        results,
        reports: result.reports
          .filter((r) => r.outcome !== 'not-selected')
          .map((r) => ({ image: r.image, container: r.container, digest: r.digest ?? null, outcome: r.outcome, reason: r.reason })),
      },
    };
  }
  if (denied > 0) return { status: 406, text: lines.join('\n') };
  if (unverifiable > 0) {
    if (options.onInfraError === 'allow') {
      return { status: 200, json: { verified: true, results, warnings: [...result.warnings, ...lines.map((l) => `allowed by onInfraError=allow: ${l}`)] } };
    }
    return { status: 503, text: lines.join('\n') };
  }
  return { status: 200, json: result.warnings.length > 0 ? { verified: true, results, warnings: [...result.warnings] } : { verified: true, results } };
}
