import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startDeadline } from './deadline.js';

describe('startDeadline', () => {
  it('aborts with a TimeoutError when its time is up, and says it expired', async () => {
    const d = startDeadline(20);
    // The budget's timer does not keep the process alive by itself (unref), so hold the loop open here.
    const hold = setTimeout(() => undefined, 1_000);
    await new Promise((r) => d.signal.addEventListener('abort', r, { once: true }));
    clearTimeout(hold);
    assert.equal(d.expired, true);
    assert.equal((d.signal.reason as DOMException).name, 'TimeoutError');
  });

  it('follows its parent, aborted before or after, without counting as expired', () => {
    const early = new AbortController();
    early.abort(new Error('gone'));
    const a = startDeadline(10_000, early.signal);
    assert.equal(a.signal.aborted, true);
    assert.equal((a.signal.reason as Error).message, 'gone');
    const later = new AbortController();
    const b = startDeadline(10_000, later.signal);
    later.abort(new Error('deadline'));
    assert.equal((b.signal.reason as Error).message, 'deadline');
    assert.equal(b.expired, false);
    a.clear();
    b.clear();
  });

  it('stops its timer and leaves the parent alone once cleared', async () => {
    const parent = new AbortController();
    const d = startDeadline(20, parent.signal);
    d.clear();
    parent.abort();
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(d.signal.aborted, false);
    assert.equal(d.expired, false);
  });

  it('can be aborted by hand', () => {
    const d = startDeadline(10_000);
    d.abort(new Error('client closed the connection'));
    assert.equal((d.signal.reason as Error).message, 'client closed the connection');
    d.clear();
  });
});
