// `pnpm bench:operator [-- --policies N --stores N --edits N]`: the operator's performance targets on a real API
// server (a throwaway control plane from @kna/e2e), with the operator as a separate process as it runs in a pod.
// - cold reconcile: N TrustPolicies + M TrustStores exist before the operator starts; how long its first reconcile
//   takes (the operator's own reconcile histogram) and how long from process start to /readyz;
// - edit → bundle written: a TrustPolicy edit (the API server's answer) until a watch on the bundle ConfigMap sees
//   the new content, p50 and p99 over sequential edits;
// - RSS of the operator process (VmRSS) after the cold reconcile and after the edits;
// - edit → new verifier answer: a running verifier (its own process, --bundleDir on the bundle ConfigMap projected
//   by the kubelet mirror of @kna/e2e, the signing harness's registry and fake AWS Signer API) is asked about a
//   signed image after each TrustPolicy edit that flips it between trusted and not trusted, until it answers per
//   the new policy; p50 and p95 over sequential edits, with the verifier's own "bundle loaded" time from its log.
// A benchmark, not a test: nothing fails on a number. docs/benchmarks.md has the last results.
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CustomObjectsApi } from '@kubernetes/client-node';
import {
  eventually,
  freePort,
  pluginConfigMapManifest,
  push,
  sign,
  startHarness,
  startKubeletMirror,
  startTestControlPlane,
  type Harness,
  type KubeletMirror,
} from '@kna/e2e';
import { BUNDLE_KEY, KubeClient, parseFlagArgs, reuseConnections, type KubeObject } from '@kna/shared';
import { createCa } from '../certificates/pki.js';
import { configMapRef } from '../resources.js';
import { applyProductCrds, spawnBundleVerifier, type BundleVerifier } from '../testing/cluster.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ARGS = {
  policies: { type: 'int', default: 1000, help: 'TrustPolicies before the cold start.' },
  stores: { type: 'int', default: 200, help: 'TrustStores before the cold start.' },
  edits: { type: 'int', default: 20, help: 'Sequential TrustPolicy edits for the edit → bundle latency.' },
  operatorDir: {
    type: 'string',
    default: '',
    help: 'Run the operator from this checkout instead of this one (A/B comparisons; it needs its own pnpm install).',
  },
  cpuProf: { type: 'string', default: '', help: 'Write a CPU profile of the operator process into this directory (node --cpu-prof).' },
  answers: { type: 'int', default: 20, help: 'Sequential TrustPolicy edits for the edit → new verifier answer latency (0: skip).' },
} as const;

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

function ms(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(0)} ms` : 'n/a';
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
  // `pnpm bench:operator -- --flag` hands the separator through.
  const args = process.argv.slice(2);
  const { flags, positionals } = parseFlagArgs(ARGS, args[0] === '--' ? args.slice(1) : args);
  if (positionals.length > 0) throw new Error(`unexpected arguments: ${positionals.join(' ')} (see --help)`);
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
    // resourceVersions by name, for the floor's status writes (a custom resource is only updated with one).
    const versions = new Map<string, string>();
    const created = (object: unknown) => {
      const { metadata } = object as { metadata: { name: string; resourceVersion: string } };
      versions.set(metadata.name, metadata.resourceVersion);
    };
    await pool([...Array(flags.stores).keys()], 16, (i) =>
      co
        .createClusterCustomObject({
          ...group,
          plural: 'truststores',
          body: {
            apiVersion: 'notation.nirmata.io/v1alpha1',
            kind: 'TrustStore',
            metadata: { name: `store-${i}` },
            spec: { trustStoreName: `store-${i}`, type: 'signingAuthority', caBundle: ca.cert.pem },
          },
        })
        .then(created),
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
      co
        .createClusterCustomObject({ ...group, plural: 'trustpolicies', body: policy(i, `111122223333.dkr.ecr.us-west-2.amazonaws.com/app${i}`) })
        .then(created),
    );

    // The API server's floor for the cold reconcile's status writes: one status write per object from this process,
    // as many in flight as the operator has (16), over kept-alive connections as the operator makes them. The
    // operator then overwrites every one of these statuses, so its cold start still writes all of them.
    const direct = reuseConnections(cp.kubeConfig()).makeApiClient(CustomObjectsApi);
    const all: [plural: string, kind: string, name: string][] = [
      ...[...Array(flags.stores).keys()].map((i): [string, string, string] => ['truststores', 'TrustStore', `store-${i}`]),
      ...[...Array(flags.policies).keys()].map((i): [string, string, string] => ['trustpolicies', 'TrustPolicy', `tp-${i}`]),
    ];
    const floorStarted = performance.now();
    await pool(all, 16, ([plural, kind, name]) =>
      direct.replaceClusterCustomObjectStatus({
        ...group,
        plural,
        name,
        body: { apiVersion: 'notation.nirmata.io/v1alpha1', kind, metadata: { name, resourceVersion: versions.get(name) }, status: { observedGeneration: 0 } },
      }),
    );
    const floorMs = performance.now() - floorStarted;
    log(`API server floor: ${all.length} status writes from the benchmark, 16 in flight: ${floorMs.toFixed(0)} ms`);

    const probePort = await freePort();
    const metricsPort = await freePort();
    const out = openSync(join(scratch, 'operator.log'), 'a');
    const started = performance.now();
    child = spawn(
      process.execPath,
      [
        ...(flags.cpuProf === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${flags.cpuProf}`]),
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
      { cwd: flags.operatorDir === '' ? ROOT : flags.operatorDir, stdio: ['ignore', out, out] },
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
    const phase = (name: string) => metric(metrics, 'kna_operator_reconcile_phase_seconds_sum', `phase="${name}"`) * 1000;
    const coldPhases = { render: phase('render'), bundle: phase('bundle'), objects: phase('objects') };
    log(`cold phases (every reconcile so far): render ${ms(coldPhases.render)}, bundle ${ms(coldPhases.bundle)}, objects ${ms(coldPhases.objects)}`);
    log(
      `cold: ready after ${readyMs.toFixed(0)} ms, reconciled after ${reconciledMs.toFixed(0)} ms; ${reconciles} reconcile(s) took ${(reconcileSeconds * 1000).toFixed(0)} ms; bundle ${bundleBytes} bytes; RSS ${rssCold.toFixed(1)} MiB`,
    );

    // Edits: each waits until the watch sees the bundle with the new scope.
    const seen: { text: string; at: number }[] = [];
    const source = new KubeClient(cp.kubeConfig()).listWatchSource<KubeObject & { data?: Record<string, string> }>(
      configMapRef(namespace, 'kyverno-notation-aws-bundle'),
    );
    const stop = new AbortController();
    const listed = await source.list(stop.signal);
    const watching = source
      .watch(listed.resourceVersion, 3600, (e) => seen.push({ text: e.object.data?.[BUNDLE_KEY] ?? '', at: performance.now() }), stop.signal)
      .catch(() => undefined);
    const latencies: number[] = [];
    const counters = async () => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      return {
        statusWrites: metric(text, 'kna_operator_status_writes_total'),
        bundleReads: metric(text, 'kna_operator_bundle_reads_total'),
        reworked: metric(text, 'kna_operator_render_reworked_objects_total'),
        render: metric(text, 'kna_operator_reconcile_phase_seconds_sum', 'phase="render"') * 1000,
        bundle: metric(text, 'kna_operator_reconcile_phase_seconds_sum', 'phase="bundle"') * 1000,
        // A counter appears with its first increment: none yet is 0.
        writes: metric(text, 'kna_operator_bundle_writes_total', 'outcome="updated"') || 0,
        renders: metric(text, 'kna_operator_reconcile_phase_seconds_count', 'phase="render"'),
      };
    };
    // Let the cold start's status writes and their echoes settle before the edits.
    await eventually(
      async () => {
        const a = await counters();
        await new Promise((r) => setTimeout(r, 1_000));
        const b = await counters();
        if (!Object.is(a.statusWrites, b.statusWrites) || !Object.is(a.renders, b.renders)) throw new Error('still reconciling');
      },
      { timeoutMs: 300_000, intervalMs: 100 },
    );
    const beforeEdits = await counters();
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
    // The status writes of the last edit land after its bundle: wait for them before counting.
    await new Promise((r) => setTimeout(r, 2_000));
    const afterEdits = await counters();
    const perEdit = (key: keyof typeof afterEdits) => (afterEdits[key] - beforeEdits[key]) / flags.edits;
    const renderPerRun = (afterEdits.render - beforeEdits.render) / (afterEdits.renders - beforeEdits.renders);
    // Runs that only compare (no write) take no time in the bundle phase: per write is the PUT.
    const bundlePerWrite = (afterEdits.bundle - beforeEdits.bundle) / (afterEdits.writes - beforeEdits.writes);
    log(
      `edits: per edit ${perEdit('statusWrites').toFixed(1)} status writes, ${perEdit('bundleReads').toFixed(1)} bundle GETs, ${perEdit('reworked').toFixed(1)} objects re-rendered, ${perEdit('renders').toFixed(1)} reconciles of ${ms(renderPerRun)} render each, ${ms(bundlePerWrite)} per bundle write`,
    );
    const rssAfter = rssMiB(pid);

    const answer = flags.answers > 0 ? await editToAnswer({ cp, co, group, namespace, scratch, edits: flags.answers, seen, log }) : undefined;
    stop.abort();
    await watching;
    const report = [
      `| measurement | result | target |`,
      `|---|---|---|`,
      `| cold reconcile of ${flags.policies} TrustPolicies + ${flags.stores} TrustStores (the operator's first reconcile: render, bundle write, ${flags.policies + flags.stores} status writes) | ${(reconcileSeconds * 1000).toFixed(0)} ms | < 5 s |`,
      `| of which render / bundle ConfigMap / ${flags.policies + flags.stores} status writes (the operator's phase metrics) | ${ms(coldPhases.render)} / ${ms(coldPhases.bundle)} / ${ms(coldPhases.objects)} | |`,
      `| the API server's floor: ${flags.policies + flags.stores} status writes straight from the benchmark, 16 in flight | ${ms(floorMs)} | |`,
      `| process start → first reconcile done (includes tsx compiling the sources, the Lease, the first list of every watch) | ${reconciledMs.toFixed(0)} ms | |`,
      `| bundle size | ${(bundleBytes / 1024).toFixed(0)} KiB | |`,
      `| edit → bundle written (watch sees it), p50 / p99 over ${flags.edits} edits | ${percentile(latencies, 50).toFixed(0)} ms / ${percentile(latencies, 99).toFixed(0)} ms | p50 < 300 ms |`,
      `| operator RSS after the cold reconcile / after the edits | ${rssCold.toFixed(0)} MiB / ${rssAfter.toFixed(0)} MiB | |`,
      `| per edit: status writes / bundle GETs / objects re-rendered / render / bundle PUT | ${perEdit('statusWrites').toFixed(1)} / ${perEdit('bundleReads').toFixed(1)} / ${perEdit('reworked').toFixed(1)} / ${ms(renderPerRun)} / ${ms(bundlePerWrite)} | |`,
      ...(answer
        ? [
            `| edit → new verifier answer, p50 / p95 over ${answer.latencies.length} edits | ${ms(percentile(answer.latencies, 50))} / ${ms(percentile(answer.latencies, 95))} | |`,
            `| of which edit → bundle written, p50 / p95 | ${ms(percentile(answer.bundle, 50))} / ${ms(percentile(answer.bundle, 95))} | |`,
            `| of which edit → verifier loaded the bundle (its log), p50 / p95 | ${ms(percentile(answer.loaded, 50))} / ${ms(percentile(answer.loaded, 95))} | |`,
          ]
        : []),
    ].join('\n');
    process.stdout.write(`${report}\n`);
  } finally {
    // SIGTERM first: the operator exits cleanly (and writes its CPU profile); SIGKILL if it does not.
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child?.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }
    await cp.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

interface AnswerContext {
  cp: Awaited<ReturnType<typeof startTestControlPlane>>;
  co: CustomObjectsApi;
  group: { group: string; version: string };
  namespace: string;
  scratch: string;
  edits: number;
  /** Bundle texts the watch saw, with when (performance.now()). */
  seen: readonly { text: string; at: number }[];
  log: (line: string) => void;
}

/**
 * Edit → new verifier answer. Each edit flips the policy between trusting the signing profile (200, verified) and
 * trusting only another one (406); a unique marker identity per edit tells its bundle apart from the others.
 */
async function editToAnswer(ctx: AnswerContext): Promise<{ latencies: number[]; bundle: number[]; loaded: number[] }> {
  const { cp, co, group, namespace, scratch, log } = ctx;
  log('edit → answer: starting the signing harness, a kubelet mirror of the bundle and a verifier…');
  let harness: Harness | undefined;
  let mirror: KubeletMirror | undefined;
  let verifier: BundleVerifier | undefined;
  try {
    harness = await startHarness();
    const repository = `${harness.registry}/bench/app`;
    const { digest } = await push(`${repository}:v1`);
    await sign(harness, `${repository}@${digest}`);
    await cp.kubectl(['-n', namespace, 'apply', '-f', '-'], { input: pluginConfigMapManifest(harness.pluginConfig) });
    await co.createClusterCustomObject({
      ...group,
      plural: 'truststores',
      body: {
        apiVersion: 'notation.nirmata.io/v1alpha1',
        kind: 'TrustStore',
        metadata: { name: 'answer-root' },
        spec: { trustStoreName: 'answer-root', type: 'signingAuthority', caBundle: readFileSync(harness.rootCert, 'utf8') },
      },
    });
    const profile = harness.profileArn;
    const policy = (identities: string[], resourceVersion?: string) => ({
      apiVersion: 'notation.nirmata.io/v1alpha1',
      kind: 'TrustPolicy',
      metadata: { name: 'answer-tp', ...(resourceVersion !== undefined && { resourceVersion }) },
      spec: {
        version: '1.0',
        trustPolicyName: 'answer-tp',
        trustPolicies: [
          {
            name: 's',
            registryScopes: [repository],
            signatureVerification: { level: 'strict' },
            trustStores: ['signingAuthority:answer-root'],
            trustedIdentities: identities,
          },
        ],
      },
    });
    const marker = (n: number) => `arn:aws:signer:us-west-2:111122223333:/signing-profiles/marker-${n}`;
    await co.createClusterCustomObject({ ...group, plural: 'trustpolicies', body: policy([profile, marker(-1)]) });

    mirror = await startKubeletMirror({
      kubeConfig: cp.kubeConfig(),
      namespace,
      kind: 'ConfigMap',
      name: 'kyverno-notation-aws-bundle',
      dir: join(scratch, 'bundle'),
    });
    verifier = await spawnBundleVerifier({ bundleDir: mirror.dir, logFile: join(scratch, 'verifier.log'), pluginEnv: harness.pluginEnv });
    const port = verifier.port;
    const body = JSON.stringify({
      trustPolicy: 'answer-tp',
      images: { containers: { app: { registry: harness.registry, path: 'bench/app', name: 'app', tag: 'v1', jsonPointer: '/spec/containers/0/image' } } },
    });
    const ask = async () => (await fetch(`http://127.0.0.1:${port}/checkimages`, { method: 'POST', body })).status;
    await eventually(
      async () => {
        const status = await ask();
        if (status !== 200) throw new Error(`answer ${status}`);
      },
      { timeoutMs: 300_000, intervalMs: 200 },
    );

    const latencies: number[] = [];
    const bundle: number[] = [];
    const edits: { at: number; wall: number; version?: string | undefined }[] = [];
    for (let n = 0; n < ctx.edits; n++) {
      const sent = performance.now();
      const trusted = n % 2 === 1;
      const expected = trusted ? 200 : 406;
      await eventually(
        async () => {
          const current = (await co.getClusterCustomObject({ ...group, plural: 'trustpolicies', name: 'answer-tp' })) as {
            metadata: { resourceVersion: string };
          };
          await co.replaceClusterCustomObject({
            ...group,
            plural: 'trustpolicies',
            name: 'answer-tp',
            body: policy(trusted ? [profile, marker(n)] : [marker(n)], current.metadata.resourceVersion),
          });
        },
        { timeoutMs: 30_000, intervalMs: 1 },
      );
      const at = performance.now();
      const edit: { at: number; wall: number; version?: string | undefined } = { at, wall: Date.now() };
      edits.push(edit);
      await eventually(
        async () => {
          const status = await ask();
          if (status !== expected) throw new Error(`edit ${n}: answer ${status}, waiting for ${expected}`);
        },
        { timeoutMs: 120_000, intervalMs: 10 },
      );
      latencies.push(performance.now() - at);
      const written = ctx.seen.find((s) => s.at >= sent && s.text.includes(`marker-${n}"`));
      bundle.push(written ? written.at - at : Number.NaN);
      if (written) edit.version = (JSON.parse(written.text) as { version?: string }).version?.slice(0, 12);
    }
    // The verifier logs when it loaded each bundle (pino: epoch milliseconds).
    const loads = readFileSync(verifier.logFile, 'utf8')
      .split('\n')
      .flatMap((line) => {
        try {
          const entry = JSON.parse(line) as { msg?: string; time?: number; bundleVersion?: string };
          return entry.msg === 'bundle loaded' && entry.time !== undefined ? [{ time: entry.time, version: entry.bundleVersion }] : [];
        } catch {
          return [];
        }
      });
    const loaded = edits.map((e) => {
      const load = loads.find((l) => l.version === e.version && l.time >= e.wall);
      return load ? load.time - e.wall : Number.NaN;
    });
    return { latencies, bundle, loaded };
  } finally {
    await verifier?.stop();
    await mirror?.close();
    await harness?.stop();
  }
}

await main();
