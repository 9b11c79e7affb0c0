import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FLAGS, extraServiceHosts, helpText, parseFlags } from './flags.js';
import { OPERATOR_ERR_BAD_FLAG, OPERATOR_ERR_NO_NAMESPACE } from '../errors.js';

describe('operator flags', () => {
  it('has the documented defaults, the namespace and identity from the downward API', () => {
    const { flags } = parseFlags([], { POD_NAMESPACE: 'kna', POD_NAME: 'op-0' });
    assert.equal(flags.namespace, 'kna');
    assert.equal(flags.identity, 'op-0');
    assert.equal(flags.name, 'kyverno-notation-aws');
    assert.equal(flags.serviceName, 'svc');
    assert.equal(flags.pluginConfigMap, 'notation-plugin-config');
    assert.equal(flags['leader-elect'], true);
    assert.equal(flags['leader-elect-lease-duration'], 15_000);
    assert.equal(flags['leader-elect-renew-deadline'], 10_000);
    assert.equal(flags['leader-elect-retry-period'], 2_000);
    assert.equal(flags['inject-ca'], true);
    assert.equal(flags['kube-api-timeout'], 30_000);
  });

  it('lists --extraServiceHosts (none by default) and refuses one that is not a host', () => {
    assert.deepEqual(extraServiceHosts(parseFlags(['--namespace=x']).flags), []);
    assert.deepEqual(extraServiceHosts(parseFlags(['--namespace=x', '--extraServiceHosts=127.0.0.1, verifier.local,']).flags), ['127.0.0.1', 'verifier.local']);
    assert.throws(
      () => parseFlags(['--namespace=x', '--extraServiceHosts=https://127.0.0.1']),
      (err: unknown) => err instanceof OPERATOR_ERR_BAD_FLAG && /--extraServiceHosts: "https:\/\/127.0.0.1"/.test(err.message),
    );
  });

  it('takes Go durations so tests can use seconds', () => {
    const { flags } = parseFlags([
      '--namespace=x',
      '--certValidity=30s',
      '--caValidity',
      '2m',
      '-leader-elect-lease-duration=3s',
      '--leader-elect-renew-deadline=2s',
      '--leader-elect-retry-period=500ms',
    ]);
    assert.equal(flags.certValidity, 30_000);
    assert.equal(flags.caValidity, 120_000);
    assert.equal(flags['leader-elect-retry-period'], 500);
    assert.equal(parseFlags(['--namespace=x', '--kube-api-timeout=1m30s']).flags['kube-api-timeout'], 90_000);
  });

  it('refuses what client-go refuses, naming the flag', () => {
    assert.throws(() => parseFlags([], {}), OPERATOR_ERR_NO_NAMESPACE);
    assert.throws(
      () => parseFlags(['--namespace=x', '--leader-elect-renew-deadline=20s']),
      (err: unknown) => err instanceof OPERATOR_ERR_BAD_FLAG && /lease-duration must be greater/.test(err.message),
    );
    assert.throws(() => parseFlags(['--namespace=x', '--leader-elect-retry-period=10s']), /renew-deadline must be greater/);
    assert.throws(() => parseFlags(['--namespace=x', '--logLevel=loud']), /--logLevel/);
    assert.throws(() => parseFlags(['--namespace=x', '--caValidity=1y']), /--caValidity: "1y" is not a duration/);
    assert.throws(
      () => parseFlags(['--namespace=x', '--kube-api-timeout=0s']),
      (err: unknown) => err instanceof OPERATOR_ERR_BAD_FLAG && err.message === '--kube-api-timeout must be positive',
    );
    assert.throws(() => parseFlags(['--namespace=x', '--kube-api-timeout=30']), /--kube-api-timeout: "30" is not a duration/);
  });

  it('documents every flag in --help', () => {
    const text = helpText();
    for (const name of Object.keys(FLAGS)) assert.ok(text.includes(`--${name}`), name);
    assert.match(text, /--caValidity duration\n.*\(default 8760h0m0s\)/);
    assert.equal(parseFlags(['--help'], {}).help, true);
  });
});
