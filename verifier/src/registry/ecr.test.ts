import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EcrCredentialsError, ecrCredentials, parseEcrHost, sdkEcrTokenSource, type EcrRegistry, type EcrToken, type EcrTokenSource } from './ecr.js';

const token = (password: string) => Buffer.from(`AWS:${password}`).toString('base64');

describe('ECR registry hosts', () => {
  it('recognises every ECR endpoint form and nothing else', () => {
    const table: [string, EcrRegistry | undefined][] = [
      ['111122223333.dkr.ecr.us-west-2.amazonaws.com', { accountId: '111122223333', region: 'us-west-2', fips: false }],
      ['111122223333.dkr.ecr-fips.us-gov-west-1.amazonaws.com', { accountId: '111122223333', region: 'us-gov-west-1', fips: true }],
      ['111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn', { accountId: '111122223333', region: 'cn-north-1', fips: false }],
      ['111122223333.dkr-ecr.eu-central-1.on.aws', { accountId: '111122223333', region: 'eu-central-1', fips: false }],
      ['111122223333.dkr.ecr.us-iso-east-1.c2s.ic.gov', { accountId: '111122223333', region: 'us-iso-east-1', fips: false }],
      ['public.ecr.aws', undefined],
      ['11112222333.dkr.ecr.us-west-2.amazonaws.com', undefined],
      ['111122223333.dkr.ecr.us-west-2.amazonaws.com:443', undefined],
      ['111122223333.dkr.ecr.us-west-2.amazonaws.com.evil.example', undefined],
      ['evil.example/111122223333.dkr.ecr.us-west-2.amazonaws.com', undefined],
      ['111122223333.dkr.ecr..amazonaws.com', undefined],
      ['ghcr.io', undefined],
    ];
    for (const [host, expected] of table) assert.deepEqual(parseEcrHost(host), expected, host);
  });
});

class FakeSource implements EcrTokenSource {
  calls: EcrRegistry[] = [];
  next: () => Promise<EcrToken>;
  constructor(next: () => Promise<EcrToken>) {
    this.next = next;
  }
  getAuthorizationToken(registry: EcrRegistry): Promise<EcrToken> {
    this.calls.push(registry);
    return this.next();
  }
}

describe('ECR credentials', () => {
  const HOST = '111122223333.dkr.ecr.us-west-2.amazonaws.com';

  it('fetches one token per region for concurrent lookups and keeps it until shortly before it expires', async () => {
    let clock = 1_000_000;
    let n = 0;
    const source = new FakeSource(() => Promise.resolve({ authorizationToken: token(`pw${++n}`), expiresAt: new Date(clock + 12 * 3_600_000) }));
    const provider = ecrCredentials({ source, now: () => clock, refreshBeforeExpiryMs: 10 * 60_000 });
    const [a, b] = await Promise.all([provider(HOST), provider('999988887777.dkr.ecr.us-west-2.amazonaws.com')]);
    assert.deepEqual(a, { kind: 'basic', username: 'AWS', password: 'pw1' });
    assert.deepEqual(b, a, 'one token serves every account of the region');
    assert.equal(source.calls.length, 1);

    clock += 12 * 3_600_000 - 10 * 60_000 - 1;
    assert.deepEqual(await provider(HOST), a, 'still cached just before the refresh point');
    assert.equal(source.calls.length, 1);
    clock += 1;
    assert.deepEqual(await provider(HOST), { kind: 'basic', username: 'AWS', password: 'pw2' }, 'refreshed at the refresh point');
    assert.equal(source.calls.length, 2);

    await provider('111122223333.dkr.ecr-fips.us-west-2.amazonaws.com');
    assert.deepEqual(source.calls.at(-1), { accountId: '111122223333', region: 'us-west-2', fips: true }, 'FIPS endpoints get their own token');
    assert.equal(await provider('ghcr.io'), undefined);
    assert.equal(source.calls.length, 3);
  });

  it('does not cache failures, and says what IAM permission is needed without leaking anything', async () => {
    let fail = true;
    const source = new FakeSource(() =>
      fail
        ? Promise.reject(Object.assign(new Error('no identity-based policy allows the ecr:GetAuthorizationToken action'), { name: 'AccessDeniedException' }))
        : Promise.resolve({ authorizationToken: token('ok') }),
    );
    const provider = ecrCredentials({ source });
    await assert.rejects(provider(HOST), (err: unknown) => {
      assert.ok(err instanceof EcrCredentialsError);
      assert.match(err.message, /us-west-2.*AccessDeniedException.*ecr:GetAuthorizationToken/);
      return true;
    });
    fail = false;
    assert.deepEqual(await provider(HOST), { kind: 'basic', username: 'AWS', password: 'ok' });
    assert.equal(source.calls.length, 2);
  });

  it('keeps a token without expiry for the default TTL and rejects a malformed token', async () => {
    let clock = 0;
    const source = new FakeSource(() => Promise.resolve({ authorizationToken: token('x') }));
    const provider = ecrCredentials({ source, now: () => clock, defaultTtlMs: 60_000, refreshBeforeExpiryMs: 0 });
    await provider(HOST);
    clock = 59_999;
    await provider(HOST);
    assert.equal(source.calls.length, 1);
    clock = 60_000;
    await provider(HOST);
    assert.equal(source.calls.length, 2);
    const bad = ecrCredentials({ source: new FakeSource(() => Promise.resolve({ authorizationToken: Buffer.from('nocolon').toString('base64') })) });
    await assert.rejects(bad(HOST), EcrCredentialsError);
  });

  it('drives the real AWS SDK client against a local ECR endpoint (no AWS involved)', async () => {
    const seen: { target?: string; auth?: string; body: string }[] = [];
    const server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({
          body,
          ...(req.headers['x-amz-target'] && { target: String(req.headers['x-amz-target']) }),
          ...(req.headers.authorization && { auth: req.headers.authorization }),
        });
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({ authorizationData: [{ authorizationToken: token('from-sdk'), expiresAt: 4102444800, proxyEndpoint: `https://${HOST}` }] }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const source = sdkEcrTokenSource({
        clientConfig: {
          endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
        },
      });
      const got = await ecrCredentials({ source })(HOST);
      assert.deepEqual(got, { kind: 'basic', username: 'AWS', password: 'from-sdk' });
      const [call] = seen;
      assert.equal(seen.length, 1);
      assert.ok(call);
      assert.equal(call.target, 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken');
      assert.match(call.auth ?? '', /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-west-2\/ecr\/aws4_request/);
      assert.deepEqual(JSON.parse(call.body), {});
      const expiry = await source.getAuthorizationToken({ accountId: '111122223333', region: 'us-west-2', fips: false });
      assert.equal(expiry.expiresAt?.toISOString(), '2100-01-01T00:00:00.000Z');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
