import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { apiHostOf, canonicalRegistry, hostnameOf, repositoryUrl, usesPlainHttp } from './endpoint.js';

const HTTPS_ONLY = { insecureRegistries: [], allowInsecure: false } as const;

describe('registry endpoints', () => {
  it("folds Docker Hub's names into docker.io and reaches it at registry-1.docker.io", () => {
    for (const name of ['docker.io', 'index.docker.io', 'registry-1.docker.io', 'Docker.IO']) {
      assert.equal(canonicalRegistry(name), 'docker.io');
      assert.equal(apiHostOf(name), 'registry-1.docker.io');
    }
    assert.equal(apiHostOf('ghcr.io'), 'ghcr.io');
    assert.equal(apiHostOf('localhost:5000'), 'localhost:5000');
  });

  it('splits host and port, IPv6 included', () => {
    assert.equal(hostnameOf('reg.example.com:5000'), 'reg.example.com');
    assert.equal(hostnameOf('reg.example.com'), 'reg.example.com');
    assert.equal(hostnameOf('[::1]:5000'), '::1');
    assert.equal(hostnameOf('::1'), '::1');
  });

  it('uses HTTPS except for loopback registries, listed registries and --allowInsecureRegistry', () => {
    assert.equal(usesPlainHttp('ghcr.io', HTTPS_ONLY), false);
    assert.equal(usesPlainHttp('111122223333.dkr.ecr.us-west-2.amazonaws.com', HTTPS_ONLY), false);
    for (const loopback of ['localhost:5000', '127.0.0.1:5001', '[::1]:5000', 'localhost', 'LOCALHOST:1']) {
      assert.equal(usesPlainHttp(loopback, HTTPS_ONLY), true, loopback);
    }
    // A name that merely starts like a loopback name is not one.
    assert.equal(usesPlainHttp('localhost.example.com', HTTPS_ONLY), false);
    assert.equal(usesPlainHttp('127.0.0.1.nip.io', HTTPS_ONLY), false);

    const listed = { insecureRegistries: ['reg.internal:5000', 'lab.local', 'docker.io'], allowInsecure: false };
    assert.equal(usesPlainHttp('reg.internal:5000', listed), true);
    assert.equal(usesPlainHttp('reg.internal:5001', listed), false, 'a host:port entry covers that port only');
    assert.equal(usesPlainHttp('lab.local:8080', listed), true, 'a bare host covers every port');
    assert.equal(usesPlainHttp('registry-1.docker.io', listed), true, 'entries name registries as images do');
    assert.equal(usesPlainHttp('ghcr.io', { insecureRegistries: [], allowInsecure: true }), true);
  });

  it('builds the repository base URL on the API host', () => {
    assert.equal(repositoryUrl({ registry: 'docker.io', repository: 'library/nginx' }, HTTPS_ONLY).href, 'https://registry-1.docker.io/v2/library/nginx/');
    assert.equal(repositoryUrl({ registry: 'localhost:5000', repository: 'a/b' }, HTTPS_ONLY).href, 'http://localhost:5000/v2/a/b/');
  });
});
