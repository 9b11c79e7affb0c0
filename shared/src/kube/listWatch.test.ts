// The bookkeeping of ListWatcher driven by a scripted source; the real API server cases (410 after a restart,
// a CRD that appears later, a stopped API server) are in the operator's integration tests.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListWatcher, backoffDelay, statusCodeOf, type ListWatchEvent, type ListWatchSource, type WatchEvent } from './listWatch.js';

interface Obj {
  metadata: { name: string; resourceVersion: string };
  value?: number;
}

const obj = (name: string, rv: number, value = 0): Obj => ({ metadata: { name, resourceVersion: String(rv) }, value });

type WatchScript = (rv: string, emit: (e: WatchEvent<Obj>) => void, signal: AbortSignal) => Promise<void>;

function scripted(lists: (() => Promise<{ items: Obj[]; resourceVersion: string }>)[], watches: WatchScript[]) {
  const calls: string[] = [];
  const hang: WatchScript = (_rv, _emit, signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  const source: ListWatchSource<Obj> = {
    description: 'objs',
    list: () => {
      calls.push('list');
      // The last scripted answer repeats (a periodic re-list sees the same objects again).
      const next = lists.length > 1 ? lists.shift() : lists[0];
      return next ? next() : Promise.resolve({ items: [], resourceVersion: '999' });
    },
    watch: (rv, _t, onEvent, signal) => {
      calls.push(`watch@${rv}`);
      return (watches.shift() ?? hang)(rv, onEvent, signal);
    },
  };
  return { source, calls };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

const fast = { backoff: { initialMs: 1, maxMs: 4 }, random: () => 0.5 };

describe('ListWatcher', () => {
  it('resumes from the last resourceVersion (bookmarks included) and re-lists on 410 Gone', async () => {
    const gone = new Error('gone') as Error & { statusCode: number };
    gone.statusCode = 410;
    const { source, calls } = scripted(
      [() => Promise.resolve({ items: [obj('a', 1)], resourceVersion: '5' }), () => Promise.resolve({ items: [obj('c', 20)], resourceVersion: '21' })],
      [
        (_rv, emit) => {
          emit({ type: 'ADDED', object: obj('b', 6) });
          emit({ type: 'MODIFIED', object: obj('a', 7, 1) });
          emit({ type: 'BOOKMARK', object: obj('', 9) });
          return Promise.resolve();
        },
        (_rv, emit) => {
          emit({ type: 'DELETED', object: obj('b', 10) });
          return Promise.reject(new Error('connection reset'));
        },
        (_rv, emit) => {
          emit({ type: 'ERROR', object: { code: 410, message: 'too old resource version' } as unknown as Obj });
          return Promise.resolve();
        },
        () => Promise.reject(gone),
      ],
    );
    const events: ListWatchEvent[] = [];
    const watcher = new ListWatcher<Obj>({ source, onEvent: (e) => events.push(e), ...fast });
    watcher.start();
    await until(() => calls.length >= 7, 'the scripted calls');
    await watcher.stop();
    assert.deepEqual(calls.slice(0, 7), ['list', 'watch@5', 'watch@9', 'watch@10', 'list', 'watch@21', 'list']);
    assert.deepEqual(
      events.flatMap((e) => (e.type === 'restart' ? [e.reason] : [])),
      ['closed', 'error', 'gone', 'gone'],
    );
    assert.ok(watcher.synced);
  });

  it('keeps the objects of the last list and the watch events after it', async () => {
    const { source } = scripted(
      [() => Promise.resolve({ items: [obj('a', 1), obj('b', 2)], resourceVersion: '2' })],
      [
        async (_rv, emit, signal) => {
          emit({ type: 'DELETED', object: obj('a', 3) });
          emit({ type: 'MODIFIED', object: obj('b', 4, 42) });
          await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        },
      ],
    );
    let changes = 0;
    const watcher = new ListWatcher<Obj>({ source, onChange: () => changes++, ...fast });
    watcher.start();
    await watcher.whenSynced();
    await until(() => changes >= 3, 'the watch events');
    assert.deepEqual(watcher.items(), [obj('b', 4, 42)]);
    assert.equal(watcher.get(undefined, 'b')?.value, 42);
    await watcher.stop();
  });

  it('retries a failing list forever with back-off, and empties on 404 (a CRD removed)', async () => {
    const notFound = Object.assign(new Error('the server could not find the requested resource'), { code: 404 });
    const { source } = scripted(
      [
        () => Promise.resolve({ items: [obj('a', 1)], resourceVersion: '1' }),
        () => Promise.reject(notFound),
        () => Promise.reject(notFound),
        () => Promise.resolve({ items: [obj('z', 9)], resourceVersion: '9' }),
      ],
      [() => Promise.resolve()],
    );
    const events: ListWatchEvent[] = [];
    // The first watch closes at once without events: back off, then re-list only because of the resync period.
    const watcher = new ListWatcher<Obj>({ source, onEvent: (e) => events.push(e), resyncPeriodMs: 0, ...fast });
    watcher.start();
    await until(() => watcher.get(undefined, 'z') !== undefined, 'the object after the failures');
    await watcher.stop();
    const failures = events.flatMap((e) => (e.type === 'list-failed' ? [e.statusCode] : []));
    assert.deepEqual(failures, [404, 404]);
    assert.equal(watcher.get(undefined, 'a'), undefined);
    assert.ok(watcher.available);
  });

  it('ends a watch that stays open and silent past its timeout (the watchdog)', async () => {
    const { source, calls } = scripted([() => Promise.resolve({ items: [], resourceVersion: '1' })], []);
    const events: ListWatchEvent[] = [];
    const watcher = new ListWatcher<Obj>({ source, onEvent: (e) => events.push(e), watchTimeoutSeconds: 0, watchdogGraceMs: 20, ...fast });
    watcher.start();
    await until(() => calls.filter((c) => c === 'watch@1').length >= 2, 'the watch restarted from the same resourceVersion');
    await watcher.stop();
    assert.equal(calls[0], 'list');
    assert.ok(
      events.some((e) => e.type === 'restart' && e.reason === 'stalled'),
      'the watchdog ended the silent watch',
    );
  });
});

describe('backoffDelay', () => {
  it('doubles up to the cap, jittered within the upper half', () => {
    assert.equal(
      backoffDelay(0, { initialMs: 100 }, () => 0),
      50,
    );
    assert.equal(
      backoffDelay(0, { initialMs: 100 }, () => 1),
      100,
    );
    assert.equal(
      backoffDelay(3, { initialMs: 100 }, () => 1),
      800,
    );
    assert.equal(
      backoffDelay(50, { initialMs: 100, maxMs: 1000 }, () => 0.999_999),
      1000,
    );
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(4, { initialMs: 10 });
      assert.ok(d >= 80 && d <= 160, String(d));
    }
  });

  it('reads the status of API server errors', () => {
    assert.equal(statusCodeOf(Object.assign(new Error('x'), { statusCode: 410 })), 410);
    assert.equal(statusCodeOf({ code: 404 }), 404);
    assert.equal(statusCodeOf(new Error('ECONNREFUSED')), undefined);
  });
});
