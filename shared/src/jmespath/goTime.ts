// Go `time` values as Kyverno's time_* JMESPath functions handle them (pkg/engine/jmespath/time.go):
// times are parsed with `time.Parse(layout, value)` (RFC 3339 when the layout is empty), keep the
// UTC offset they were written with, and are printed with `Format(time.RFC3339)`, which has no
// fractional seconds and prints a zero offset as `Z`. Nanosecond precision is kept in a bigint;
// the clock itself (Date.now) only has millisecond precision.
import { DurationUnit, clampDuration } from '../units/duration.js';

/** An instant (nanoseconds since the Unix epoch) with the UTC offset it is shown in. */
export interface GoTime {
  readonly ns: bigint;
  /** Seconds east of UTC. */
  readonly offset: number;
}

const SECONDS_PER_DAY = 86_400;
// Seconds from January 1 of year 1 to the Unix epoch: Go's Truncate/Round work on that origin.
const UNIX_TO_ABSOLUTE = 62_135_596_800n;

function floorDiv(a: number, b: number): number {
  return Math.floor(a / b);
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = floorDiv(y, 400);
  const yoe = y - era * 400;
  const mp = month > 2 ? month - 3 : month + 9;
  const doy = floorDiv(153 * mp + 2, 5) + day - 1;
  const doe = yoe * 365 + floorDiv(yoe, 4) - floorDiv(yoe, 100) + doy;
  return era * 146_097 + doe - 719_468;
}

function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719_468;
  const era = floorDiv(z, 146_097);
  const doe = z - era * 146_097;
  const yoe = floorDiv(doe - floorDiv(doe, 1460) + floorDiv(doe, 36_524) - floorDiv(doe, 146_096), 365);
  const doy = doe - (365 * yoe + floorDiv(yoe, 4) - floorDiv(yoe, 100));
  const mp = floorDiv(5 * doy + 2, 153);
  const day = doy - floorDiv(153 * mp + 2, 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

function isLeap(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

function daysIn(month: number, year: number): number {
  if (month === 2) return isLeap(year) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** The wall-clock fields of a time in its own offset. */
export function goTimeFields(t: GoTime): {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: number;
} {
  const localSeconds = t.ns / DurationUnit.Second + BigInt(t.offset) - (t.ns % DurationUnit.Second < 0n ? 1n : 0n);
  const days = Number(localSeconds / BigInt(SECONDS_PER_DAY)) - (localSeconds % BigInt(SECONDS_PER_DAY) < 0n ? 1 : 0);
  const secOfDay = Number(localSeconds - BigInt(days) * BigInt(SECONDS_PER_DAY));
  return {
    ...civilFromDays(days),
    hour: Math.floor(secOfDay / 3600),
    minute: Math.floor((secOfDay % 3600) / 60),
    second: secOfDay % 60,
    weekday: (((days + 4) % 7) + 7) % 7, // 1970-01-01 was a Thursday; 0 = Sunday
  };
}

const pad = (n: number, width: number): string => String(Math.abs(n)).padStart(width, '0');

/** `t.Format(time.RFC3339)`: `2006-01-02T15:04:05Z07:00`, no fraction, `Z` for a zero offset. */
export function formatRFC3339(t: GoTime): string {
  const f = goTimeFields(t);
  const year = f.year < 0 ? `-${pad(f.year, 4)}` : pad(f.year, 4);
  const date = `${year}-${pad(f.month, 2)}-${pad(f.day, 2)}T${pad(f.hour, 2)}:${pad(f.minute, 2)}:${pad(f.second, 2)}`;
  if (t.offset === 0) return `${date}Z`;
  const sign = t.offset < 0 ? '-' : '+';
  const abs = Math.abs(t.offset);
  return `${date}${sign}${pad(Math.floor(abs / 3600), 2)}:${pad(Math.floor((abs % 3600) / 60), 2)}`;
}

/** The current time, in UTC or in the process's local offset (Go's time.Now() / .UTC()). */
export function goNow(local: boolean): GoTime {
  const ms = Date.now();
  const offset = local ? -new Date(ms).getTimezoneOffset() * 60 : 0;
  return { ns: BigInt(ms) * 1_000_000n, offset };
}

function instant(year: number, month: number, day: number, hour: number, minute: number, second: number, nanos: number, offset: number): GoTime {
  const seconds = BigInt(daysFromCivil(year, month, day)) * BigInt(SECONDS_PER_DAY) + BigInt(hour * 3600 + minute * 60 + second - offset);
  return { ns: seconds * DurationUnit.Second + BigInt(nanos), offset };
}

/** Go's `Time.Sub`: the duration between two instants, saturated to the int64 range. */
export function goTimeSub(a: GoTime, b: GoTime): bigint {
  return clampDuration(a.ns - b.ns);
}

/** Go's `Time.Add`. */
export function goTimeAdd(t: GoTime, d: bigint): GoTime {
  return { ns: t.ns + d, offset: t.offset };
}

/** Go's `Time.Truncate`: rounds down to a multiple of d since January 1, year 1 (not the Unix epoch). */
export function goTimeTruncate(t: GoTime, d: bigint): GoTime {
  if (d <= 0n) return t;
  const absolute = t.ns + UNIX_TO_ABSOLUTE * DurationUnit.Second;
  const remainder = ((absolute % d) + d) % d;
  return { ns: t.ns - remainder, offset: t.offset };
}

// ---------------------------------------------------------------------------------------------
// Parsing with a Go layout (reference time Mon Jan 2 15:04:05 MST 2006).

const LONG_MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const LONG_DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

type Chunk =
  | { kind: 'literal'; text: string }
  | {
      kind:
        | 'LongMonth'
        | 'Month'
        | 'NumMonth'
        | 'ZeroMonth'
        | 'LongWeekDay'
        | 'WeekDay'
        | 'Day'
        | 'UnderDay'
        | 'ZeroDay'
        | 'ZeroYearDay'
        | 'Hour'
        | 'Hour12'
        | 'ZeroHour12'
        | 'Minute'
        | 'ZeroMinute'
        | 'Second'
        | 'ZeroSecond'
        | 'LongYear'
        | 'Year'
        | 'PM'
        | 'pm'
        | 'TZ'
        | 'ISO8601TZ'
        | 'ISO8601SecondsTZ'
        | 'ISO8601ShortTZ'
        | 'ISO8601ColonTZ'
        | 'ISO8601ColonSecondsTZ'
        | 'NumTZ'
        | 'NumSecondsTz'
        | 'NumShortTZ'
        | 'NumColonTZ'
        | 'NumColonSecondsTZ';
    }
  | { kind: 'Fraction'; digits: number; optional: boolean };

// Longest-first table of Go's std chunks (time/format.go nextStdChunk).
const STD_CHUNKS: [string, Exclude<Chunk, { kind: 'literal' } | { kind: 'Fraction' }>['kind']][] = [
  ['January', 'LongMonth'],
  ['Jan', 'Month'],
  ['Monday', 'LongWeekDay'],
  ['Mon', 'WeekDay'],
  ['MST', 'TZ'],
  ['01', 'ZeroMonth'],
  ['02', 'ZeroDay'],
  ['03', 'ZeroHour12'],
  ['04', 'ZeroMinute'],
  ['05', 'ZeroSecond'],
  ['06', 'Year'],
  ['002', 'ZeroYearDay'],
  ['15', 'Hour'],
  ['1', 'NumMonth'],
  ['2006', 'LongYear'],
  ['2', 'Day'],
  ['__2', 'ZeroYearDay'],
  ['_2', 'UnderDay'],
  ['3', 'Hour12'],
  ['4', 'Minute'],
  ['5', 'Second'],
  ['PM', 'PM'],
  ['pm', 'pm'],
  ['-07:00:00', 'NumColonSecondsTZ'],
  ['-070000', 'NumSecondsTz'],
  ['-07:00', 'NumColonTZ'],
  ['-0700', 'NumTZ'],
  ['-07', 'NumShortTZ'],
  ['Z07:00:00', 'ISO8601ColonSecondsTZ'],
  ['Z070000', 'ISO8601SecondsTZ'],
  ['Z07:00', 'ISO8601ColonTZ'],
  ['Z0700', 'ISO8601TZ'],
  ['Z07', 'ISO8601ShortTZ'],
];

function tokenize(layout: string): Chunk[] {
  const chunks: Chunk[] = [];
  let literal = '';
  let i = 0;
  outer: while (i < layout.length) {
    const rest = layout.slice(i);
    // Fractional seconds: '.' or ',' followed by 0s or 9s and then a non-digit.
    const frac = /^[.,](0+|9+)(?![0-9])/.exec(rest);
    if (frac !== null) {
      if (literal !== '') chunks.push({ kind: 'literal', text: literal });
      literal = '';
      const digits = frac[1] ?? '';
      chunks.push({ kind: 'Fraction', digits: digits.length, optional: digits.startsWith('9') });
      i += frac[0].length;
      continue;
    }
    // Go: "_2006" is a literal underscore followed by the year, not "_2" + "006".
    if (rest.startsWith('_2006')) {
      literal += '_';
      i++;
      continue;
    }
    for (const [text, kind] of STD_CHUNKS) {
      if (!rest.startsWith(text)) continue;
      // Go: "Jan"/"Mon" only when not followed by a lower-case letter ("January" was tried first).
      if ((kind === 'Month' || kind === 'WeekDay') && /^[a-z]/.test(rest.slice(text.length))) continue;
      if (literal !== '') chunks.push({ kind: 'literal', text: literal });
      literal = '';
      chunks.push({ kind });
      i += text.length;
      continue outer;
    }
    literal += layout[i] ?? '';
    i++;
  }
  if (literal !== '') chunks.push({ kind: 'literal', text: literal });
  return chunks;
}

class ParseFailure extends Error {}

/**
 * Go's `time.Parse(layout, value)`. Throws an Error naming the value and layout when Go would.
 * Missing fields default as in Go (year 0, January, day 1, midnight, UTC); a zone abbreviation
 * other than UTC/GMT yields a zero offset, as Go's "fabricated location" does.
 */
export function parseGoTime(layout: string, value: string): GoTime {
  try {
    return parseChunks(tokenize(layout), value);
  } catch (error) {
    const reason = error instanceof ParseFailure ? `: ${error.message}` : '';
    throw new Error(`parsing time ${JSON.stringify(value)} as ${JSON.stringify(layout)}${reason}`);
  }
}

/** `time.Parse(time.RFC3339, value)`. */
export function parseRFC3339(value: string): GoTime {
  return parseGoTime('2006-01-02T15:04:05Z07:00', value);
}

function parseChunks(chunks: Chunk[], input: string): GoTime {
  let v = input;
  let year = 0;
  let month = -1;
  let day = -1;
  let yday = -1;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let nanos = 0;
  let pmSet = false;
  let amSet = false;
  let offset: number | undefined;

  const num = (min: number, max: number, what: string): number => {
    const m = new RegExp(`^\\d{${String(min)},${String(max)}}`).exec(v);
    if (m === null) throw new ParseFailure(`cannot parse ${JSON.stringify(v)} as ${what}`);
    v = v.slice(m[0].length);
    return Number(m[0]);
  };
  const name = (names: string[], length: number | undefined, what: string): number => {
    for (const [index, full] of names.entries()) {
      const candidate = length === undefined ? full : full.slice(0, length);
      if (v.slice(0, candidate.length).toLowerCase() === candidate.toLowerCase()) {
        v = v.slice(candidate.length);
        return index;
      }
    }
    throw new ParseFailure(`cannot parse ${JSON.stringify(v)} as ${what}`);
  };
  const fraction = (digits: string): void => {
    nanos = Number((digits + '000000000').slice(0, 9));
  };

  for (const [index, chunk] of chunks.entries()) {
    switch (chunk.kind) {
      case 'literal':
        if (!v.startsWith(chunk.text)) throw new ParseFailure(`cannot parse ${JSON.stringify(v)} as ${JSON.stringify(chunk.text)}`);
        v = v.slice(chunk.text.length);
        break;
      case 'LongYear':
        year = num(4, 4, '"2006"');
        break;
      case 'Year': {
        const y = num(2, 2, '"06"');
        year = y >= 69 ? 1900 + y : 2000 + y;
        break;
      }
      case 'LongMonth':
        month = name(LONG_MONTHS, undefined, '"January"') + 1;
        break;
      case 'Month':
        month = name(LONG_MONTHS, 3, '"Jan"') + 1;
        break;
      case 'NumMonth':
      case 'ZeroMonth':
        month = num(chunk.kind === 'ZeroMonth' ? 2 : 1, 2, '"01"');
        if (month < 1 || month > 12) throw new ParseFailure('month out of range');
        break;
      case 'LongWeekDay':
        name(LONG_DAYS, undefined, '"Monday"');
        break;
      case 'WeekDay':
        name(LONG_DAYS, 3, '"Mon"');
        break;
      case 'Day':
      case 'UnderDay':
      case 'ZeroDay':
        if (chunk.kind === 'UnderDay' && v.startsWith(' ')) v = v.slice(1);
        day = num(chunk.kind === 'ZeroDay' ? 2 : 1, 2, '"02"');
        break;
      case 'ZeroYearDay':
        yday = num(3, 3, '"002"');
        break;
      case 'Hour':
        hour = num(1, 2, '"15"');
        if (hour > 23) throw new ParseFailure('hour out of range');
        break;
      case 'Hour12':
      case 'ZeroHour12':
        hour = num(chunk.kind === 'ZeroHour12' ? 2 : 1, 2, '"03"');
        if (hour > 12) throw new ParseFailure('hour out of range');
        break;
      case 'Minute':
      case 'ZeroMinute':
        minute = num(chunk.kind === 'ZeroMinute' ? 2 : 1, 2, '"04"');
        if (minute > 59) throw new ParseFailure('minute out of range');
        break;
      case 'Second':
      case 'ZeroSecond': {
        second = num(chunk.kind === 'ZeroSecond' ? 2 : 1, 2, '"05"');
        if (second > 59) throw new ParseFailure('second out of range');
        // Go accepts a fractional second after the seconds even when the layout has none.
        const next = chunks[index + 1];
        const m = /^[.,](\d+)/.exec(v);
        if (m !== null && next?.kind !== 'Fraction') {
          fraction(m[1] ?? '');
          v = v.slice(m[0].length);
        }
        break;
      }
      case 'Fraction': {
        if (chunk.optional) {
          const m = /^[.,](\d+)/.exec(v);
          if (m !== null) {
            fraction(m[1] ?? '');
            v = v.slice(m[0].length);
          }
        } else {
          const m = new RegExp(`^[.,](\\d{${String(chunk.digits)}})`).exec(v);
          if (m === null) throw new ParseFailure(`cannot parse ${JSON.stringify(v)} as fractional seconds`);
          fraction(m[1] ?? '');
          v = v.slice(m[0].length);
        }
        break;
      }
      case 'PM':
      case 'pm': {
        const ap = v.slice(0, 2);
        if (ap.toUpperCase() === 'PM') pmSet = true;
        else if (ap.toUpperCase() === 'AM') amSet = true;
        else throw new ParseFailure(`cannot parse ${JSON.stringify(v)} as "PM"`);
        v = v.slice(2);
        break;
      }
      case 'TZ': {
        const m = /^(UTC|GMT|[A-Z]{3,5})/.exec(v);
        if (m === null) throw new ParseFailure(`cannot parse ${JSON.stringify(v)} as "MST"`);
        v = v.slice(m[0].length);
        offset = 0;
        break;
      }
      default: {
        // Numeric zones, with or without the ISO 8601 'Z' for UTC.
        if (chunk.kind.startsWith('ISO8601') && v.startsWith('Z')) {
          v = v.slice(1);
          offset = 0;
          break;
        }
        const shapes: Record<string, RegExp> = {
          NumTZ: /^([+-])(\d\d)(\d\d)/,
          ISO8601TZ: /^([+-])(\d\d)(\d\d)/,
          NumShortTZ: /^([+-])(\d\d)/,
          ISO8601ShortTZ: /^([+-])(\d\d)/,
          NumColonTZ: /^([+-])(\d\d):(\d\d)/,
          ISO8601ColonTZ: /^([+-])(\d\d):(\d\d)/,
          NumSecondsTz: /^([+-])(\d\d)(\d\d)(\d\d)/,
          ISO8601SecondsTZ: /^([+-])(\d\d)(\d\d)(\d\d)/,
          NumColonSecondsTZ: /^([+-])(\d\d):(\d\d):(\d\d)/,
          ISO8601ColonSecondsTZ: /^([+-])(\d\d):(\d\d):(\d\d)/,
        };
        const m = shapes[chunk.kind]?.exec(v);
        if (m === null || m === undefined) throw new ParseFailure(`cannot parse ${JSON.stringify(v)} as a time zone offset`);
        const hh = Number(m[2]);
        const mm = Number(m[3] ?? '0');
        const ss = Number(m[4] ?? '0');
        if (hh > 24 || mm > 60 || ss > 60) throw new ParseFailure('time zone offset out of range');
        offset = (m[1] === '-' ? -1 : 1) * (hh * 3600 + mm * 60 + ss);
        v = v.slice(m[0].length);
        break;
      }
    }
  }
  if (v !== '') throw new ParseFailure(`extra text: ${JSON.stringify(v)}`);
  if (pmSet && hour < 12) hour += 12;
  else if (amSet && hour === 12) hour = 0;
  if (yday >= 0) {
    const first = daysFromCivil(year, 1, 1);
    const days = first + yday - 1;
    const date = civilFromDays(days);
    if (date.year !== year || (month >= 0 && month !== date.month) || (day >= 0 && day !== date.day)) {
      throw new ParseFailure('day-of-year out of range');
    }
    month = date.month;
    day = date.day;
  }
  if (month < 0) month = 1;
  if (day < 0) day = 1;
  if (day < 1 || day > daysIn(month, year)) throw new ParseFailure('day out of range');
  return instant(year, month, day, hour, minute, second, nanos, offset ?? 0);
}
