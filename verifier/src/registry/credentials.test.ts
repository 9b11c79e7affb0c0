import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DockerConfig,
  DockerConfigError,
  chainCredentials,
  dockerConfigCredentials,
  dockerConfigFileCredentials,
  hostOfKey,
  type CredentialProvider,
} from './credentials.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('docker config credentials', () => {
  it('reads a dockerconfigjson Secret: auth, username/password, identitytoken, registrytoken', () => {
    const config = DockerConfig.parse(
      JSON.stringify({
        auths: {
          'https://index.docker.io/v1/': { auth: b64('hubuser:hub:pass') },
          'reg.example.com': { username: 'u', password: 'p' },
          'http://plain.example.com:5000/v2/': { username: 'ignored', password: 'ignored', auth: b64('a:b') },
          'acr.example.io': { username: '00000000-0000-0000-0000-000000000000', identitytoken: 'refresh-me' },
          'tok.example.io': { registrytoken: 'access' },
          'empty.example.io': {},
        },
      }),
    );
    // Docker Hub's v1 URL key answers for every name of Docker Hub; a colon in the password survives.
    for (const hub of ['docker.io', 'index.docker.io', 'registry-1.docker.io']) {
      assert.deepEqual(config.lookup(hub), { kind: 'basic', username: 'hubuser', password: 'hub:pass' });
    }
    assert.deepEqual(config.lookup('reg.example.com'), { kind: 'basic', username: 'u', password: 'p' });
    assert.deepEqual(config.lookup('plain.example.com:5000'), { kind: 'basic', username: 'a', password: 'b' }, '"auth" wins, as in docker and kubelet');
    assert.deepEqual(config.lookup('acr.example.io'), { kind: 'identityToken', token: 'refresh-me', username: '00000000-0000-0000-0000-000000000000' });
    assert.deepEqual(config.lookup('tok.example.io'), { kind: 'registryToken', token: 'access' });
    assert.equal(config.lookup('empty.example.io'), undefined);
    assert.equal(config.lookup('plain.example.com'), undefined, 'ports must match');
    assert.equal(config.lookup('unknown.example.com'), undefined);
    assert.deepEqual(config.hosts.sort(), ['acr.example.io', 'docker.io', 'plain.example.com:5000', 'reg.example.com', 'tok.example.io']);
  });

  it('reads the legacy dockercfg form and kubelet-style wildcard keys (exact entries win)', () => {
    const config = DockerConfig.parse({
      '*.example.com': { auth: b64('wild:1') },
      'exact.example.com': { auth: b64('exact:2') },
      '*.ports.example.com:5000': { auth: b64('port:3') },
    });
    assert.equal(config.lookup('a.example.com')?.kind, 'basic');
    assert.deepEqual(config.lookup('a.example.com'), { kind: 'basic', username: 'wild', password: '1' });
    assert.deepEqual(config.lookup('exact.example.com'), { kind: 'basic', username: 'exact', password: '2' });
    assert.equal(config.lookup('a.b.example.com'), undefined, '* matches one label');
    assert.equal(config.lookup('example.com'), undefined);
    assert.deepEqual(config.lookup('x.ports.example.com:5000'), { kind: 'basic', username: 'port', password: '3' });
    assert.equal(config.lookup('x.ports.example.com'), undefined);
  });

  it('normalises keys to hosts', () => {
    assert.equal(hostOfKey('https://index.docker.io/v1/'), 'docker.io');
    assert.equal(hostOfKey('REG.example.com:443'), 'reg.example.com:443');
    assert.equal(hostOfKey('reg.example.com/team/app'), 'reg.example.com');
    assert.equal(hostOfKey('[::1]:5000'), '[::1]:5000');
    assert.equal(hostOfKey('not a host'), undefined);
  });

  it('refuses a document that is not a docker config, without quoting the secret', () => {
    const secret = 'hunter2-password';
    assert.throws(
      () => DockerConfig.parse(`{"auths": {"r": {"password": "${secret}"`),
      (err: unknown) => {
        assert.ok(err instanceof DockerConfigError);
        assert.doesNotMatch(err.message, new RegExp(secret));
        return true;
      },
    );
    assert.throws(() => DockerConfig.parse('[]'), DockerConfigError);
    assert.throws(() => DockerConfig.parse({ auths: 'x' }), DockerConfigError);
    assert.throws(
      () => DockerConfig.parse({ auths: { r: { auth: b64('no-colon') } } }),
      (err: unknown) => {
        assert.ok(err instanceof DockerConfigError);
        assert.doesNotMatch(err.message, /no-colon/);
        return true;
      },
    );
  });
});

describe('provider chains', () => {
  it('asks providers in order and takes the first that has credentials', async () => {
    const asked: string[] = [];
    const provider =
      (name: string, has: string[]): CredentialProvider =>
      (host) => {
        asked.push(`${name}:${host}`);
        return Promise.resolve(has.includes(host) ? { kind: 'basic', username: name, password: 'x' } : undefined);
      };
    const chain = chainCredentials(provider('file', []), provider('secret-a', ['r1']), provider('secret-b', ['r1', 'r2']));
    assert.equal((await chain('r1'))?.kind, 'basic');
    assert.deepEqual(await chain('r1'), { kind: 'basic', username: 'secret-a', password: 'x' });
    assert.deepEqual(await chain('r2'), { kind: 'basic', username: 'secret-b', password: 'x' });
    assert.equal(await chain('r3'), undefined);
    assert.deepEqual(asked.slice(0, 2), ['file:r1', 'secret-a:r1']);
    const failing: CredentialProvider = () => Promise.reject(new Error('ECR down'));
    await assert.rejects(chainCredentials(failing, provider('late', ['r1']))('r1'), /ECR down/);
  });

  it('combines pull secrets in the order given', async () => {
    const a = DockerConfig.parse({ auths: { r: { auth: b64('a:1') } } });
    const b = DockerConfig.parse({ auths: { r: { auth: b64('b:2') }, s: { auth: b64('b:3') } } });
    const provider = dockerConfigCredentials(a, b);
    assert.deepEqual(await provider('r'), { kind: 'basic', username: 'a', password: '1' });
    assert.deepEqual(await provider('s'), { kind: 'basic', username: 'b', password: '3' });
  });
});

describe('the docker config file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kna-dockercfg-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is anonymous when missing, read when present, and read again when it changes', async () => {
    const path = join(dir, 'config.json');
    const provider = dockerConfigFileCredentials({ path });
    assert.equal(await provider('r'), undefined);
    writeFileSync(path, JSON.stringify({ auths: { r: { auth: b64('one:1') } } }));
    utimesSync(path, 1_000, 1_000);
    assert.deepEqual(await provider('r'), { kind: 'basic', username: 'one', password: '1' });
    writeFileSync(path, JSON.stringify({ auths: { r: { auth: b64('two:2') } } }));
    utimesSync(path, 2_000, 2_000);
    assert.deepEqual(await provider('r'), { kind: 'basic', username: 'two', password: '2' });
    writeFileSync(path, '{not json');
    utimesSync(path, 3_000, 3_000);
    await assert.rejects(provider('r'), DockerConfigError);
  });
});
