import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson } from '../canonical/canonical.js';
import { Outcome } from '../errors.js';
import { OTHER_CA, ROOT_CA } from '../trust-policy/testdata.js';
import { ERR_INVALID_BUNDLE, bundleVersion, parseBundle, policyVersion, type Bundle } from './bundle.js';
import { renderBundle } from './render.js';

const ARN = 'arn:aws:signer:us-west-2:111122223333:/signing-profiles/demo';

function sample(): Bundle {
  const { bundle } = renderBundle({
    now: new Date('2030-01-01T00:00:00Z'),
    pluginConfig: { 'aws-region': 'us-west-2' },
    trustStores: [
      {
        apiVersion: 'notation.nirmata.io/v1alpha1',
        kind: 'TrustStore',
        metadata: { name: 'a' },
        spec: { trustStoreName: 'aws-signer-ts', type: 'signingAuthority', caBundle: ROOT_CA },
      },
      {
        apiVersion: 'notation.nirmata.io/v1alpha1',
        kind: 'TrustStore',
        metadata: { name: 'b' },
        spec: { trustStoreName: 'other', type: 'ca', caBundle: OTHER_CA },
      },
    ],
    trustPolicies: [
      {
        apiVersion: 'notation.nirmata.io/v1alpha1',
        kind: 'TrustPolicy',
        metadata: { name: 'p' },
        spec: {
          version: '1.0',
          trustPolicyName: 'tenant-a',
          trustPolicies: [
            {
              name: 's',
              registryScopes: ['*'],
              signatureVerification: { level: 'strict' },
              trustStores: ['signingAuthority:aws-signer-ts'],
              trustedIdentities: [ARN],
            },
          ],
        },
      },
    ],
  });
  return bundle;
}

// Rewrites a bundle and re-seals the versions, so only the defect under test remains.
function resealed(mutate: (bundle: Bundle) => void): string {
  const bundle = sample();
  mutate(bundle);
  for (const p of Object.values(bundle.trustPolicies)) p.version = policyVersion(p.document, bundle.trustStores, bundle.pluginConfig);
  bundle.version = bundleVersion(bundle);
  return canonicalJson(bundle);
}

function rejects(text: string, message: RegExp): void {
  assert.throws(
    () => parseBundle(text),
    (err: unknown) => {
      assert.ok(err instanceof ERR_INVALID_BUNDLE);
      assert.equal(err.outcome, Outcome.Configuration);
      assert.equal(err.code, 'KNA_ERR_INVALID_BUNDLE');
      assert.match(err.message, /^invalid bundle: /);
      assert.match(err.message, message);
      return true;
    },
  );
}

describe('parseBundle', () => {
  it('returns the bundle renderBundle wrote, whatever the formatting', () => {
    const bundle = sample();
    assert.deepEqual(parseBundle(canonicalJson(bundle)), bundle);
    assert.deepEqual(parseBundle(`${JSON.stringify(bundle, null, 2)}\n`), bundle);
  });

  it('refuses text that is not a bundle', () => {
    rejects('', /not JSON/);
    rejects('{"apiVersion":', /not JSON/);
    rejects('[]', /must be an object/);
    rejects(JSON.stringify({ ...sample(), apiVersion: 'v2' }), /apiVersion: must be one of "bundle\.notation\.nirmata\.io\/v1", got string "v2"/);
    rejects(JSON.stringify({ ...sample(), extra: true }), /extra: unknown field/);
    const { trustStores: _t, ...noStores } = sample();
    rejects(JSON.stringify(noStores), /trustStores: is required/);
  });

  it('refuses a bundle whose content no longer matches its versions', () => {
    const edited = sample();
    const store = edited.trustStores['signingAuthority:aws-signer-ts'];
    assert.ok(store);
    store.certificates = [OTHER_CA];
    rejects(JSON.stringify(edited), /trustPolicies\["tenant-a"\]\.version: does not match the policy content/);
    const plugin = sample();
    plugin.pluginConfig['aws-region'] = 'eu-west-1';
    rejects(JSON.stringify(plugin), /trustPolicies\["tenant-a"\]\.version: does not match/);
    const unused = sample();
    unused.trustStores['ca:other'] = { type: 'ca', name: 'other', certificates: [ROOT_CA] };
    rejects(JSON.stringify(unused), /^invalid bundle: version: does not match the bundle content/);
  });

  it('refuses inconsistent references, keys, certificates and documents even when the versions are resealed', () => {
    rejects(
      resealed((b) => {
        delete b.trustStores['signingAuthority:aws-signer-ts'];
      }),
      /trustPolicies\["tenant-a"\]\.document: references trust store "signingAuthority:aws-signer-ts", which the bundle does not contain/,
    );
    rejects(
      resealed((b) => {
        b.trustPolicies['tenant-a']!.trustStores = [];
      }),
      /trustPolicies\["tenant-a"\]\.trustStores: must list the stores the document references, sorted: \["signingAuthority:aws-signer-ts"\]/,
    );
    rejects(
      resealed((b) => {
        b.trustStores['ca:other']!.name = 'renamed';
      }),
      /trustStores\["ca:other"\]: key does not match "<type>:<name>" = "ca:renamed"/,
    );
    rejects(
      resealed((b) => {
        b.trustStores['ca:other']!.certificates = ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'];
      }),
      /trustStores\["ca:other"\]\.certificates\[0\]: not a certificate/,
    );
    rejects(
      resealed((b) => {
        b.trustStores['ca:other']!.certificates = [OTHER_CA.replace(/\n/g, '\r\n')];
      }),
      /not one normalised PEM certificate/,
    );
    rejects(
      resealed((b) => {
        b.trustPolicies['tenant-a']!.document.trustPolicies[0]!.registryScopes = ['ghcr.io/app:v1'];
      }),
      /trustPolicies\["tenant-a"\]\.document\.trustPolicies\[0\]\.registryScopes\[0\]: invalid registry scope/,
    );
    rejects(
      resealed((b) => {
        b.trustStores['ca:other']!.name = '../../etc';
      }),
      /trustStores\["ca:other"\]\.name: must match pattern/,
    );
  });
});
