// Validation of a notation trust policy document (version "1.0") with every rule notation applies when it builds
// a verifier (notation-go verifier/trustpolicy), plus the rules of
// this product. Unlike notation, which stops at the first error, every problem is reported, each with the JSON
// path of the offending value and what to do, so that `kubectl get tp` can say what to fix (docs/architecture.md "Custom resources").
import { canonicalScope } from '../image/reference.js';
import { childPath, Reason, type Problem } from '../crd/problem.js';
import { VALIDATION_ACTIONS, VALIDATION_TYPES, VERIFICATION_LEVELS, VERIFY_TIMESTAMP_OPTIONS, type TrustPolicyStatement } from '../crd/trust-policy.js';
import { TRUST_STORE_TYPES, type TrustStoreType } from '../crd/trust-store.js';
import { isSubsetDistinguishedName, parseDistinguishedName, type DistinguishedName } from './distinguished-name.js';

/** The notation trust policy document: what trustpolicy.json holds. */
export interface TrustPolicyDocument {
  version: '1.0';
  trustPolicies: TrustPolicyStatement[];
}

/** What validateTrustPolicyDocument reads: a document, or a TrustPolicy spec (which has one more field). */
export interface TrustPolicyDocumentInput {
  version: string;
  trustPolicies: readonly TrustPolicyStatement[];
}

const WILDCARD = '*';
const X509_SUBJECT = 'x509.subject';
/** notation's trust store name rule (file.IsValidFileName). */
export const TRUST_STORE_NAME_PATTERN = /^[a-zA-Z0-9_.-]+$/;
// notation's validateRegistryScopeFormat: the distribution domain and repository regexes.
const SCOPE_DOMAIN = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?$/;
const SCOPE_REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-*)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-*)[a-z0-9]+)*)*$/;
// An AWS Signer signing profile (…/signing-profiles/<name>) or profile version (…/<name>/<version>) ARN: the only
// identities the AWS Signer plugin matches (its README: signing-profile ARNs).
const SIGNING_PROFILE_ARN = /^arn:[^:]+:signer:[^:]+:[^:]+:\/signing-profiles\/[^/]+(?:\/[^/]+)?$/;
const SCOPE_EXAMPLE = 'e.g. "111122223333.dkr.ecr.us-west-2.amazonaws.com/my-app"';

function quote(value: string): string {
  return JSON.stringify(value);
}

function list(values: readonly string[]): string {
  return values.map(quote).join(', ');
}

/** A trust store reference "<type>:<name>" split, or why it is not one (notation's validateTrustStore). */
export function parseTrustStoreReference(reference: string): { ok: true; type: TrustStoreType; name: string } | { ok: false; error: string } {
  const colon = reference.indexOf(':');
  if (colon < 0)
    return { ok: false, error: `must be "<type>:<trustStoreName>" with type ${TRUST_STORE_TYPES.join(', ')}, e.g. "signingAuthority:aws-signer-ts"` };
  const type = reference.slice(0, colon);
  const name = reference.slice(colon + 1);
  if (!(TRUST_STORE_TYPES as readonly string[]).includes(type)) {
    return { ok: false, error: `unsupported trust store type ${quote(type)}; use one of ${list(TRUST_STORE_TYPES)} (AWS Signer roots are "signingAuthority")` };
  }
  if (!TRUST_STORE_NAME_PATTERN.test(name)) {
    return { ok: false, error: `invalid trust store name ${quote(name)}; names are letters, digits, "_", "." and "-"` };
  }
  return { ok: true, type: type as TrustStoreType, name };
}

function registryScopeProblem(scope: string): string | undefined {
  if (scope === '') return 'a registry scope cannot be empty';
  if (scope.includes('://')) return `remove the scheme: a scope is "<registry>/<repository>", ${SCOPE_EXAMPLE}`;
  if (scope.includes('*'))
    return `wildcards are not supported inside a scope; use "*" alone as the only scope of a statement, or list repositories, ${SCOPE_EXAMPLE}`;
  const slash = scope.indexOf('/');
  if (slash < 0) return `the scope must be fully qualified as "<registry>/<repository>", ${SCOPE_EXAMPLE}`;
  const domain = scope.slice(0, slash);
  const repository = scope.slice(slash + 1);
  if (repository.includes('@') || /:[^/]*$/.test(repository))
    return 'remove the tag or digest: a scope names a repository, and applies to all its tags and digests';
  if (!SCOPE_DOMAIN.test(domain)) return `invalid registry ${quote(domain)} (expected host[:port]); the scope must start with the registry, ${SCOPE_EXAMPLE}`;
  if (!SCOPE_REPOSITORY.test(repository)) {
    if (SCOPE_REPOSITORY.test(repository.toLowerCase())) return `repository names are lowercase: ${quote(`${domain}/${repository.toLowerCase()}`)}`;
    return `invalid repository ${quote(repository)}: path components are lowercase letters and digits separated by ".", "_", "__" or "-", joined with "/"`;
  }
  return undefined;
}

function validateSignatureVerification(statement: TrustPolicyStatement, path: string, problems: Problem[]): void {
  const verification = statement.signatureVerification as Partial<TrustPolicyStatement['signatureVerification']> | undefined;
  const at = childPath(path, 'signatureVerification');
  const add = (where: string, message: string) => problems.push({ path: where, message, reason: Reason.InvalidTrustPolicy });
  if (verification === undefined || typeof verification !== 'object') {
    add(at, 'signatureVerification is required, with at least a level');
    return;
  }
  const level = verification.level;
  if (level === undefined || (level as string) === '') add(childPath(at, 'level'), `the verification level is required: one of ${list(VERIFICATION_LEVELS)}`);
  else if (!(VERIFICATION_LEVELS as readonly string[]).includes(level))
    add(childPath(at, 'level'), `invalid verification level ${quote(level)}; use one of ${list(VERIFICATION_LEVELS)}`);
  const override = verification.override ?? {};
  const overridePath = childPath(at, 'override');
  if (level === 'skip' && Object.keys(override).length > 0) {
    add(overridePath, 'override cannot be used with level "skip" (nothing is verified); remove it or choose another level');
  } else {
    for (const [key, action] of Object.entries(override)) {
      const keyPath = childPath(overridePath, key);
      if (!(VALIDATION_TYPES as readonly string[]).includes(key)) {
        add(keyPath, `unknown validation type ${quote(key)}; use one of ${list(VALIDATION_TYPES.filter((t) => t !== 'integrity'))}`);
      } else if (key === 'integrity') {
        add(keyPath, 'integrity cannot be overridden: notation always enforces it; remove this key');
      } else if (!(VALIDATION_ACTIONS as readonly string[]).includes(action)) {
        add(keyPath, `invalid action ${quote(action)}; use one of ${list(VALIDATION_ACTIONS)}`);
      } else if (action === 'skip' && key !== 'revocation') {
        add(keyPath, `${key} cannot be skipped, only revocation can; use "log" to record ${key} failures without enforcing them`);
      }
    }
  }
  const verifyTimestamp = verification.verifyTimestamp;
  if (verifyTimestamp !== undefined && !(VERIFY_TIMESTAMP_OPTIONS as readonly string[]).includes(verifyTimestamp)) {
    add(childPath(at, 'verifyTimestamp'), `invalid value ${quote(verifyTimestamp)}; use one of ${list(VERIFY_TIMESTAMP_OPTIONS)} or leave it out`);
  }
}

function validateIdentities(statement: TrustPolicyStatement, path: string, storeTypes: readonly TrustStoreType[], problems: Problem[]): void {
  const identities: readonly string[] = statement.trustedIdentities ?? [];
  const at = childPath(path, 'trustedIdentities');
  const add = (where: string, message: string, reason: Problem['reason'] = Reason.InvalidTrustedIdentity) => problems.push({ path: where, message, reason });
  const hasWildcard = identities.includes(WILDCARD);
  if (hasWildcard && identities.length > 1) add(at, '"*" must be the only trusted identity of its statement; remove "*" or the other identities');
  if (hasWildcard && storeTypes.includes('signingAuthority')) {
    add(
      childPath(at, identities.indexOf(WILDCARD)),
      'the AWS Signer plugin rejects "*" ("The AWSSigner plugin does not support wildcard identity in the trust policy."); ' +
        'list the signing profiles you trust, e.g. "arn:aws:signer:us-west-2:111122223333:/signing-profiles/my_profile"',
      Reason.WildcardIdentityNotSupported,
    );
  }
  const subjects: { index: number; identity: string; dn: DistinguishedName }[] = [];
  identities.forEach((identity, index) => {
    const where = childPath(at, index);
    if (identity === WILDCARD) return;
    if (identity === '') {
      add(where, 'a trusted identity cannot be empty');
      return;
    }
    const colon = identity.indexOf(':');
    if (colon < 0) {
      add(where, `missing the "<kind>:" separator; use an AWS Signer signing-profile ARN ("arn:aws:signer:…") or "x509.subject: C=…, ST=…, O=…"`);
      return;
    }
    const prefix = identity.slice(0, colon);
    const value = identity.slice(colon + 1);
    if (prefix === X509_SUBJECT) {
      if (value.trim() === '') {
        add(where, 'x509.subject needs a distinguished name, e.g. "x509.subject: C=US, ST=WA, O=Example"');
        return;
      }
      const parsed = parseDistinguishedName(value);
      if (!parsed.ok) add(where, `invalid x509.subject: ${parsed.error}`);
      else subjects.push({ index, identity, dn: parsed.dn });
    } else if (prefix === 'arn' && !SIGNING_PROFILE_ARN.test(identity)) {
      // Product rule: the AWS Signer plugin only matches signing-profile ARNs and silently ignores other ARNs,
      // so such an identity can never match a signature.
      add(
        where,
        'not an AWS Signer signing-profile ARN ("arn:<partition>:signer:<region>:<account>:/signing-profiles/<name>[/<version>]"); the AWS Signer plugin ignores it, so no signature can match it',
      );
    }
  });
  // notation: no two x509.subject identities of a statement may overlap (one a subset of the other).
  for (let i = 0; i < subjects.length; i++) {
    for (let j = i + 1; j < subjects.length; j++) {
      const a = subjects[i];
      const b = subjects[j];
      if (a && b && (isSubsetDistinguishedName(a.dn, b.dn) || isSubsetDistinguishedName(b.dn, a.dn))) {
        add(
          childPath(at, b.index),
          `overlaps with ${quote(a.identity)} (trustedIdentities[${a.index}]); one subject matches everything the other does, keep only one`,
        );
      }
    }
  }
}

/**
 * Every problem of a notation trust policy document (or TrustPolicy spec), empty when notation would accept it
 * and the AWS Signer plugin could use it. Paths start at `options.path` (e.g. "spec"), default "".
 */
export function validateTrustPolicyDocument(document: TrustPolicyDocumentInput, options: { path?: string } = {}): Problem[] {
  const base = options.path ?? '';
  const problems: Problem[] = [];
  const add = (path: string, message: string, reason: Problem['reason'] = Reason.InvalidTrustPolicy) => problems.push({ path, message, reason });

  const version = document.version as string | undefined;
  if (version === undefined || version === '') add(childPath(base, 'version'), 'the version is required; set it to "1.0"');
  else if (version !== '1.0') add(childPath(base, 'version'), `unsupported version ${quote(version)}; notation supports only "1.0"`);

  const statements = (document.trustPolicies as readonly TrustPolicyStatement[] | undefined) ?? [];
  const statementsPath = childPath(base, 'trustPolicies');
  if (statements.length === 0) add(statementsPath, 'at least one trust policy statement is required');

  const names = new Map<string, number>();
  const scopes = new Map<string, string>();
  statements.forEach((statement, index) => {
    const path = childPath(statementsPath, index);
    const name = statement.name as string | undefined;
    if (name === undefined || name === '') add(childPath(path, 'name'), 'every statement needs a name');
    else {
      const first = names.get(name);
      if (first !== undefined)
        add(childPath(path, 'name'), `statement name ${quote(name)} is already used by trustPolicies[${first}]; statement names must be unique`);
      else names.set(name, index);
    }

    // Registry scopes: "*" alone, or fully qualified repositories; one statement per scope across the document.
    const registryScopes = statement.registryScopes as readonly string[] | undefined;
    const scopesPath = childPath(path, 'registryScopes');
    if (registryScopes === undefined || registryScopes.length === 0) {
      add(scopesPath, `at least one registry scope is required: "*" or "<registry>/<repository>", ${SCOPE_EXAMPLE}`, Reason.InvalidRegistryScope);
    } else {
      if (registryScopes.length > 1 && registryScopes.includes(WILDCARD)) {
        add(
          scopesPath,
          '"*" must be the only registry scope of its statement; remove "*" or move the other scopes to another statement',
          Reason.InvalidRegistryScope,
        );
      }
      registryScopes.forEach((scope, scopeIndex) => {
        const where = childPath(scopesPath, scopeIndex);
        const here = `trustPolicies[${index}].registryScopes[${scopeIndex}]`;
        if (scope !== WILDCARD) {
          const problem = registryScopeProblem(scope);
          if (problem !== undefined) add(where, `invalid registry scope ${quote(scope)}: ${problem}`, Reason.InvalidRegistryScope);
        }
        // Compared in canonical form: `Reg.io/app` and `reg.io/app` are one repository (render canonicalises scopes).
        const key = canonicalScope(scope);
        const owner = scopes.get(key);
        if (owner !== undefined) {
          add(where, `registry scope ${quote(scope)} is already used by ${owner}; a scope can belong to only one statement`, Reason.InvalidRegistryScope);
        } else scopes.set(key, here);
      });
    }

    validateSignatureVerification(statement, path, problems);

    const trustStores: readonly string[] = statement.trustStores ?? [];
    const identities: readonly string[] = statement.trustedIdentities ?? [];
    const level = (statement.signatureVerification as { level?: string } | undefined)?.level;
    const storeTypes: TrustStoreType[] = [];
    if (level === 'skip') {
      if (trustStores.length > 0 || identities.length > 0) {
        add(path, 'level "skip" verifies nothing, so trustStores and trustedIdentities must be left out; remove them or choose another level');
      }
    } else {
      if (trustStores.length === 0)
        add(childPath(path, 'trustStores'), 'trust stores are required unless the level is "skip", e.g. ["signingAuthority:aws-signer-ts"]');
      if (identities.length === 0)
        add(childPath(path, 'trustedIdentities'), 'trusted identities are required unless the level is "skip", e.g. the signing-profile ARNs you trust');
      trustStores.forEach((reference, storeIndex) => {
        const parsed = parseTrustStoreReference(reference);
        if (parsed.ok) storeTypes.push(parsed.type);
        else
          add(
            childPath(childPath(path, 'trustStores'), storeIndex),
            `invalid trust store ${quote(reference)}: ${parsed.error}`,
            Reason.InvalidTrustStoreReference,
          );
      });
      validateIdentities(statement, path, storeTypes, problems);
    }
  });
  return problems;
}
