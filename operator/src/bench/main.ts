// `pnpm bench:operator [-- --policies N --stores N --edits N]`: the operator's performance targets on a real API
// server (a throwaway control plane from @kna/e2e), with the operator as a separate process as it runs in a pod.
// - cold reconcile: N TrustPolicies + M TrustStores exist before the operator starts; how long its first reconcile
//   takes (the operator's own reconcile histogram) and how long from process start to /readyz;
// - edit → bundle written: a TrustPolicy edit (the API server's answer) until a watch on the bundle ConfigMap sees
//   the new content, p50 and p99 over sequential edits;
// - RSS of the operator process (VmRSS) after the cold reconcile and after the edits.
// A benchmark, not a test: nothing fails on a number. docs/benchmarks.md has the last results.
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { eventually, freePort, startTestControlPlane } from '@kna/e2e';
import { BUNDLE_KEY, kubeListWatchSource, parseFlagArgs, type KubeObject } from '@kna/shared';
import { createCa } from '../certificates/pki.js';
import { configMapRef } from '../resources.js';
import { applyProductCrds } from '../testing/cluster.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ARGS = {
  policies: { type: 'int', default: 1000, help: 'TrustPolicies before the cold start.' },
  stores: { type: 'int', default: 200, help: 'TrustStores before the cold start.' },
  edits: { type: 'int', default: 20, help: 'Sequential TrustPolicy edits for the edit → bundle latency.' },
} as const;

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? Number.NaN) / 1024;
}

async function pool<T>(items: readonly T[], width: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

function metric(text: string, name: string, labels = ''): number {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(name) && (labels === '' ? /^\S+ /.test(l.slice(name.length - 1)) || l.startsWith(`${name}{`) : l.includes(labels)));
  return Number(line?.split(' ').at(-1) ?? Number.NaN);
}

async function main(): Promise<void> {
  const { flags } = parseFlagArgs(ARGS, process.argv.slice(2));
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const cp = await startTestControlPlane();
  const scratch = mkdtempSync(join(tmpdir(), 'kna-operator-bench-'));
  let child: ReturnType<typeof spawn> | undefined;
  try {
    await applyProductCrds(cp);
    const namespace = await cp.createNamespace('bench');
    const co = cp.kubeConfig().makeApiClient(CustomObjectsApi);
    const ca = await createCa({ commonName: 'Bench Root', now: new Date(), validityMs: 365 * 24 * 3_600_000 });
    const group = { group: 'notation.nirmata.io', version: 'v1alpha1' };
    log(`creating ${flags.stores} TrustStores and ${flags.policies} TrustPolicies…`);
    await pool([...Array(flags.stores).keys()], 16, (i) =>
      co.createClusterCustomObject({
        ...group,
        plural: 'truststores',
        body: {
          apiVersion: 'notation.nirmata.io/v1alpha1',
          kind: 'TrustStore',
          metadata: { name: `store-${i}` },
          spec: { trustStoreName: `store-${i}`, type: 'signingAuthority', caBundle: ca.cert.pem },
        },
      }),
    );
    const policy = (i: number, scope: string) => ({
      apiVersion: 'notation.nirmata.io/v1alpha1',
      kind: 'TrustPolicy',
      metadata: { name: `tp-${i}` },
      spec: {
        version: '1.0',
        trustPolicyName: `tp-${i}`,
        trustPolicies: [
          {
            name: 's',
            registryScopes: [scope],
            signatureVerification: { level: 'strict' },
            trustStores: [`signingAuthority:store-${i % flags.stores}`],
            trustedIdentities: [`arn:aws:signer:us-west-2:111122223333:/signing-profiles/p${i}`],
          },
        ],
      },
    });
    await pool([...Array(flags.policies).keys()], 16, (i) =>
      co.createClusterCustomObject({ ...group, plural: 'trustpolicies', body: policy(i, `111122223333.dkr.ecr.us-west-2.amazonaws.com/app${i}`) }),
    );

    const probePort = await freePort();
    const metricsPort = await freePort();
    const out = openSync(join(scratch, 'operator.log'), 'a');
    const started = performance.now();
    child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--conditions=source',
        'operator/src/main.ts',
        `--namespace=${namespace}`,
        `--kubeconfig=${cp.kubeconfig}`,
        `--health-probe-bind-address=127.0.0.1:${probePort}`,
        `--metrics-bind-address=127.0.0.1:${metricsPort}`,
        '--inject-ca=false',
      ],
      { cwd: ROOT, stdio: ['ignore', out, out] },
    );
    closeSync(out);
    const pid = child.pid ?? 0;
    await eventually(
      async () => {
        const res = await fetch(`http://127.0.0.1:${probePort}/readyz`);
        if (res.status !== 200) throw new Error(await res.text());
      },
      { timeoutMs: 300_000, intervalMs: 50 },
    );
    const readyMs = performance.now() - started;
    // /readyz is also true on a synced standby: wait for the leader's first reconcile to be recorded.
    const metrics = await eventually(
      async () => {
        const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        if (!(metric(text, 'kna_operator_bundle_writes_total', 'outcome="created"') >= 1)) throw new Error('no bundle written yet');
        return text;
      },
      { timeoutMs: 300_000, intervalMs: 50 },
    );
    const reconciledMs = performance.now() - started;
    const reconcileSeconds = metric(metrics, 'kna_operator_reconcile_duration_seconds_sum', 'outcome="written"');
    const reconciles = metric(metrics, 'kna_operator_reconcile_duration_seconds_count', 'outcome="written"');
    const bundleBytes = metric(metrics, 'kna_operator_bundle_bytes');
    const rssCold = rssMiB(pid);
    log(
      `cold: ready after ${readyMs.toFixed(0)} ms, reconciled after ${reconciledMs.toFixed(0)} ms; ${reconciles} reconcile(s) took ${(reconcileSeconds * 1000).toFixed(0)} ms; bundle ${bundleBytes} bytes; RSS ${rssCold.toFixed(1)} MiB`,
    );

    // Edits: each waits until the watch sees the bundle with the new scope.
    const seen: { text: string; at: number }[] = [];
    const source = kubeListWatchSource<KubeObject & { data?: Record<string, string> }>(cp.kubeConfig(), configMapRef(namespace, 'kyverno-notation-aws-bundle'));
    const stop = new AbortController();
    const listed = await source.list(stop.signal);
    const watching = source
      .watch(listed.resourceVersion, 3600, (e) => seen.push({ text: e.object.data?.[BUNDLE_KEY] ?? '', at: performance.now() }), stop.signal)
      .catch(() => undefined);
    const latencies: number[] = [];
    for (let n = 0; n < flags.edits; n++) {
      const scope = `111122223333.dkr.ecr.us-west-2.amazonaws.com/edited-${n}`;
      // The operator writes the object's status too, so a replace may meet a newer resourceVersion (409): read again.
      await eventually(
        async () => {
          const current = (await co.getClusterCustomObject({ ...group, plural: 'trustpolicies', name: 'tp-0' })) as { metadata: { resourceVersion: string } };
          const body = { ...policy(0, scope), metadata: { name: 'tp-0', resourceVersion: current.metadata.resourceVersion } };
          await co.replaceClusterCustomObject({ ...group, plural: 'trustpolicies', name: 'tp-0', body });
        },
        { timeoutMs: 30_000, intervalMs: 1 },
      );
      const answered = performance.now();
      const hit = await eventually(
        () => {
          const found = seen.find((s) => s.text.includes(`edited-${n}"`));
          if (!found) throw new Error(`edit ${n} not in the bundle yet`);
          return found;
        },
        { timeoutMs: 60_000, intervalMs: 2 },
      );
      latencies.push(hit.at - answered);
    }
    stop.abort();
    await watching;
    const rssAfter = rssMiB(pid);
    const report = [
      `| measurement | result | target |`,
      `|---|---|---|`,
      `| cold reconcile of ${flags.policies} TrustPolicies + ${flags.stores} TrustStores (the operator's first reconcile: render, bundle write, ${flags.policies + flags.stores} status writes) | ${(reconcileSeconds * 1000).toFixed(0)} ms | < 5 s |`,
      `| process start → first reconcile done (includes tsx compiling the sources, the Lease, the first list of every watch) | ${reconciledMs.toFixed(0)} ms | |`,
      `| bundle size | ${(bundleBytes / 1024).toFixed(0)} KiB | |`,
      `| edit → bundle written (watch sees it), p50 / p99 over ${flags.edits} edits | ${percentile(latencies, 50).toFixed(0)} ms / ${percentile(latencies, 99).toFixed(0)} ms | p50 < 300 ms |`,
      `| operator RSS after the cold reconcile / after the edits | ${rssCold.toFixed(0)} MiB / ${rssAfter.toFixed(0)} MiB | |`,
    ].join('\n');
    process.stdout.write(`${report}\n`);
  } finally {
    child?.kill('SIGKILL');
    await cp.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
