// Authentication flows against the in-process fake: bearer tokens (challenge, caching, sharing, renewal),
// Basic, OAuth2 refresh tokens, static registry tokens, and how refusals are classified.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Outcome } from '@kna/shared/errors';
import { parseTokenResponse } from './auth.js';
import { RegistryClient, type RegistryClientOptions } from './client.js';
import type { Credentials } from './credentials.js';
import {
  ERR_REGISTRY_AUTH_CHALLENGE,
  ERR_REGISTRY_CREDENTIALS_REJECTED,
  ERR_REGISTRY_CREDENTIALS_UNAVAILABLE,
  ERR_REGISTRY_FORBIDDEN,
  ERR_REGISTRY_NO_CREDENTIALS,
} from './errors.js';
import { systemClock } from './transport.js';
import { FakeRegistry, type FakeRegistryOptions } from '../../testkit/registry/fake-registry.js';
import { rejectsWith } from '../../testkit/registry/assertions.js';

const fakes: FakeRegistry[] = [];
async function fake(options: FakeRegistryOptions): Promise<FakeRegistry> {
  const registry = await FakeRegistry.start(options);
  fakes.push(registry);
  return registry;
}
after(async () => {
  await Promise.all(fakes.map((f) => f.close()));
});

const SECRET = 's3cr3t-P4ss';

function clientWith(credentials: Credentials | undefined, options: RegistryClientOptions = {}): RegistryClient {
  return new RegistryClient({ ...options, credentials: () => Promise.resolve(credentials) });
}

/** rejectsWith, and the message never carries the secret. */
async function rejectsWithoutSecret(promise: Promise<unknown>, errorClass: { code: string; outcome: string }): Promise<Error> {
  const err = await rejectsWith(promise, errorClass);
  assert.doesNotMatch(err.message, new RegExp(SECRET), 'credentials never appear in messages');
  return err;
}

function unauthorizedCount(registry: FakeRegistry, path: string): number {
  return registry.requestsTo(path).filter((r) => r.headers.authorization === undefined || !r.headers.authorization.startsWith('Bearer ')).length;
}

describe('bearer token flow', () => {
  it('answers the challenge, then reuses the token for the same scope and asks up front for a new scope', async () => {
    const registry = await fake({ auth: { kind: 'bearer' } });
    const a = registry.putImage('team/a', 'v1');
    registry.putImage('team/b', 'v1');
    const client = new RegistryClient();
    assert.equal((await client.resolveDigest({ registry: registry.host, repository: 'team/a', tag: 'v1' })).digest, a.digest);
    assert.equal(registry.tokenRequests, 1);
    const token = registry.requests.find((r) => r.path === '/token');
    assert.ok(token);
    assert.equal(token.query.get('service'), 'fake-registry');
    assert.deepEqual(token.query.getAll('scope'), ['repository:team/a:pull']);
    assert.equal(token.headers.authorization, undefined, 'anonymous token request');

    await client.getManifest({ registry: registry.host, repository: 'team/a' }, a.digest);
    assert.equal(registry.tokenRequests, 1, 'the token is cached for its scope');
    await client.resolveDigest({ registry: registry.host, repository: 'team/b', tag: 'v1' });
    assert.equal(registry.tokenRequests, 2, 'another repository needs another scope');
    assert.equal(unauthorizedCount(registry, '/v2/team/b/manifests/v1'), 0, 'the known realm is asked before the registry says 401');
  });

  it('sends basic credentials to the realm and accepts an olareg-style relative realm', async () => {
    const registry = await fake({ auth: { kind: 'bearer', username: 'robot', password: SECRET, realm: () => '/token' } });
    registry.putImage('app', 'v1');
    await clientWith({ kind: 'basic', username: 'robot', password: SECRET }).resolveDigest({ registry: registry.host, repository: 'app', tag: 'v1' });
    const token = registry.requests.find((r) => r.path === '/token');
    assert.ok(token);
    assert.equal(token.headers.authorization, `Basic ${Buffer.from(`robot:${SECRET}`).toString('base64')}`);
    assert.equal(token.query.get('account'), 'robot');
  });

  it('asks for the scope the challenge names, and still finds the token up front next time', async () => {
    const registry = await fake({ auth: { kind: 'bearer', scope: (repo) => `repository:${repo}:pull,push` } });
    const image = registry.putImage('app', 'v1');
    const client = new RegistryClient();
    await client.resolveDigest({ registry: registry.host, repository: 'app', tag: 'v1' });
    await client.getManifest({ registry: registry.host, repository: 'app' }, image.digest);
    assert.equal(registry.tokenRequests, 1);
    assert.deepEqual(registry.requests.find((r) => r.path === '/token')?.query.getAll('scope'), ['repository:app:pull,push']);
  });

  it('shares one token request among concurrent requests', async () => {
    const registry = await fake({ auth: { kind: 'bearer' } });
    const image = registry.putImage('app', 'v1');
    const client = new RegistryClient();
    const results = await Promise.all(Array.from({ length: 10 }, () => client.resolveDigest({ registry: registry.host, repository: 'app', tag: 'v1' })));
    assert.ok(results.every((r) => r.digest === image.digest));
    assert.equal(registry.tokenRequests, 1);
  });

  it('renews a token shortly before it expires, and once when the registry stops accepting it', async () => {
    const registry = await fake({ auth: { kind: 'bearer', ttlSeconds: 300 } });
    registry.putImage('app', 'v1');
    let now = 1_000_000;
    const client = new RegistryClient({ clock: { now: () => now, sleep: (ms, signal) => systemClock.sleep(ms, signal) } });
    const ref = { registry: registry.host, repository: 'app', tag: 'v1' };
    await client.resolveDigest(ref);
    now += 269_000; // 300 s minus the 30 s early renewal, minus one second
    await client.resolveDigest(ref);
    assert.equal(registry.tokenRequests, 1);
    now += 2_000;
    await client.resolveDigest(ref);
    assert.equal(registry.tokenRequests, 2, 'renewed before expiry');

    registry.tokens.clear(); // the registry forgets every token (restart, revocation)
    await client.resolveDigest(ref);
    assert.equal(registry.tokenRequests, 3, 'a refused cached token is replaced once');
  });

  it('caps a nonsensical expires_in and defaults a missing one (distribution token spec: 60 s)', () => {
    // olareg 0.2.2 sends nanoseconds (300 s → 3e11).
    assert.deepEqual(parseTokenResponse({ token: 't', expires_in: 300_000_000_000 }, 's', 3_600_000), { token: 't', ttlMs: 3_600_000 });
    assert.deepEqual(parseTokenResponse({ access_token: 'a' }, 's', 3_600_000), { token: 'a', ttlMs: 60_000 });
    assert.deepEqual(parseTokenResponse({ token: '', access_token: 'a', expires_in: -1 }, 's', 3_600_000), { token: 'a', ttlMs: 60_000 });
    assert.throws(() => parseTokenResponse({ expires_in: 5 }, 's', 1), /no token/);
    assert.throws(() => parseTokenResponse({ token: 'a\r\nX-Evil: 1' }, 's', 1), /cannot be sent in a header/);
  });

  it('exchanges an identity token (OAuth2 refresh token) with a POST grant', async () => {
    const registry = await fake({ auth: { kind: 'bearer', refreshToken: SECRET } });
    registry.putImage('app', 'v1');
    await clientWith({ kind: 'identityToken', token: SECRET, username: '<token>' }).resolveDigest({ registry: registry.host, repository: 'app', tag: 'v1' });
    const token = registry.requests.find((r) => r.path === '/token');
    assert.ok(token);
    assert.equal(token.method, 'POST');
    const form = new URLSearchParams(token.body);
    assert.equal(form.get('grant_type'), 'refresh_token');
    assert.equal(form.get('client_id'), 'kyverno-notation-aws');
    assert.equal(form.get('scope'), 'repository:app:pull');
    assert.equal(form.get('service'), 'fake-registry');
  });

  it('classifies refusals: no credentials, rejected credentials', async () => {
    const registry = await fake({ auth: { kind: 'bearer', username: 'robot', password: SECRET } });
    registry.putImage('app', 'v1');
    const ref = { registry: registry.host, repository: 'app', tag: 'v1' };
    const anonymous = await rejectsWithoutSecret(new RegistryClient().resolveDigest(ref), ERR_REGISTRY_NO_CREDENTIALS);
    assert.match(anonymous.message, /no credentials for 127\.0\.0\.1:\d+.*--imagePullSecrets/);
    const wrong = await rejectsWithoutSecret(
      clientWith({ kind: 'basic', username: 'robot', password: `${SECRET}-old` }).resolveDigest(ref),
      ERR_REGISTRY_CREDENTIALS_REJECTED,
    );
    assert.equal((wrong as Error & { outcome: string }).outcome, Outcome.CouldNotVerify);
    assert.match(wrong.message, /rejected the verifier's credentials .*HTTP 401 UNAUTHORIZED "bad credentials"/);
  });

  it('refuses to send credentials to a plain-HTTP realm on another host', async () => {
    const registry = await fake({ auth: { kind: 'bearer', realm: () => 'http://auth.example.com/token' } });
    registry.putImage('app', 'v1');
    const err = await rejectsWithoutSecret(
      clientWith({ kind: 'basic', username: 'u', password: SECRET }).resolveDigest({ registry: registry.host, repository: 'app', tag: 'v1' }),
      ERR_REGISTRY_AUTH_CHALLENGE,
    );
    assert.match(err.message, /token realm http:\/\/auth\.example\.com is not HTTPS/);
    assert.equal(registry.tokenRequests, 0);
  });
});

describe('basic auth and static tokens', () => {
  it('answers a Basic challenge, then sends the credentials up front', async () => {
    const registry = await fake({ auth: { kind: 'basic', username: 'u', password: SECRET } });
    const image = registry.putImage('app', 'v1');
    const client = clientWith({ kind: 'basic', username: 'u', password: SECRET });
    await client.resolveDigest({ registry: registry.host, repository: 'app', tag: 'v1' });
    await client.getManifest({ registry: registry.host, repository: 'app' }, image.digest);
    const sent = registry.requests.map((r) => r.headers.authorization !== undefined);
    assert.deepEqual(sent, [false, true, true]);
    await rejectsWithoutSecret(new RegistryClient().resolveDigest({ registry: registry.host, repository: 'app', tag: 'v1' }), ERR_REGISTRY_NO_CREDENTIALS);
    await rejectsWithoutSecret(
      clientWith({ kind: 'basic', username: 'u', password: 'nope' }).resolveDigest({ registry: registry.host, repository: 'app', tag: 'v1' }),
      ERR_REGISTRY_CREDENTIALS_REJECTED,
    );
  });

  it('sends a registry token as a bearer token, once', async () => {
    const registry = await fake({ auth: { kind: 'bearer' } });
    registry.putImage('app', 'v1');
    registry.tokens.add(SECRET);
    await clientWith({ kind: 'registryToken', token: SECRET }).resolveDigest({ registry: registry.host, repository: 'app', tag: 'v1' });
    assert.equal(registry.requests[0]?.headers.authorization, `Bearer ${SECRET}`);
    assert.equal(registry.tokenRequests, 0);
    registry.tokens.clear();
    await rejectsWithoutSecret(
      clientWith({ kind: 'registryToken', token: SECRET }).resolveDigest({ registry: registry.host, repository: 'app', tag: 'v1' }),
      ERR_REGISTRY_CREDENTIALS_REJECTED,
    );
  });

  it('maps 403 to forbidden and a failing credential source to credentials-unavailable', async () => {
    const registry = await fake({});
    registry.intercept((req, res) => {
      res
        .writeHead(403, { 'content-type': 'application/json' })
        .end(JSON.stringify({ errors: [{ code: 'DENIED', message: 'requested access to the resource is denied' }] }));
      return true;
    });
    await rejectsWithoutSecret(new RegistryClient().resolveDigest({ registry: registry.host, repository: 'app', tag: 'v1' }), ERR_REGISTRY_FORBIDDEN);
    const forbidden = await rejectsWithoutSecret(
      new RegistryClient().getManifest({ registry: registry.host, repository: 'app' }, `sha256:${'0'.repeat(64)}`),
      ERR_REGISTRY_FORBIDDEN,
    );
    assert.match(forbidden.message, /HTTP 403 DENIED "requested access to the resource is denied"/);
    const broken = new RegistryClient({ credentials: () => Promise.reject(new Error('ECR GetAuthorizationToken in us-west-2 failed: throttled')) });
    const err = await rejectsWithoutSecret(
      broken.resolveDigest({ registry: registry.host, repository: 'app', tag: 'v1' }),
      ERR_REGISTRY_CREDENTIALS_UNAVAILABLE,
    );
    assert.match(err.message, /cannot get registry credentials for 127\.0\.0\.1:\d+: ECR GetAuthorizationToken/);
  });

  it("hands out the credentials it uses, under Docker Hub's canonical name", async () => {
    const asked: string[] = [];
    const client = new RegistryClient({
      credentials: (host) => {
        asked.push(host);
        return Promise.resolve(undefined);
      },
    });
    await client.credentialsFor('index.docker.io');
    await client.credentialsFor('Registry-1.Docker.io');
    assert.deepEqual(asked, ['docker.io', 'docker.io']);
    assert.equal(client.usesPlainHttp('localhost:5000'), true);
    assert.equal(client.usesPlainHttp('docker.io'), false);
  });
});
