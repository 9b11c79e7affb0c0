// Go `regexp` (RE2 syntax) patterns for regex_match / regex_replace_all, run on JavaScript's
// engine. Kyverno compiles these with Go's regexp package, so a pattern that Go rejects must be
// rejected here (lookarounds, backreferences) and the syntaxes that differ are translated:
// `(?P<name>…)`, leading `(?i)`-style flags, `\A`/`\z`, `\Q…\E`, POSIX classes, RE2's ASCII `\s`,
// octal and `\x{…}` escapes, and literal braces. Patterns are compiled with the `u` flag so that
// `.` is one character, as in Go. RE2 guarantees linear time and JavaScript does not; patterns
// come from the policy author, not from the payload.
import { BoundedCache } from '../wildcard/boundedCache.js';

const POSIX_CLASSES = new Map<string, string>([
  ['alnum', '0-9A-Za-z'],
  ['alpha', 'A-Za-z'],
  ['ascii', '\\x00-\\x7f'],
  ['blank', '\\t '],
  ['cntrl', '\\x00-\\x1f\\x7f'],
  ['digit', '0-9'],
  ['graph', '!-~'],
  ['lower', 'a-z'],
  ['print', ' -~'],
  ['punct', '!-\\/:-@\\[-`{-~'],
  ['space', '\\t\\n\\v\\f\\r '],
  ['upper', 'A-Z'],
  ['word', '0-9A-Za-z_'],
  ['xdigit', '0-9A-Fa-f'],
]);

// RE2's \s is ASCII whitespace only (JavaScript's also matches Unicode spaces).
const RE2_SPACE = '\\t\\n\\f\\r ';

const hex = (code: number): string => `\\u{${code.toString(16)}}`;

/** A literal character written so that it means itself in a `u`-mode pattern, in or out of a class. */
function literal(ch: string): string {
  return /[A-Za-z0-9_]/.test(ch) ? ch : hex(ch.codePointAt(0) ?? 0);
}

class Translation {
  readonly #src: string;
  #i = 0;
  #out = '';

  constructor(src: string) {
    this.#src = src;
  }

  run(): string {
    while (this.#i < this.#src.length) this.#atom();
    return this.#out;
  }

  #fail(reason: string): never {
    throw new SyntaxError(`error parsing regexp: ${reason}: \`${this.#src}\``);
  }

  #peek(offset = 0): string {
    return this.#src[this.#i + offset] ?? '';
  }

  #atom(): void {
    const c = this.#peek();
    if (c === '\\') {
      this.#out += this.#escape(false);
      return;
    }
    if (c === '[') {
      this.#class();
      return;
    }
    if (c === '(') {
      this.#group();
      return;
    }
    if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.#src.slice(this.#i));
      if (m !== null) {
        const min = Number(m[1]);
        const max = m[3] === undefined || m[3] === '' ? min : Number(m[3]);
        if (min > 1000 || max > 1000) this.#fail('invalid repeat count');
        if (max < min) this.#fail('invalid repeat count');
        this.#out += m[0];
        this.#i += m[0].length;
        return;
      }
      // Go treats a brace that does not start a repetition as a literal.
      this.#out += '\\{';
      this.#i++;
      return;
    }
    if (c === '}' || c === ']') {
      this.#out += `\\${c}`;
      this.#i++;
      return;
    }
    const cp = this.#src.codePointAt(this.#i) ?? 0;
    const ch = String.fromCodePoint(cp);
    this.#out += ch;
    this.#i += ch.length;
  }

  #group(): void {
    const rest = this.#src.slice(this.#i);
    if (rest.startsWith('(?=') || rest.startsWith('(?!') || rest.startsWith('(?<=') || rest.startsWith('(?<!')) {
      this.#fail('invalid or unsupported Perl syntax: `(?' + (rest[2] ?? '') + '`');
    }
    const named = /^\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest);
    if (named !== null) {
      this.#out += `(?<${named[1] ?? ''}>`;
      this.#i += named[0].length;
      return;
    }
    if (rest.startsWith('(?:')) {
      this.#out += '(?:';
      this.#i += 3;
      return;
    }
    if (rest.startsWith('(?')) this.#fail('flag groups are only supported at the start of the pattern');
    this.#out += '(';
    this.#i++;
  }

  #class(): void {
    this.#out += '[';
    this.#i++;
    if (this.#peek() === '^') {
      this.#out += '^';
      this.#i++;
    }
    // A `]` right after the opening bracket is a literal in RE2.
    if (this.#peek() === ']') {
      this.#out += '\\]';
      this.#i++;
    }
    for (;;) {
      const c = this.#peek();
      if (c === '') this.#fail('missing closing ]');
      if (c === ']') {
        this.#out += ']';
        this.#i++;
        return;
      }
      if (c === '[' && this.#peek(1) === ':') {
        const m = /^\[:(\^?)([a-z]+):\]/.exec(this.#src.slice(this.#i));
        if (m !== null) {
          const set = POSIX_CLASSES.get(m[2] ?? '');
          if (set === undefined) this.#fail('invalid character class range');
          if (m[1] === '^') this.#fail('negated POSIX classes are not supported');
          this.#out += set;
          this.#i += m[0].length;
          continue;
        }
      }
      if (c === '\\') {
        this.#out += this.#escape(true);
        continue;
      }
      if (c === '-') {
        this.#out += '-';
        this.#i++;
        continue;
      }
      const cp = this.#src.codePointAt(this.#i) ?? 0;
      const ch = String.fromCodePoint(cp);
      this.#out += literal(ch);
      this.#i += ch.length;
    }
  }

  #escape(inClass: boolean): string {
    const c = this.#peek(1);
    this.#i += 2;
    if (c === '') this.#fail('trailing backslash at end of expression');
    switch (c) {
      case 'd':
      case 'D':
      case 'w':
      case 'W':
        return `\\${c}`;
      case 'b':
      case 'B':
        if (inClass) this.#fail('invalid escape sequence: `\\' + c + '`');
        return `\\${c}`;
      case 's':
        return inClass ? RE2_SPACE : `[${RE2_SPACE}]`;
      case 'S':
        if (inClass) this.#fail('\\S inside a character class is not supported');
        return `[^${RE2_SPACE}]`;
      case 'a':
        return hex(7);
      case 'f':
      case 't':
      case 'n':
      case 'r':
      case 'v':
        return `\\${c}`;
      case 'A':
        if (inClass) this.#fail('invalid escape sequence: `\\A`');
        return '(?<![\\s\\S])';
      case 'z':
        if (inClass) this.#fail('invalid escape sequence: `\\z`');
        return '(?![\\s\\S])';
      case 'Q': {
        const end = this.#src.indexOf('\\E', this.#i);
        const text = end === -1 ? this.#src.slice(this.#i) : this.#src.slice(this.#i, end);
        this.#i = end === -1 ? this.#src.length : end + 2;
        return Array.from(text).map(literal).join('');
      }
      case 'x': {
        const braced = /^\{([0-9A-Fa-f]{1,6})\}/.exec(this.#src.slice(this.#i));
        if (braced !== null) {
          this.#i += braced[0].length;
          return hex(Number.parseInt(braced[1] ?? '0', 16));
        }
        const two = /^[0-9A-Fa-f]{2}/.exec(this.#src.slice(this.#i));
        if (two === null) this.#fail('invalid escape sequence: `\\x`');
        this.#i += 2;
        return hex(Number.parseInt(two[0], 16));
      }
      case 'p':
      case 'P': {
        const m = /^(?:\{(\^?)([A-Za-z_]+)\}|([A-Za-z]))/.exec(this.#src.slice(this.#i));
        if (m === null) this.#fail('invalid character class range');
        this.#i += m[0].length;
        const name = m[2] ?? m[3] ?? '';
        const negate = (c === 'P') !== (m[1] === '^');
        const property = name.length <= 2 || name === 'Any' ? name : `Script=${name}`;
        if (name === 'Any') return negate ? '[^\\s\\S]' : '[\\s\\S]';
        return `\\${negate ? 'P' : 'p'}{${property}}`;
      }
      default:
        if (c >= '0' && c <= '7') {
          // RE2 reads \1…\7 as octal character codes (it has no backreferences).
          const m = /^[0-7]{1,2}/.exec(this.#src.slice(this.#i));
          const digits = c + (m?.[0] ?? '');
          this.#i += m?.[0].length ?? 0;
          return hex(Number.parseInt(digits, 8));
        }
        if (/[!-/:-@[-`{-~]/.test(c)) return hex(c.charCodeAt(0)); // escaped punctuation is literal
        return this.#fail('invalid escape sequence: `\\' + c + '`');
    }
  }
}

/**
 * Compiles an RE2 pattern to an equivalent JavaScript RegExp (flags `u`, plus those of a leading
 * `(?ims)` group). Throws SyntaxError for what Go's regexp.Compile would reject.
 */
export function compileGoRegexp(pattern: string): RegExp {
  return regexps.getOrCreate(pattern, translate);
}

const regexps = new BoundedCache<string, RegExp>(512);

function translate(pattern: string): RegExp {
  let flags = 'u';
  let body = pattern;
  const leading = /^\(\?([imsU]+)\)/.exec(pattern);
  if (leading !== null) {
    const groupFlags = leading[1] ?? '';
    if (groupFlags.includes('U')) throw new SyntaxError('error parsing regexp: the ungreedy flag (?U) is not supported');
    for (const f of new Set(groupFlags)) flags += f;
    body = pattern.slice(leading[0].length);
  }
  const source = new Translation(body).run();
  try {
    return new RegExp(source, flags);
  } catch (error) {
    throw new SyntaxError(`error parsing regexp: ${(error as Error).message}`);
  }
}

/** Go's `Regexp.Match`: does the pattern match anywhere in the text. */
export function goRegexpMatch(pattern: string, text: string): boolean {
  const re = compileGoRegexp(pattern);
  re.lastIndex = 0;
  return re.test(text);
}

/**
 * Go's `Regexp.ReplaceAll` (`literal` false: `$1`, `${1}`, `$name`, `${name}` and `$$` in the
 * replacement are expanded) or `ReplaceAllLiteral` (`literal` true). As in Go, an empty match
 * right after a previous match is skipped.
 */
export function goRegexpReplaceAll(pattern: string, text: string, replacement: string, literal: boolean): string {
  const base = compileGoRegexp(pattern);
  const re = new RegExp(base.source, `${base.flags}g`);
  let out = '';
  let last = 0;
  let lastMatchEnd = -1;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const start = m.index;
    const end = start + m[0].length;
    if (m[0] === '') {
      // Advance past an empty match (by a whole character: the pattern is in `u` mode).
      re.lastIndex = end + (String.fromCodePoint(text.codePointAt(end) ?? 0).length || 1);
      if (start === lastMatchEnd) continue;
    }
    out += text.slice(last, start) + (literal ? replacement : expand(replacement, m));
    last = end;
    lastMatchEnd = end;
  }
  return out + text.slice(last);
}

function expand(template: string, m: RegExpExecArray): string {
  return template.replace(/\$(\$|\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))/g, (_all, _x, braced?: string, bare?: string) => {
    if (braced === undefined && bare === undefined) return '$';
    const name = braced ?? bare ?? '';
    if (/^\d+$/.test(name)) return m[Number(name)] ?? '';
    return m.groups?.[name] ?? '';
  });
}
