import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkFlags, FLAGS, helpText, parseFlags } from './flags.js';

describe('parseFlags', () => {
  it('has the original defaults', () => {
    const { flags } = parseFlags([]);
    assert.equal(flags.cacheEnabled, true);
    assert.equal(flags.cacheMaxSize, 1000);
    assert.equal(flags.cacheTTLDurationSeconds, 3600);
    assert.equal(flags.reviewKyvernoToken, true);
    assert.equal(flags.pluginConfigMap, 'notation-plugin-config');
    assert.equal(flags.maxSignatureAttempts, 30);
    assert.equal(flags['health-probe-bind-address'], ':8081');
    assert.equal(flags['metrics-bind-address'], ':8080');
    assert.deepEqual(flags.allowedUsers, [
      'system:serviceaccount:kyverno:kyverno-admission-controller',
      'system:serviceaccount:kyverno:kyverno-reports-controller',
    ]);
  });

  it('accepts Go flag syntax: -x=v, --x=v, --x v, bare and =false booleans', () => {
    const { flags, explicit, positionals } = parseFlags([
      '-cacheMaxSize=2000',
      '--cacheTTLDurationSeconds',
      '7200',
      '--debug',
      '--cacheEnabled=false',
      '--imagePullSecrets=regcred,other',
      '--allowedUsers=a',
      'conditions',
    ]);
    assert.equal(flags.cacheMaxSize, 2000);
    assert.equal(flags.cacheTTLDurationSeconds, 7200);
    assert.equal(flags.debug, true);
    assert.equal(flags.cacheEnabled, false);
    assert.deepEqual(flags.imagePullSecrets, ['regcred', 'other']);
    assert.deepEqual(flags.allowedUsers, ['a']);
    assert.deepEqual(positionals, ['conditions']);
    assert.ok(explicit.has('cacheMaxSize') && !explicit.has('notls'));
  });

  it('rejects unknown flags and bad values with the flag name', () => {
    assert.throws(() => parseFlags(['--nope']), /unknown flag --nope/);
    assert.throws(() => parseFlags(['--cacheMaxSize=lots']), /--cacheMaxSize: "lots" is not an integer/);
    assert.throws(() => parseFlags(['--cacheEnabled=maybe']), /not a boolean/);
    assert.throws(() => parseFlags(['--policyDir']), /needs a value/);
  });

  it('takes the load-shedding limits, fractions included; 0 turns one off', () => {
    const defaults = parseFlags([]).flags;
    assert.equal(defaults.maxEventLoopDelay, 3000);
    assert.equal(defaults.maxEventLoopUtilization, 0);
    assert.equal(defaults.maxHeapUsedBytes, 0);
    const { flags } = parseFlags(['--maxEventLoopDelay=0', '--maxEventLoopUtilization', '0.98', '-maxHeapUsedBytes=536870912']);
    assert.equal(flags.maxEventLoopDelay, 0);
    assert.equal(flags.maxEventLoopUtilization, 0.98);
    assert.equal(flags.maxHeapUsedBytes, 536_870_912);
    assert.equal(parseFlags(['--maxEventLoopUtilization=.5']).flags.maxEventLoopUtilization, 0.5);
    assert.throws(() => parseFlags(['--maxEventLoopUtilization=high']), /--maxEventLoopUtilization: "high" is not a number/);
    assert.throws(() => parseFlags(['--maxEventLoopDelay=1.5']), /--maxEventLoopDelay: "1.5" is not an integer/);
  });

  it('documents every flag with its default in --help', () => {
    const text = helpText();
    for (const name of Object.keys(FLAGS)) assert.ok(text.includes(`--${name}`), name);
    assert.match(text, /--cacheTTLDurationSeconds int\n.*\(default 3600\)/);
    assert.equal(parseFlags(['--help']).help, true);
  });
});

describe('checkFlags', () => {
  it('refuses an unknown --notationEngine like the other flag values: VERIFIER_ERR_BAD_FLAG, naming the flag and the choices', () => {
    assert.throws(() => checkFlags(parseFlags(['--notationEngine=daemon']).flags), {
      code: 'VERIFIER_ERR_BAD_FLAG',
      message: /--notationEngine must be cli or helper, not "daemon"/,
    });
    assert.throws(() => checkFlags(parseFlags(['--notationEngine=CLI']).flags), /--notationEngine must be cli or helper, not "CLI"/);
  });

  it('answers the checked values', () => {
    assert.deepEqual(checkFlags(parseFlags([]).flags), { onInfraError: 'deny', notationEngine: 'helper' });
    assert.deepEqual(checkFlags(parseFlags(['--notationEngine=cli', '--onInfraError=allow']).flags), { onInfraError: 'allow', notationEngine: 'cli' });
  });
});
