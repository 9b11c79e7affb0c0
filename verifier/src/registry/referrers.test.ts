import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Descriptor } from './manifest.js';
import { PageLoopError, TooManyPagesError, collectReferrers, filtersApplied, nextLink, type ReferrersIo, type ReferrersPage } from './referrers.js';

const d = (n: number, artifactType?: string): Descriptor => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: `sha256:${String(n).padStart(64, '0')}`,
  size: n,
  ...(artifactType !== undefined && { artifactType }),
});
const FIRST = new URL('http://reg/v2/app/referrers/sha256:x');

function io(pages: Record<string, ReferrersPage>, tagIndex?: Descriptor[]): ReferrersIo & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    fetchPage: (url) => {
      asked.push(url.href);
      const page = pages[url.href];
      if (!page) throw new Error(`unexpected ${url.href}`);
      return Promise.resolve(page);
    },
    fetchTagIndex: () => {
      asked.push('tag');
      return Promise.resolve(tagIndex);
    },
  };
}

describe('collectReferrers', () => {
  it('follows next links, keeps order and drops duplicate digests', async () => {
    const second = new URL('http://reg/v2/app/referrers/sha256:x?last=2');
    const source = io({
      [FIRST.href]: { kind: 'page', descriptors: [d(1, 'a'), d(2, 'b')], filtersApplied: [], next: second },
      [second.href]: { kind: 'page', descriptors: [d(2, 'b'), d(3, 'a')], filtersApplied: [] },
    });
    const list = await collectReferrers(source, { first: FIRST, maxPages: 5 });
    assert.deepEqual(
      list.referrers.map((r) => r.size),
      [1, 2, 3],
    );
    assert.equal(list.via, 'referrers-api');
    assert.equal(list.filteredBy, undefined);
  });

  it('filters by artifactType itself, and reports whether the registry had filtered every page', async () => {
    const second = new URL('http://reg/v2/app/referrers/sha256:x?last=1');
    const claims = io({
      [FIRST.href]: { kind: 'page', descriptors: [d(1, 'sbom')], filtersApplied: ['artifactType'], next: second },
      // A registry that claims the filter but still returns other types: those must not get through.
      [second.href]: { kind: 'page', descriptors: [d(2, 'sig'), d(3, 'sbom')], filtersApplied: ['artifactType'] },
    });
    const filtered = await collectReferrers(claims, { first: FIRST, maxPages: 5, artifactType: 'sbom' });
    assert.deepEqual(
      filtered.referrers.map((r) => r.size),
      [1, 3],
    );
    assert.equal(filtered.filteredBy, 'registry');

    const ignores = io({ [FIRST.href]: { kind: 'page', descriptors: [d(1, 'sbom'), d(2, 'sig')], filtersApplied: [] } });
    const byClient = await collectReferrers(ignores, { first: FIRST, maxPages: 5, artifactType: 'sbom' });
    assert.deepEqual(
      byClient.referrers.map((r) => r.size),
      [1],
    );
    assert.equal(byClient.filteredBy, 'client');
  });

  it('falls back to the tag schema when the API is absent; no tag means no referrers', async () => {
    const fallback = io({ [FIRST.href]: { kind: 'absent' } }, [d(1, 'sig'), d(2, 'sbom')]);
    const list = await collectReferrers(fallback, { first: FIRST, maxPages: 5, artifactType: 'sig' });
    assert.deepEqual(list, { referrers: [d(1, 'sig')], via: 'referrers-tag-schema', filteredBy: 'client' });
    assert.deepEqual(fallback.asked, [FIRST.href, 'tag']);
    const none = await collectReferrers(io({ [FIRST.href]: { kind: 'absent' } }, undefined), { first: FIRST, maxPages: 5 });
    assert.deepEqual(none.referrers, []);
  });

  it('stops at link loops and at the page limit', async () => {
    const loop = io({ [FIRST.href]: { kind: 'page', descriptors: [], filtersApplied: [], next: FIRST } });
    await assert.rejects(collectReferrers(loop, { first: FIRST, maxPages: 5 }), PageLoopError);
    const pages: Record<string, ReferrersPage> = {};
    for (let i = 0; i < 10; i++) {
      const url = i === 0 ? FIRST : new URL(`${FIRST.href}?p=${i}`);
      pages[url.href] = { kind: 'page', descriptors: [d(i)], filtersApplied: [], next: new URL(`${FIRST.href}?p=${i + 1}`) };
    }
    const endless = io(pages);
    await assert.rejects(collectReferrers(endless, { first: FIRST, maxPages: 3 }), TooManyPagesError);
    assert.equal(endless.asked.length, 3);
  });
});

describe('Link and OCI-Filters-Applied headers', () => {
  const base = new URL('https://reg.example.com/v2/app/referrers/sha256:x?artifactType=a');
  it('finds rel="next" among several links, quoted or not, and resolves it against the request', () => {
    assert.equal(nextLink('</v2/app/referrers/sha256:x?last=b>; rel="next"', base)?.href, 'https://reg.example.com/v2/app/referrers/sha256:x?last=b');
    assert.equal(nextLink('<https://reg.example.com/p1>; rel=prev, <https://reg.example.com/p3>; rel=next', base)?.href, 'https://reg.example.com/p3');
    assert.equal(nextLink('<p2>; title="x"; rel="prefetch next"', base)?.href, 'https://reg.example.com/v2/app/referrers/p2');
    assert.equal(nextLink('<https://reg.example.com/p1>; rel="prev"', base), undefined);
    assert.equal(nextLink(null, base), undefined);
    assert.equal(nextLink('garbage', base), undefined);
  });

  it('lists the applied filters', () => {
    assert.deepEqual(filtersApplied('artifactType'), ['artifactType']);
    assert.deepEqual(filtersApplied(' artifactType , annotation '), ['artifactType', 'annotation']);
    assert.deepEqual(filtersApplied(null), []);
  });
});
