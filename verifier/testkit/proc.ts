// One reading of /proc/<pid>/stat for tests and benchmarks: the command name sits in parentheses and may
// contain spaces and parentheses itself, so the fields are split after its last ")".
import { readFileSync } from 'node:fs';

export interface ProcStat {
  /** The command name (field 2, without its parentheses). */
  readonly comm: string;
  /** The fields after the command name: [0] is field 3 (state), [1] field 4 (ppid), [2] field 5 (process group), [3] field 6 (session), [16] field 19 (nice). */
  readonly fields: readonly string[];
}

/** Throws when the process does not exist (any more). */
export function procStat(pid: number | string): ProcStat {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const close = stat.lastIndexOf(')');
  return { comm: stat.slice(stat.indexOf('(') + 1, close), fields: stat.slice(close + 2).split(' ') };
}
