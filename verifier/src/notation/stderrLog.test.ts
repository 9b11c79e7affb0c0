// forwardStderr on a stream the test writes to, with a clock it moves.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { forwardStderr, type StderrLogOptions } from './stderrLog.js';

function forwarded(options: Partial<StderrLogOptions> = {}) {
  const lines: { fields: Record<string, unknown>; message: string }[] = [];
  const stream = new PassThrough();
  let clock = 0;
  forwardStderr(stream, {
    log: { warn: (fields, message) => lines.push({ fields: fields as Record<string, unknown>, message }) },
    fields: { source: 'kna-notation-helper', pid: 42 },
    now: () => clock,
    ...options,
  });
  return {
    lines,
    write: async (text: string) => {
      stream.write(text);
      await tick();
    },
    end: async () => {
      stream.end();
      await tick();
    },
    advance: (ms: number) => (clock += ms),
  };
}

describe('forwardStderr', () => {
  it('logs each line at warn with the fields naming the process, lines split across chunks included', async () => {
    const f = forwarded();
    await f.write('kna-notation-helper: CRL cache not used: mkdir /x: permission denied\nkna-notation-helper: ignored a li');
    await f.write('ne that is not a request\n\n');
    await f.write('no newline at the end');
    await f.end();
    assert.deepEqual(f.lines, [
      { fields: { source: 'kna-notation-helper', pid: 42 }, message: 'kna-notation-helper: CRL cache not used: mkdir /x: permission denied' },
      { fields: { source: 'kna-notation-helper', pid: 42 }, message: 'kna-notation-helper: ignored a line that is not a request' },
      { fields: { source: 'kna-notation-helper', pid: 42 }, message: 'no newline at the end' },
    ]);
  });

  it('cuts long lines, and a line that never ends, without keeping more than a line in memory', async () => {
    const f = forwarded({ maxLineChars: 10 });
    await f.write(`${'a'.repeat(25)}\nshort\n`);
    for (let i = 0; i < 100; i++) await f.write('b'.repeat(1000));
    await f.write('\nafter\n');
    await f.end();
    assert.deepEqual(
      f.lines.map((l) => l.message),
      [`${'a'.repeat(10)} … (truncated)`, 'short', `${'b'.repeat(10)} … (truncated)`, 'after'],
    );
  });

  it('logs at most maxLinesPerSecond lines a second and says how many it dropped', async () => {
    const f = forwarded({ maxLinesPerSecond: 3 });
    await f.write(Array.from({ length: 10 }, (_, i) => `line ${i}\n`).join(''));
    assert.deepEqual(
      f.lines.map((l) => l.message),
      ['line 0', 'line 1', 'line 2'],
    );
    f.advance(1000);
    await f.write('next second\n');
    await f.write(Array.from({ length: 5 }, (_, i) => `more ${i}\n`).join(''));
    await f.end();
    assert.deepEqual(
      f.lines.slice(3).map((l) => [l.message, l.fields.droppedLines]),
      [
        ['7 more stderr lines were not logged (at most 3 a second)', 7],
        ['next second', undefined],
        ['more 0', undefined],
        ['more 1', undefined],
        ['3 more stderr lines were not logged (at most 3 a second)', 3],
      ],
    );
    assert.equal(f.lines.at(-1)?.fields.source, 'kna-notation-helper');
  });
});
