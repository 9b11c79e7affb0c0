// The images of one request, in the answer's deterministic order: containers, then init containers,
// then ephemeral containers, each group sorted by container name (DESIGN.md §3.1; the original used
// Go map order, so its patches and messages came out in random order).
import { imageReferenceString, parseImageReference, wildcardMatch, type ImageReference } from '@kna/shared';
import { VERIFIER_ERR_BAD_REQUEST, VERIFIER_ERR_NO_IMAGES } from '../errors.js';
import type { CheckImagesRequest, KyvernoImageInfo } from '../http/requestSchema.js';

export const ImageGroup = {
  containers: 'container',
  initContainers: 'init container',
  ephemeralContainers: 'ephemeral container',
} as const;
export type ImageGroupKey = keyof typeof ImageGroup;

export interface RequestedImage {
  readonly group: ImageGroupKey;
  readonly container: string;
  readonly info: KyvernoImageInfo;
  /** The image as written, Kyverno's ImageInfo.String(): `<registry>/<path>` then `@<digest>` or `:<tag>`. */
  readonly reference: string;
  /** False when imageReferences leaves the image out: it gets no verification and no patch. */
  readonly selected: boolean;
  /** Parsed form (undefined for images left out). */
  readonly parsed?: ImageReference;
}

const GROUP_ORDER: readonly ImageGroupKey[] = ['containers', 'initContainers', 'ephemeralContainers'];

export function requestedImages(request: CheckImagesRequest): RequestedImage[] {
  const patterns = request.imageReferences ?? [];
  const images: RequestedImage[] = [];
  for (const group of GROUP_ORDER) {
    const entries = Object.entries(request.images[group] ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [container, info] of entries) {
      const reference = imageReferenceString({ ...info, registry: info.registry ?? '', path: info.path });
      const selected = patterns.length === 0 || patterns.some((pattern) => wildcardMatch(pattern, reference));
      if (!selected) {
        images.push({ group, container, info, reference, selected });
        continue;
      }
      let parsed: ImageReference;
      try {
        parsed = parseImageReference(reference);
      } catch (err) {
        throw new VERIFIER_ERR_BAD_REQUEST(`/images/${group}/${container}: ${err instanceof Error ? err.message : String(err)}`);
      }
      images.push({ group, container, info, reference, selected, parsed });
    }
  }
  if (images.length === 0) throw new VERIFIER_ERR_NO_IMAGES();
  return images;
}
