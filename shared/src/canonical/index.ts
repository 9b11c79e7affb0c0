export { ERR_NOT_JSON, canonicalJson, sha256Hex, type JsonValue } from './canonical.js';
