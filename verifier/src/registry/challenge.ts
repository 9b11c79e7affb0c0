// `WWW-Authenticate` challenges (RFC 9110 §11.6.1, §11.2): `Bearer realm="…",service="…",scope="…"`,
// possibly several challenges in one header (`Basic realm="a", Bearer realm="b"`), quoted values with
// backslash escapes and commas inside them. Registries send untrusted text here, so the parser never
// throws: what it cannot read it skips.

export interface Challenge {
  /** Lower-cased auth scheme: `bearer`, `basic`… */
  readonly scheme: string;
  /** Parameters with lower-cased names (RFC 9110: parameter names are case-insensitive). */
  readonly params: Readonly<Record<string, string>>;
}

// tchar (RFC 9110 §5.6.2)
const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

export function parseChallenges(header: string): Challenge[] {
  const challenges: { scheme: string; params: Record<string, string> }[] = [];
  let current: { scheme: string; params: Record<string, string> } | undefined;
  let i = 0;
  const n = header.length;
  const skipSpace = () => {
    while (i < n && (header[i] === ' ' || header[i] === '\t')) i++;
  };
  const readToken = () => {
    const start = i;
    while (i < n && TCHAR.test(header.charAt(i))) i++;
    return header.slice(start, i);
  };
  const skipToComma = () => {
    while (i < n && header[i] !== ',') i++;
  };

  while (i < n) {
    while (i < n && (header[i] === ',' || header[i] === ' ' || header[i] === '\t')) i++;
    if (i >= n) break;
    const token = readToken();
    if (token === '') {
      skipToComma();
      continue;
    }
    skipSpace();
    if (header[i] === '=' && current) {
      i++;
      skipSpace();
      let value: string;
      if (header[i] === '"') {
        i++;
        value = '';
        while (i < n && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < n) i++;
          value += header.charAt(i);
          i++;
        }
        i++; // closing quote (or end of input for an unterminated string)
      } else {
        // A bare value is a token; be lenient and take everything up to the next comma or space
        // (some registries leave URLs unquoted).
        const start = i;
        while (i < n && header[i] !== ',' && header[i] !== ' ' && header[i] !== '\t') i++;
        value = header.slice(start, i);
      }
      const name = token.toLowerCase();
      if (!(name in current.params)) current.params[name] = value;
      skipToComma();
      continue;
    }
    // A token not followed by "=" starts a new challenge; a token68 credential after it (RFC 9110 §11.2,
    // not used by registries) is skipped.
    current = { scheme: token.toLowerCase(), params: Object.create(null) as Record<string, string> };
    challenges.push(current);
    if (i < n && header[i] !== ',' && TCHAR.test(header.charAt(i))) {
      const save = i;
      readToken();
      skipSpace();
      const isParam = header[i] === '=' && header[i + 1] !== '=' && header[i + 1] !== ',' && i + 1 < n;
      i = save;
      if (!isParam) skipToComma();
    }
  }
  return challenges;
}
