// Command-line flags parsed the way Go's `flag` package does it, so Deployments written for the original Go
// services keep working: `-name=value` or `--name=value`, `--name value` for non-booleans, bare booleans
// (`--cacheEnabled`) and `--name=false`. Each program declares its flags as one `as const` table; the parser,
// `--help` and the README flag table are all generated from it, so they cannot disagree.
import { defineError, Outcome } from '../errors.js';
import { formatGoDuration, parseGoDuration } from '../units/duration.js';

/** `duration` takes Go syntax (`15s`, `1h30m`, `8760h`) and holds milliseconds. */
export type FlagType = 'bool' | 'string' | 'int' | 'number' | 'list' | 'duration';

export interface FlagSpec<T extends FlagType = FlagType> {
  readonly type: T;
  readonly default: FlagValue<T>;
  readonly help: string;
  /** Accepted for compatibility with the original but without effect here; --help says why. */
  readonly compatOnly?: string;
  /** What the default means when it is computed at start (e.g. "POD_NAMESPACE"); shown instead of `default`. */
  readonly defaultText?: string;
}

export type FlagValue<T extends FlagType> = T extends 'bool'
  ? boolean
  : T extends 'int' | 'number' | 'duration'
    ? number
    : T extends 'list'
      ? readonly string[]
      : string;

export type FlagTable = Readonly<Record<string, FlagSpec>>;

/** The parsed values of a flag table (lists are fresh mutable arrays). */
export type FlagValues<S extends FlagTable> = {
  -readonly [K in keyof S]: S[K]['type'] extends 'list' ? string[] : FlagValue<S[K]['type']>;
};

export interface ParsedFlags<S extends FlagTable> {
  readonly flags: FlagValues<S>;
  /** Names given explicitly on the command line. */
  readonly explicit: ReadonlySet<keyof S & string>;
  readonly positionals: readonly string[];
  readonly help: boolean;
}

/** A command line the program cannot run with; the message names the flag. */
export const ERR_BAD_FLAG = defineError('KNA_ERR_BAD_FLAG', Outcome.BadRequest, (detail: string) => detail);

export interface ParseFlagsOptions {
  /** The error to throw (a package's own catalogued error); ERR_BAD_FLAG by default. */
  readonly badFlag?: (detail: string) => Error;
}

function defaultText(spec: FlagSpec): string {
  if (spec.defaultText !== undefined) return spec.defaultText;
  if (spec.type === 'duration') return formatGoDuration(BigInt(spec.default as number) * 1_000_000n);
  return Array.isArray(spec.default) ? spec.default.join(',') : String(spec.default);
}

function convert(name: string, spec: FlagSpec, raw: string, bad: (detail: string) => Error): unknown {
  switch (spec.type) {
    case 'bool':
      if (/^(1|t|true|TRUE|True)$/.test(raw)) return true;
      if (/^(0|f|false|FALSE|False)$/.test(raw)) return false;
      throw bad(`--${name}: ${JSON.stringify(raw)} is not a boolean (true/false)`);
    case 'int':
      if (!/^-?\d+$/.test(raw)) throw bad(`--${name}: ${JSON.stringify(raw)} is not an integer`);
      return Number(raw);
    case 'number':
      // Go's float64 flag syntax, minus the exotic forms (hex, Inf, NaN) nobody puts in a Deployment.
      if (!/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw)) throw bad(`--${name}: ${JSON.stringify(raw)} is not a number`);
      return Number(raw);
    case 'duration': {
      const ns = parseGoDuration(raw);
      if (ns === undefined || ns < 0n) throw bad(`--${name}: ${JSON.stringify(raw)} is not a duration (Go syntax: 300ms, 15s, 1h30m)`);
      return Number(ns / 1_000_000n);
    }
    case 'list':
      return raw === '' ? [] : raw.split(',');
    default:
      return raw;
  }
}

/** Parses `argv` against `specs`; unknown flags and bad values throw with the flag's name. */
export function parseFlagArgs<S extends FlagTable>(specs: S, argv: readonly string[], options: ParseFlagsOptions = {}): ParsedFlags<S> {
  const bad = options.badFlag ?? ((detail: string) => new ERR_BAD_FLAG(detail));
  const flags: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) flags[name] = Array.isArray(spec.default) ? [...(spec.default as readonly string[])] : spec.default;
  const explicit = new Set<keyof S & string>();
  const positionals: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    if (name === 'help' || name === 'h') {
      help = true;
      continue;
    }
    const spec = Object.hasOwn(specs, name) ? specs[name] : undefined;
    if (!spec) throw bad(`unknown flag ${arg}; see --help`);
    let raw: string;
    if (eq >= 0) raw = body.slice(eq + 1);
    else if (spec.type === 'bool') raw = 'true';
    else {
      const next = argv[i + 1];
      if (next === undefined) throw bad(`flag --${name} needs a value`);
      raw = next;
      i++;
    }
    flags[name] = convert(name, spec, raw, bad);
    explicit.add(name);
  }
  return { flags: flags as FlagValues<S>, explicit, positionals, help };
}

/** One `--help` entry per flag: the name and value type, then the meaning and default on an indented line. */
export function flagHelpLines(specs: FlagTable): string[] {
  return Object.entries(specs).map(([name, spec]) => {
    const def = defaultText(spec);
    const compat = spec.compatOnly ? ` (no effect: ${spec.compatOnly})` : '';
    return `  --${name}${spec.type === 'bool' ? '' : ` ${spec.type === 'list' ? 'a,b' : spec.type}`}\n      ${spec.help}${compat} (default ${def === '' ? '""' : def})`;
  });
}

/** The Markdown flag table of a README. */
export function flagsMarkdown(specs: FlagTable): string {
  const rows = Object.entries(specs).map(([name, spec]) => {
    const def = defaultText(spec);
    const help = spec.compatOnly ? `${spec.help} No effect: ${spec.compatOnly}.` : spec.help;
    const shown = spec.defaultText !== undefined ? def : def === '' ? '""' : `\`${def}\``;
    return `| \`--${name}\` | ${spec.type} | ${shown} | ${help.replace(/\|/g, '\\|')} |`;
  });
  return ['| flag | type | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

/** `text` with the part between `<!-- <marker>:begin -->` and `<!-- <marker>:end -->` replaced by `content`. */
export function withGeneratedSection(text: string, marker: string, content: string): string {
  const begin = `<!-- ${marker}:begin -->`;
  const end = `<!-- ${marker}:end -->`;
  const start = text.indexOf(begin);
  const stop = text.indexOf(end);
  if (start < 0 || stop < start) throw new Error(`no ${begin} … ${end} section`);
  return `${text.slice(0, start + begin.length)}\n${content}\n${text.slice(stop)}`;
}

/**
 * A controller-runtime style listen address: "host:port" or ":port" (every interface), or "0" / "" for disabled
 * (undefined). Anything else throws with the flag's name.
 */
export function parseBindAddress(flag: string, value: string, options: ParseFlagsOptions = {}): { host: string; port: number } | undefined {
  if (value === '0' || value === '') return undefined;
  const match = /^(.*):(\d+)$/.exec(value);
  if (!match) throw (options.badFlag ?? ((detail: string) => new ERR_BAD_FLAG(detail)))(`--${flag}: ${JSON.stringify(value)} is not host:port, :port or 0`);
  return { host: match[1] === '' || match[1] === undefined ? '0.0.0.0' : match[1], port: Number(match[2]) };
}
