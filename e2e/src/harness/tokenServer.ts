// A token server for docker-registry's `auth: token` (distribution's token authentication specification):
// it checks a client's Basic credentials, issues an ES256 JWT for the scopes asked for, signed by a key whose
// self-signed certificate the registry trusts (rootcertbundle; the certificate travels in the token's x5c
// header), and records every token request so that a test can count them.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { generatePrivateKey, issueCertificate } from '@kna/shared';
import type { TokenAuthConfig } from './registries.js';

export interface TokenRequest {
  /** The Basic username ('' for an anonymous request). */
  readonly username: string;
  readonly scopes: readonly string[];
}

export interface TokenServer {
  /** What docker-registry's `auth: token` needs (startTagSchemaRegistry's tokenAuth). */
  readonly auth: TokenAuthConfig;
  /** Every token request answered with a token, in order. */
  readonly requests: TokenRequest[];
  /** The expires_in of the tokens issued from now on (seconds; default 300). */
  expiresIn: number;
  close(): Promise<void>;
}

export interface TokenServerOptions {
  /** Where the signing certificate is written. */
  readonly dir: string;
  /** username → password of the accounts it knows. */
  readonly users: Readonly<Record<string, string>>;
}

const SERVICE = 'kna-test-registry';
const ISSUER = 'kna-test-token-server';

function base64url(value: Buffer | string): string {
  return Buffer.from(value).toString('base64url');
}

function jwt(key: KeyObject, certDer: Buffer, claims: object): string {
  const header = base64url(JSON.stringify({ typ: 'JWT', alg: 'ES256', x5c: [certDer.toString('base64')] }));
  const payload = base64url(JSON.stringify(claims));
  // JWS ES256: the raw r||s signature, not DER.
  const signature = sign('sha256', Buffer.from(`${header}.${payload}`), { key, dsaEncoding: 'ieee-p1363' });
  return `${header}.${payload}.${base64url(signature)}`;
}

/** `repository:<name>:<actions>` → the registry's access claim. */
function accessOf(scope: string): { type: string; name: string; actions: string[] } | undefined {
  const parts = scope.split(':');
  if (parts.length < 3) return undefined;
  const actions = parts.pop() ?? '';
  const type = parts.shift() ?? '';
  return { type, name: parts.join(':'), actions: actions.split(',') };
}

export async function startTokenServer(options: TokenServerOptions): Promise<TokenServer> {
  const key = await generatePrivateKey('ecdsa-p256');
  const now = Date.now();
  const certPem = await issueCertificate({
    subject: 'CN=kna test token signer',
    key,
    notBefore: new Date(now - 86_400_000),
    notAfter: new Date(now + 86_400_000),
    keyUsages: ['digitalSignature'],
  });
  const rootCertBundle = join(options.dir, `token-signer-${randomUUID().slice(0, 8)}.pem`);
  writeFileSync(rootCertBundle, certPem);
  const certDer = Buffer.from(new X509Certificate(certPem).raw);
  const requests: TokenRequest[] = [];

  const answer = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://token');
    const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    let username = '';
    if (basic !== undefined) {
      const decoded = Buffer.from(basic, 'base64').toString();
      const colon = decoded.indexOf(':');
      username = decoded.slice(0, colon);
      if (colon < 0 || options.users[username] !== decoded.slice(colon + 1)) {
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
        return;
      }
    }
    const scopes = url.searchParams.getAll('scope');
    requests.push({ username, scopes });
    const issuedAt = Math.floor(Date.now() / 1000);
    const token = jwt(key, certDer, {
      iss: ISSUER,
      sub: username,
      aud: url.searchParams.get('service') ?? SERVICE,
      exp: issuedAt + server.expiresIn,
      nbf: issuedAt - 10,
      iat: issuedAt,
      jti: randomUUID(),
      access: scopes.map(accessOf).filter((a) => a !== undefined),
    });
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ token, access_token: token, expires_in: server.expiresIn, issued_at: new Date(issuedAt * 1000).toISOString() }));
  };
  const http = createServer((req, res) => {
    if (req.method !== 'GET' || !req.url?.startsWith('/token')) {
      res.writeHead(404).end();
      return;
    }
    answer(req, res);
  });
  await new Promise<void>((listening) => http.listen(0, '127.0.0.1', listening));
  const { port } = http.address() as AddressInfo;
  const server: TokenServer = {
    auth: { realm: `http://127.0.0.1:${port}/token`, service: SERVICE, issuer: ISSUER, rootCertBundle },
    requests,
    expiresIn: 300,
    close: () =>
      new Promise<void>((closed) => {
        http.closeAllConnections();
        http.close(() => closed());
      }),
  };
  return server;
}
