// The README's table of chart values, generated from the comments in values.yaml: a comment that starts
// with "# --" documents the key below it (continuation lines are plain comments; "# @default -- text"
// replaces the printed default), the convention helm-docs established for Helm charts.
import { parse } from 'yaml';

export interface ValueDoc {
  /** Dotted path, e.g. verifier.auth.audiences. */
  readonly key: string;
  readonly type: string;
  /** Markdown for the default. */
  readonly default: string;
  readonly description: string;
}

function typeOf(value: unknown): string {
  if (value === null || value === undefined) return 'string';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'number';
  return typeof value === 'object' ? 'object' : typeof value;
}

function lookupPath(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const part of path) {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/** Every documented value of a values.yaml text, in file order. */
export function documentedValues(valuesYaml: string): ValueDoc[] {
  const values: unknown = parse(valuesYaml);
  const docs: ValueDoc[] = [];
  const stack: { indent: number; key: string }[] = [];
  let pending: { description: string[]; default?: string } | undefined;
  for (const line of valuesYaml.split('\n')) {
    const comment = /^(\s*)#\s?(.*)$/.exec(line);
    if (comment) {
      const text = comment[2] ?? '';
      const start = /^-- ?(.*)$/.exec(text);
      const defaultText = /^@default -- ?(.*)$/.exec(text);
      if (start) pending = { description: [start[1] ?? ''] };
      else if (pending && defaultText) pending.default = defaultText[1] ?? '';
      else if (pending) pending.description.push(text);
      continue;
    }
    if (line.trim() === '') {
      pending = undefined;
      continue;
    }
    const keyLine = /^(\s*)([A-Za-z0-9_.-]+):(?:\s|$)/.exec(line);
    if (!keyLine) continue;
    const indent = keyLine[1]?.length ?? 0;
    while (stack.length > 0 && (stack.at(-1)?.indent ?? 0) >= indent) stack.pop();
    stack.push({ indent, key: keyLine[2] ?? '' });
    if (!pending) continue;
    const path = stack.map((s) => s.key);
    const value = lookupPath(values, path);
    docs.push({
      key: path.join('.'),
      type: typeOf(value),
      default: pending.default ?? `\`${JSON.stringify(value ?? null)}\``,
      description: pending.description.join(' ').replace(/\s+/g, ' ').trim(),
    });
    pending = undefined;
  }
  return docs;
}

export function valuesMarkdown(valuesYaml: string): string {
  const rows = documentedValues(valuesYaml).map(
    (d) => `| \`${d.key}\` | ${d.type} | ${d.default.replace(/\|/g, '\\|')} | ${d.description.replace(/\|/g, '\\|')} |`,
  );
  return ['| value | type | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
