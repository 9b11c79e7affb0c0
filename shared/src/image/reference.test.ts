import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Outcome } from '../errors.js';
import {
  ERR_INVALID_IMAGE_REFERENCE,
  canonicalRegistry,
  canonicalScope,
  formatImageReference,
  imageReferenceString,
  isValidDigest,
  parseImageReference,
  pinnedReference,
  registryProblem,
  type ImageReference,
} from './reference.js';

const SHA256 = `sha256:${'a1'.repeat(32)}`;
const SHA512 = `sha512:${'0f'.repeat(64)}`;
const ECR = '111122223333.dkr.ecr.us-west-2.amazonaws.com';

describe('parseImageReference', () => {
  const table: [string, ImageReference][] = [
    ['busybox', { registry: 'docker.io', repository: 'library/busybox', name: 'docker.io/library/busybox', tag: 'latest' }],
    ['busybox:1.36', { registry: 'docker.io', repository: 'library/busybox', name: 'docker.io/library/busybox', tag: '1.36' }],
    ['library/busybox:1.28', { registry: 'docker.io', repository: 'library/busybox', name: 'docker.io/library/busybox', tag: '1.28' }],
    ['bitnami/redis', { registry: 'docker.io', repository: 'bitnami/redis', name: 'docker.io/bitnami/redis', tag: 'latest' }],
    ['index.docker.io/nginx', { registry: 'docker.io', repository: 'library/nginx', name: 'docker.io/library/nginx', tag: 'latest' }],
    ['docker.io/nginx@' + SHA256, { registry: 'docker.io', repository: 'library/nginx', name: 'docker.io/library/nginx', digest: SHA256 }],
    [`${ECR}/demo:v1`, { registry: ECR, repository: 'demo', name: `${ECR}/demo`, tag: 'v1' }],
    [`${ECR}/team/app:v1@${SHA512}`, { registry: ECR, repository: 'team/app', name: `${ECR}/team/app`, tag: 'v1', digest: SHA512 }],
    ['localhost:5000/net-monitor:v1', { registry: 'localhost:5000', repository: 'net-monitor', name: 'localhost:5000/net-monitor', tag: 'v1' }],
    ['localhost/app', { registry: 'localhost', repository: 'app', name: 'localhost/app', tag: 'latest' }],
    ['127.0.0.1:5000/a/b__c.d-e--f', { registry: '127.0.0.1:5000', repository: 'a/b__c.d-e--f', name: '127.0.0.1:5000/a/b__c.d-e--f', tag: 'latest' }],
    ['[::1]:5000/app:_x.Y-1', { registry: '[::1]:5000', repository: 'app', name: '[::1]:5000/app', tag: '_x.Y-1' }],
    // An uppercase first component can only be a registry (splitDockerDomain); host names are case-insensitive,
    // so the parsed registry is lower case, as trust-policy scopes, cache keys and the registry client see it.
    ['Registry/app', { registry: 'registry', repository: 'app', name: 'registry/app', tag: 'latest' }],
    ['LOCALHOST:5000/x/app:V1', { registry: 'localhost:5000', repository: 'x/app', name: 'localhost:5000/x/app', tag: 'V1' }],
    ['Docker.IO/nginx', { registry: 'docker.io', repository: 'library/nginx', name: 'docker.io/library/nginx', tag: 'latest' }],
    ['registry-1.docker.io/bitnami/redis', { registry: 'docker.io', repository: 'bitnami/redis', name: 'docker.io/bitnami/redis', tag: 'latest' }],
    // Default ports are kept: notation and Kyverno treat reg:443 and reg as two names.
    ['reg.example.com:443/app', { registry: 'reg.example.com:443', repository: 'app', name: 'reg.example.com:443/app', tag: 'latest' }],
    // "localhost:5000" alone is the Docker Hub repository "localhost" with tag "5000", as Docker reads it.
    ['localhost:5000', { registry: 'docker.io', repository: 'library/localhost', name: 'docker.io/library/localhost', tag: '5000' }],
  ];
  for (const [input, expected] of table) {
    it(`parses ${input}`, () => assert.deepEqual(parseImageReference(input), expected));
  }

  const rejected: [string, RegExp][] = [
    ['', /the reference is empty/],
    ['busy box', /whitespace or a control character \(U\+0020\) at position 4/],
    ['busybox\n', /U\+000A/],
    ['busybox\u0000:1', /U\+0000/],
    ['busybox\u202e', /U\+202E/],
    ['ghcr.io/app\u2028', /U\+2028/],
    ['https://ghcr.io/app', /no scheme/],
    ['ghcr.io/../app', /path component "\.\." is not allowed/],
    ['ghcr.io/./app', /path component "\." is not allowed/],
    ['ghcr.io//app', /empty path component/],
    ['ghcr.io/app/', /empty path component/],
    ['ghcr.io/', /empty path component/],
    ['ghcr.io/Org/app', /must be lowercase \("Org" → "org"\)/],
    ['MyApp', /must be lowercase/],
    ['ghcr.io/app*', /invalid path component "app\*"/],
    ['ghcr.io/-app', /invalid path component/],
    ['ghcr.io/a..b', /invalid path component/],
    ['ghcr.io/app:', /empty tag after ":"/],
    ['ghcr.io/app:.v1', /invalid tag "\.v1"/],
    [`ghcr.io/app:${'x'.repeat(129)}`, /invalid tag/],
    ['ghcr.io/app@', /empty digest/],
    ['ghcr.io/app@sha256:abc', /a sha256 digest is 64 lowercase hexadecimal characters, got "abc"/],
    [`ghcr.io/app@sha256:${'A1'.repeat(32)}`, /64 lowercase hexadecimal/],
    [`ghcr.io/app@md5:${'a'.repeat(32)}`, /unsupported digest algorithm "md5"/],
    [`ghcr.io/app@${'a'.repeat(64)}`, /has no algorithm/],
    [`ghcr.io/app@${SHA256}@${SHA256}`, /more than one "@"/],
    ['-bad.io:5000/app', /invalid registry host "-bad\.io:5000"/],
    ['bad_host.io/app', /invalid registry host/],
    ['host:port/app', /invalid registry host "host:port"/],
    [':5000/app', /invalid registry host ":5000"/],
    ['localhost:046397/app', /the port "046397" has a leading zero; write it as "46397"/],
    ['localhost:0/app', /the port "0" is not between 1 and 65535/],
    ['localhost:65536/app', /the port "65536" is not between 1 and 65535/],
    [':tag', /the repository name is empty/],
    ['a'.repeat(64).replace(/a/g, 'f'), /image ID/],
    [`ghcr.io/${'a'.repeat(250)}`, /longer than 255 characters/],
  ];
  for (const [input, message] of rejected) {
    it(`rejects ${JSON.stringify(input.length > 40 ? input.slice(0, 40) + '…' : input)}`, () => {
      assert.throws(
        () => parseImageReference(input),
        (err: unknown) => {
          assert.ok(err instanceof ERR_INVALID_IMAGE_REFERENCE);
          assert.equal(err.outcome, Outcome.BadRequest);
          assert.match(err.message, /^invalid image reference "/);
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }

  it('escapes control characters when it quotes the input', () => {
    assert.throws(
      () => parseImageReference('app\u001b[31m'),
      (err: unknown) => err instanceof Error && err.message.includes('"app\\u001b[31m"') && !err.message.includes('\u001b'),
    );
  });
});

// Generators for the distribution grammar (regexp.go), used to build valid references.
const alnum = fc.stringMatching(/^[a-z0-9]{1,6}$/);
const separator = fc.constantFrom('.', '_', '__', '-', '--');
const pathComponent = fc
  .tuple(alnum, fc.array(fc.tuple(separator, alnum), { maxLength: 2 }))
  .map(([head, tail]) => head + tail.map(([s, a]) => s + a).join(''));
const repository = fc.array(pathComponent, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('/'));
const host = fc.oneof(
  fc.array(fc.stringMatching(/^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,4}[a-zA-Z0-9])?$/), { minLength: 2, maxLength: 4 }).map((parts) => parts.join('.')),
  fc.constant('localhost'),
  fc.constant('[::1]'),
);
const registry = fc
  .tuple(host, fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }))
  .map(([h, port]) => (port === undefined ? h : `${h}:${port}`));
const tag = fc.stringMatching(/^[\w][\w.-]{0,20}$/);
const digest = fc.oneof(
  fc.stringMatching(/^[a-f0-9]{64}$/).map((hex) => `sha256:${hex}`),
  fc.stringMatching(/^[a-f0-9]{128}$/).map((hex) => `sha512:${hex}`),
);
const reference = fc
  .record({ registry, repository, tag: fc.option(tag, { nil: undefined }), digest: fc.option(digest, { nil: undefined }) })
  .filter((r) => `${r.registry}/${r.repository}`.length <= 255);

function text(r: { registry: string; repository: string; tag: string | undefined; digest: string | undefined }): string {
  return `${r.registry}/${r.repository}${r.tag === undefined ? '' : `:${r.tag}`}${r.digest === undefined ? '' : `@${r.digest}`}`;
}

describe('parseImageReference properties', () => {
  it('round trips fully qualified references', () => {
    fc.assert(
      fc.property(reference, (r) => {
        const parsed = parseImageReference(text(r));
        assert.equal(parsed.registry, canonicalRegistry(r.registry));
        assert.equal(parsed.digest, r.digest);
        assert.equal(parsed.tag, r.tag ?? (r.digest === undefined ? 'latest' : undefined));
        assert.equal(parsed.name, `${parsed.registry}/${parsed.repository}`);
        assert.deepEqual(parseImageReference(formatImageReference(parsed)), parsed);
      }),
    );
  });

  it('normalises Docker Hub short names', () => {
    fc.assert(
      fc.property(pathComponent, fc.option(tag, { nil: undefined }), (name, t) => {
        fc.pre(!/^[a-f0-9]{64}$/.test(name));
        const parsed = parseImageReference(t === undefined ? name : `${name}:${t}`);
        assert.equal(formatImageReference(parsed), `docker.io/library/${name}:${t ?? 'latest'}`);
      }),
    );
  });

  it('rejects any reference with an uppercase letter in the repository', () => {
    fc.assert(
      fc.property(reference, fc.nat(), fc.constantFrom('A', 'B', 'C', 'X', 'Y', 'Z'), (r, at, upper) => {
        const position = at % r.repository.length;
        const repo = r.repository.slice(0, position) + upper + r.repository.slice(position + 1);
        assert.throws(() => parseImageReference(text({ ...r, repository: repo })), ERR_INVALID_IMAGE_REFERENCE);
      }),
    );
  });

  it('rejects any reference containing a control character or whitespace', () => {
    fc.assert(
      fc.property(reference, fc.nat(), fc.constantFrom('\u0000', '\t', '\n', '\r', ' ', '\u007f', '\u0085', '\u2028', '\ufeff'), (r, at, bad) => {
        const valid = text(r);
        const position = at % (valid.length + 1);
        assert.throws(() => parseImageReference(valid.slice(0, position) + bad + valid.slice(position)), /control character/);
      }),
    );
  });

  it('rejects an empty or dot path component anywhere in the repository', () => {
    fc.assert(
      fc.property(reference, fc.nat(), fc.constantFrom('', '.', '..'), (r, at, bad) => {
        const parts = r.repository.split('/');
        parts.splice(at % (parts.length + 1), 0, bad);
        assert.throws(() => parseImageReference(text({ ...r, repository: parts.join('/') })), ERR_INVALID_IMAGE_REFERENCE);
      }),
    );
  });
});

describe('imageReferenceString (Kyverno ImageInfo.String())', () => {
  it('joins registry and path, then the digest or else the tag', () => {
    assert.equal(imageReferenceString({ registry: ECR, path: 'demo', tag: 'v1' }), `${ECR}/demo:v1`);
    assert.equal(imageReferenceString({ registry: ECR, path: 'demo', tag: 'v1', digest: SHA256 }), `${ECR}/demo@${SHA256}`);
    assert.equal(imageReferenceString({ registry: '', path: 'library/busybox', tag: '1.28' }), 'library/busybox:1.28');
    assert.equal(imageReferenceString({ registry: 'docker.io', path: 'library/busybox', digest: '', tag: 'latest' }), 'docker.io/library/busybox:latest');
    // Kyverno's own edge case: neither tag nor digest leaves a trailing ":".
    assert.equal(imageReferenceString({ registry: 'ghcr.io', path: 'app' }), 'ghcr.io/app:');
    assert.equal(imageReferenceString({ registry: 'ghcr.io', path: 'app', tag: undefined, digest: undefined }), 'ghcr.io/app:');
  });

  it('produces a string parseImageReference reads back to the same parts', () => {
    fc.assert(
      fc.property(reference, (r) => {
        const info = { registry: r.registry, path: r.repository, tag: r.tag ?? 'latest', digest: r.digest };
        const parsed = parseImageReference(imageReferenceString(info));
        assert.equal(parsed.repository, r.repository);
        assert.equal(parsed.digest, r.digest);
        assert.equal(parsed.tag, r.digest === undefined ? info.tag : undefined);
      }),
    );
  });
});

describe('pinnedReference', () => {
  it('is <registry>/<path>@<digest>, without the tag', () => {
    assert.equal(pinnedReference({ registry: ECR, path: 'demo' }, SHA256), `${ECR}/demo@${SHA256}`);
    assert.equal(pinnedReference({ registry: '', path: 'library/busybox' }, SHA512), `library/busybox@${SHA512}`);
  });

  it('refuses a value that is not a digest', () => {
    assert.throws(
      () => pinnedReference({ registry: ECR, path: 'demo' }, 'latest'),
      /invalid image reference ".*demo@latest": digest "latest" has no algorithm/,
    );
    assert.throws(() => pinnedReference({ registry: ECR, path: 'demo' }, 'sha256:00'), ERR_INVALID_IMAGE_REFERENCE);
  });
});

describe('isValidDigest', () => {
  it('accepts sha256/sha512 lowercase hex of the exact length only', () => {
    assert.ok(isValidDigest(SHA256));
    assert.ok(isValidDigest(SHA512));
    assert.ok(!isValidDigest(SHA256.toUpperCase()));
    assert.ok(!isValidDigest(`${SHA256}0`));
    assert.ok(!isValidDigest(`sha384:${'a'.repeat(96)}`));
  });
});

describe('registry canonical form', () => {
  it('lower-cases the host and folds Docker Hub, keeping ports', () => {
    assert.equal(canonicalRegistry('LOCALHOST:5000'), 'localhost:5000');
    assert.equal(canonicalRegistry('Index.Docker.IO'), 'docker.io');
    assert.equal(canonicalRegistry('reg.example.com:443'), 'reg.example.com:443');
    assert.equal(canonicalRegistry('[::1]:5000'), '[::1]:5000');
  });

  it('names what is wrong with a registry field', () => {
    assert.match(registryProblem('user:pw@reg.example.com') ?? '', /user information/);
    assert.ok(!(registryProblem('user:pw@reg.example.com') ?? '').includes('pw'), 'the password is not echoed');
    assert.match(registryProblem('https://reg.example.com') ?? '', /no scheme/);
    assert.match(registryProblem('reg.example.com/x') ?? '', /without a path/);
    assert.match(registryProblem('localhost:046397') ?? '', /leading zero/);
    assert.equal(registryProblem('localhost:5000'), undefined);
  });

  it('puts trust-policy scopes in the same form as parsed references', () => {
    assert.equal(canonicalScope('LOCALHOST:5000/x/app'), 'localhost:5000/x/app');
    assert.equal(canonicalScope('index.docker.io/nginx'), 'docker.io/library/nginx');
    assert.equal(canonicalScope('*'), '*');
    fc.assert(
      fc.property(
        fc.constantFrom('reg.example.com', 'REG.Example.com:5000', 'docker.io', 'Index.Docker.io', 'localhost'),
        fc.constantFrom('app', 'team/app'),
        (registry, repository) => {
          const parsed = parseImageReference(`${registry}/${repository}:v1`);
          assert.equal(canonicalScope(`${registry}/${repository}`), parsed.name);
        },
      ),
    );
  });
});
