// Which attestations one image must carry (docs/architecture.md "Attestations"): every `attestations[]` entry whose
// `imageReference` (a Kyverno wildcard) matches the image as written in the pod (or its canonical spelling,
// pipeline/images.ts `selects`) contributes its types;
// the same type named by several entries (or twice in one) is one requirement whose condition blocks are
// all ANDed (Kyverno: all blocks must pass).
import type { AnyAllConditions } from '@kna/shared/conditions';
import type { RequiredAttestation } from '../attestations/verifier.js';
import type { AnyAllSpec, AttestationSpec } from '../request/schema.js';
import { selects, type RequestedImage } from './images.js';

/**
 * The original appended a block only when it had at least one `any` or `all` condition, so `{}` or
 * `{"any": []}` constrain nothing (whereas Kyverno alone would fail an empty `any`); a block with
 * conditions keeps its empty list and its Kyverno meaning.
 */
function constraining(block: AnyAllSpec): boolean {
  return (block.any?.length ?? 0) > 0 || (block.all?.length ?? 0) > 0;
}

/**
 * The attestations `image` (as written: `<registry>/<path>:<tag>` or `…@<digest>`, and canonically) must
 * carry, in the order the request first names each type.
 */
export function requiredAttestations(
  attestations: readonly AttestationSpec[],
  image: Pick<RequestedImage, 'reference' | 'canonicalReference'>,
): RequiredAttestation[] {
  const byType = new Map<string, AnyAllConditions[]>();
  for (const entry of attestations) {
    if (!selects(entry.imageReference, image)) continue;
    for (const { name, conditions } of entry.type) {
      let blocks = byType.get(name);
      if (!blocks) {
        blocks = [];
        byType.set(name, blocks);
      }
      const given = conditions === undefined ? [] : Array.isArray(conditions) ? conditions : [conditions];
      for (const block of given) if (constraining(block)) blocks.push(block);
    }
  }
  return [...byType].map(([type, conditions]) => ({ type, conditions }));
}
