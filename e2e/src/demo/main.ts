// The one-command local demo (`npm run demo`): builds what it needs, starts the signing harness,
// pushes and signs an image, writes TrustPolicy/TrustStore manifests, starts the verifier in local
// mode, sends Kyverno-shaped requests for the signed image and an unsigned one, checks that each
// answer is the one it explains (exit 1 otherwise), and cleans everything up. `--keep` keeps the
// manifests it wrote.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { push, sign, startHarness, type Harness } from '../harness/harness.js';
import { pluginConfigMapManifest, trustPolicyManifest, trustStoreManifest } from '../harness/manifests.js';
import { freePorts, stopGroup } from '../harness/processes.js';
import { describeSignerPlugin, REPO_ROOT, toolsEnv } from '../harness/tools-env.js';
import { checkSigned, checkUnsigned, UnexpectedAnswer, type Answer } from './answers.js';

/** How long the verifier may take to become ready (tsx compiles it first; a loaded machine is slow). */
const READY_TIMEOUT_MS = 180_000;

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const step = (s: string) => console.log(`\n${bold(`▶ ${s}`)}`);

function manifests(harness: Harness): string {
  return [
    "# The same manifests 'kubectl apply' takes in a cluster.\n" + trustStoreManifest('aws-signer-ts', readFileSync(harness.rootCert, 'utf8')),
    trustPolicyManifest('demo', { scopes: [`${harness.registry}/demo/app`], store: 'aws-signer-ts', identities: [harness.profileArn] }),
    pluginConfigMapManifest(harness.pluginConfig),
  ].join('---\n');
}

/** The body Kyverno's apiCall sends for a one-container pod (docs/architecture.md "The HTTP contract"). */
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
  // `npm run demo -- --keep` and `pnpm demo --keep` both arrive here, the first with a separator.
  const { values: options } = parseArgs({ args: process.argv.slice(2).filter((a) => a !== '--'), options: { keep: { type: 'boolean', default: false } } });
  // Outside the harness's directory, which goes when the harness stops.
  const policyDir = mkdtempSync(join(tmpdir(), 'kna-demo-policies-'));
  const keep = options.keep;
  step('Building the test components (cached after the first run)');
  const built = spawnSync(
    'bash',
    [join(REPO_ROOT, 'e2e/tools/tools.sh'), 'build', 'notation', 'notation-helper', 'aws-signer-plugin', 'olareg', 'docker-registry'],
    {
      stdio: 'inherit',
    },
  );
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
    writeFileSync(join(policyDir, 'demo.yaml'), manifests(harness));
    console.log(`${join(policyDir, 'demo.yaml')}${options.keep ? ' (kept after the demo: --keep)' : ' (removed after the demo; --keep keeps it)'}`);
    console.log('Commented examples of the same three manifests for AWS Signer and Amazon ECR: examples/policies/ in the repository.');

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
    const readyBy = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      const ready = await fetch(`http://127.0.0.1:${probePort}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) break;
      if (verifier.exitCode !== null) throw new Error(`the verifier exited with status ${verifier.exitCode} (see its output above)`);
      if (Date.now() > readyBy) throw new Error(`the verifier was not ready after ${READY_TIMEOUT_MS / 1000} s (see its output above)`);
      await sleep(200);
    }

    const questions = [
      {
        tag: 'v1',
        check: (answer: Answer) => checkSigned(answer, `${harness.registry}/demo/app@${signed.digest}`),
        meaning: 'signed by the trusted AWS Signer profile → 200 with a JSON patch that pins the tag to the verified digest; Kyverno applies it to the pod',
      },
      { tag: 'unsigned', check: checkUnsigned, meaning: 'no signature → 406 with the reason; Kyverno fails the apiCall and the pod is rejected' },
    ];
    for (const { tag, check, meaning } of questions) {
      step(`POST /checkimages for demo/app:${tag}`);
      const response = await fetch(url, { method: 'POST', body: JSON.stringify(kyvernoRequest(harness, tag)) });
      const answer = { status: response.status, body: await response.text() };
      console.log(`HTTP ${answer.status}\n${answer.body.trim()}`);
      check(answer);
      console.log(`\n→ ${meaning}`);
    }
    console.log(
      `\n${bold('Demo finished: both answers are the expected ones.')} README.md explains the request and answers, the flags, and the harness used here.`,
    );
    if (keep) {
      console.log(`The manifests are kept in ${policyDir} (the harness that signed the image is stopped, so its registry and signing profile are gone).`);
    }
  } finally {
    if (verifier?.pid !== undefined) await stopGroup(verifier.pid);
    await harness.stop();
    rmSync(join(harness.dir), { recursive: true, force: true });
    if (!keep) rmSync(policyDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  if (err instanceof UnexpectedAnswer) {
    console.error(`\ndemo failed: the verifier did not give the answer this demo explains.\n${err.message}`);
  } else {
    console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  process.exit(1);
});
