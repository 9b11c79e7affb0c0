// The notation helper's protocol against the real kna-notation-helper, AWS Signer plugin, registry and
// fake AWS Signer API: cancellation, timeouts, a helper killed mid-run, concurrency, shutdown. (That it
// classifies like the CLI is parity.int.test.ts.)
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  push,
  sign,
  startHarness,
  startTagSchemaRegistry,
  startTokenServer,
  toolPath,
  toolsEnv,
  type Harness,
  type RunningRegistry,
  type TokenServer,
} from '@kna/e2e';
import { localVerifierEnv } from '../../testkit/localVerifier.js';
import { procStat } from '../../testkit/proc.js';
import { FailureKind, VerifyOutcome } from './classify.js';
import { materializePolicy } from './configDir.js';
import type { ManifestDescriptor, VerifyRequest } from './engine.js';
import { NotationHelper, type NotationHelperOptions } from './helper.js';

let harness: Harness;
let configDir: string;
const helpers: NotationHelper[] = [];

function newHelper(options: Partial<NotationHelperOptions> = {}): NotationHelper {
  const helper = new NotationHelper({
    helperPath: toolPath('kna-notation-helper'),
    libexecDir: toolsEnv().NOTATION_LIBEXEC,
    cacheDir: join(harness.dir, 'notation-cache'),
    env: localVerifierEnv(harness),
    ...options,
  });
  helpers.push(helper);
  return helper;
}

async function signedImage(): Promise<VerifyRequest> {
  return (await signedImageDescribed()).request;
}

/** A signed image, and its manifest's media type and size as the registry describes them. */
async function signedImageDescribed(): Promise<{ request: VerifyRequest; manifest: ManifestDescriptor }> {
  const path = `helper/${randomUUID().slice(0, 8)}`;
  const { digest, mediaType, size } = await push(`${harness.registry}/${path}:v1`);
  const reference = `${harness.registry}/${path}@${digest}`;
  await sign(harness, reference);
  return { request: { reference, configDir, pluginConfig: harness.pluginConfig }, manifest: { mediaType, size } };
}

/** Live (not zombie) children of `pid` whose command line names the AWS Signer plugin. */
function pluginChildren(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const [state, ppid] = procStat(entry).fields;
        return state !== 'Z' && Number(ppid) === pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('signer.notation.plugin');
      } catch {
        return false;
      }
    })
    .map(Number);
}

function alive(pid: number): boolean {
  try {
    return procStat(pid).fields[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Waits (bounded: a loaded machine is slow, never wrong) until `condition` holds. */
async function eventually(condition: () => boolean, what: string): Promise<void> {
  const until = Date.now() + 60_000;
  while (!condition()) {
    if (Date.now() > until) assert.fail(`not within 60 s: ${what}`);
    await sleep(20);
  }
}

before(async () => {
  harness = await startHarness();
  const root = join(harness.dir, 'configs');
  mkdirSync(root);
  const document = {
    version: '1.0',
    trustPolicies: [
      {
        name: 'tenant',
        registryScopes: ['*'],
        signatureVerification: { level: 'strict' },
        trustStores: ['signingAuthority:harness-root'],
        trustedIdentities: [harness.profileArn],
      },
    ],
  };
  configDir = materializePolicy(root, {
    version: createHash('sha256').update(JSON.stringify(document)).digest('hex'),
    document,
    trustStores: [{ type: 'signingAuthority', name: 'harness-root', certificates: [readFileSync(harness.rootCert, 'utf8')] }],
  });
});

after(async () => {
  harness.signer?.setFault(null);
  for (const helper of helpers) helper.killAll();
  await harness.stop();
});

describe('NotationHelper', () => {
  it('serves concurrent verifications from one process, bounded by maxConcurrent', async () => {
    const helper = newHelper({ maxConcurrent: 2 });
    const images = await Promise.all(Array.from({ length: 4 }, () => signedImage()));
    // Each verification runs one plugin process at a time: more than two at once would break the bound.
    let most = 0;
    const sampler = setInterval(() => (most = Math.max(most, pluginChildren(helper.pid).length)), 5);
    const results = await Promise.all(images.map((image) => helper.verify(image))).finally(() => clearInterval(sampler));
    assert.ok(most <= 2, `${most} plugin processes at once`);
    assert.deepEqual(
      results.map((r) => r.outcome),
      images.map(() => VerifyOutcome.Verified),
    );
    assert.equal(helper.runs, 4);
    assert.equal(helper.starts, 1, 'one helper served them all');
  });

  it('cancels a verification when the caller aborts: the plugin it started is killed, the helper serves on', async () => {
    const helper = newHelper();
    const image = await signedImage();
    harness.signer?.setFault('revocation-hang');
    const controller = new AbortController();
    let plugin: number | undefined;
    try {
      const pending = helper.verify({ ...image, signal: controller.signal });
      await eventually(() => (plugin = pluginChildren(helper.pid)[0]) !== undefined, 'the helper started the plugin');
      controller.abort();
      const result = await pending;
      assert.deepEqual([result.outcome, result.kind], [VerifyOutcome.CouldNotVerify, FailureKind.Infrastructure]);
      assert.match(result.reason, /cancelled: the request deadline was reached/);
      await eventually(() => plugin !== undefined && !alive(plugin), 'the cancelled verification’s plugin process is gone');
    } finally {
      harness.signer?.setFault(null);
    }
    assert.equal((await helper.verify(image)).outcome, VerifyOutcome.Verified);
    assert.equal(helper.starts, 1, 'the same helper');
  });

  it('stops a verification at its timeout, with its plugin', async () => {
    const helper = newHelper({ timeoutMs: 2_000 });
    const image = await signedImage();
    harness.signer?.setFault('revocation-hang');
    try {
      const result = await helper.verify(image);
      assert.deepEqual([result.outcome, result.kind], [VerifyOutcome.CouldNotVerify, FailureKind.Infrastructure]);
      assert.match(result.reason, /did not finish within 2000 ms and was cancelled/);
      await eventually(() => pluginChildren(helper.pid).length === 0, 'no plugin process of the timed-out verification is left');
    } finally {
      harness.signer?.setFault(null);
    }
    assert.equal((await helper.verify(image)).outcome, VerifyOutcome.Verified);
  });

  it('answers in-flight verifications as infrastructure faults when the helper is killed, and restarts it for the next', async () => {
    const helper = newHelper();
    const image = await signedImage();
    harness.signer?.setFault('revocation-hang');
    let plugin: number | undefined;
    const pid = () => helper.pid ?? -1;
    try {
      const pending = [helper.verify(image), helper.verify(image)];
      await eventually(() => (plugin = pluginChildren(helper.pid)[0]) !== undefined, 'the helper started a plugin');
      process.kill(pid(), 'SIGKILL');
      for (const result of await Promise.all(pending)) {
        assert.deepEqual([result.outcome, result.kind], [VerifyOutcome.CouldNotVerify, FailureKind.Infrastructure]);
        assert.match(result.reason, /the notation helper exited \(SIGKILL\).*not completed/);
      }
      // The plugins it had started went with its process group.
      await eventually(() => plugin !== undefined && !alive(plugin), 'the killed helper’s plugin process is gone');
    } finally {
      harness.signer?.setFault(null);
    }
    const next = await helper.verify(image);
    assert.equal(next.outcome, VerifyOutcome.Verified, next.reason);
    assert.equal(helper.starts, 2, 'a new helper served the next verification');
  });

  it('answers in-flight verifications when the verifier shuts down (killAll)', async () => {
    const helper = newHelper();
    const image = await signedImage();
    harness.signer?.setFault('revocation-hang');
    try {
      const pending = helper.verify(image);
      await eventually(() => pluginChildren(helper.pid).length > 0, 'the helper started the plugin');
      const pid = helper.pid ?? -1;
      helper.killAll();
      const result = await pending;
      assert.equal(result.outcome, VerifyOutcome.CouldNotVerify);
      assert.match(result.reason, /shutting down/);
      await eventually(() => !alive(pid), 'the helper process is gone');
    } finally {
      harness.signer?.setFault(null);
    }
  });

  it('verifies against the manifest the request describes instead of resolving the digest again', async () => {
    const helper = newHelper();
    const { request, manifest } = await signedImageDescribed();
    const given = await helper.verify({ ...request, manifest });
    assert.equal(given.outcome, VerifyOutcome.Verified, given.reason);
    // A description the registry would not give: had the helper resolved the digest itself, it would
    // have found the real one and verified. The signature names the real one, so this cannot pass.
    const other =
      manifest.mediaType === 'application/vnd.oci.image.manifest.v1+json'
        ? 'application/vnd.docker.distribution.manifest.v2+json'
        : 'application/vnd.oci.image.manifest.v1+json';
    for (const wrong of [
      { ...manifest, mediaType: other },
      { ...manifest, size: manifest.size + 1 },
    ]) {
      const result = await helper.verify({ ...request, manifest: wrong });
      assert.equal(result.outcome, VerifyOutcome.Denied, JSON.stringify(wrong));
      assert.match(result.reason, /signature verification failed/);
    }
    // A description without a size or media type is refused, never verified.
    const incomplete = await helper.verify({ ...request, manifest: { mediaType: '', size: 0 } });
    assert.notEqual(incomplete.outcome, VerifyOutcome.Verified);
    assert.match(incomplete.reason, /has no media type or size/);
  });

  it('a helper that cannot be started answers could-not-verify', async () => {
    const helper = newHelper({ helperPath: join(harness.dir, 'no-such-helper') });
    const result = await helper.verify(await signedImage());
    assert.deepEqual([result.outcome, result.kind], [VerifyOutcome.CouldNotVerify, FailureKind.Infrastructure]);
    assert.match(result.reason, /notation helper could not be started .*no-such-helper.*ENOENT/);
  });

  it("runs at the added niceness in the verifier's session, leading a process group of its own (priority.ts)", async () => {
    const image = await signedImage();
    const ownSessionNice = existsSync('/proc/self/autogroup') ? readFileSync('/proc/self/autogroup', 'utf8').trim() : undefined;
    for (const nicePath of ['/usr/bin/nice', undefined]) {
      const helper = newHelper({ niceness: 7, nicePath });
      assert.equal((await helper.verify(image)).outcome, VerifyOutcome.Verified);
      const pid = helper.pid ?? -1;
      const { fields } = procStat(pid);
      assert.equal(Number(fields[16]), Math.min(19, getPriority() + 7), `niceness (${String(nicePath)})`);
      // stat fields 5 and 6 (here 2 and 3): the process group it leads, and the verifier's session.
      assert.equal(Number(fields[2]), pid, 'leads a process group of its own');
      assert.equal(Number(fields[3]), Number(procStat(process.pid).fields[3]), "stays in the verifier's session");
      if (ownSessionNice !== undefined) {
        // Where the kernel schedules by session, the session is the verifier's, and its niceness is left alone.
        assert.equal(readFileSync(`/proc/${pid}/autogroup`, 'utf8').trim(), ownSessionNice);
      }
      helper.killAll();
      await eventually(() => !alive(pid), 'the helper is gone after killAll');
    }
  });

  it("forwards the helper's stderr to the verifier's log at warn, naming the helper", async () => {
    // A cache directory that cannot be made: the helper says so on stderr when it starts, and serves on.
    const notADirectory = join(harness.dir, 'not-a-directory');
    writeFileSync(notADirectory, '');
    const lines: { fields: Record<string, unknown>; message: string }[] = [];
    const helper = newHelper({
      cacheDir: join(notADirectory, 'cache'),
      log: { warn: (fields, message) => lines.push({ fields: fields as Record<string, unknown>, message }) },
    });
    assert.equal((await helper.verify(await signedImage())).outcome, VerifyOutcome.Verified);
    await eventually(() => lines.length > 0, 'a stderr line was logged');
    const [first] = lines;
    assert.ok(first);
    assert.deepEqual(first.fields, { source: 'kna-notation-helper', pid: helper.pid });
    assert.match(first.message, /^kna-notation-helper: CRL cache not used: .*not a directory/);
  });
});

describe('registry tokens, on a docker-registry with bearer-token authentication', () => {
  const users = { alice: 'alice-password', bob: 'bob-password' };
  let tokens: TokenServer;
  let registries: RunningRegistry[] = [];
  let images: VerifyRequest[];

  before(async () => {
    tokens = await startTokenServer({ dir: harness.dir, users });
    // Two registries on one storage directory: images are pushed and signed through the open one and
    // verified through the one that asks for tokens.
    const storageDir = join(harness.dir, 'token-registry');
    registries = await Promise.all([
      startTagSchemaRegistry({ dir: harness.dir, storageDir }),
      startTagSchemaRegistry({ dir: harness.dir, storageDir, tokenAuth: tokens.auth }),
    ]);
    const [open, authed] = registries as [RunningRegistry, RunningRegistry];
    images = [];
    for (const tag of ['v1', 'v2']) {
      const { digest } = await push(`${open.host}/tokens/app:${tag}`);
      await sign(harness, `${open.host}/tokens/app@${digest}`);
      images.push({ reference: `${authed.host}/tokens/app@${digest}`, configDir, pluginConfig: harness.pluginConfig });
    }
  });

  after(async () => {
    await Promise.all(registries.map((r) => r.stop()));
    await tokens.close();
  });

  const as = (username: keyof typeof users) => ({ credentials: { username, password: users[username] } });
  const requestsBy = (username: string) => tokens.requests.filter((r) => r.username === username).length;

  it('consecutive verifications with the same credentials share one token; other credentials get their own', async () => {
    const [first, second] = images as [VerifyRequest, VerifyRequest];
    const helper = newHelper();
    for (const image of [first, second]) {
      const result = await helper.verify({ ...image, ...as('alice') });
      assert.equal(result.outcome, VerifyOutcome.Verified, result.reason);
    }
    assert.equal(requestsBy('alice'), 1, 'one token request for two verifications');
    const bob = await helper.verify({ ...first, ...as('bob') });
    assert.equal(bob.outcome, VerifyOutcome.Verified, bob.reason);
    assert.equal(requestsBy('bob'), 1, "bob's verification asked for its own token");
    assert.equal(requestsBy('alice'), 1);
    assert.equal(helper.starts, 1);
  });

  it('a token is used no longer than its expires_in', async () => {
    const [first, second] = images as [VerifyRequest, VerifyRequest];
    const helper = newHelper();
    const before = requestsBy('alice');
    tokens.expiresIn = 1;
    try {
      assert.equal((await helper.verify({ ...first, ...as('alice') })).outcome, VerifyOutcome.Verified);
      await sleep(1_500);
      assert.equal((await helper.verify({ ...second, ...as('alice') })).outcome, VerifyOutcome.Verified);
    } finally {
      tokens.expiresIn = 300;
    }
    assert.equal(requestsBy('alice') - before, 2, 'the expired token was not reused');
  });
});
