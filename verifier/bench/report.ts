// What one benchmark hands back to main.ts: the target it measures, whether it is met, the lines of
// the report and the raw numbers (written with --out).
export interface BenchReport {
  readonly name: string;
  readonly target: string;
  /** Per target clause: its text and whether the measurement meets it. */
  readonly verdicts: readonly { readonly clause: string; readonly met: boolean; readonly measured: string }[];
  /** Free-form lines (Markdown) with the detail behind the verdicts. */
  readonly details: readonly string[];
  readonly data: unknown;
}

export interface BenchOptions {
  /** Rounds of each measurement (the machine is noisy: medians and spreads over these). */
  readonly rounds: number;
  /** Scratch directory for this run. */
  readonly dir: string;
  readonly log: (line: string) => void;
  /** Extra Node.js flags for the server processes (--cpu-prof). */
  readonly serverNodeArgs: readonly string[];
  /** Run the servers under test from the compiled dist/ (`pnpm build` first) instead of under tsx. */
  readonly serverCompiled: boolean;
}

export const MiB = 1024 * 1024;
