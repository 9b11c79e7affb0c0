// A child's stderr, forwarded to the verifier's log line by line (the notation helper's: helper.ts), bounded
// so that a chatty or broken child can neither flood the log nor grow the verifier's memory: a line is cut
// at maxLineChars (a line that never ends is cut there too, and the rest of it dropped), and at most
// maxLinesPerSecond lines are logged per second; the lines dropped are counted, and the count logged with
// the first line of a later second or when the stream ends.
import type { Readable } from 'node:stream';

/** What a pino logger offers (and all that is used of it). */
export interface WarnLog {
  warn(fields: object, message: string): void;
}

export interface StderrLogOptions {
  readonly log: WarnLog;
  /** Fields on every line: which process wrote it. */
  readonly fields: Readonly<Record<string, unknown>>;
  /** Longest line logged; default 2048 characters. */
  readonly maxLineChars?: number;
  /** Lines logged per second at most; default 20. */
  readonly maxLinesPerSecond?: number;
  /** Clock in milliseconds (tests); default performance.now. */
  readonly now?: () => number;
}

const TRUNCATED = ' … (truncated)';

/** Logs each line `stream` carries at warn, within the bounds; returns nothing, it follows the stream to its end. */
export function forwardStderr(stream: Readable, options: StderrLogOptions): void {
  const { log, fields } = options;
  const maxLineChars = options.maxLineChars ?? 2048;
  const maxLinesPerSecond = options.maxLinesPerSecond ?? 20;
  const now = options.now ?? (() => performance.now());
  let pending = '';
  // The rest of a line that was cut is dropped up to its newline.
  let skipping = false;
  let windowStart = now();
  let logged = 0;
  let dropped = 0;

  const reportDropped = () => {
    if (dropped === 0) return;
    log.warn({ ...fields, droppedLines: dropped }, `${dropped} more stderr lines were not logged (at most ${maxLinesPerSecond} a second)`);
    dropped = 0;
  };
  const emit = (line: string) => {
    if (line.trim() === '') return;
    const at = now();
    if (at - windowStart >= 1000) {
      reportDropped();
      windowStart = at;
      logged = 0;
    }
    if (logged >= maxLinesPerSecond) {
      dropped++;
      return;
    }
    logged++;
    log.warn(fields, line.length > maxLineChars ? line.slice(0, maxLineChars) + TRUNCATED : line);
  };

  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    let start = 0;
    let newline: number;
    while ((newline = chunk.indexOf('\n', start)) >= 0) {
      if (skipping) skipping = false;
      else emit(pending + chunk.slice(start, newline));
      pending = '';
      start = newline + 1;
    }
    if (skipping) return;
    pending += chunk.slice(start);
    if (pending.length > maxLineChars) {
      emit(pending);
      pending = '';
      skipping = true;
    }
  });
  stream.once('end', () => {
    if (!skipping) emit(pending);
    pending = '';
    reportDropped();
  });
}
