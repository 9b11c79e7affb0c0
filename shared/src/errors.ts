// Coded errors shared by every package. Each error has a stable `code` that callers and tests branch
// on, the outcome class it belongs to, and a message a platform engineer can act on. Packages define
// their catalogue (errors.ts) with `defineError`, in the manner of @fastify/error and undici's
// lib/core/errors.js.

/** How an error must be answered (docs/architecture.md "The HTTP contract"). */
export const Outcome = {
  /** A signature or attestation is missing, invalid, revoked or untrusted: 406. */
  Denied: 'denied',
  /** Registry, AWS Signer, notation or a deadline failed: 503 with Retry-After (or allowed by policy). */
  CouldNotVerify: 'could-not-verify',
  /** The request itself is wrong: 400. */
  BadRequest: 'bad-request',
  /** Configuration the operator or user must fix (unknown trust policy, invalid bundle). */
  Configuration: 'configuration',
  /** A bug: 500. */
  Internal: 'internal',
} as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

const kKnaError = Symbol.for('kyverno-notation-aws.error');

/** Base class of every coded error of the product. */
export class KnaError extends Error {
  readonly code: string;
  readonly outcome: Outcome;

  constructor(code: string, outcome: Outcome, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.outcome = outcome;
  }

  // Works across duplicate copies of this module (two installs of @kna/shared), like undici's errors.
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kKnaError] === true;
  }

  override get name(): string {
    return `KnaError [${this.code}]`;
  }
}

// The marker lives on the prototype rather than as a class member so that it stays out of the
// declaration files of every package that defines errors.
Object.defineProperty(KnaError.prototype, kKnaError, { value: true });

/**
 * Declares one catalogued error: `const ERR_X = defineError('KNA_ERR_X', Outcome.Denied, (a: string) => `…${a}`)`,
 * then `throw new ERR_X('a')` and `err instanceof ERR_X` / `err.code === ERR_X.code`.
 */
export function defineError<A extends unknown[]>(code: string, outcome: Outcome, format: (...args: A) => string) {
  return class extends KnaError {
    static readonly code = code;
    static readonly outcome = outcome;
    constructor(...args: [...A] | [...A, ErrorOptions]) {
      const last = args.at(-1);
      const hasOptions = args.length > format.length && typeof last === 'object' && last !== null && 'cause' in last;
      const formatArgs = (hasOptions ? args.slice(0, -1) : args) as A;
      super(code, outcome, format(...formatArgs), hasOptions ? last : undefined);
    }
    static override [Symbol.hasInstance](value: unknown): boolean {
      return value instanceof KnaError && value.code === code;
    }
  };
}

/** The message of anything thrown: an Error's message, otherwise its string form (a thrown string, a rejected non-Error). */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
