export { hasWildcard, wildcardMatch, wildcardMatcher, type WildcardMatcher } from './wildcard.js';
export { BoundedCache } from './boundedCache.js';
