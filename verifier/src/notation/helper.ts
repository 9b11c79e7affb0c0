// Verifies through one long-lived kna-notation-helper (verifier/notation-helper: notation-go in a resident
// Go process; docs/architecture.md "Two notation engines") instead of a notation process per verification.
// The helper is started on the first verification, through nice(1) like the CLI runner, in its own
// process group; requests and answers are newline-delimited JSON lines with an id. Credentials travel in
// the request on the helper's stdin (never argv). A verification that outlives its timeout or its
// caller's deadline is cancelled in the helper (its context, and with it the plugin processes). If the
// helper dies, every verification it had in flight is answered could-not-verify and the next
// verification starts a new helper.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { classifyReport, FailureKind, VerifyOutcome, type VerifyReport } from './classify.js';
import {
  engineSettings,
  inSlot,
  killProcessGroup,
  notationEnvironment,
  notVerified,
  type EngineOptions,
  type EngineSettings,
  type NotationEngine,
  type VerifyRequest,
  type VerifyResult,
} from './engine.js';
import { ChildSession, lowerPriority, lowPriorityCommand } from './priority.js';
import { Semaphore } from './semaphore.js';
import { forwardStderr, type WarnLog } from './stderrLog.js';

export interface NotationHelperOptions extends EngineOptions {
  /** The kna-notation-helper executable. */
  readonly helperPath: string;
  /** The verifier's log: the helper's stderr is forwarded to it, bounded (stderrLog.ts); default: not forwarded. */
  readonly log?: WarnLog;
}

type HelperProcess = ChildProcessByStdio<Writable, Readable, Readable>;

interface Pending {
  readonly started: number;
  readonly resolve: (result: VerifyResult) => void;
}

/** Bytes of the helper's stderr kept for the reason of a crash. */
const STDERR_TAIL = 4096;
/** A line longer than this is not an answer: the helper is replaced. */
const MAX_LINE = 4 << 20;
/** The verifier's own timer fires this long after the helper's (which answers with its own fault). */
const TIMEOUT_GRACE_MS = 2_000;

export class NotationHelper implements NotationEngine {
  readonly #options: EngineSettings & { readonly helperPath: string };
  readonly #log: WarnLog | undefined;
  readonly #env: Record<string, string>;
  readonly #slots: Semaphore;
  readonly #pending = new Map<string, Pending>();
  #child: HelperProcess | undefined;
  #stderrTail = '';
  #nextId = 1;
  #runs = 0;
  #starts = 0;

  constructor(options: NotationHelperOptions) {
    this.#options = { ...engineSettings(options), helperPath: options.helperPath };
    this.#log = options.log;
    this.#env = { ...notationEnvironment(options.env ?? process.env), NOTATION_LIBEXEC: this.#options.libexecDir, NOTATION_CACHE: this.#options.cacheDir };
    this.#slots = new Semaphore(this.#options.maxConcurrent);
  }

  /** How many verifications were sent to the helper. */
  get runs(): number {
    return this.#runs;
  }

  /** How many helper processes were started (1 unless one died). */
  get starts(): number {
    return this.#starts;
  }

  /** The running helper's pid (tests). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  verify(request: VerifyRequest): Promise<VerifyResult> {
    return inSlot(this.#slots, request, (started) => this.#run(request, started));
  }

  /** Stops the helper (and the plugins it runs); verifications in flight are answered could-not-verify. */
  killAll(): void {
    const child = this.#child;
    if (child) this.#lost(child, 'was stopped: the verifier is shutting down');
  }

  #run(request: VerifyRequest, started: number): Promise<VerifyResult> {
    if (request.signal?.aborted) return Promise.resolve(notVerified(started, 'cancelled before the verification started (request deadline)'));
    let child: HelperProcess;
    try {
      child = this.#ensureChild();
    } catch (err) {
      return Promise.resolve(notVerified(started, `the notation helper could not be started (${this.#options.helperPath}): ${(err as Error).message}`));
    }
    const id = String(this.#nextId++);
    const { timeoutMs, maxSignatures } = this.#options;
    return new Promise((resolve) => {
      const finish = (result: VerifyResult) => {
        if (!this.#pending.delete(id)) return;
        clearTimeout(timer);
        request.signal?.removeEventListener('abort', onAbort);
        resolve(result);
      };
      const cancel = (reason: string) => {
        if (!this.#pending.has(id)) return;
        this.#send(child, { type: 'cancel', id });
        finish(notVerified(started, reason));
      };
      const timer = setTimeout(
        () => cancel(`the notation helper did not answer within ${timeoutMs} ms; the verification was cancelled`),
        timeoutMs + TIMEOUT_GRACE_MS,
      );
      const onAbort = () => cancel('cancelled: the request deadline was reached while the notation helper was verifying');
      request.signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(id, { started, resolve: finish });
      this.#runs++;
      this.#send(child, {
        type: 'verify',
        id,
        reference: request.reference,
        ...(request.manifest && { manifest: request.manifest }),
        configDir: request.configDir,
        pluginConfig: request.pluginConfig,
        ...(request.credentials && { credentials: request.credentials }),
        insecureRegistry: request.insecureRegistry === true,
        maxSignatures,
        timeoutMs,
      });
    });
  }

  #send(child: HelperProcess, message: unknown): void {
    // A helper that died is noticed by its 'close' event, which answers what was in flight.
    if (child.stdin.writable) child.stdin.write(`${JSON.stringify(message)}\n`);
  }

  #ensureChild(): HelperProcess {
    if (this.#child) return this.#child;
    const { helperPath, libexecDir, cacheDir, timeoutMs } = this.#options;
    const args = ['--libexec', libexecDir, '--cache-dir', cacheDir, '--timeout', `${timeoutMs}ms`];
    const command = lowPriorityCommand(helperPath, args, this.#options, ChildSession.Shared);
    // Not detached: the helper stays in the verifier's session (its niceness then ranks it against the event
    // loop wherever the kernel schedules by session) and makes itself the leader of a process group of its
    // own as it starts (verifier/notation-helper/main.go), so that a kill of that group reaches the plugins.
    const child = spawn(command.file, command.args, { env: this.#env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child = child;
    this.#starts++;
    this.#stderrTail = '';
    if (child.pid !== undefined) void lowerPriority(child.pid, command);
    let buffer = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        this.#onLine(line);
      }
      if (buffer.length > MAX_LINE) this.#lost(child, 'wrote a line longer than any answer');
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      this.#stderrTail = (this.#stderrTail + chunk).slice(-STDERR_TAIL);
    });
    if (this.#log) forwardStderr(child.stderr, { log: this.#log, fields: { source: 'kna-notation-helper', pid: child.pid } });
    child.stdin.on('error', () => {
      // EPIPE when the helper died: its 'close' answers.
    });
    child.once('error', (err) => this.#lost(child, `could not be started (${helperPath}): ${err.message}`));
    child.once('close', (code, signal) => this.#lost(child, `exited (${signal ?? `status ${String(code)}`})`));
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { unref?: () => void }).unref?.();
    return child;
  }

  /** The helper is gone (or is being replaced): everything it had in flight is answered could-not-verify. */
  #lost(child: HelperProcess, why: string): void {
    if (this.#child !== child) return;
    this.#child = undefined;
    if (child.pid !== undefined) killProcessGroup(child.pid);
    const tail = this.#stderrTail.trim().split('\n').at(-1);
    const reason = `the notation helper ${why}${tail ? ` (${tail})` : ''}; the verification was not completed (a new helper serves the next one)`;
    const pending = [...this.#pending.values()];
    for (const p of pending) p.resolve(notVerified(p.started, reason, this.#stderrTail));
  }

  #onLine(line: string): void {
    if (line.trim() === '') return;
    let answer: unknown;
    try {
      answer = JSON.parse(line);
    } catch {
      return;
    }
    if (typeof answer !== 'object' || answer === null) return;
    const { id, report, fault } = answer as { id?: unknown; report?: unknown; fault?: unknown };
    const pending = typeof id === 'string' ? this.#pending.get(id) : undefined;
    // Answers to cancelled verifications arrive after they were answered here.
    if (!pending) return;
    if (typeof fault === 'string') {
      pending.resolve(notVerified(pending.started, fault));
      return;
    }
    const checked = verifyReport(report);
    if (checked === undefined) {
      // Not something this verifier understands: never a pass, and not an infrastructure fault either.
      pending.resolve({
        outcome: VerifyOutcome.Denied,
        kind: FailureKind.Other,
        reason: 'the notation helper answered without a valid report',
        warnings: [],
        durationMs: performance.now() - pending.started,
        exitCode: null,
        stderr: line.slice(0, STDERR_TAIL),
      });
      return;
    }
    pending.resolve({ ...classifyReport(checked), durationMs: performance.now() - pending.started, exitCode: null, stderr: reportText(checked) });
  }
}

function strings(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function verifyReport(value: unknown): VerifyReport | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { status, error, signatureFailures, warnings } = value as Record<string, unknown>;
  if (status !== 'verified' && status !== 'skipped' && status !== 'failed') return undefined;
  if (!strings(signatureFailures) || !strings(warnings)) return undefined;
  if (error !== undefined && typeof error !== 'string') return undefined;
  if (status === 'failed' && (error === undefined || error === '')) return undefined;
  return { status, ...(error !== undefined && { error }), signatureFailures, warnings };
}

/** The report in the CLI's words, for the verifier's log. */
function reportText(report: VerifyReport): string {
  return [
    ...report.signatureFailures.map((f) => `signature failed verification with error: ${f}`),
    ...report.warnings.map((w) => `Warning: ${w}`),
    ...(report.error !== undefined ? [`Error: ${report.error}`] : []),
  ].join('\n');
}
