// `{{ }}` variable substitution in condition keys and values, following Kyverno's
// substituteVariablesIfAny (pkg/engine/variables/vars.go):
//   • a variable is `{{ … }}` not preceded by a backslash; its text may contain single-level
//     braces (a JMESPath multi-select hash) but not `{{`, so in
//     `{{ time_since('', '{{ metadata.scanFinishedOn }}', '') }}` the inner variable is found
//     first, and the outer one becomes a variable once the inner one is replaced;
//   • a string that is exactly one variable becomes the typed JMESPath result (number, boolean,
//     array, object or null); otherwise each result is spliced into the string, strings as-is and
//     anything else JSON-encoded the way Go's encoding/json writes it;
//   • substituted strings are scanned again until no variable is left;
//   • `\{{ … }}` is left alone during substitution and unescaped to `{{ … }}` at the end;
//   • strings are substituted at every depth of arrays and objects, object keys included.
// Kyverno's `$(…)` references point into the policy document, which has no counterpart in a
// conditions request, so they are not resolved.

/** Resolves one variable's JMESPath text; `pass` is 0 for variables written in the request. */
export type VariableResolver = (expression: string, variable: string, pass: number) => unknown;

const VARIABLES = /(^|[^\\])(\{\{(?:\{[^{}]*\}|[^{}])*\}\})/g;
const ESCAPED_VARIABLES = /\\\{\{(?:\{[^{}]*\}|[^{}])*\}\}/g;

// A substituted value can itself contain `{{ … }}` and be resolved again; a payload string that
// reproduces itself would loop forever (it does in Kyverno), so the number of passes is bounded.
const MAX_SUBSTITUTION_PASSES = 32;

/** Thrown when substitution keeps finding new variables after MAX_SUBSTITUTION_PASSES passes. */
export class SubstitutionLoopError extends Error {}

/** The variables (`{{ … }}` with their one-character prefix, if any) found in a string. */
export function findVariables(text: string): { prefix: string; variable: string }[] {
  return Array.from(text.matchAll(VARIABLES), (m) => ({ prefix: m[1] ?? '', variable: m[2] ?? '' }));
}

/** The JMESPath text of a variable: braces removed, surrounding space trimmed (replaceBracesAndTrimSpaces). */
export function variableExpression(variable: string): string {
  return variable.replaceAll('{{', '').replaceAll('}}', '').trim();
}

/** Go's json.Marshal of a decoded JSON value: sorted object keys, HTML-safe escapes. */
export function goJsonMarshal(value: unknown): string {
  const sortKeys = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (typeof v === 'object' && v !== null) {
      const record = v as Record<string, unknown>;
      return Object.fromEntries(
        Object.keys(record)
          .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
          .map((k) => [k, sortKeys(record[k])]),
      );
    }
    return v;
  };
  return JSON.stringify(sortKeys(value ?? null))
    .replaceAll('<', '\\u003c')
    .replaceAll('>', '\\u003e')
    .replaceAll('&', '\\u0026')
    .replaceAll('\u2028', '\\u2028')
    .replaceAll('\u2029', '\\u2029');
}

function substituteString(text: string, resolve: VariableResolver): unknown {
  let value = text;
  let vars = findVariables(value);
  let pass = 0;
  while (vars.length > 0) {
    if (pass >= MAX_SUBSTITUTION_PASSES) {
      throw new SubstitutionLoopError(`variables still unresolved after ${String(MAX_SUBSTITUTION_PASSES)} passes`);
    }
    // Kyverno splices each variable into the string as it was at the start of the pass, then
    // scans the result again; mirrored as written.
    const original = value;
    for (const { prefix, variable } of vars) {
      const result = resolve(variableExpression(variable), variable, pass);
      if (original === variable) return result;
      const replacement = typeof result === 'string' ? result : goJsonMarshal(result);
      value = original.replace(prefix + variable, () => prefix + replacement);
    }
    vars = findVariables(value);
    pass++;
  }
  return value.replace(ESCAPED_VARIABLES, (escaped) => escaped.slice(1));
}

/**
 * Substitutes every variable in a condition key or value (any JSON). Errors from `resolve`
 * propagate unchanged.
 */
export function substituteVariables(document: unknown, resolve: VariableResolver): unknown {
  if (typeof document === 'string') return substituteString(document, resolve);
  if (Array.isArray(document)) return document.map((item) => substituteVariables(item, resolve));
  if (typeof document === 'object' && document !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(document as Record<string, unknown>)) {
      const newKey = substituteString(key, resolve);
      out[typeof newKey === 'string' ? newKey : goJsonMarshal(newKey)] = substituteVariables(item, resolve);
    }
    return out;
  }
  return document;
}
