// What can be checked about the chart and its companions without a cluster: the README's values table,
// the Dockerfile's pinned versions, and the samples (trust resources that render into a bundle with every
// object Ready, the AWS Signer roots, and Kyverno policies that call the verifier the way it answers).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import 'reflect-metadata';
import { X509Certificate } from '@peculiar/x509';
import { evaluateConditions, parseManifests, renderBundle, validateConditions } from '@kna/shared';
import { REPO_ROOT } from '../harness/tools-env.js';
import { CHART_DIR, README, VALUES_BEGIN, withValuesTable } from './files.js';
import { matchedNamespaces, policyRules, readObjects, sampleFiles, serviceCalls, SAMPLES_DIR } from './samples.js';
import { documentedValues } from './valuesTable.js';

const VERIFIER_URL = 'https://svc.kyverno-notation-aws/checkimages';

function samplesText(...files: string[]): string {
  return files.map((f) => readFileSync(join(SAMPLES_DIR, f), 'utf8')).join('\n---\n');
}

describe('chart documentation', () => {
  it('the README values table is generated from values.yaml (run `pnpm chart`)', () => {
    const readme = readFileSync(README, 'utf8');
    assert.ok(readme.includes(VALUES_BEGIN), 'README.md has the chart values section');
    const values = readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8');
    assert.equal(readme, withValuesTable(readme, values), 'the values table in README.md is stale: run `pnpm chart`');
  });

  it('documents every value a user sets, including each of the original chart', () => {
    const keys = new Set(documentedValues(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')).map((d) => d.key));
    for (const original of [
      'nameOverride',
      'fullnameOverride',
      'namespaceOverride',
      'image.repository',
      'image.tag',
      'crds.install',
      'deployment.updateStrategy',
      'deployment.imagePullSecrets',
      'deployment.allowInsecureRegistry',
      'deployment.maxSignatureAttempts',
      'serviceAccount.name',
      'serviceAccount.annotations',
      'configMap.name',
      'nodeSelector',
      'tolerations',
      'affinity',
      'customLabels',
    ]) {
      assert.ok(keys.has(original), `values.yaml documents ${original}`);
    }
    assert.ok(keys.size > 60, `only ${keys.size} values documented`);
  });
});

describe('Dockerfile', () => {
  it('builds notation and the AWS Signer plugin at the versions `pnpm tools` uses', () => {
    const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    const tools = readFileSync(join(REPO_ROOT, 'e2e', 'tools', 'tools.sh'), 'utf8');
    for (const name of ['NOTATION_VERSION', 'AWS_SIGNER_PLUGIN_VERSION']) {
      const pinned = new RegExp(`^ARG ${name}=(\\S+)$`, 'm').exec(dockerfile)?.[1];
      const used = new RegExp(`^${name}=(\\S+)$`, 'm').exec(tools)?.[1];
      assert.ok(used, `tools.sh sets ${name}`);
      assert.equal(pinned, used, `Dockerfile ARG ${name} must equal tools.sh's`);
    }
    // Built from source at the tag (the module proxy does not serve the plugin; AWS's binary is amd64 only).
    assert.match(dockerfile, /--branch "v\$\{AWS_SIGNER_PLUGIN_VERSION\}" https:\/\/github\.com\/aws\/aws-signer-notation-plugin\.git/);
    assert.match(dockerfile, /^USER 65532:65532$/m);
  });

  it('builds the notation helper from the repository source `pnpm tools notation-helper` builds, onto PATH', () => {
    const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    assert.match(dockerfile, /^COPY verifier\/notation-helper\/ notation-helper\/$/m);
    assert.match(dockerfile, /-o \/out\/bin\/kna-notation-helper \.$/m);
    // On PATH: --notationHelperPath's default is the bare name.
    assert.match(dockerfile, /^COPY --from=notation \/out\/bin\/kna-notation-helper \/usr\/local\/bin\/kna-notation-helper$/m);
  });
});

describe('samples', () => {
  it('the trust stores hold the AWS Signer roots, commercial and GovCloud, under the names AWS uses', () => {
    const { trustStores } = parseManifests(samplesText('truststores.yaml'), 'truststores.yaml');
    const subjects = Object.fromEntries(
      trustStores.map((ts) => {
        const cert = new X509Certificate(ts.spec.caBundle);
        assert.equal(cert.subject, cert.issuer, `${ts.metadata.name} holds a self-signed root`);
        return [`${ts.spec.type}:${ts.spec.trustStoreName}`, /CN=([^,]+)/.exec(cert.subject)?.[1]];
      }),
    );
    assert.deepEqual(subjects, {
      'signingAuthority:aws-signer-ts': 'AWS Signer Code Signing Root CA G1',
      'signingAuthority:aws-us-gov-signer-ts': 'AWS Signer Code Signing GovCloud (US) Root CA G1',
    });
  });

  it('the trust policies, trust stores and plugin configuration render into a bundle with every object Ready', () => {
    for (const pluginFile of ['plugin-config.yaml', 'plugin-config-govcloud.yaml']) {
      const manifests = parseManifests(samplesText('truststores.yaml', 'trustpolicies.yaml', pluginFile), 'samples');
      const [pluginConfigMap] = manifests.configMaps;
      assert.equal(pluginConfigMap?.metadata.name, 'notation-plugin-config');
      const result = renderBundle({ trustPolicies: manifests.trustPolicies, trustStores: manifests.trustStores, pluginConfig: pluginConfigMap.data ?? {} });
      const notReady = result.statuses.filter((s) => !s.ready).map((s) => `${s.kind} ${s.name}: ${s.message}`);
      assert.deepEqual(notReady, []);
      assert.equal(result.statuses.length, 7);
      assert.equal(result.tooLarge, false);
    }
  });

  it('every Kyverno policy calls the verifier Service with the CA-injection annotation, and names trust policies that exist', () => {
    const trustPolicyNames = new Set(parseManifests(samplesText('truststores.yaml', 'trustpolicies.yaml')).trustPolicies.map((tp) => tp.spec.trustPolicyName));
    const policies = sampleFiles()
      .flatMap((f) => readObjects(f))
      .filter((o) => o.kind === 'ClusterPolicy');
    assert.deepEqual(policies.map((p) => p.metadata?.name).sort(), [
      'audit-image-signatures',
      'check-images',
      'check-images-attestations',
      'check-images-per-namespace',
    ]);
    for (const policy of policies) {
      const name = policy.metadata?.name ?? '?';
      assert.equal(policy.apiVersion, 'kyverno.io/v1');
      assert.equal(policy.metadata?.annotations?.['notation.nirmata.io/inject-ca'], 'true', `${name} has the inject-ca annotation`);
      const calls = serviceCalls(policy);
      assert.equal(calls.length, 1, `${name} calls the verifier once`);
      for (const call of calls) {
        assert.equal(call.url, VERIFIER_URL, `${name}: the Service of install.yaml`);
        assert.equal(call.method, 'POST');
        assert.deepEqual(
          call.data.find((d) => d.key === 'images'),
          { key: 'images', value: '{{images}}' },
        );
        const trustPolicy = call.data.find((d) => d.key === 'trustPolicy')?.value;
        assert.equal(typeof trustPolicy, 'string');
        const rule = policyRules(policy).find((r) => r.name === call.rule);
        assert.ok(rule);
        const names = trustPolicy === 'tp-{{request.namespace}}' ? matchedNamespaces(rule).map((ns) => `tp-${ns}`) : [trustPolicy as string];
        assert.ok(names.length > 0, `${name}: tp-{{request.namespace}} with the namespaces it matches`);
        for (const tp of names) assert.ok(trustPolicyNames.has(tp), `${name} needs TrustPolicy ${tp}, which the samples define`);
      }
    }
  });

  it("the original's sample policy is kept as it was, with only the annotation added", () => {
    const [policy] = readObjects('kyverno-policy.yaml');
    assert.ok(policy);
    const [call] = serviceCalls(policy);
    assert.equal(call?.caBundle, '{{ tlscerts }}');
    assert.deepEqual(
      call.data.map((d) => d.key),
      ['images', 'imageReferences', 'trustPolicy', 'attestations'],
    );
    assert.deepEqual(Object.keys(policy.metadata?.annotations ?? {}), ['notation.nirmata.io/inject-ca']);
  });

  it('the audit policy asks for audit mode and denies on verified=false in Audit', () => {
    const [policy] = readObjects('audit.yaml');
    assert.ok(policy);
    assert.equal((policy.spec as { validationFailureAction?: string }).validationFailureAction, 'Audit');
    assert.deepEqual(
      serviceCalls(policy)[0]?.data.find((d) => d.key === 'mode'),
      { key: 'mode', value: 'audit' },
    );
  });

  it("the attestation policy's conditions pass for a conforming payload and fail, with their message, otherwise", () => {
    const [policy] = readObjects('attestations.yaml');
    assert.ok(policy);
    const attestations = serviceCalls(policy)[0]?.data.find((d) => d.key === 'attestations')?.value as { type: { name: string; conditions: unknown }[] }[];
    // Kyverno removes the `\` of `\{{` when it substitutes the policy; the verifier receives `{{ … }}`.
    const unescape = (value: unknown): unknown => JSON.parse(JSON.stringify(value).replaceAll('\\\\{{', '{{')) as unknown;
    const byType = new Map(attestations.flatMap((a) => a.type).map((t) => [t.name, unescape(t.conditions)]));
    const sbom = byType.get('application/spdx+json');
    const scan = byType.get('application/vnd.example.scan+json');
    validateConditions(sbom);
    validateConditions(scan);
    assert.equal(evaluateConditions(sbom, { creationInfo: { licenseListVersion: '3.18' } }).passed, true);
    assert.deepEqual(evaluateConditions(sbom, { creationInfo: { licenseListVersion: '3.5' } }), {
      passed: false,
      message: "the SBOM's license list version is not approved",
    });
    const now = new Date().toISOString();
    const old = new Date(Date.now() - 10 * 24 * 3600 * 1000).toISOString();
    assert.equal(evaluateConditions(scan, { vulnerabilities: [{ severity: 'LOW' }], scannedAt: now }).passed, true);
    assert.deepEqual(evaluateConditions(scan, { vulnerabilities: [{ severity: 'CRITICAL' }], scannedAt: now }), {
      passed: false,
      message: 'the image has critical vulnerabilities',
    });
    assert.deepEqual(evaluateConditions(scan, { vulnerabilities: [], scannedAt: old }), {
      passed: false,
      message: 'the vulnerability scan is older than a week',
    });
  });
});
