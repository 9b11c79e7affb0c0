import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UncachedTurns } from './turns.js';

describe('UncachedTurns', () => {
  it('resumes the waiting stages in order, one per turn of the event loop', async () => {
    const turns = new UncachedTurns();
    const order: string[] = [];
    const stages = ['A', 'B', 'C'].map((name) => turns.next().then(() => order.push(name)));
    assert.equal(turns.waiting, 3);
    // Asked for after the three stages, in the same turn: it runs between the first and the second.
    setImmediate(() => order.push('X'));
    await Promise.all(stages);
    assert.deepEqual(order, ['A', 'X', 'B', 'C']);
    assert.equal(turns.waiting, 0);
  });

  it('lets a request that arrives during a burst of stages be answered before the burst is through', async () => {
    const turns = new UncachedTurns({ maxWaiting: 100_000 });
    let resumed = 0;
    let resumedWhenAnswered: number | undefined;
    const server = createServer((_req, res) => {
      resumedWhenAnswered = resumed;
      res.end('cached');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const answered = new Promise<string>((resolve, reject) => {
        request({ host: '127.0.0.1', port, path: '/' }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve(body));
        })
          .on('error', reject)
          .end();
      });
      const stages = Array.from({ length: 20_000 }, () => turns.next().then(() => resumed++));
      assert.equal(await answered, 'cached');
      await Promise.all(stages);
      assert.equal(resumed, 20_000);
      // Stages resumed all at once (without the turns) would all have run before the server read the request.
      assert.ok(resumedWhenAnswered !== undefined && resumedWhenAnswered < 20_000, `the request was answered after ${resumedWhenAnswered} stages`);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('is bounded: beyond maxWaiting a stage does not wait', async () => {
    const turns = new UncachedTurns({ maxWaiting: 2 });
    const order: string[] = [];
    const waited = [turns.next(), turns.next()].map((p, i) => p.then(() => order.push(`queued ${i}`)));
    const unbounded = turns.next().then(() => order.push('beyond the bound'));
    setImmediate(() => order.push('next turn'));
    await Promise.all([...waited, unbounded]);
    assert.equal(order[0], 'beyond the bound', 'resolved in this turn, before any queued one');
    assert.deepEqual(order.slice(1), ['queued 0', 'next turn', 'queued 1']);
  });
});
