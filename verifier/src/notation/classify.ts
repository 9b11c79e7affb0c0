// Turns a verification into one of the verifier's outcomes, in two steps: what notation showed, as a
// neutral report (parseCliRun reads the CLI's output; the notation helper answers with the same report,
// docs/architecture.md "Two notation engines"), then the report's outcome (classifyReport). notation has
// no machine-readable output (notation's specification), so the outcome comes from the exit code and
// the stable message prefixes of notation v1.x, which are kept as constants here with where they come
// from. Anything unrecognised is a denial: only failures positively identified as
// infrastructure may ever be turned into an allow by --onInfraError=allow.
import { withoutUrls } from '../networkError.js';

export const VerifyOutcome = {
  Verified: 'verified',
  /** The trust policy statement for the image has level `skip`. */
  Skipped: 'skipped',
  Denied: 'denied',
  CouldNotVerify: 'could-not-verify',
} as const;
export type VerifyOutcome = (typeof VerifyOutcome)[keyof typeof VerifyOutcome];

/** What went wrong, for hints and metrics (a bounded set). */
export const FailureKind = {
  None: 'none',
  Unsigned: 'unsigned',
  UntrustedIdentity: 'untrusted-identity',
  Revoked: 'revoked',
  UntrustedRoot: 'untrusted-root',
  Integrity: 'integrity',
  Expired: 'expired',
  NoApplicablePolicy: 'no-applicable-policy',
  NotFound: 'not-found',
  Infrastructure: 'infrastructure',
  Other: 'other',
} as const;
export type FailureKind = (typeof FailureKind)[keyof typeof FailureKind];

export interface Classification {
  readonly outcome: VerifyOutcome;
  readonly kind: FailureKind;
  /** One line a platform engineer can act on. */
  readonly reason: string;
  /** Non-fatal findings (a revocation check set to "log" that failed, …). */
  readonly warnings: readonly string[];
}

// notation cmd/notation/verify.go and notation-go notation.go / errors.go (v1.3.2).
const SUCCESS = 'Successfully verified signature for ';
const SKIPPED = 'Trust policy is configured to skip signature verification for ';
const NO_SIGNATURE = 'no signature is associated with';
const ALL_FAILED = 'signature verification failed for all the signatures associated with';
const NO_POLICY = 'has no applicable trust policy statement';
const TOO_MANY = 'signature evaluation stopped';
const MANIFEST = 'failed to get manifest descriptor:';
// Per-signature reasons, logged at warning level with -v (notation-go verifier.go).
const PER_SIGNATURE = /failed verification with error: (.*)$/;
// A revocation check that could not reach AWS Signer (AWS Signer plugin verifier.go): the signature
// was not found revoked, the check itself did not happen.
const REVOCATION_UNAVAILABLE = 'GetRevocationStatus call failed with error';
// Plugin process errors caused by throttling or missing permissions (plugin contract error codes).
const PLUGIN_INFRA = /failed to verify with plugin .*(throttl|access denied|timeout|timed out)/i;
const NETWORK =
  /(connection refused|no such host|i\/o timeout|context deadline exceeded|TLS handshake|EOF|connection reset|server misbehaving|status code 5\d\d|503 Service Unavailable|502 Bad Gateway|504 Gateway Timeout|429 Too Many Requests)/i;

function lines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

/**
 * What one verification showed, whichever engine ran it: `notation verify -v`'s output parsed
 * (parseCliRun), or the notation helper's answer, built from the same notation-go results with the
 * CLI's texts (verifier/notation-helper). classifyReport decides the outcome for both.
 */
export interface VerifyReport {
  readonly status: 'verified' | 'skipped' | 'failed';
  /** The "Error: …" line without its prefix (status failed). */
  readonly error?: string;
  /** Why each signature failed ("Signature … failed verification with error: …", logged with -v). */
  readonly signatureFailures: readonly string[];
  /** "Warning: …" lines: checks whose action is log that failed. */
  readonly warnings: readonly string[];
}

export interface NotationRunResult {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Exit 0 without either result line: a notation this verifier does not understand (never a pass). */
const UNRECOGNISED_SUCCESS = 'notation exited 0 without a verification result: ';

/** Reads a finished `notation verify -v` run into a report. */
export function parseCliRun(run: NotationRunResult): VerifyReport {
  const stderrLines = lines(run.stderr);
  // The tag warning is never shown here: references are always by digest.
  const warnings = stderrLines.filter((l) => l.startsWith('Warning: ') && !l.includes('rather than a tag')).map((l) => l.slice('Warning: '.length));
  const signatureFailures: string[] = [];
  for (const line of stderrLines) {
    // logrus framing ("level=warning msg=…") is dropped, so reasons read as plain sentences (notation's
    // logger does not quote messages: a closing quote is the reason's own).
    const match = PER_SIGNATURE.exec(line);
    if (match?.[1]) signatureFailures.push(match[1]);
  }
  if (run.exitCode === 0) {
    if (run.stdout.includes(SUCCESS)) return { status: 'verified', signatureFailures, warnings };
    if (run.stdout.includes(SKIPPED)) return { status: 'skipped', signatureFailures, warnings };
    return { status: 'failed', error: UNRECOGNISED_SUCCESS + run.stdout.trim().slice(0, 300), signatureFailures, warnings };
  }
  const error =
    stderrLines
      .filter((l) => l.startsWith('Error: '))
      .map((l) => l.slice('Error: '.length))
      .at(-1) ??
    run.stderr.trim().split('\n').at(-1) ??
    `notation exited with status ${String(run.exitCode)}`;
  return { status: 'failed', error, signatureFailures, warnings };
}

/** Rewrites notation's reason texts into the verifier's vocabulary (keeps the specifics). */
function explain(reason: string): string {
  const pluginReason = /failed with reason "(.*)"?$/.exec(reason)?.[1]?.replace(/"$/, '');
  if (reason.startsWith('trusted identify verification by plugin')) {
    return `signing profile is not a trusted identity of the trust policy (${pluginReason ?? reason})`;
  }
  if (reason.startsWith('revocation check by verification plugin')) {
    return `revocation check failed: ${pluginReason ?? reason}`;
  }
  return reason;
}

/** Turns a CLI run into one of the verifier's outcomes. */
export function classifyVerify(run: NotationRunResult): Classification {
  return classifyReport(parseCliRun(run));
}

/** Turns a verification's report (either engine) into one of the verifier's outcomes. */
export function classifyReport(report: VerifyReport): Classification {
  const warns = [...report.warnings];
  if (report.status === 'verified') return { outcome: VerifyOutcome.Verified, kind: FailureKind.None, reason: 'signature verified', warnings: warns };
  if (report.status === 'skipped') {
    return { outcome: VerifyOutcome.Skipped, kind: FailureKind.None, reason: 'trust policy level is skip: signature not verified', warnings: warns };
  }
  const error = report.error ?? 'notation reported a failure without an error';
  const denied = (kind: FailureKind, reason: string): Classification => ({ outcome: VerifyOutcome.Denied, kind, reason, warnings: warns });
  // notation's network errors carry request URLs (`Get "https://…": dial tcp …`); the answer names the
  // failure and the host, the verifier's log keeps notation's full output.
  const unavailable = (reason: string): Classification => ({
    outcome: VerifyOutcome.CouldNotVerify,
    kind: FailureKind.Infrastructure,
    reason: withoutUrls(reason),
    warnings: warns,
  });
  if (error.startsWith(UNRECOGNISED_SUCCESS)) return denied(FailureKind.Other, error);
  if (error.includes(NO_SIGNATURE)) return denied(FailureKind.Unsigned, 'no notation signature found');
  if (error.includes(ALL_FAILED)) {
    const reasons = report.signatureFailures;
    const text = reasons.length > 0 ? [...new Set(reasons.map(explain))].join('; ') : 'no signature passed verification';
    if (reasons.length > 0 && reasons.every((r) => r.includes(REVOCATION_UNAVAILABLE) || PLUGIN_INFRA.test(r))) {
      return unavailable(`could not complete signature verification: ${text}`);
    }
    return denied(kindOf(reasons), `signature verification failed: ${text}`);
  }
  if (error.includes(NO_POLICY)) {
    return denied(FailureKind.NoApplicablePolicy, 'no statement of the trust policy applies to this image (registryScopes)');
  }
  if (error.includes(TOO_MANY)) return denied(FailureKind.Other, error);
  if (error.startsWith(MANIFEST)) {
    if (/: not found$/.test(error)) return denied(FailureKind.NotFound, 'image manifest not found in the registry');
    return unavailable(`registry unavailable to notation: ${error.slice(MANIFEST.length).trim()}`);
  }
  if (NETWORK.test(error)) return unavailable(error);
  return denied(FailureKind.Other, error);
}

/** The most specific kind shared by the per-signature reasons (the first signature's when they differ). */
function kindOf(reasons: readonly string[]): FailureKind {
  const first = reasons[0] ?? '';
  if (first.includes('have been revoked')) return FailureKind.Revoked;
  if (first.includes("doesn't match any trusted identities")) return FailureKind.UntrustedIdentity;
  if (/signature is invalid|integrity/i.test(first)) return FailureKind.Integrity;
  if (/expired|not valid/i.test(first)) return FailureKind.Expired;
  if (/trust store|trusted certificate|certificate chain/i.test(first)) return FailureKind.UntrustedRoot;
  return FailureKind.Other;
}
