#!/usr/bin/env node
// The verifier's command line: `verifier [flags]` serves /checkimages; `verifier conditions …`
// evaluates attestation conditions offline. Flags: config/flags.ts, or `verifier --help`.
import { KnaError } from '@kna/shared/errors';
import { helpText, parseFlags } from './config/flags.js';
import { createLogger, startVerifier } from './app.js';
import { runConditionsCommand } from './cli/conditions.js';

async function main(args: string[]): Promise<number> {
  // `pnpm verifier …` runs this from the workspace root whatever directory the user typed it in;
  // pnpm says where that was in INIT_CWD. Relative paths (--policyDir, --payload…) mean what the
  // user meant. A verifier started directly (a container, a test) has no INIT_CWD of its own.
  const invokedFrom = process.env.INIT_CWD;
  if (invokedFrom !== undefined && invokedFrom !== '' && invokedFrom !== process.cwd()) {
    try {
      process.chdir(invokedFrom);
    } catch {
      // A directory that is gone: stay where we are.
    }
  }
  // `pnpm verifier -- --flag` hands the separator through.
  const argv = args[0] === '--' ? args.slice(1) : args;
  if (argv[0] === 'conditions') return runConditionsCommand(argv.slice(1), { stdout: process.stdout, stderr: process.stderr });
  const parsed = parseFlags(argv);
  if (parsed.help) {
    console.log(helpText());
    return 0;
  }
  if (parsed.positionals.length > 0) {
    console.error(`verifier: unexpected argument ${JSON.stringify(parsed.positionals[0])}; see --help`);
    return 2;
  }
  const log = createLogger(parsed.flags.logLevel);
  const verifier = await startVerifier({ flags: parsed.flags, logger: log });
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    verifier.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return -1;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    // Start-up errors are configuration the user must fix: say what, without a stack trace.
    console.error(`verifier: ${err instanceof KnaError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(2);
  },
);
