// The one-command local demo (`npm run demo`): builds what it needs, starts the signing harness,
// pushes and signs an image, writes TrustPolicy/TrustStore manifests, starts the verifier in local
// mode, sends Kyverno-shaped requests for the signed image and an unsigned one, prints both answers
// and what they mean, and cleans everything up.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { push, sign, startHarness, type Harness } from '../harness/harness.js';
import { pluginConfigMapManifest, trustPolicyManifest, trustStoreManifest } from '../harness/manifests.js';
import { freePorts, stopGroup } from '../harness/processes.js';
import { describeSignerPlugin, REPO_ROOT, toolsEnv } from '../harness/tools-env.js';

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const step = (s: string) => console.log(`\n${bold(`▶ ${s}`)}`);

function manifests(harness: Harness): string {
  return [
    "# The same manifests 'kubectl apply' takes in a cluster.\n" + trustStoreManifest('aws-signer-ts', readFileSync(harness.rootCert, 'utf8')),
    trustPolicyManifest('demo', { scopes: [`${harness.registry}/demo/app`], store: 'aws-signer-ts', identities: [harness.profileArn] }),
    pluginConfigMapManifest(harness.pluginConfig),
  ].join('---\n');
}

/** The body Kyverno's apiCall sends for a one-container pod (original-service.md §1.7). */
function kyvernoRequest(harness: Harness, tag: string): unknown {
  return {
    images: {
      containers: {
        app: {
          registry: harness.registry,
          path: 'demo/app',
          name: 'app',
          tag,
          reference: `${harness.registry}/demo/app:${tag}`,
          referenceWithTag: `${harness.registry}/demo/app:${tag}`,
          jsonPointer: '/spec/containers/0/image',
        },
      },
    },
    trustPolicy: 'demo',
  };
}

async function main(): Promise<void> {
  step('Building the test components (cached after the first run)');
  const built = spawnSync('bash', [join(REPO_ROOT, 'e2e/tools/tools.sh'), 'build', 'notation', 'aws-signer-plugin', 'olareg', 'docker-registry'], {
    stdio: 'inherit',
  });
  if (built.status !== 0) throw new Error('building the test components failed (see above)');
  console.log(describeSignerPlugin());

  step('Starting the harness: an OCI registry and a fake AWS Signer API on loopback');
  const harness = await startHarness();
  let verifier: ReturnType<typeof spawn> | undefined;
  try {
    console.log(`registry ${harness.registry}, signing profile ${harness.profileArn}`);

    step('Pushing demo/app:v1 and signing it with notation + the AWS Signer plugin; pushing demo/app:unsigned unsigned');
    const signed = await push(`${harness.registry}/demo/app:v1`);
    const result = await sign(harness, `${harness.registry}/demo/app:v1`);
    console.log(result.output);
    const unsigned = await push(`${harness.registry}/demo/app:unsigned`);
    console.log(`demo/app:v1       ${signed.digest} (signed)\ndemo/app:unsigned ${unsigned.digest} (not signed)`);

    step('Writing TrustPolicy, TrustStore and plugin ConfigMap manifests');
    const policyDir = join(harness.dir, 'policies');
    mkdirSync(policyDir, { recursive: true });
    writeFileSync(join(policyDir, 'demo.yaml'), manifests(harness));
    console.log(`${policyDir}/demo.yaml`);

    step('Starting the verifier in local mode');
    const [port = 0, probePort = 0] = await freePorts(2);
    const args = [
      '--conditions=source',
      '--import',
      'tsx',
      join(REPO_ROOT, 'verifier/src/main.ts'),
      '--local',
      `--policyDir=${policyDir}`,
      `--httpPort=${port}`,
      '--bindAddress=127.0.0.1',
      '--reviewKyvernoToken=false',
      `--health-probe-bind-address=127.0.0.1:${probePort}`,
      '--metrics-bind-address=0',
      '--logLevel=error',
    ];
    console.log(`verifier ${args.slice(4).join(' ')}`);
    verifier = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      detached: true,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, PATH: toolsEnv().PATH, NOTATION_LIBEXEC: toolsEnv().NOTATION_LIBEXEC, ...harness.pluginEnv },
    });
    const url = `http://127.0.0.1:${port}/checkimages`;
    for (let i = 0; ; i++) {
      const ready = await fetch(`http://127.0.0.1:${probePort}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) break;
      if (i > 200 || verifier.exitCode !== null) throw new Error('the verifier did not start (see its output above)');
      await sleep(100);
    }

    for (const [tag, meaning] of [
      ['v1', 'signed by the trusted AWS Signer profile → 200 with a JSON patch that pins the tag to the verified digest; Kyverno applies it to the pod'],
      ['unsigned', 'no signature → 406 with the reason; Kyverno fails the apiCall and the pod is rejected'],
    ] as const) {
      step(`POST /checkimages for demo/app:${tag}`);
      const response = await fetch(url, { method: 'POST', body: JSON.stringify(kyvernoRequest(harness, tag)) });
      const body = await response.text();
      console.log(`HTTP ${response.status}\n${body.trim()}`);
      console.log(`\n→ ${meaning}`);
    }
    console.log(`\n${bold('Demo finished.')} README.md explains the request and answers, the flags, and the harness used here.`);
  } finally {
    if (verifier?.pid !== undefined) await stopGroup(verifier.pid);
    await harness.stop();
    rmSync(join(harness.dir), { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
