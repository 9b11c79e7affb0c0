import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classifyReport, classifyVerify, FailureKind, parseCliRun, VerifyOutcome } from './classify.js';

// Outputs recorded from notation v1.3.2 with the AWS Signer plugin against the harness registries.
const REF = 'localhost:36327/x/wg6eto@sha256:db661816df6489ef1b53193eedf68e8fb6c0ff86669ca0fb33dc4099796177a8';
const INFO = 'level=info msg=Allowed to access the referrers API, fallback if not supported\n';

describe('classifyVerify', () => {
  it('verified', () => {
    const c = classifyVerify({ exitCode: 0, stdout: `Successfully verified signature for ${REF}\n`, stderr: INFO });
    assert.equal(c.outcome, VerifyOutcome.Verified);
    assert.equal(c.kind, FailureKind.None);
    assert.deepEqual(c.warnings, []);
  });

  it('verified with a logged revocation failure keeps the warning', () => {
    const c = classifyVerify({
      exitCode: 0,
      stdout: `Successfully verified signature for ${REF}\n`,
      stderr: `${INFO}Warning: revocation was set to "log" and failed with error: revocation check by verification plugin "com.amazonaws.signer.notation.plugin" failed with reason "GetRevocationStatus call failed with error: boom"\n`,
    });
    assert.equal(c.outcome, VerifyOutcome.Verified);
    assert.equal(c.warnings.length, 1);
    assert.match(c.warnings[0] ?? '', /^revocation was set to "log"/);
  });

  it('skipped by the trust policy level', () => {
    const c = classifyVerify({ exitCode: 0, stdout: `Trust policy is configured to skip signature verification for ${REF}\n`, stderr: INFO });
    assert.equal(c.outcome, VerifyOutcome.Skipped);
  });

  it('exit 0 without a known line is never a pass', () => {
    assert.equal(classifyVerify({ exitCode: 0, stdout: 'something else', stderr: '' }).outcome, VerifyOutcome.Denied);
  });

  it('unsigned', () => {
    const c = classifyVerify({
      exitCode: 1,
      stdout: '',
      stderr: `${INFO}Error: signature verification failed: no signature is associated with "${REF}", make sure the artifact was signed successfully\n`,
    });
    assert.deepEqual([c.outcome, c.kind, c.reason], [VerifyOutcome.Denied, FailureKind.Unsigned, 'no notation signature found']);
  });

  it('untrusted identity names the plugin reason', () => {
    const c = classifyVerify({
      exitCode: 1,
      stdout: '',
      stderr:
        INFO +
        'level=warning msg=Signature sha256:9a5c failed verification with error: trusted identify verification by plugin "com.amazonaws.signer.notation.plugin" failed with reason "Signature publisher doesn\'t match any trusted identities."\n' +
        `Error: signature verification failed for all the signatures associated with ${REF}\n`,
    });
    assert.equal(c.outcome, VerifyOutcome.Denied);
    assert.equal(c.kind, FailureKind.UntrustedIdentity);
    assert.equal(
      c.reason,
      "signature verification failed: signing profile is not a trusted identity of the trust policy (Signature publisher doesn't match any trusted identities.)",
    );
  });

  it('revoked', () => {
    const c = classifyVerify({
      exitCode: 1,
      stdout: '',
      stderr:
        'level=warning msg=Signature sha256:1 failed verification with error: revocation check by verification plugin "com.amazonaws.signer.notation.plugin" failed with reason "Resource(s) arn:aws:signer:us-east-1:1:/signing-profiles/P/v have been revoked."\n' +
        `Error: signature verification failed for all the signatures associated with ${REF}\n`,
    });
    assert.equal(c.kind, FailureKind.Revoked);
    assert.match(c.reason, /revocation check failed: Resource\(s\) arn:aws:signer:us-east-1:1:\/signing-profiles\/P\/v have been revoked\.$/);
  });

  it('AWS Signer unreachable during the revocation check is could-not-verify', () => {
    const c = classifyVerify({
      exitCode: 1,
      stdout: '',
      stderr:
        'level=warning msg=Signature sha256:9a failed verification with error: revocation check by verification plugin "com.amazonaws.signer.notation.plugin" failed with reason "GetRevocationStatus call failed with error: operation error signer: GetRevocationStatus, https response error StatusCode: 503"\n' +
        `Error: signature verification failed for all the signatures associated with ${REF}\n`,
    });
    assert.equal(c.outcome, VerifyOutcome.CouldNotVerify);
    assert.equal(c.kind, FailureKind.Infrastructure);
  });

  it('an unreachable Signer for one signature and a bad identity for another is a denial', () => {
    const c = classifyVerify({
      exitCode: 1,
      stdout: '',
      stderr:
        'level=warning msg=Signature sha256:1 failed verification with error: revocation check by verification plugin "p" failed with reason "GetRevocationStatus call failed with error: x"\n' +
        'level=warning msg=Signature sha256:2 failed verification with error: trusted identify verification by plugin "p" failed with reason "Signature publisher doesn\'t match any trusted identities."\n' +
        `Error: signature verification failed for all the signatures associated with ${REF}\n`,
    });
    assert.equal(c.outcome, VerifyOutcome.Denied);
  });

  it('tampered envelope', () => {
    const c = classifyVerify({
      exitCode: 1,
      stdout: '',
      stderr:
        'level=error msg=integrity validation failed. Failure reason: signature is invalid. Error: crypto/ecdsa: verification error\n' +
        'level=warning msg=Signature sha256:f8 failed verification with error: signature is invalid. Error: crypto/ecdsa: verification error\n' +
        `Error: signature verification failed for all the signatures associated with ${REF}\n`,
    });
    assert.deepEqual([c.outcome, c.kind], [VerifyOutcome.Denied, FailureKind.Integrity]);
  });

  it('no applicable trust policy statement', () => {
    const c = classifyVerify({
      exitCode: 1,
      stdout: '',
      stderr: `Error: signature verification failed: artifact "${REF}" has no applicable trust policy statement. Trust policy applicability for a given artifact is determined by registryScopes.\n`,
    });
    assert.deepEqual([c.outcome, c.kind], [VerifyOutcome.Denied, FailureKind.NoApplicablePolicy]);
  });

  it('registry errors: not found is a denial, connection refused could-not-verify', () => {
    assert.equal(
      classifyVerify({ exitCode: 1, stdout: '', stderr: `Error: failed to get manifest descriptor: ${REF}: not found\n` }).kind,
      FailureKind.NotFound,
    );
    const down = classifyVerify({
      exitCode: 1,
      stdout: '',
      stderr:
        'Error: failed to get manifest descriptor: Head "http://localhost:1/v2/x/manifests/sha256:a": dial tcp 127.0.0.1:1: connect: connection refused\n',
    });
    assert.equal(down.outcome, VerifyOutcome.CouldNotVerify);
    // The answer names the failure and the host; notation's request URL stays in the log.
    assert.equal(down.reason, 'registry unavailable to notation: dial tcp 127.0.0.1:1: connect: connection refused');
  });

  it('an unrecognised error is a denial, never an infrastructure error', () => {
    const c = classifyVerify({ exitCode: 1, stdout: '', stderr: 'Error: trust policy is not present.\n' });
    assert.equal(c.outcome, VerifyOutcome.Denied);
    assert.equal(c.reason, 'trust policy is not present.');
  });
});

describe('parseCliRun and classifyReport', () => {
  it('reads the CLI output into the report the helper answers with', () => {
    const report = parseCliRun({
      exitCode: 1,
      stdout: '',
      stderr:
        INFO +
        'level=warning msg=Signature sha256:1 failed verification with error: trusted identify verification by plugin "p" failed with reason "Signature publisher doesn\'t match any trusted identities."\n' +
        'Warning: something to note\n' +
        `Error: signature verification failed for all the signatures associated with ${REF}\n`,
    });
    assert.deepEqual(report, {
      status: 'failed',
      error: `signature verification failed for all the signatures associated with ${REF}`,
      signatureFailures: ['trusted identify verification by plugin "p" failed with reason "Signature publisher doesn\'t match any trusted identities."'],
      warnings: ['something to note'],
    });
    assert.equal(classifyReport(report).kind, FailureKind.UntrustedIdentity);
  });

  it('a report without an error message is never a pass', () => {
    const c = classifyReport({ status: 'failed', signatureFailures: [], warnings: [] });
    assert.deepEqual([c.outcome, c.kind], [VerifyOutcome.Denied, FailureKind.Other]);
  });

  it('the CLI exiting 0 without a result line stays a denial through the report', () => {
    const report = parseCliRun({ exitCode: 0, stdout: 'Successfully did something else', stderr: '' });
    assert.equal(report.status, 'failed');
    assert.deepEqual([classifyReport(report).outcome, classifyReport(report).kind], [VerifyOutcome.Denied, FailureKind.Other]);
  });
});
