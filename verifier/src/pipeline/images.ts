// The images of one request, in the answer's deterministic order: containers, then init containers,
// then ephemeral containers, each group sorted by container name (docs/architecture.md "The HTTP contract"; the original used
// Go map order, so its patches and messages came out in random order).
import { canonicalRegistry, imageReferenceString, parseImageReference, registryProblem, type ImageReference } from '@kna/shared/image';
import { BoundedCache, wildcardMatch } from '@kna/shared/wildcard';
import { errorMessage } from '@kna/shared/errors';
import { VERIFIER_ERR_BAD_REQUEST, VERIFIER_ERR_NO_IMAGES } from '../errors.js';
import type { CheckImagesRequest, KyvernoImageInfo } from '../request/schema.js';

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
  /** The same string with the registry in canonical form (lower case, Docker Hub as docker.io). */
  readonly canonicalReference: string;
  /** False when imageReferences leaves the image out: it gets no verification and no patch. */
  readonly selected: boolean;
  /** Parsed form (undefined for images left out); shared between requests, frozen. */
  readonly parsed: Readonly<ImageReference> | undefined;
}

const GROUP_ORDER: readonly ImageGroupKey[] = ['containers', 'initContainers', 'ephemeralContainers'];

/**
 * Parsed image references by the reference as written (docs/architecture.md "Other caches and memos"): the
 * same images come back on every admission request, and parsing (the distribution grammar's checks) was a
 * tenth of a cached answer's pipeline. A pure function of the string; entries are frozen, as every request
 * that names the image shares one; bounded so that a stream of distinct images cannot grow memory. A
 * reference that does not parse is not kept: it throws every time.
 */
const parsedReferences = new BoundedCache<string, ImageReference>(2048);

function parseOnce(reference: string): ImageReference {
  return parsedReferences.getOrCreate(reference, (text) => Object.freeze(parseImageReference(text)));
}

/** `pattern` with its registry part (before the first "/") in canonical form; patterns without "/" are unchanged. */
function canonicalPattern(pattern: string): string {
  const slash = pattern.indexOf('/');
  return slash < 0 ? pattern : canonicalRegistry(pattern.slice(0, slash)) + pattern.slice(slash);
}

/**
 * Whether a Kyverno wildcard (`imageReferences`, an attestation's `imageReference`) selects an image:
 * matched against the image as written (Kyverno's own semantics) or, with both registry parts in
 * canonical form, against its canonical spelling, so that `LOCALHOST:5000/app` is selected by
 * `localhost:5000/*` as the registry is the same. Selecting more only ever means verifying more.
 */
export function selects(pattern: string, image: Pick<RequestedImage, 'reference' | 'canonicalReference'>): boolean {
  return wildcardMatch(pattern, image.reference) || wildcardMatch(canonicalPattern(pattern), image.canonicalReference);
}

/** The request's fields that no schema can check, each refused with its JSON path (400). */
function checkFields(where: string, info: KyvernoImageInfo): void {
  const pointer = info.jsonPointer;
  if (pointer === undefined || pointer === '') {
    // An empty pointer is the whole document: the patch would replace the pod with an image string.
    throw new VERIFIER_ERR_BAD_REQUEST(
      `${where}/jsonPointer is required: the JSON pointer of the image field (e.g. /spec/containers/0/image) that the patch replaces`,
    );
  }
  if (!pointer.startsWith('/'))
    throw new VERIFIER_ERR_BAD_REQUEST(
      `${where}/jsonPointer must start with "/" (e.g. /spec/containers/0/image), got ${JSON.stringify(pointer.slice(0, 100))}`,
    );
  if (pointer.includes('~') && /~(?![01])/.test(pointer))
    throw new VERIFIER_ERR_BAD_REQUEST(`${where}/jsonPointer has a "~" that is not "~0" or "~1" (RFC 6901)`);
  if (info.registry !== undefined && info.registry !== '') {
    const problem = registryProblem(info.registry);
    if (problem !== undefined) throw new VERIFIER_ERR_BAD_REQUEST(`${where}/registry ${problem}`);
  }
}

export function requestedImages(request: CheckImagesRequest): RequestedImage[] {
  const patterns = request.imageReferences ?? [];
  const images: RequestedImage[] = [];
  for (const group of GROUP_ORDER) {
    const entries = Object.entries(request.images[group] ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [container, info] of entries) {
      const where = `/images/${group}/${container}`;
      checkFields(where, info);
      const registry = info.registry ?? '';
      const reference = imageReferenceString({ registry, path: info.path, tag: info.tag, digest: info.digest });
      const canonicalReference = imageReferenceString({ registry: canonicalRegistry(registry), path: info.path, tag: info.tag, digest: info.digest });
      const written = { reference, canonicalReference };
      const selected = patterns.length === 0 || patterns.some((pattern) => selects(pattern, written));
      if (!selected) {
        images.push({ group, container, info, reference, canonicalReference, selected, parsed: undefined });
        continue;
      }
      let parsed: ImageReference;
      try {
        parsed = parseOnce(reference);
      } catch (err) {
        throw new VERIFIER_ERR_BAD_REQUEST(`${where}: ${errorMessage(err)}`);
      }
      images.push({ group, container, info, reference, canonicalReference, selected, parsed });
    }
  }
  if (images.length === 0) throw new VERIFIER_ERR_NO_IMAGES();
  return images;
}

/**
 * The warning for a request whose `imageReferences` selected none of its images: it is answered 200 as
 * the original did, but a policy whose substitution came out empty (`[""]`) or whose patterns match
 * nothing should be visible rather than silently verify nothing.
 */
export function nothingSelectedWarning(request: CheckImagesRequest, images: readonly RequestedImage[]): string | undefined {
  const patterns = request.imageReferences ?? [];
  if (patterns.length === 0 || images.some((i) => i.selected)) return undefined;
  const shown = patterns.slice(0, 5).map((p) => JSON.stringify(p.length > 100 ? `${p.slice(0, 100)}…` : p));
  const more = patterns.length > 5 ? ` and ${patterns.length - 5} more` : '';
  return (
    `imageReferences [${shown.join(', ')}${more}] selected none of the ${images.length} image${images.length === 1 ? '' : 's'} of the request, so nothing was verified; ` +
    "check the policy's imageReferences (an empty string usually means a variable substituted to nothing)"
  );
}
