// `pnpm -s harness <command>`: the signing harness for developers, tests and demos (README "Harness").
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createSigningChain } from './pki.js';
import { DEFAULT_PROFILE_ARN, PLUGIN_CONFIG, STATE_FILE, attach, down, pluginEnvFor, push, readState, revoke, sign, type HarnessState } from './harness.js';
import { answers, startProcess } from './processes.js';
import { startReferrersRegistry, startTagSchemaRegistry } from './registries.js';
import { REPO_ROOT } from './tools-env.js';
import { KUBE_USAGE, kubeDown, kubeUp } from '../kube/cli.js';

const USAGE = `usage: pnpm -s harness <command>

  up [--dir DIR]                      start the registries and the fake AWS Signer API in the background;
                                      prints export lines: eval "$(pnpm -s harness up)"
  push <registry>/<repo>:<tag> [--index]
                                      push a small random image (or a multi-arch index); prints its digest last
  sign <ref> [--profile ARN]          sign with notation + the AWS Signer plugin; prints the signing job ARN last
  attach <ref> --type <artifactType> --payload FILE [--media-type T] [--gzip] [--sign] [--profile ARN]
                                      push a referrer of <ref> (optionally signed); prints its digest reference last
  revoke --profile ARN | --job ARN    make the fake Signer report the profile or job as revoked
  down                                stop everything 'up' started and remove its directory
${KUBE_USAGE}

Commands after 'up' find the harness through HARNESS_DIR (set by the eval).`;

function fail(message: string): never {
  console.error(`harness: ${message}`);
  process.exit(2);
}

function stateDir(): string {
  const dir = process.env.HARNESS_DIR;
  if (!dir) fail(`HARNESS_DIR is not set; start a harness with: eval "$(pnpm -s harness up)"`);
  return dir;
}

function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

function exportsFor(state: HarnessState): string {
  const vars: Record<string, string> = {
    HARNESS_DIR: state.dir,
    HARNESS_REGISTRY: state.registry,
    HARNESS_REGISTRY_TAGSCHEMA: state.registryTagSchema,
    HARNESS_SIGNER_URL: state.signerUrl,
    HARNESS_PROFILE_ARN: state.profileArn,
    HARNESS_ROOT_CERT: state.rootCert,
    HARNESS_PLUGIN_CONFIG: Object.entries(state.pluginConfig)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    ...state.pluginEnv,
  };
  return Object.entries(vars)
    .map(([k, v]) => `export ${k}=${shellQuote(v)}`)
    .join('\n');
}

async function up(dirOption: string | undefined): Promise<void> {
  const dir = resolve(dirOption ?? mkdtempSync(join(tmpdir(), 'kna-harness-')));
  if (existsSync(join(dir, STATE_FILE))) fail(`${dir} already holds a running harness; 'down' it first`);
  const chain = await createSigningChain();
  const rootCert = join(dir, 'root.pem');
  writeFileSync(rootCert, chain.root.certPem);
  writeFileSync(
    join(dir, 'signer-chain.json'),
    JSON.stringify({
      leafKeyPem: chain.leaf.keyPem,
      chain: [chain.leaf.certDer, chain.intermediate.certDer, chain.root.certDer].map((d) => d.toString('base64')),
    }),
    { mode: 0o600 },
  );
  const portFile = join(dir, 'signer.port');
  const signer = await startProcess({
    name: 'fake AWS Signer API',
    command: process.execPath,
    args: ['--conditions=source', '--import', 'tsx', join(REPO_ROOT, 'e2e/src/harness/signer-main.ts'), dir],
    cwd: REPO_ROOT,
    logFile: join(dir, 'signer.log'),
    outliveParent: true,
    ready: async () => existsSync(portFile) && answers(`http://127.0.0.1:${readFileSync(portFile, 'utf8')}/_harness/jobs`),
  });
  const pids = [signer.pid];
  try {
    const [referrers, tagSchema] = await Promise.all([
      startReferrersRegistry({ dir, outliveParent: true }),
      startTagSchemaRegistry({ dir, outliveParent: true }),
    ]);
    pids.push(referrers.pid, tagSchema.pid);
    const signerUrl = `http://127.0.0.1:${readFileSync(portFile, 'utf8')}`;
    const state: HarnessState = {
      dir,
      registry: referrers.host,
      registryTagSchema: tagSchema.host,
      signerUrl,
      profileArn: DEFAULT_PROFILE_ARN,
      rootCert,
      pluginConfig: PLUGIN_CONFIG,
      pluginEnv: pluginEnvFor(signerUrl),
      pids,
    };
    writeFileSync(join(dir, STATE_FILE), JSON.stringify(state, null, 2));
    console.log(exportsFor(state));
    console.error(`harness up in ${dir}: registries ${state.registry} (referrers API) and ${state.registryTagSchema} (tag schema), signer ${signerUrl}`);
  } catch (err) {
    writeFileSync(join(dir, STATE_FILE), JSON.stringify({ pids }));
    await down(dir);
    throw err;
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      dir: { type: 'string' },
      index: { type: 'boolean' },
      profile: { type: 'string' },
      job: { type: 'string' },
      type: { type: 'string' },
      payload: { type: 'string' },
      'media-type': { type: 'string' },
      gzip: { type: 'boolean' },
      sign: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || !command || command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return;
  }
  const ref = positionals[0];
  switch (command) {
    case 'up':
      return up(values.dir);
    case 'down': {
      const dir = values.dir ?? stateDir();
      await down(dir);
      console.error(`harness in ${dir} stopped`);
      return;
    }
    case 'push': {
      if (!ref) fail('push needs <registry>/<repo>:<tag>');
      const desc = await push(ref, { index: values.index === true });
      console.log(desc.digest);
      return;
    }
    case 'sign': {
      if (!ref) fail('sign needs a reference');
      const result = await sign(readState(stateDir()), ref, values.profile ? { profileArn: values.profile } : {});
      console.log(result.output);
      console.log(result.job.jobArn);
      return;
    }
    case 'attach': {
      if (!ref) fail('attach needs a reference');
      if (!values.type || !values.payload) fail('attach needs --type <artifactType> and --payload FILE');
      const result = await attach(readState(stateDir()), ref, {
        artifactType: values.type,
        payload: readFileSync(values.payload),
        ...(values['media-type'] !== undefined && { mediaType: values['media-type'] }),
        gzip: values.gzip === true,
        sign: values.sign === true,
        ...(values.profile !== undefined && { profileArn: values.profile }),
      });
      console.log(result.reference);
      return;
    }
    case 'kube': {
      // A test control plane (etcd + kube-apiserver), independent of the signing harness.
      const sub = positionals[0];
      if (sub === 'up') console.log(await kubeUp(values.dir));
      else if (sub === 'down') console.log(await kubeDown(values.dir));
      else fail(`kube needs 'up' or 'down'\n${USAGE}`);
      return;
    }
    case 'revoke': {
      if (Boolean(values.profile) === Boolean(values.job)) fail('revoke needs exactly one of --profile ARN or --job ARN');
      const target = values.profile ? { profileArn: values.profile } : { jobArn: values.job ?? '' };
      await revoke(readState(stateDir()), target);
      console.error(`revoked ${values.profile ?? values.job ?? ''}`);
      return;
    }
    default:
      fail(`unknown command ${JSON.stringify(command)}\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(`harness: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
