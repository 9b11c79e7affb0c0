import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TrustPolicyStatement } from '../crd/trust-policy.js';
import { parseTrustStoreReference, validateTrustPolicyDocument, type TrustPolicyDocumentInput } from './document.js';

const ARN = 'arn:aws:signer:us-west-2:844333597536:/signing-profiles/kyvernodemo';
const ECR = '844333597536.dkr.ecr.us-west-2.amazonaws.com';

function statement(overrides: Partial<TrustPolicyStatement> = {}): TrustPolicyStatement {
  return {
    name: 'aws-signer-tp',
    registryScopes: [`${ECR}/kyverno-demo`],
    signatureVerification: { level: 'strict' },
    trustStores: ['signingAuthority:aws-signer-ts'],
    trustedIdentities: [ARN],
    ...overrides,
  };
}

function doc(...statements: TrustPolicyStatement[]): TrustPolicyDocumentInput {
  return { version: '1.0', trustPolicies: statements };
}

/** "path: message" of each problem, for compact assertions. */
function problems(document: TrustPolicyDocumentInput, path?: string): string[] {
  return validateTrustPolicyDocument(document, path === undefined ? {} : { path }).map((p) => `${p.path}: ${p.message}`);
}

function reasons(document: TrustPolicyDocumentInput): string[] {
  return validateTrustPolicyDocument(document).map((p) => p.reason);
}

describe('validateTrustPolicyDocument: accepted documents', () => {
  it('accepts the AWS documentation policy, the original samples and skip statements', () => {
    assert.deepEqual(problems(doc(statement())), []);
    assert.deepEqual(problems(doc(statement({ signatureVerification: { level: 'strict', override: {} } }))), []);
    assert.deepEqual(
      problems(
        doc(
          statement({
            registryScopes: ['*'],
            signatureVerification: { level: 'permissive', override: { revocation: 'skip', expiry: 'log' }, verifyTimestamp: 'afterCertExpiry' },
          }),
          statement({
            name: 'skipped',
            registryScopes: [`${ECR}/public`, 'localhost:5000/net-monitor'],
            signatureVerification: { level: 'skip' },
            trustStores: [],
            trustedIdentities: [],
          }),
          {
            name: 'x509',
            registryScopes: ['registry.example.com/team/app_1.x--y__z'],
            signatureVerification: { level: 'audit', override: { authenticity: 'enforce' } },
            trustStores: ['ca:corp-roots', 'tsa:digicert.v1'],
            trustedIdentities: ['x509.subject: C=US, ST=WA, O=Example, CN=signer', 'x509.subject: C=US, S=CA, O=Other'],
          },
        ),
      ),
      [],
    );
  });

  it('accepts "*" identity with ca stores (only the AWS plugin rejects it)', () => {
    assert.deepEqual(problems(doc(statement({ trustStores: ['ca:corp'], trustedIdentities: ['*'] }))), []);
  });
});

describe('validateTrustPolicyDocument: notation rules', () => {
  it('version must be "1.0"', () => {
    assert.deepEqual(problems({ version: '', trustPolicies: [statement()] }), ['version: the version is required; set it to "1.0"']);
    assert.deepEqual(problems({ version: '1.1', trustPolicies: [statement()] }, 'spec'), [
      'spec.version: unsupported version "1.1"; notation supports only "1.0"',
    ]);
  });

  it('needs at least one statement, each named, names unique', () => {
    assert.deepEqual(problems(doc()), ['trustPolicies: at least one trust policy statement is required']);
    assert.deepEqual(problems(doc(statement({ name: '' }))), ['trustPolicies[0].name: every statement needs a name']);
    assert.deepEqual(problems(doc(statement(), statement({ registryScopes: ['*'] }))), [
      'trustPolicies[1].name: statement name "aws-signer-tp" is already used by trustPolicies[0]; statement names must be unique',
    ]);
  });

  it('registry scopes: "*" alone, one statement per scope, fully qualified repositories only', () => {
    assert.deepEqual(problems(doc(statement({ registryScopes: [] }))), [
      'trustPolicies[0].registryScopes: at least one registry scope is required: "*" or "<registry>/<repository>", e.g. "111122223333.dkr.ecr.us-west-2.amazonaws.com/my-app"',
    ]);
    assert.deepEqual(problems(doc(statement({ registryScopes: ['*', `${ECR}/a`] }))), [
      'trustPolicies[0].registryScopes: "*" must be the only registry scope of its statement; remove "*" or move the other scopes to another statement',
    ]);
    assert.deepEqual(problems(doc(statement({ registryScopes: ['*'] }), statement({ name: 'b', registryScopes: ['*'] }))), [
      'trustPolicies[1].registryScopes[0]: registry scope "*" is already used by trustPolicies[0].registryScopes[0]; a scope can belong to only one statement',
    ]);
    assert.deepEqual(problems(doc(statement({ registryScopes: [`${ECR}/a`, `${ECR}/a`] }))), [
      `trustPolicies[0].registryScopes[1]: registry scope "${ECR}/a" is already used by trustPolicies[0].registryScopes[0]; a scope can belong to only one statement`,
    ]);
    // One repository, two spellings: notation would be given one canonical scope twice.
    assert.deepEqual(problems(doc(statement({ registryScopes: ['localhost:5000/a'] }), statement({ name: 'b', registryScopes: ['LOCALHOST:5000/a'] }))), [
      'trustPolicies[1].registryScopes[0]: registry scope "LOCALHOST:5000/a" is already used by trustPolicies[0].registryScopes[0]; a scope can belong to only one statement',
    ]);
    const bad: [string, RegExp][] = [
      ['', /cannot be empty/],
      ['busybox', /must be fully qualified as "<registry>\/<repository>"/],
      [`https://${ECR}/a`, /remove the scheme/],
      [`${ECR}/*`, /wildcards are not supported inside a scope/],
      [`${ECR}/team/*`, /wildcards/],
      [`${ECR}/app:v1`, /remove the tag or digest/],
      [`${ECR}/app@sha256:${'a'.repeat(64)}`, /remove the tag or digest/],
      [`${ECR}/App`, /repository names are lowercase: ".*\/app"/],
      [`${ECR}/a//b`, /invalid repository "a\/\/b"/],
      [`${ECR}/../etc`, /invalid repository/],
      [`${ECR}/`, /invalid repository ""/],
      ['-host.io/app', /invalid registry "-host\.io"/],
      ['host.io:port/app', /invalid registry/],
      ['[::1]:5000/app', /invalid registry/],
    ];
    for (const [scope, message] of bad) {
      const found = validateTrustPolicyDocument(doc(statement({ registryScopes: [scope] })));
      assert.equal(found.length, 1, scope);
      const [problem] = found;
      assert.ok(problem);
      assert.equal(problem.path, 'trustPolicies[0].registryScopes[0]');
      assert.equal(problem.reason, 'InvalidRegistryScope');
      assert.match(problem.message, message, scope);
      assert.ok(problem.message.startsWith(`invalid registry scope ${JSON.stringify(scope)}: `));
    }
  });

  it('level and override rules', () => {
    const withVerification = (signatureVerification: object) =>
      problems(doc(statement({ signatureVerification: signatureVerification as TrustPolicyStatement['signatureVerification'] })));
    assert.deepEqual(withVerification({}), [
      'trustPolicies[0].signatureVerification.level: the verification level is required: one of "strict", "permissive", "audit", "skip"',
    ]);
    assert.deepEqual(withVerification({ level: 'lenient' }), [
      'trustPolicies[0].signatureVerification.level: invalid verification level "lenient"; use one of "strict", "permissive", "audit", "skip"',
    ]);
    assert.deepEqual(withVerification({ level: 'strict', override: { integrity: 'log', revokation: 'skip', expiry: 'skip', authenticity: 'warn' } }), [
      'trustPolicies[0].signatureVerification.override.integrity: integrity cannot be overridden: notation always enforces it; remove this key',
      'trustPolicies[0].signatureVerification.override.revokation: unknown validation type "revokation"; use one of "authenticity", "authenticTimestamp", "expiry", "revocation"',
      'trustPolicies[0].signatureVerification.override.expiry: expiry cannot be skipped, only revocation can; use "log" to record expiry failures without enforcing them',
      'trustPolicies[0].signatureVerification.override.authenticity: invalid action "warn"; use one of "enforce", "log", "skip"',
    ]);
    assert.deepEqual(withVerification({ level: 'strict', verifyTimestamp: 'sometimes' }), [
      'trustPolicies[0].signatureVerification.verifyTimestamp: invalid value "sometimes"; use one of "always", "afterCertExpiry" or leave it out',
    ]);
    assert.deepEqual(
      problems(doc(statement({ signatureVerification: { level: 'skip', override: { revocation: 'skip' } }, trustStores: [], trustedIdentities: [] }))),
      ['trustPolicies[0].signatureVerification.override: override cannot be used with level "skip" (nothing is verified); remove it or choose another level'],
    );
    // An empty override with skip is what the original samples write: fine.
    assert.deepEqual(problems(doc(statement({ signatureVerification: { level: 'skip', override: {} }, trustStores: [], trustedIdentities: [] }))), []);
  });

  it('skip excludes trust stores and identities; other levels require both', () => {
    assert.deepEqual(problems(doc(statement({ signatureVerification: { level: 'skip' } }))), [
      'trustPolicies[0]: level "skip" verifies nothing, so trustStores and trustedIdentities must be left out; remove them or choose another level',
    ]);
    const { trustStores: _s, trustedIdentities: _i, ...bare } = statement();
    assert.deepEqual(problems(doc(bare)), [
      'trustPolicies[0].trustStores: trust stores are required unless the level is "skip", e.g. ["signingAuthority:aws-signer-ts"]',
      'trustPolicies[0].trustedIdentities: trusted identities are required unless the level is "skip", e.g. the signing-profile ARNs you trust',
    ]);
  });

  it('trust store references are "<type>:<name>"', () => {
    assert.deepEqual(problems(doc(statement({ trustStores: ['aws-signer-ts', 'x509:aws', 'ca:bad/name', 'ca:', 'signingAuthority:ok.name_1-2'] }))), [
      'trustPolicies[0].trustStores[0]: invalid trust store "aws-signer-ts": must be "<type>:<trustStoreName>" with type ca, signingAuthority, tsa, e.g. "signingAuthority:aws-signer-ts"',
      'trustPolicies[0].trustStores[1]: invalid trust store "x509:aws": unsupported trust store type "x509"; use one of "ca", "signingAuthority", "tsa" (AWS Signer roots are "signingAuthority")',
      'trustPolicies[0].trustStores[2]: invalid trust store "ca:bad/name": invalid trust store name "bad/name"; names are letters, digits, "_", "." and "-"',
      'trustPolicies[0].trustStores[3]: invalid trust store "ca:": invalid trust store name ""; names are letters, digits, "_", "." and "-"',
    ]);
    assert.deepEqual(reasons(doc(statement({ trustStores: ['nope'] }))), ['InvalidTrustStoreReference']);
  });

  it('trusted identities: "*" alone, a "<kind>:" prefix, valid x509 subjects that do not overlap', () => {
    assert.deepEqual(problems(doc(statement({ trustStores: ['ca:corp'], trustedIdentities: ['*', 'x509.subject: C=US, ST=WA, O=A'] }))), [
      'trustPolicies[0].trustedIdentities: "*" must be the only trusted identity of its statement; remove "*" or the other identities',
    ]);
    assert.deepEqual(problems(doc(statement({ trustedIdentities: ['', 'kyvernodemo', 'x509.subject:', 'x509.subject: CN=x, O=y'] }))), [
      'trustPolicies[0].trustedIdentities[0]: a trusted identity cannot be empty',
      'trustPolicies[0].trustedIdentities[1]: missing the "<kind>:" separator; use an AWS Signer signing-profile ARN ("arn:aws:signer:…") or "x509.subject: C=…, ST=…, O=…"',
      'trustPolicies[0].trustedIdentities[2]: x509.subject needs a distinguished name, e.g. "x509.subject: C=US, ST=WA, O=Example"',
      'trustPolicies[0].trustedIdentities[3]: invalid x509.subject: missing C, ST: the subject must contain at least C, ST and O',
    ]);
    assert.deepEqual(
      problems(
        doc(
          statement({
            trustStores: ['ca:corp'],
            trustedIdentities: ['x509.subject: C=US, ST=WA, O=Example', 'x509.subject: C=US, ST=WA, O=Example, CN=build'],
          }),
        ),
      ),
      [
        'trustPolicies[0].trustedIdentities[1]: overlaps with "x509.subject: C=US, ST=WA, O=Example" (trustedIdentities[0]); one subject matches everything the other does, keep only one',
      ],
    );
    // Other prefixes are left to plugins by notation.
    assert.deepEqual(problems(doc(statement({ trustedIdentities: [ARN, `${ARN}/a1b2c3d4e5`, 'custom:anything'] }))), []);
  });
});

describe('validateTrustPolicyDocument: AWS Signer rules (this product)', () => {
  it('rejects "*" identity in a statement with signingAuthority stores', () => {
    const found = validateTrustPolicyDocument(doc(statement({ trustStores: ['ca:corp', 'signingAuthority:aws-signer-ts'], trustedIdentities: ['*'] })), {
      path: 'spec',
    });
    assert.deepEqual(
      found.map((p) => [p.path, p.reason]),
      [['spec.trustPolicies[0].trustedIdentities[0]', 'WildcardIdentityNotSupported']],
    );
    assert.match(found[0]?.message ?? '', /AWS Signer plugin rejects "\*".*signing-profiles/);
  });

  it('rejects ARNs that are not signing-profile ARNs (the plugin would ignore them)', () => {
    assert.deepEqual(
      problems(
        doc(statement({ trustedIdentities: ['arn:aws:iam::844333597536:role/signer', 'arn:aws:signer:us-west-2:844333597536:signing-profiles/x'] })),
      ).map((p) => p.replace(/:.*$/, '')),
      ['trustPolicies[0].trustedIdentities[0]', 'trustPolicies[0].trustedIdentities[1]'],
    );
    assert.deepEqual(problems(doc(statement({ trustedIdentities: ['arn:aws-us-gov:signer:us-gov-west-1:123456789012:/signing-profiles/gov_profile'] }))), []);
  });

  it('reports every problem at once', () => {
    assert.equal(
      validateTrustPolicyDocument({
        version: '2',
        trustPolicies: [statement({ name: '', registryScopes: ['bad'], trustStores: ['x'], trustedIdentities: ['y'] })],
      }).length,
      5,
    );
  });
});

describe('parseTrustStoreReference', () => {
  it('splits at the first colon', () => {
    assert.deepEqual(parseTrustStoreReference('signingAuthority:aws-signer-ts'), { ok: true, type: 'signingAuthority', name: 'aws-signer-ts' });
    assert.deepEqual(parseTrustStoreReference('tsa:a:b').ok, false);
  });
});
