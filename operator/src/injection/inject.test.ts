import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { injectCaBundle, serviceHosts, type ClusterPolicy } from './inject.js';

const hosts = serviceHosts('svc', 'kna');
const apiCall = (url: string, caBundle?: string) => ({ name: 'x', apiCall: { method: 'POST', service: { url, ...(caBundle !== undefined && { caBundle }) } } });

function policy(annotated: boolean, rules: ClusterPolicy['spec']): ClusterPolicy {
  return {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: 'p', ...(annotated && { annotations: { 'notation.nirmata.io/inject-ca': 'true' } }) },
    ...(rules && { spec: rules }),
  };
}

describe('injectCaBundle', () => {
  it('writes the bundle into every apiCall that targets the Service, in every rule, and nowhere else', () => {
    const input = policy(true, {
      validationFailureAction: 'Enforce',
      rules: [
        {
          name: 'a',
          context: [apiCall('https://svc.kna/checkimages'), apiCall('https://other.kna/checkimages'), { name: 'cm', configMap: { name: 'c' } } as never],
        },
        { name: 'b', context: [apiCall('https://svc.kna.svc:443/checkimages', 'old'), apiCall('https://SVC.kna.svc.cluster.local./x')] },
        { name: 'c', context: [apiCall('https://svc.other.svc/checkimages'), apiCall('not a url')] },
        { name: 'd' },
      ],
    });
    const out = injectCaBundle(input, 'PEM', hosts);
    assert.ok(out);
    const urls = (out.spec?.rules ?? []).flatMap((r) => (r.context ?? []).map((c) => [c.apiCall?.service?.url, c.apiCall?.service?.caBundle]));
    assert.deepEqual(urls, [
      ['https://svc.kna/checkimages', 'PEM'],
      ['https://other.kna/checkimages', undefined],
      [undefined, undefined],
      ['https://svc.kna.svc:443/checkimages', 'PEM'],
      ['https://SVC.kna.svc.cluster.local./x', 'PEM'],
      ['https://svc.other.svc/checkimages', undefined],
      ['not a url', undefined],
    ]);
    assert.equal(out.spec?.validationFailureAction, 'Enforce');
    assert.equal(input.spec?.rules?.[0]?.context?.[0]?.apiCall?.service?.caBundle, undefined, 'the input is not modified');
    assert.equal(injectCaBundle(out, 'PEM', hosts), undefined, 'nothing more to do once injected');
  });

  it('also targets an extra host (--extraServiceHosts), e.g. the loopback address of an out-of-cluster verifier', () => {
    const input = policy(true, { rules: [{ name: 'a', context: [apiCall('https://127.0.0.1:9443/checkimages'), apiCall('https://127.0.0.2/checkimages')] }] });
    assert.equal(injectCaBundle(input, 'PEM', hosts), undefined, 'not a Service host');
    const out = injectCaBundle(input, 'PEM', [...hosts, '127.0.0.1']);
    assert.deepEqual(
      (out?.spec?.rules?.[0]?.context ?? []).map((c) => c.apiCall?.service?.caBundle),
      ['PEM', undefined],
    );
  });

  it('leaves policies without the annotation (or with it not "true") alone', () => {
    const rules = { rules: [{ name: 'a', context: [apiCall('https://svc.kna/checkimages')] }] };
    assert.equal(injectCaBundle(policy(false, rules), 'PEM', hosts), undefined);
    const falseAnnotation = { ...policy(false, rules), metadata: { name: 'p', annotations: { 'notation.nirmata.io/inject-ca': 'false' } } };
    assert.equal(injectCaBundle(falseAnnotation, 'PEM', hosts), undefined);
    assert.equal(injectCaBundle(policy(true, undefined), 'PEM', hosts), undefined);
  });
});
