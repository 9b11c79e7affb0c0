// Transport behaviour through the client: back-off on 429/5xx within the deadline, timeouts, the caller's
// abort, network failures, the per-registry concurrency cap, keep-alive and the observer.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { setImmediate as tick } from 'node:timers/promises';
import type { ServerResponse } from 'node:http';
import { Outcome } from '@kna/shared/errors';
import { RegistryClient } from './client.js';
import { ERR_REGISTRY_DEADLINE, ERR_REGISTRY_RATE_LIMITED, ERR_REGISTRY_TIMEOUT, ERR_REGISTRY_UNAVAILABLE, ERR_REGISTRY_UNREACHABLE } from './errors.js';
import { parseRetryAfter, type Clock, type RegistryObserver, type RegistryOperation } from './transport.js';
import { FakeRegistry } from '../../testkit/registry/fake-registry.js';
import { rejectsWith } from '../../testkit/registry/assertions.js';

const fakes: FakeRegistry[] = [];
async function fake(): Promise<FakeRegistry> {
  const registry = await FakeRegistry.start();
  fakes.push(registry);
  return registry;
}
after(async () => {
  await Promise.all(fakes.map((f) => f.close()));
});

/** A clock whose sleeps return at once and are recorded. */
function recordingClock(start = 1_000_000): Clock & { slept: number[]; time: number } {
  const clock = {
    slept: [] as number[],
    time: start,
    now: () => clock.time,
    sleep: (ms: number) => {
      clock.slept.push(ms);
      clock.time += ms;
      return Promise.resolve();
    },
  };
  return clock;
}

function observed(): { events: { host: string; operation: RegistryOperation; status: number }[]; observer: RegistryObserver } {
  const events: { host: string; operation: RegistryOperation; status: number }[] = [];
  return {
    events,
    observer: {
      onResponse: (host, operation, status, durationMs) => {
        assert.ok(durationMs >= 0);
        events.push({ host, operation, status });
      },
    },
  };
}

/** Answers the first `n` requests with `status` (and headers), then lets the registry answer. */
function failFirst(registry: FakeRegistry, n: number, status: number, headers: Record<string, string> = {}): void {
  let left = n;
  registry.intercept((req, res) => {
    if (left <= 0) return false;
    left--;
    res
      .writeHead(status, { 'content-type': 'application/json', ...headers })
      .end(JSON.stringify({ errors: [{ code: 'TOOMANYREQUESTS', message: 'slow down' }] }));
    return true;
  });
}

describe('back-off', () => {
  it('waits as long as Retry-After says and retries (429)', async () => {
    const registry = await fake();
    const image = registry.putImage('app', 'v1');
    failFirst(registry, 2, 429, { 'retry-after': '2' });
    const clock = recordingClock();
    const { events, observer } = observed();
    const client = new RegistryClient({ clock, observer });
    const got = await client.resolveDigest({ registry: registry.host, repository: 'app', tag: 'v1' });
    assert.equal(got.digest, image.digest);
    assert.deepEqual(clock.slept, [2000, 2000]);
    assert.deepEqual(
      events,
      [429, 429, 200].map((status) => ({ host: registry.host, operation: 'resolve', status })),
    );
  });

  it('gives up at once when Retry-After would pass the deadline, or is longer than it waits', async () => {
    const registry = await fake();
    registry.putImage('app', 'v1');
    failFirst(registry, 10, 429, { 'retry-after': '30' });
    const clock = recordingClock();
    const client = new RegistryClient({ clock, maxRetryDelayMs: 60_000 });
    const err = await rejectsWith(
      client.resolveDigest({ registry: registry.host, repository: 'app', tag: 'v1' }, { deadline: clock.time + 20_000 }),
      ERR_REGISTRY_RATE_LIMITED,
    );
    assert.match(err.message, /throttling the verifier \(HTTP 429\) and waiting 30000 ms more would pass the request deadline/);
    assert.deepEqual(clock.slept, []);
    assert.equal(registry.requests.length, 1);
    const impatient = new RegistryClient({ clock, maxRetryDelayMs: 5_000 });
    const err2 = await rejectsWith(impatient.resolveDigest({ registry: registry.host, repository: 'app', tag: 'v1' }), ERR_REGISTRY_RATE_LIMITED);
    assert.match(err2.message, /asked to wait 30 s, longer than the verifier waits/);
  });

  it('backs off exponentially on 503 without Retry-After, then reports the registry unavailable', async () => {
    const registry = await fake();
    failFirst(registry, 10, 503);
    const clock = recordingClock();
    const client = new RegistryClient({ clock, maxRetries: 3, retryBaseDelayMs: 100 });
    const err = await rejectsWith(client.resolveDigest({ registry: registry.host, repository: 'app', tag: 'v1' }), ERR_REGISTRY_UNAVAILABLE);
    assert.match(err.message, /HTTP 503.*still failing after 4 attempts/);
    assert.equal(registry.requests.length, 4);
    assert.equal(clock.slept.length, 3);
    clock.slept.forEach((ms, i) => {
      assert.ok(ms >= 50 * 2 ** i && ms <= 100 * 2 ** i, `delay ${i} = ${ms}`);
    });
  });

  it('does not retry a plain 500', async () => {
    const registry = await fake();
    failFirst(registry, 1, 500);
    await rejectsWith(
      new RegistryClient({ clock: recordingClock() }).resolveDigest({ registry: registry.host, repository: 'app', tag: 'v1' }),
      ERR_REGISTRY_UNAVAILABLE,
    );
    assert.equal(registry.requests.length, 1);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('7', now), 7000);
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now), 5000);
    assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(null, now), undefined);
  });
});

describe('timeouts, deadlines and network failures', () => {
  it('times out a registry that does not answer, and reports no status to the observer', async () => {
    const registry = await fake();
    registry.intercept(() => true); // never answers
    const { events, observer } = observed();
    const client = new RegistryClient({ requestTimeoutMs: 150, observer });
    const err = await rejectsWith(client.resolveDigest({ registry: registry.host, repository: 'app', tag: 'v1' }), ERR_REGISTRY_TIMEOUT);
    assert.match(err.message, new RegExp(`${registry.host} did not answer within 150 ms`));
    assert.deepEqual(events, [{ host: registry.host, operation: 'resolve', status: 0 }]);
  });

  it("stops at the caller's deadline, including while reading a body", async () => {
    const registry = await fake();
    registry.intercept(() => true);
    const controller = new AbortController();
    const pending = new RegistryClient().resolveDigest({ registry: registry.host, repository: 'app', tag: 'v1' }, { signal: controller.signal });
    controller.abort(new Error('deadline'));
    await rejectsWith(pending, ERR_REGISTRY_DEADLINE);

    const slow = await fake();
    const digest = `sha256:${'1'.repeat(64)}`;
    let open: ServerResponse | undefined;
    slow.intercept((req, res) => {
      res.writeHead(200, { 'content-length': 1000 });
      res.write('x'.repeat(10)); // then nothing
      open = res;
      return true;
    });
    const reading = new AbortController();
    const blob = new RegistryClient().getBlob({ registry: slow.host, repository: 'app' }, digest, { maxBytes: 2000, signal: reading.signal });
    while (!open) await tick();
    reading.abort(new Error('deadline'));
    await rejectsWith(blob, ERR_REGISTRY_DEADLINE);
  });

  it('reports a refused connection and a failed DNS lookup as unreachable', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise((resolve) => server.close(resolve));
    const client = new RegistryClient({ clock: recordingClock() });
    const refused = await rejectsWith(client.resolveDigest({ registry: `127.0.0.1:${port}`, repository: 'app', tag: 'v1' }), ERR_REGISTRY_UNREACHABLE);
    assert.match(refused.message, /cannot reach 127\.0\.0\.1:\d+: connection refused \(ECONNREFUSED\)/);
    const dns = await rejectsWith(client.resolveDigest({ registry: 'registry.invalid', repository: 'app', tag: 'v1' }), ERR_REGISTRY_UNREACHABLE);
    assert.match(dns.message, /DNS lookup failed \(E(NOTFOUND|AI_AGAIN)\)/);
    assert.equal((dns as Error & { outcome: string }).outcome, Outcome.CouldNotVerify);
  });
});

describe('connections', () => {
  it('holds at most maxConcurrentPerRegistry exchanges per registry, the rest wait in line', async () => {
    const registry = await fake();
    registry.putImage('app', 'v1');
    const held: ServerResponse[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    registry.intercept((req, res) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      res.on('close', () => inFlight--);
      held.push(res);
      return true;
    });
    const client = new RegistryClient({ maxConcurrentPerRegistry: 2 });
    const calls = Array.from({ length: 5 }, () => client.resolveDigest({ registry: registry.host, repository: 'app', tag: 'v1' }).catch((e: unknown) => e));
    while (held.length < 2 || client.load(registry.host).queued < 3) await tick();
    assert.equal(held.length, 2, 'the three others are queued in the client, not sent');
    assert.deepEqual(client.load(registry.host), { active: 2, queued: 3 });
    let answered = 0;
    while (answered < 5) {
      const res = held.shift();
      if (!res) {
        await tick();
        continue;
      }
      res.writeHead(404).end();
      answered++;
    }
    const outcomes = await Promise.all(calls);
    assert.equal(outcomes.length, 5);
    assert.equal(maxInFlight, 2);
    assert.deepEqual(client.load(registry.host), { active: 0, queued: 0 });
  });

  it('reuses connections (keep-alive) and survives an observer that throws', async () => {
    const registry = await fake();
    const image = registry.putImage('app', 'v1');
    const client = new RegistryClient({
      observer: {
        onResponse: () => {
          throw new Error('broken metrics');
        },
      },
    });
    for (let i = 0; i < 6; i++) await client.getManifest({ registry: registry.host, repository: 'app' }, image.digest);
    // undici may open a second connection while the first is being returned to its pool; never one per request.
    const sockets = new Set(registry.requests.map((r) => r.socket));
    assert.equal(registry.requests.length, 6);
    assert.ok(sockets.size <= 2, `${sockets.size} connections for 6 requests`);
  });

  it('resolves tags over kept-alive connections too (HEAD does not close them)', async () => {
    const registry = await fake();
    registry.putImage('app', 'v1');
    const client = new RegistryClient();
    for (let i = 0; i < 6; i++) await client.resolveDigest({ registry: registry.host, repository: 'app', tag: 'v1' });
    const heads = registry.requests.filter((r) => r.method === 'HEAD');
    assert.equal(heads.length, 6);
    const sockets = new Set(heads.map((r) => r.socket));
    assert.equal(sockets.size, 1, `${sockets.size} connections for 6 sequential HEAD requests`);
  });
});
