// The request listener with the pipeline's edges replaced (no registry, no notation): status codes,
// messages for bad input, authentication, and a property test that no body can hurt the server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { connect, type AddressInfo } from 'node:net';
import fc from 'fast-check';
import { setTimeout as sleep } from 'node:timers/promises';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import { KnaError, Outcome } from '@kna/shared/errors';
import { BundleStore, type LoadedBundle } from '../bundle/store.js';
import { VerdictCache } from '../cache/verdicts.js';
import { SignatureCheck } from '../signature/check.js';
import { RequestAuthenticator, type TokenReviewer } from '../auth/tokenReview.js';
import { FailureKind, VerifyOutcome } from '../notation/classify.js';
import type { VerifyRequest, VerifyResult } from '../notation/engine.js';
import { buildServer } from './server.js';
import { isMeasuredPressure, type PressureLimits } from './loadShedding.js';
import { skipPolicyBundle } from '../../testkit/standins.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const workDir = mkdtempSync(join(tmpdir(), 'server-test-'));
const store = new BundleStore({ workDir });
store.install(skipPolicyBundle('tp'), 'test');

let resolutions = 0;

/** notation stand-in: images whose repository contains "unsigned" are denied, "down" cannot be verified. */
/** Every request the stand-in notation was asked to verify. */
const notationRequests: VerifyRequest[] = [];

function fakeNotation(request: VerifyRequest): Promise<VerifyResult> {
  notationRequests.push(request);
  const base = { warnings: [], durationMs: 1, exitCode: 0, stderr: '' };
  if (request.reference.includes('unsigned'))
    return Promise.resolve({ ...base, outcome: VerifyOutcome.Denied, kind: FailureKind.Unsigned, reason: 'no notation signature found' });
  if (request.reference.includes('down'))
    return Promise.resolve({ ...base, outcome: VerifyOutcome.CouldNotVerify, kind: FailureKind.Infrastructure, reason: 'registry unavailable' });
  return Promise.resolve({ ...base, outcome: VerifyOutcome.Verified, kind: FailureKind.None, reason: 'signature verified' });
}

interface ServerTestOptions {
  authenticator?: RequestAuthenticator;
  maxRequestBytes?: number;
  requestTimeoutMs?: number;
  pressure?: PressureLimits;
  logger?: Logger;
  bundle?: () => LoadedBundle | undefined;
}

async function server(options: ServerTestOptions = {}): Promise<FastifyInstance> {
  return buildServer({
    pipeline: {
      bundle: options.bundle ?? (() => store.current),
      // A digest per repository, so outcomes of different stand-in images do not share cache entries.
      resolver: {
        resolveDigest: (ref) => {
          resolutions++;
          if (ref.repository === 'team/missing')
            return Promise.reject(new KnaError('KNA_ERR_REGISTRY_NOT_FOUND', Outcome.Denied, 'reg.example.com/team/missing:v1 does not exist (HTTP 404)'));
          if (ref.repository === 'team/unreachable')
            return Promise.reject(new KnaError('KNA_ERR_REGISTRY_UNREACHABLE', Outcome.CouldNotVerify, 'connection refused'));
          if (ref.repository === 'team/broken') return Promise.reject(new TypeError('something nobody classified'));
          return Promise.resolve({
            digest: ref.repository === 'team/app' ? DIGEST : `sha256:${createHash('sha256').update(ref.repository).digest('hex')}`,
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            size: 1024,
          });
        },
      },
      signatures: new SignatureCheck({
        notation: { verify: fakeNotation },
        cache: new VerdictCache({ enabled: true, maxEntries: 100, ttlSeconds: 60, negativeTtlSeconds: 1 }),
      }),
    },
    ...(options.authenticator && { authenticator: options.authenticator }),
    answer: { onInfraError: 'deny' },
    requestTimeoutMs: options.requestTimeoutMs ?? 5_000,
    maxRequestBytes: options.maxRequestBytes ?? 65_536,
    // No load shedding unless a test is about it: a busy machine must not change these answers.
    ...(options.pressure && { pressure: options.pressure }),
    logger: options.logger ?? pino({ level: 'silent' }),
  });
}

const image = (path: string, extra: Record<string, unknown> = {}) => ({
  registry: 'reg.example.com',
  path,
  tag: 'v1',
  jsonPointer: '/spec/containers/0/image',
  ...extra,
});
const valid = { images: { containers: { app: image('team/app') } }, trustPolicy: 'tp' };

let app: FastifyInstance;
before(async () => {
  app = await server();
});
after(async () => {
  await app.close();
  rmSync(workDir, { recursive: true, force: true });
});

async function post(body: string, headers: Record<string, string> = {}, target = app) {
  const res = await target.inject({ method: 'POST', url: '/checkimages', payload: body, headers });
  return { status: res.statusCode, text: res.body, type: res.headers['content-type'] ?? '' };
}

describe('POST /checkimages input handling', () => {
  it('answers a valid request without a Content-Type, tolerating a trailing newline', async () => {
    const res = await post(`${JSON.stringify(valid)}\n`);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(JSON.parse(res.text), {
      verified: true,
      results: [{ op: 'replace', path: '/spec/containers/0/image', value: `reg.example.com/team/app@${DIGEST}` }],
    });
    assert.equal((await post(JSON.stringify(valid), { 'content-type': 'text/plain' })).status, 200);
  });

  it('resolves tags once per image, and does not resolve images pinned by digest', async () => {
    const before = resolutions;
    const pinned = image('team/app', { digest: DIGEST });
    const res = await post(JSON.stringify({ ...valid, images: { containers: { a: pinned, b: pinned, c: image('team/other') } } }));
    assert.equal(res.status, 200, res.text);
    assert.equal(resolutions - before, 1, 'only the tagged image was resolved');
    assert.equal((JSON.parse(res.text) as { results: { value: string }[] }).results[0]?.value, `reg.example.com/team/app@${DIGEST}`);
  });

  it("hands notation the manifest a tag's resolution described; an image pinned by digest is described by nobody", async () => {
    const res = await post(
      JSON.stringify({ ...valid, images: { containers: { a: image('team/described'), b: image('team/pinned-described', { digest: DIGEST }) } } }),
    );
    assert.equal(res.status, 200, res.text);
    const asked = (repository: string) => notationRequests.find((r) => r.reference.startsWith(`reg.example.com/${repository}@`));
    assert.deepEqual(asked('team/described')?.manifest, { mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1024 });
    assert.ok(asked('team/pinned-described'), 'the pinned image was verified');
    assert.equal(asked('team/pinned-described')?.manifest, undefined);
  });

  it('ignores unknown keys and the metadata field (never trusted)', async () => {
    const res = await post(
      JSON.stringify({
        ...valid,
        namespace: 'x',
        metadata: JSON.stringify({ 'reg.example.com/team/unsigned:v1': true }),
        images: { containers: { app: image('team/unsigned', { extra: 1 }) } },
      }),
    );
    assert.equal(res.status, 406, 'metadata cannot mark an image verified');
  });

  const cases: [string, string, RegExp][] = [
    ['malformed JSON', '{"images": {', /^invalid request: the body is not valid JSON: /],
    ['an empty body', '', /^invalid request: the body must be a JSON object/],
    ['a JSON array', '[]', /must be a JSON object/],
    [
      'a wrong type',
      JSON.stringify({ images: { containers: { app: image('team/app', { tag: 5 }) } } }),
      /^invalid request: \/images\/containers\/app\/tag must be string/,
    ],
    ['a missing images field', JSON.stringify({ trustPolicy: 'tp' }), /^invalid request: \(body\) must have required property 'images'/],
    ['no image at all', JSON.stringify({ images: { containers: {}, initContainers: {} }, trustPolicy: 'tp' }), /at least one image must be provided/],
    ['deep nesting', `{"images":${'['.repeat(5000)}${']'.repeat(5000)}}`, /more than 64 levels deep/],
    [
      'a repository with ../',
      JSON.stringify({ ...valid, images: { containers: { app: image('../etc/passwd') } } }),
      /^invalid request: \/images\/containers\/app: invalid image reference/,
    ],
    [
      'an upper-case repository',
      JSON.stringify({ ...valid, images: { containers: { app: image('Team/App') } } }),
      /\/images\/containers\/app: invalid image reference/,
    ],
    ['a bad digest', JSON.stringify({ ...valid, images: { containers: { app: image('team/app', { digest: 'sha256:xyz' }) } } }), /invalid image reference/],
    ['imageReferences of the wrong type', JSON.stringify({ ...valid, imageReferences: 'x' }), /^invalid request: \/imageReferences must be array/],
    [
      'a condition without a key',
      JSON.stringify({ ...valid, attestations: [{ imageReference: '*', type: [{ name: 'sbom', conditions: { all: [{ operator: 'Equals', value: 1 }] } }] }] }),
      /must have required property 'key'/,
    ],
    ['an attestation without a name', JSON.stringify({ ...valid, attestations: [{ imageReference: '*', type: [{}] }] }), /must have required property 'name'/],
    ['an unknown mode', JSON.stringify({ ...valid, mode: 'yolo' }), /\/mode must be equal to one of the allowed values/],
    // A patch with path "" would replace the whole pod with an image string.
    [
      'a missing jsonPointer',
      JSON.stringify({ ...valid, images: { containers: { app: image('team/app', { jsonPointer: undefined }) } } }),
      /^invalid request: \/images\/containers\/app\/jsonPointer is required/,
    ],
    [
      'an empty jsonPointer',
      JSON.stringify({ ...valid, images: { containers: { app: image('team/app', { jsonPointer: '' }) } } }),
      /^invalid request: \/images\/containers\/app\/jsonPointer is required/,
    ],
    [
      'a relative jsonPointer',
      JSON.stringify({ ...valid, images: { containers: { app: image('team/app', { jsonPointer: 'spec' }) } } }),
      /\/jsonPointer must start with "\/"/,
    ],
    [
      'a bad escape in the jsonPointer',
      JSON.stringify({ ...valid, images: { containers: { app: image('team/app', { jsonPointer: '/a~2b' }) } } }),
      /\/jsonPointer has a "~"/,
    ],
    [
      'a port with leading zeros',
      JSON.stringify({ ...valid, images: { containers: { app: image('team/app', { registry: 'localhost:046397' }) } } }),
      /^invalid request: \/images\/containers\/app\/registry the port "046397" has a leading zero/,
    ],
    [
      'a port out of range',
      JSON.stringify({ ...valid, images: { containers: { app: image('team/app', { registry: 'reg.example.com:70000' }) } } }),
      /\/registry the port "70000" is not between 1 and 65535/,
    ],
    [
      'user information in the registry',
      JSON.stringify({ ...valid, images: { containers: { app: image('team/app', { registry: 'user:pw@reg.example.com' }) } } }),
      /^invalid request: \/images\/containers\/app\/registry user information/,
    ],
    [
      'a bad registry of an image imageReferences leaves out',
      JSON.stringify({ ...valid, imageReferences: ['other/*'], images: { containers: { app: image('team/app', { registry: 'a@b' }) } } }),
      /\/registry user information/,
    ],
  ];
  for (const [what, body, message] of cases) {
    it(`rejects ${what} with 400 and says what is wrong`, async () => {
      const res = await post(body);
      assert.equal(res.status, 400, res.text);
      assert.match(String(res.type), /^text\/plain/);
      assert.match(res.text, message);
    });
  }

  it('answers 200 with a warning when imageReferences selects no image, as the original answered 200', async () => {
    for (const imageReferences of [[''], ['nothing.example.com/*']]) {
      const res = await post(JSON.stringify({ ...valid, imageReferences }));
      assert.equal(res.status, 200, res.text);
      const json = JSON.parse(res.text) as { results: unknown[]; warnings?: string[] };
      assert.deepEqual(json.results, []);
      assert.match(json.warnings?.[0] ?? '', /^imageReferences \[".*"\] selected none of the 1 image of the request, so nothing was verified/);
    }
    const selected = JSON.parse((await post(JSON.stringify({ ...valid, imageReferences: ['reg.example.com/*'] }))).text) as Record<string, unknown>;
    assert.equal(selected.warnings, undefined, 'no warning when an image is selected');
  });

  it('selects an image by its canonical registry: an upper-case host is the same registry', async () => {
    const res = await post(
      JSON.stringify({
        ...valid,
        imageReferences: ['reg.example.com/*'],
        images: { containers: { app: image('team/unsigned', { registry: 'REG.example.com' }) } },
      }),
    );
    assert.equal(res.status, 406, res.text);
  });

  it('cuts a body still arriving at the request budget (408), not several budgets later', async () => {
    const slow = await server({ requestTimeoutMs: 500 });
    await slow.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { port } = slow.server.address() as AddressInfo;
      const answer = await new Promise<string>((resolve, reject) => {
        let data = '';
        // The body trickles in (a space every 100 ms), so the socket is never idle: only the budget can cut it.
        let trickle: NodeJS.Timeout | undefined;
        const socket = connect(port, '127.0.0.1', () => {
          socket.write('POST /checkimages HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n{"images":');
          trickle = setInterval(() => socket.writable && socket.write(' '), 100);
        });
        socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
        socket.on('close', () => {
          clearInterval(trickle);
          resolve(data);
        });
        socket.on('error', reject);
        // A generous bound, not a timing assertion: before, a trickling body ran until Node's 5-minute default.
        setTimeout(() => {
          clearInterval(trickle);
          socket.destroy();
          reject(new Error(`the slow body was not cut within 20 s (got ${JSON.stringify(data)})`));
        }, 20_000).unref();
      });
      assert.match(answer, /^HTTP\/1\.1 408/);
    } finally {
      await slow.close();
    }
  });

  it('rejects a body above the limit with 413', async () => {
    const res = await post(JSON.stringify({ ...valid, pad: 'x'.repeat(70_000) }));
    assert.equal(res.status, 413);
    assert.match(res.text, /larger than 65536 bytes/);
  });

  it('answers 405 to other methods and 404 to other paths', async () => {
    const get = await app.inject({ method: 'GET', url: '/checkimages' });
    assert.equal(get.statusCode, 405);
    assert.equal(get.headers.allow, 'POST');
    assert.equal((await app.inject({ method: 'POST', url: '/other', payload: '{}' })).statusCode, 404);
  });

  it('names an unknown trust policy and a missing one', async () => {
    const unknown = await post(JSON.stringify({ ...valid, trustPolicy: 'nope' }));
    assert.equal(unknown.status, 400);
    assert.match(unknown.text, /no trust policy named "nope" is loaded \(loaded: "tp"\)/);
    const missing = await post(JSON.stringify({ images: valid.images }));
    assert.equal(missing.status, 400);
    assert.match(missing.text, /no trust policy specified/);
  });

  it('answers 503 with Retry-After when an image could not be verified, and 200 with a warning when allowed', async () => {
    const body = { ...valid, images: { containers: { app: image('team/down') } } };
    const res = await app.inject({ method: 'POST', url: '/checkimages', payload: JSON.stringify(body) });
    assert.equal(res.statusCode, 503);
    assert.equal(res.headers['retry-after'], '5');
    const allowed = await post(JSON.stringify({ ...body, onInfraError: 'allow' }));
    assert.equal(allowed.status, 200);
    const json = JSON.parse(allowed.text) as { results: unknown[]; warnings: string[] };
    assert.deepEqual(json.results, []);
    assert.match(json.warnings[0] ?? '', /^allowed by onInfraError=allow: container "app" image reg.example.com\/team\/down:v1/);
  });

  it('classifies failed tag resolutions: missing image denied with its hint, unreachable registry 503, unclassified errors denied', async () => {
    const ask = (path: string) => post(JSON.stringify({ ...valid, onInfraError: 'allow', images: { containers: { app: image(path) } } }));
    const missing = await ask('team/missing');
    assert.equal(missing.status, 406);
    assert.match(
      missing.text,
      /could not resolve the image to a digest: .*does not exist \(HTTP 404\); check the image reference; the registry does not have it/,
    );
    const broken = await ask('team/broken');
    assert.equal(broken.status, 406, 'an error nobody classified is never allowed');
    assert.match(broken.text, /something nobody classified/);
    const unreachable = await ask('team/unreachable');
    assert.equal(unreachable.status, 200, 'onInfraError=allow admits a registry that could not be reached');
    assert.match(unreachable.text, /allowed by onInfraError=allow: .*could not be verified: could not resolve the image to a digest: connection refused/);
  });

  it('never turns a denial into an allow', async () => {
    const body = { ...valid, onInfraError: 'allow', images: { containers: { a: image('team/down'), b: image('team/unsigned') } } };
    assert.equal((await post(JSON.stringify(body))).status, 406);
  });

  it('answers 200 with the verdict in audit mode', async () => {
    const res = await post(JSON.stringify({ ...valid, mode: 'audit', images: { containers: { app: image('team/unsigned') } } }));
    assert.equal(res.status, 200);
    const json = JSON.parse(res.text) as { verified: boolean; message: string; reports: { outcome: string }[] };
    assert.equal(json.verified, false);
    assert.match(json.message, /no notation signature found/);
    assert.equal(json.reports[0]?.outcome, 'denied');
  });

  it('stays healthy under thousands of generated bodies (property)', async () => {
    const imageInfo = fc.record(
      {
        registry: fc.oneof(fc.constant('reg.example.com'), fc.string()),
        path: fc.oneof(fc.constant('team/app'), fc.string()),
        tag: fc.oneof(fc.string(), fc.integer()),
        digest: fc.string(),
        jsonPointer: fc.string(),
      },
      { requiredKeys: [] },
    );
    const bodies = fc.oneof(
      fc.string(),
      fc.json({ depthSize: 'medium' }),
      fc
        .record(
          {
            images: fc.oneof(fc.anything(), fc.record({ containers: fc.dictionary(fc.string({ maxLength: 20 }), imageInfo, { maxKeys: 4 }) })),
            trustPolicy: fc.oneof(fc.constant('tp'), fc.anything()),
            imageReferences: fc.anything(),
            attestations: fc.anything(),
            mode: fc.anything(),
          },
          { requiredKeys: [] },
        )
        .map((v) => JSON.stringify(v)),
    );
    await fc.assert(
      fc.asyncProperty(bodies, async (body) => {
        const res = await post(body);
        assert.ok([200, 400, 406, 413, 503].includes(res.status), `status ${res.status} for ${body.slice(0, 200)}: ${res.text}`);
        if (res.status !== 200) assert.match(String(res.type), /^text\/plain/);
      }),
      { numRuns: 3000 },
    );
    assert.equal((await post(JSON.stringify(valid))).status, 200, 'still answers a valid request');
  });
});

describe('authentication', () => {
  const reviews: string[] = [];
  const reviewer: TokenReviewer = {
    review(token) {
      reviews.push(token);
      if (token === 'explode') return Promise.reject(Object.assign(new Error('boom'), { code: 500 }));
      if (token === 'kyverno') return Promise.resolve({ authenticated: true, username: 'system:serviceaccount:kyverno:kyverno-admission-controller' });
      if (token === 'someone') return Promise.resolve({ authenticated: true, username: 'system:serviceaccount:default:someone' });
      return Promise.resolve({ authenticated: false });
    },
  };
  let secured: FastifyInstance;
  before(async () => {
    secured = await server({
      authenticator: new RequestAuthenticator({ reviewer, allowedUsers: ['system:serviceaccount:kyverno:kyverno-admission-controller'], audiences: [] }),
    });
  });
  after(() => secured.close());

  it('401 without a token, with a non-bearer header, and with a token TokenReview rejects', async () => {
    for (const headers of [{}, { authorization: 'Basic abc' }, { authorization: 'Bearer forged' }]) {
      const res = await post(JSON.stringify(valid), headers, secured);
      assert.equal(res.status, 401, JSON.stringify(headers));
    }
  });

  it('403 for an authenticated user that is not allowed, naming it', async () => {
    const res = await post(JSON.stringify(valid), { authorization: 'Bearer someone' }, secured);
    assert.equal(res.status, 403);
    assert.match(res.text, /"system:serviceaccount:default:someone" is not allowed/);
  });

  it('200 for an allowed user, reviewing a token once while it is cached', async () => {
    reviews.length = 0;
    for (let i = 0; i < 3; i++) assert.equal((await post(JSON.stringify(valid), { authorization: 'Bearer kyverno' }, secured)).status, 200);
    assert.deepEqual(reviews, ['kyverno']);
  });

  it('503 when TokenReview itself fails, and the body of an unauthenticated call is never read', async () => {
    const res = await post(JSON.stringify(valid), { authorization: 'Bearer explode' }, secured);
    assert.equal(res.status, 503);
    assert.match(res.text, /could not review the bearer token/);
    assert.equal((await post('{not json', {}, secured)).status, 401);
  });

  it('classifies coded errors by outcome: the status, the message as the body, Retry-After only on 503', async () => {
    const cases = [
      { outcome: Outcome.BadRequest, status: 400 },
      { outcome: Outcome.Denied, status: 406 },
      { outcome: Outcome.CouldNotVerify, status: 503 },
      { outcome: Outcome.Configuration, status: 500 },
      { outcome: Outcome.Internal, status: 500 },
    ];
    for (const { outcome, status } of cases) {
      const failing = await server({
        bundle: () => {
          throw new KnaError('VERIFIER_ERR_TEST', outcome, `coded ${outcome}`);
        },
      });
      try {
        const res = await failing.inject({ method: 'POST', url: '/checkimages', payload: JSON.stringify(valid) });
        assert.equal(res.statusCode, status, outcome);
        assert.equal(res.body, `coded ${outcome}\n`);
        assert.equal(res.headers['retry-after'], status === 503 ? '5' : undefined, outcome);
      } finally {
        await failing.close();
      }
    }
  });
});

/** A pino logger whose lines land in `lines`. */
function capturingLogger(lines: Record<string, unknown>[]): Logger {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return pino({ level: 'info' }, sink);
}

describe('load shedding', () => {
  it('answers 503 with Retry-After and the limit that was crossed, and logs it', async () => {
    const lines: Record<string, unknown>[] = [];
    // A heap limit of one byte is crossed from the first sample on, whatever the machine is doing.
    const shedding = await server({
      pressure: { maxEventLoopDelayMs: 0, maxEventLoopUtilization: 0, maxHeapUsedBytes: 1, sampleIntervalMs: 10 },
      logger: capturingLogger(lines),
    });
    try {
      // under-pressure has no reading before its first sample: poll (bounded) until it has one.
      let res = await shedding.inject({ method: 'POST', url: '/checkimages', payload: JSON.stringify(valid) });
      for (let i = 0; res.statusCode !== 503 && i < 600; i++) {
        assert.equal(res.statusCode, 200, res.body);
        await sleep(50);
        res = await shedding.inject({ method: 'POST', url: '/checkimages', payload: JSON.stringify(valid) });
      }
      assert.equal(res.statusCode, 503, 'the server sheds once under-pressure has sampled the heap');
      assert.equal(res.headers['retry-after'], '5');
      assert.match(String(res.headers['content-type']), /^text\/plain/);
      assert.match(res.body, /^the verifier is overloaded \(heap in use \d+ bytes is above --maxHeapUsedBytes=1\); retry shortly\n$/);
      const logged = lines.find((l) => l.shed === 'heapUsedBytes');
      assert.ok(logged, 'the shed request is logged');
      assert.equal(logged.level, 40);
      assert.match(String(logged.msg), /--maxHeapUsedBytes=1/);
    } finally {
      await shedding.close();
    }
  });

  it('does not shed on an interval that held no sample (under-pressure reports Infinity): only a measured delay counts', async () => {
    assert.equal(isMeasuredPressure('eventLoopDelay', Number.POSITIVE_INFINITY), false);
    assert.equal(isMeasuredPressure('eventLoopDelay', undefined), false);
    assert.equal(isMeasuredPressure('eventLoopDelay', 4000), true);
    assert.equal(isMeasuredPressure('heapUsedBytes', Number.POSITIVE_INFINITY), true);
    // The real thing: the loop blocked for longer than the sample interval, again and again; a limit of a
    // minute is never really crossed, so every answer is the route's own.
    const limited = await server({ pressure: { maxEventLoopDelayMs: 60_000, maxEventLoopUtilization: 0, maxHeapUsedBytes: 0, sampleIntervalMs: 10 } });
    try {
      for (let round = 0; round < 20; round++) {
        const until = Date.now() + 150;
        while (Date.now() < until); // a synchronous block of the event loop
        await sleep(1);
        const res = await limited.inject({ method: 'POST', url: '/checkimages', payload: JSON.stringify(valid) });
        assert.equal(res.statusCode, 200, `round ${round}: ${res.body}`);
      }
    } finally {
      await limited.close();
    }
  });

  it('is not registered when every limit is 0', async () => {
    const off = await server({ pressure: { maxEventLoopDelayMs: 0, maxEventLoopUtilization: 0, maxHeapUsedBytes: 0 } });
    try {
      assert.equal(off.hasDecorator('isUnderPressure'), false);
    } finally {
      await off.close();
    }
  });
});

describe('the error handler', () => {
  it('answers an error nobody classified with 500 "internal error" naming the request id, and logs the detail under that id', async () => {
    const lines: Record<string, unknown>[] = [];
    const broken = await server({
      bundle: () => {
        throw new TypeError('the bundle exploded');
      },
      logger: capturingLogger(lines),
    });
    try {
      const res = await broken.inject({ method: 'POST', url: '/checkimages', payload: JSON.stringify(valid) });
      assert.equal(res.statusCode, 500);
      const id = /^internal error \(request (\S+); the verifier's log has the detail\)\n$/.exec(res.body)?.[1];
      assert.ok(id, res.body);
      assert.doesNotMatch(res.body, /exploded/, 'the detail stays in the log');
      const logged = lines.find((l) => l.msg === 'unexpected error');
      assert.ok(logged);
      assert.equal(logged.reqId, id);
      assert.match(JSON.stringify(logged.err), /the bundle exploded/);
    } finally {
      await broken.close();
    }
  });

  it('keeps the reason of a deliberate 5xx (a coded could-not-verify error)', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/checkimages',
      payload: JSON.stringify({ ...valid, images: { containers: { app: image('team/unreachable') } } }),
    });
    assert.equal(res.statusCode, 503);
    assert.equal(res.headers['retry-after'], '5');
    assert.match(res.body, /connection refused/);
    assert.doesNotMatch(res.body, /internal error/);
  });
});
