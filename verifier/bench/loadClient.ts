// Runs load.ts in a child process and returns what it measured, with the CPU the server used meanwhile.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadConfig, LoadResult } from './load.js';
import { cpuSeconds } from './proc.js';

const LOAD = fileURLToPath(new URL('./load.ts', import.meta.url));

export interface MeasuredLoad extends LoadResult {
  /** CPU seconds the server process used during the run (its load-carrying core share). */
  readonly serverCpuSeconds: number;
}

export async function runLoad(config: LoadConfig, serverPid: number, options: { onTick?: () => void; tickMs?: number } = {}): Promise<MeasuredLoad> {
  const child = fork(LOAD, ['--run', JSON.stringify(config)], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const cpuBefore = cpuSeconds(serverPid).self;
  const ticker = options.onTick && setInterval(options.onTick, options.tickMs ?? 250);
  try {
    const result = await new Promise<LoadResult>((resolve, reject) => {
      let got: LoadResult | undefined;
      child.once('message', (message: LoadResult) => {
        got = message;
      });
      child.once('exit', (code) => {
        if (got) resolve(got);
        else reject(new Error(`the load generator exited (${code}) without a result`));
      });
    });
    return { ...result, serverCpuSeconds: cpuSeconds(serverPid).self - cpuBefore };
  } finally {
    if (ticker) clearInterval(ticker);
  }
}
