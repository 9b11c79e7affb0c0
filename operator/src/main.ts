// `pnpm operator -- [flags]`: out of cluster with KUBECONFIG (or --kubeconfig), in cluster with its ServiceAccount.
// Exit codes: 0 after SIGTERM/SIGINT (the Lease released), 1 when leadership was lost (the Deployment restarts the
// pod as a standby), 2 for bad flags or a failed start.
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { KnaError } from '@kna/shared';
import { helpText, parseFlags } from './config/flags.js';
import { startOperator } from './operator.js';

function kubeConfigFor(path: string, env: NodeJS.ProcessEnv): KubeConfig {
  const kubeConfig = new KubeConfig();
  const explicit = path !== '' ? path : env.KUBECONFIG;
  // loadFromDefault falls back to ~/.kube/config and then the in-cluster ServiceAccount.
  if (explicit !== undefined && explicit !== '') kubeConfig.loadFromFile(explicit);
  else kubeConfig.loadFromDefault();
  return kubeConfig;
}

async function main(): Promise<number> {
  let parsed;
  // `pnpm operator -- --flag` hands the separator through.
  const args = process.argv.slice(2);
  try {
    parsed = parseFlags(args[0] === '--' ? args.slice(1) : args);
  } catch (err) {
    if (err instanceof KnaError) {
      process.stderr.write(`operator: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (parsed.help) {
    process.stdout.write(`${helpText()}\n`);
    return 0;
  }
  const { flags } = parsed;
  const log = pino({ level: flags.logLevel, base: { component: 'operator' } });
  const operator = await startOperator({ flags, kubeConfig: kubeConfigFor(flags.kubeconfig, process.env), log });
  const signalled = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const reason = await Promise.race([signalled.then((s) => ({ signal: s })), operator.lost.then((lost) => ({ lost }))]);
  if ('lost' in reason) {
    // Nothing may be written any more: stop without releasing (the Lease is someone else's or about to be).
    log.error({ reason: reason.lost }, 'leadership lost: exiting so that a standby takes over');
    void operator.stop();
    return 1;
  }
  log.info({ signal: reason.signal }, 'shutting down: releasing the Lease');
  await operator.stop();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`operator: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  },
);
