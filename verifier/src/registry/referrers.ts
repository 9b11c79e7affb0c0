// Referrers of a manifest (distribution-spec v1.1 "Listing Referrers"): the OCI referrers API, paged with
// `Link: <…>; rel="next"` (RFC 8288), filtered by the registry when it says so in `OCI-Filters-Applied`;
// and, when the API answers 404, the referrers tag schema — an image index that pushing clients keep under
// the tag `<alg>-<hex>` (spec "Unavailable Referrers API", "Referrers Tag Schema"). notation-go lists
// signatures the same way (notation's specification). The HTTP side is the client's; the rules are here.
import type { Descriptor } from './manifest.js';

const ReferrersSource = {
  Api: 'referrers-api',
  TagSchema: 'referrers-tag-schema',
} as const;
type ReferrersSource = (typeof ReferrersSource)[keyof typeof ReferrersSource];

export interface ReferrerList {
  /** Manifests whose `subject` is the given digest, in the registry's order, without duplicate digests. */
  readonly referrers: readonly Descriptor[];
  readonly via: ReferrersSource;
  /**
   * With an artifactType filter: `registry` when every page said `OCI-Filters-Applied: artifactType`,
   * `client` when the client filtered (the list is filtered by the client in both cases: see `collectReferrers`).
   */
  readonly filteredBy?: 'registry' | 'client';
}

/** One page of the referrers API, or the API's absence. */
export type ReferrersPage =
  | { readonly kind: 'absent' }
  | { readonly kind: 'page'; readonly descriptors: readonly Descriptor[]; readonly filtersApplied: readonly string[]; readonly next?: URL };

export interface ReferrersIo {
  /** GET one API page (`first` is `/v2/<name>/referrers/<digest>[?artifactType=]`). */
  fetchPage(url: URL): Promise<ReferrersPage>;
  /** The entries of the tag-schema index, or undefined when the tag does not exist. */
  fetchTagIndex(): Promise<readonly Descriptor[] | undefined>;
}

export class TooManyPagesError extends Error {}
export class PageLoopError extends Error {}

export interface CollectOptions {
  readonly first: URL;
  readonly artifactType?: string;
  readonly maxPages: number;
}

/**
 * Walks the API pages (or falls back to the tag schema) and returns the referrers. The artifactType filter is
 * applied here even when the registry says it applied it: for a matching list it changes nothing, and a
 * registry that claims a filter it did not apply must not slip other artifacts to a caller that trusts the type.
 */
export async function collectReferrers(io: ReferrersIo, options: CollectOptions): Promise<ReferrerList> {
  const keep = (d: Descriptor) => options.artifactType === undefined || d.artifactType === options.artifactType;
  const first = await io.fetchPage(options.first);
  if (first.kind === 'absent') {
    const entries = (await io.fetchTagIndex()) ?? [];
    return {
      referrers: dedupe(entries.filter(keep)),
      via: ReferrersSource.TagSchema,
      ...(options.artifactType !== undefined && { filteredBy: 'client' as const }),
    };
  }
  const all: Descriptor[] = [];
  let registryFiltered = true;
  const seen = new Set<string>([options.first.href]);
  let page: ReferrersPage = first;
  for (let pages = 1; ; pages++) {
    if (page.kind === 'absent') throw new PageLoopError('a later page of the referrers API answered 404');
    all.push(...page.descriptors);
    registryFiltered &&= page.filtersApplied.includes('artifactType');
    if (!page.next) break;
    if (seen.has(page.next.href)) throw new PageLoopError(`the Link header points back to ${page.next.pathname}${page.next.search}`);
    if (pages >= options.maxPages) throw new TooManyPagesError(`more than ${options.maxPages} pages of referrers`);
    seen.add(page.next.href);
    page = await io.fetchPage(page.next);
  }
  return {
    referrers: dedupe(all.filter(keep)),
    via: ReferrersSource.Api,
    ...(options.artifactType !== undefined && { filteredBy: registryFiltered ? ('registry' as const) : ('client' as const) }),
  };
}

function dedupe(descriptors: readonly Descriptor[]): Descriptor[] {
  const seen = new Set<string>();
  return descriptors.filter((d) => !seen.has(d.digest) && seen.add(d.digest));
}

/** `OCI-Filters-Applied: artifactType, other` → `['artifactType', 'other']`. */
export function filtersApplied(header: string | null): string[] {
  return (header ?? '')
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean);
}

/**
 * The `rel="next"` target of a `Link` header (RFC 8288 §3), resolved against the request URL; undefined
 * when there is none. Values are `<uri-reference>` followed by `;`-separated parameters; `rel` may hold
 * several space-separated relation types, quoted or not.
 */
export function nextLink(header: string | null, base: URL): URL | undefined {
  if (!header) return undefined;
  const link = /<([^>]*)>([^<]*)/g;
  for (let match = link.exec(header); match; match = link.exec(header)) {
    const [, target = '', params = ''] = match;
    const rel = /(?:^|;)\s*rel\s*=\s*(?:"([^"]*)"|([^;,\s]*))/i.exec(params);
    const types = (rel?.[1] ?? rel?.[2] ?? '').toLowerCase().split(/\s+/);
    if (types.includes('next')) {
      try {
        return new URL(target, base);
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
