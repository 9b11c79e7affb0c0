import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { DebouncedRunner } from './runner.js';

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe('DebouncedRunner', () => {
  it('turns a burst of triggers into one run', async () => {
    let runs = 0;
    const runner = new DebouncedRunner(
      () => {
        runs++;
        return Promise.resolve(undefined);
      },
      { debounceMs: 30 },
    );
    for (let i = 0; i < 50; i++) runner.trigger();
    await until(() => runs === 1, 'the run');
    await sleep(100);
    assert.equal(runs, 1);
    await runner.stop();
  });

  it('runs an isolated trigger at once and holds the next ones until the window since the last start ends', async () => {
    let runs = 0;
    // A window far longer than the test may take: a run that waited for it would time the test out.
    const runner = new DebouncedRunner(
      () => {
        runs++;
        return Promise.resolve(undefined);
      },
      { debounceMs: 600_000 },
    );
    runner.trigger();
    await until(() => runs === 1, 'the first run, at once');
    await runner.idle();
    runner.trigger();
    runner.trigger();
    await sleep(100);
    assert.equal(runs, 1, 'a trigger within the window waits for it');
    await runner.stop();
  });

  it('never runs twice at once; a trigger during a run schedules exactly one more', async () => {
    let running = 0;
    let overlap = false;
    let runs = 0;
    let release: () => void = () => undefined;
    const runner = new DebouncedRunner(
      async () => {
        running++;
        overlap ||= running > 1;
        runs++;
        if (runs === 1) await new Promise<void>((resolve) => (release = resolve));
        running--;
        return undefined;
      },
      { debounceMs: 1 },
    );
    runner.trigger();
    await until(() => runs === 1, 'the first run');
    for (let i = 0; i < 10; i++) runner.trigger();
    release();
    await until(() => runs === 2, 'the second run');
    await sleep(50);
    await runner.idle();
    assert.equal(runs, 2);
    assert.equal(overlap, false);
    await runner.stop();
  });

  it('runs again when a run asks to, and retries a run that threw', async () => {
    const errors: unknown[] = [];
    let runs = 0;
    const runner = new DebouncedRunner(
      () => {
        runs++;
        if (runs === 1) return Promise.reject(new Error('API server away'));
        if (runs === 2) return Promise.resolve(new Date(Date.now() + 10));
        return Promise.resolve(undefined);
      },
      { debounceMs: 1, retryMs: 10, onError: (err) => errors.push(err) },
    );
    runner.trigger();
    await until(() => runs === 3, 'the retry and the requested run');
    assert.equal(errors.length, 1);
    await runner.stop();
    runner.trigger();
    await sleep(30);
    assert.equal(runs, 3, 'nothing runs after stop');
  });
});
