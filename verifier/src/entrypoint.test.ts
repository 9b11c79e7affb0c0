// The image's entrypoint (scripts/container-entrypoint.sh) starts the verifier with its garbage-collector
// flags, which keep its memory within budget (docs/benchmarks.md "Production runtime"); a `node` of this
// test's own on PATH shows the command line and environment it would run.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ENTRYPOINT = resolve(import.meta.dirname, '../../scripts/container-entrypoint.sh');
const bin = mkdtempSync(join(tmpdir(), 'entrypoint-test-'));
after(() => rmSync(bin, { recursive: true, force: true }));
writeFileSync(join(bin, 'node'), '#!/bin/sh\nprintf "%s\\n" "NODE_OPTIONS=${NODE_OPTIONS:-}" "$@"\n');
chmodSync(join(bin, 'node'), 0o755);

/** The entrypoint's `node` command line (one argument a line after NODE_OPTIONS) and exit status. */
function run(args: string[], nodeOptions?: string): Promise<{ status: number; lines: string[] }> {
  return new Promise((done) => {
    execFile(
      'sh',
      [ENTRYPOINT, ...args],
      { env: { PATH: `${bin}:/usr/bin:/bin`, KNA_APP_DIR: '/app', ...(nodeOptions !== undefined && { NODE_OPTIONS: nodeOptions }) } },
      (err, stdout) => done({ status: err ? Number((err as { code?: number }).code) : 0, lines: stdout.split('\n').filter((l) => l !== '') }),
    );
  });
}

describe('the container entrypoint', () => {
  it('starts the verifier with small semi-spaces and a slow-growing old generation', async () => {
    const { status, lines } = await run(['verifier', '--', '--local']);
    assert.equal(status, 0);
    assert.deepEqual(lines.slice(1), ['--max-semi-space-size=4', '--heap-growing-percent=30', '/app/verifier/dist/main.js', '--local']);
  });

  it('leaves the semi-space size to NODE_OPTIONS when it sets one', async () => {
    const { lines } = await run(['verifier'], '--max-semi-space-size=16 --max-old-space-size=300');
    assert.deepEqual(lines, ['NODE_OPTIONS=--max-semi-space-size=16 --max-old-space-size=300', '--heap-growing-percent=30', '/app/verifier/dist/main.js']);
  });

  it("does not change the operator's", async () => {
    const { lines } = await run(['operator', '--leader-elect'], '--max-old-space-size=300');
    assert.deepEqual(lines, ['NODE_OPTIONS=--max-old-space-size=300', '/app/operator/dist/main.js', '--leader-elect']);
  });
});
