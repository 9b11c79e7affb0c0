// x509.subject trusted identities: notation parses the value as an RFC 4514 distinguished name and accepts it
// only if it has single-valued RDNs, no repeated attribute, no "=#" (BER-encoded) value, and at least C, ST (or
// its alias S) and O (notation-go internal/pkix ParseDistinguishedName).
// Attribute types are compared as written, so "c=US" does not provide "C".

/** Attribute type → value, as notation keeps it (S folded into ST). */
export type DistinguishedName = ReadonlyMap<string, string>;

export type DistinguishedNameResult = { ok: true; dn: DistinguishedName } | { ok: false; error: string };

const SPECIAL = new Set([' ', '"', '#', '+', ',', ';', '<', '=', '>', '\\']);
const ATTRIBUTE_TYPE = /^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)*)$/;
const MANDATORY = ['C', 'ST', 'O'] as const;

interface Attribute {
  type: string;
  value: string;
}

// RFC 4514 string → RDNs, each a list of attributes. Escapes are "\<special>" or "\<two hex digits>" (UTF-8
// bytes); unescaped spaces around types and values are dropped; "," and ";" end an RDN, "+" joins attributes.
function parseRdns(text: string): Attribute[][] | string {
  const rdns: Attribute[][] = [];
  let rdn: Attribute[] = [];
  let type: string | undefined;
  let bytes: number[] = [];
  let trailingSpaces = 0;
  const encoder = new TextEncoder();
  const take = (): string => {
    const kept = bytes.slice(0, bytes.length - trailingSpaces);
    bytes = [];
    trailingSpaces = 0;
    return new TextDecoder('utf-8', { fatal: false }).decode(Uint8Array.from(kept));
  };
  const push = (): string | undefined => {
    if (type === undefined) return 'an RDN has no "type=value" pair';
    rdn.push({ type, value: take() });
    type = undefined;
    return undefined;
  };
  for (let i = 0; i < text.length; i++) {
    const char = text.charAt(i);
    if (char === '\\') {
      const next = text.charAt(i + 1);
      if (SPECIAL.has(next)) {
        bytes.push(next.charCodeAt(0));
        i += 1;
      } else if (/^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
        bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
        i += 2;
      } else {
        return `invalid escape at position ${i} (use "\\" before a special character or two hex digits)`;
      }
      trailingSpaces = 0;
    } else if (char === '=' && type === undefined) {
      type = take().trim();
      if (!ATTRIBUTE_TYPE.test(type)) return `invalid attribute type ${JSON.stringify(type)}`;
    } else if (char === ',' || char === ';' || char === '+') {
      const problem = push();
      if (problem !== undefined) return problem;
      if (char !== '+') {
        rdns.push(rdn);
        rdn = [];
      }
    } else if (char === ' ' && bytes.length === 0) {
      continue;
    } else {
      trailingSpaces = char === ' ' ? trailingSpaces + 1 : 0;
      bytes.push(...encoder.encode(char));
    }
  }
  if (type !== undefined || bytes.length > 0 || rdn.length > 0) {
    const problem = push();
    if (problem !== undefined) return problem;
    rdns.push(rdn);
  }
  return rdns;
}

/** Parses the value of an `x509.subject:` identity with notation's rules; the error says what to change. */
export function parseDistinguishedName(text: string): DistinguishedNameResult {
  const fail = (error: string): DistinguishedNameResult => ({ ok: false, error });
  if (text.includes('=#')) return fail('values written as "=#<BER hex>" are not supported by notation');
  const rdns = parseRdns(text);
  if (typeof rdns === 'string') return fail(rdns);
  const dn = new Map<string, string>();
  for (const rdn of rdns) {
    if (rdn.length > 1) return fail(`multi-valued RDN "${rdn.map((a) => a.type).join('+')}" is not supported; separate attributes with ","`);
    for (const attribute of rdn) {
      const type = attribute.type === 'S' ? 'ST' : attribute.type;
      if (dn.has(type)) return fail(`attribute ${type} appears more than once; each attribute may appear only once`);
      dn.set(type, attribute.value);
    }
  }
  const missing = MANDATORY.filter((type) => !dn.has(type));
  if (missing.length > 0) {
    const lower = missing.filter((type) => dn.has(type.toLowerCase()));
    const hint = lower.length > 0 ? ` (attribute types are case-sensitive: write ${lower.join(', ')} in uppercase)` : '';
    return fail(`missing ${missing.join(', ')}: the subject must contain at least C, ST and O${hint}`);
  }
  return { ok: true, dn };
}

/** True when every attribute of `a` is in `b` with the same value (notation's IsSubsetDN). */
export function isSubsetDistinguishedName(a: DistinguishedName, b: DistinguishedName): boolean {
  for (const [type, value] of a) if (b.get(type) !== value) return false;
  return true;
}
