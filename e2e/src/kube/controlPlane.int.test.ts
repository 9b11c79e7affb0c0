// The life cycle of test control planes: several side by side, each isolated; a stop (or a failed
// start) that leaves no process, port or file; and the `harness kube up|down` CLI.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { isAlive } from '../harness/processes.js';
import { REPO_ROOT } from '../harness/tools-env.js';
import { kubectl } from './clients.js';
import { readControlPlaneState, startControlPlane, stopControlPlane, type ControlPlane } from './controlPlane.js';
import { KUBE_ERR_DIR_IN_USE, KUBE_ERR_DIR_NOT_EMPTY, KUBE_ERR_NOT_READY } from './errors.js';
import { eventually } from './testing.js';

const run = promisify(execFile);

/** Pids of the processes whose command line mentions `text` (a control plane's directory). */
function processesMentioning(text: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) found.push(Number(entry));
    } catch {
      // Gone in the meantime, or not ours to read.
    }
  }
  return found;
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** Resolves true when nothing listens on 127.0.0.1:`port` any more. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

/** Status of GET /api/v1/namespaces on `server` (trusting `ca`) with the admin client certificate of `plane`. */
async function statusWithCredentialsOf(plane: ControlPlane, server: string, ca: string): Promise<number> {
  const config = parse(readFileSync(plane.kubeconfig, 'utf8')) as { users: { user: Record<string, string> }[] };
  const user = config.users[0]?.user ?? {};
  const decode = (key: string) => Buffer.from(user[key] ?? '', 'base64').toString('utf8');
  return new Promise((resolve, reject) => {
    const req = request(`${server}/api/v1/namespaces`, { ca, cert: decode('client-certificate-data'), key: decode('client-key-data') }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

async function assertGone(state: { dir: string; pids: readonly number[]; server: string; etcdUrl: string }): Promise<void> {
  // A process killed by another process (the CLI) is reaped by init a moment later.
  await eventually(() => {
    assert.deepEqual(state.pids.filter(isAlive), []);
  });
  assert.deepEqual(processesMentioning(state.dir), []);
  assert.equal(existsSync(state.dir), false, `${state.dir} still exists`);
  assert.equal(await refused(portOf(state.server)), true, `something still listens on ${state.server}`);
  assert.equal(await refused(portOf(state.etcdUrl)), true, `something still listens on ${state.etcdUrl}`);
}

describe('test control planes', () => {
  it('run side by side with their own ports, directories and data, and stop without a trace', async () => {
    const planes: ControlPlane[] = [];
    after(() => Promise.all(planes.map((p) => p.stop())));
    const started = await Promise.allSettled([startControlPlane(), startControlPlane()]);
    for (const s of started) if (s.status === 'fulfilled') planes.push(s.value);
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    const [a, b] = planes;
    assert.ok(a && b);
    console.log(`two control planes started side by side: ${JSON.stringify(a.timings)} and ${JSON.stringify(b.timings)}`);

    assert.notEqual(a.dir, b.dir);
    const ports = [a.server, a.etcdUrl, b.server, b.etcdUrl].map(portOf);
    assert.equal(new Set(ports).size, 4, `ports must differ: ${ports.join(', ')}`);

    await kubectl(a, ['create', 'configmap', 'only-in-a', '--namespace', 'default', '--from-literal=k=v']);
    assert.equal((await kubectl(a, ['get', 'configmap', 'only-in-a', '-o', 'jsonpath={.data.k}'])).stdout, 'v');
    const inB = await kubectl(b, ['get', 'configmap', 'only-in-a'], { allowFailure: true });
    assert.notEqual(inB.status, 0);
    assert.match(inB.stderr, /NotFound/);

    // Each admin certificate is issued by its own CA, so the other API server refuses it.
    assert.equal(await statusWithCredentialsOf(b, a.server, readFileSync(a.caFile, 'utf8')), 401);
    assert.equal(await statusWithCredentialsOf(a, a.server, readFileSync(a.caFile, 'utf8')), 200);

    await a.stop();
    await assertGone(a);
    // The other one is unaffected.
    assert.equal((await kubectl(b, ['get', '--raw', '/readyz'])).stdout, 'ok');
    await b.stop();
    await assertGone(b);
  });

  it('leave nothing behind when a start fails, and say why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kna-kube-fail-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    await assert.rejects(startControlPlane({ dir, extraApiServerArgs: ['--no-such-flag'] }), (err: unknown) => {
      assert.ok(err instanceof KUBE_ERR_NOT_READY, String(err));
      assert.match(err.message, /kube-apiserver .*did not become ready.*unknown flag: --no-such-flag/s);
      return true;
    });
    assert.equal(existsSync(dir), false);
    assert.deepEqual(processesMentioning(dir), []);
  });

  it('refuse a directory that already holds one, or anything else (it is removed on stop)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kna-kube-busy-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'state.json'), '{}');
    await assert.rejects(startControlPlane({ dir }), KUBE_ERR_DIR_IN_USE);
    assert.equal(readFileSync(join(dir, 'state.json'), 'utf8'), '{}', 'the other control plane must be left alone');
    rmSync(join(dir, 'state.json'));
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    await assert.rejects(startControlPlane({ dir }), KUBE_ERR_DIR_NOT_EMPTY);
    assert.equal(readFileSync(join(dir, 'notes.txt'), 'utf8'), 'mine');
  });

  it('start in the background with `harness kube up` and stop with `harness kube down`', async () => {
    const cli = ['--conditions=source', '--import', 'tsx', join(REPO_ROOT, 'e2e/src/harness/cli.ts')];
    const up = await run(process.execPath, [...cli, 'kube', 'up'], { cwd: REPO_ROOT });
    const exported = Object.fromEntries(
      up.stdout
        .trim()
        .split('\n')
        .map((line) => /^export (\w+)=(.*)$/.exec(line))
        .map((m) => {
          assert.ok(m, `not an export line in:\n${up.stdout}`);
          return [m[1], m[2]] as const;
        }),
    ) as Record<string, string | undefined>;
    const dir = exported.KNA_KUBE_DIR;
    assert.ok(dir, up.stdout);
    // If an assertion below fails, still stop what `up` started (it outlives the CLI by design).
    after(() => (existsSync(join(dir, 'state.json')) ? stopControlPlane(dir) : undefined));
    assert.equal(exported.KUBECONFIG, join(dir, 'kubeconfig'));
    assert.match(up.stderr, /ready in \d+ ms/);

    // The CLI has exited; the control plane keeps serving.
    const state = readControlPlaneState(dir);
    assert.equal((await kubectl(state, ['get', '--raw', '/readyz'])).stdout, 'ok');

    const down = await run(process.execPath, [...cli, 'kube', 'down'], { cwd: REPO_ROOT, env: { ...process.env, KNA_KUBE_DIR: dir } });
    assert.equal(down.stdout.trim(), 'unset KUBECONFIG KUBECACHEDIR HELM_CACHE_HOME HELM_CONFIG_HOME HELM_DATA_HOME KNA_KUBE_DIR');
    await assertGone(state);
  });
});
