// Assembles a verifier from parsed flags: bundle source, registry client, notation runner, cache,
// authentication, the request listener and the probe and metrics listeners (buildVerifier), then
// serves (start) and stops (close). main.ts is the command line around it; tests start it in-process.
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { parseBindAddress } from '@kna/shared';
import { BundleStore } from './bundle/store.js';
import { bundleDirSource, policyDirSource, type Source } from './bundle/sources.js';
import { VerdictCache } from './cache/verdicts.js';
import { SharedVerdictTier, type SharedTierLog } from './cache/shared.js';
import { checkFlags, type Flags, type NotationEngineName } from './config/flags.js';
import { VERIFIER_ERR_BAD_FLAG } from './errors.js';
import { buildServer } from './http/server.js';
import type { PressureLimits } from './http/loadShedding.js';
import { loadServingPair, watchServingPair, type ServingPair } from './http/tls.js';
import { metricsRoute, probeRoutes } from './http/probes.js';
import { VerifierMetrics } from './metrics.js';
import { NotationRunner } from './notation/runner.js';
import { NotationHelper } from './notation/helper.js';
import type { EngineOptions, NotationEngine } from './notation/engine.js';
import { RequestAuthenticator, kubernetesTokenReviewer } from './auth/tokenReview.js';
import { ApiServerClient, apiServerCredentials } from './auth/apiServer.js';
import { registryAccess } from './pipeline/registryAccess.js';
import { SignatureCheck, type SignatureVerifier } from './signature/check.js';
import { ReferrerAttestationVerifier } from './attestations/verifier.js';
import { errorMessage } from '@kna/shared';

export interface StartOptions {
  readonly flags: Flags;
  readonly env?: NodeJS.ProcessEnv;
  /** Logger (tests pass a silent one). */
  readonly logger?: Logger;
}

export interface RunningVerifier {
  /** Base URL of the request listener. */
  readonly url: string;
  readonly healthUrl?: string;
  readonly metricsUrl?: string;
  readonly store: BundleStore;
  readonly runner: NotationEngine;
  readonly cache: VerdictCache;
  readonly metrics: VerifierMetrics;
  /** Flips readiness off and closes every listener and watcher; kills notation runs. */
  close(): Promise<void>;
}

const LOG_LEVELS: Record<string, string> = { trace: 'trace', debug: 'debug', info: 'info', warn: 'warn', error: 'error' };

export function createLogger(level: string): Logger {
  const logger = pino(
    {
      level: LOG_LEVELS[level] ?? 'info',
      base: { component: 'verifier' },
      redact: { paths: ['req.headers.authorization', '*.password', '*.token'], remove: true },
    },
    // Buffered writes: a synchronous write(2) per request line was a third of the CPU of a cached
    // answer (docs/benchmarks.md). The buffer is flushed when it fills, and on exit (pino flushes its
    // destination synchronously in an exit handler), so a clean shutdown loses nothing.
    pino.destination({ dest: 1, sync: false, minLength: 4096 }),
  );
  // A quiet verifier would otherwise keep its last lines (start-up included) until 4 KiB accumulate:
  // someone watching it run locally saw nothing. Once a second is free next to a write per line.
  setInterval(() => logger.flush(), 1000).unref();
  return logger;
}

function findOnPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return undefined;
}

/** "host:port", ":port" or "0" (disabled) → listen arguments. */
function bindAddress(flag: string, value: string): { host: string; port: number } | undefined {
  return parseBindAddress(flag, value, { badFlag: (detail) => new VERIFIER_ERR_BAD_FLAG(detail) });
}

function listenUrl(app: FastifyInstance, scheme: string): string {
  const address = app.server.address() as AddressInfo;
  const host = address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : address.address;
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

const MIN_HMAC_KEY_BYTES = 32;

function readFlagFile(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new VERIFIER_ERR_BAD_FLAG(`--${flag}: cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The Redis tier the flags ask for, or undefined (L1 only); refuses an incomplete configuration. */
export function sharedTierFromFlags(flags: Flags, log: SharedTierLog, observer?: VerifierMetrics): SharedVerdictTier | undefined {
  if (flags.redisURL === '') return undefined;
  if (!/^rediss?:\/\//.test(flags.redisURL)) throw new VERIFIER_ERR_BAD_FLAG(`--redisURL must start with redis:// or rediss://`);
  try {
    new URL(flags.redisURL);
  } catch {
    throw new VERIFIER_ERR_BAD_FLAG('--redisURL is not a valid URL');
  }
  if (flags.cacheHMACKeyFile === '') {
    throw new VERIFIER_ERR_BAD_FLAG(
      '--redisURL needs --cacheHMACKeyFile: the shared cache signs its entries with a key all verifier replicas share (a mounted Secret of at least 32 random bytes)',
    );
  }
  // A trailing newline from `echo >` or a Secret created from a file is not part of the key.
  const hmacKey = Buffer.from(
    readFlagFile('cacheHMACKeyFile', flags.cacheHMACKeyFile)
      .toString('latin1')
      .replace(/\r?\n$/, ''),
    'latin1',
  );
  if (hmacKey.length < MIN_HMAC_KEY_BYTES) {
    throw new VERIFIER_ERR_BAD_FLAG(`--cacheHMACKeyFile: the key is ${hmacKey.length} bytes; use at least ${MIN_HMAC_KEY_BYTES} random bytes`);
  }
  if (flags.redisCAFile !== '' && !flags.redisURL.startsWith('rediss://')) throw new VERIFIER_ERR_BAD_FLAG('--redisCAFile needs a rediss:// --redisURL');
  for (const name of ['redisCommandTimeoutMilliseconds', 'redisBreakerOpenMilliseconds'] as const) {
    if (flags[name] <= 0) throw new VERIFIER_ERR_BAD_FLAG(`--${name} must be positive, not ${flags[name]}`);
  }
  if (flags.redisLockWaitMilliseconds < 0) throw new VERIFIER_ERR_BAD_FLAG(`--redisLockWaitMilliseconds must be 0 or positive`);
  const password =
    flags.redisPasswordFile !== ''
      ? readFlagFile('redisPasswordFile', flags.redisPasswordFile)
          .toString('utf8')
          .replace(/\r?\n$/, '')
      : undefined;
  const ca = flags.redisCAFile !== '' ? readFlagFile('redisCAFile', flags.redisCAFile).toString('utf8') : undefined;
  return new SharedVerdictTier({
    url: flags.redisURL,
    hmacKey,
    commandTimeoutMs: flags.redisCommandTimeoutMilliseconds,
    breakerOpenMs: flags.redisBreakerOpenMilliseconds,
    lockWaitMs: flags.redisLockWaitMilliseconds,
    // A lock outlives a full notation run, so its holder publishes before anyone could take it over.
    lockTtlMs: (flags.notationTimeoutSeconds + 5) * 1000,
    log,
    ...(password !== undefined && { password }),
    ...(ca !== undefined && { ca }),
    ...(observer && { observer }),
  });
}

/** The load-shedding limits the flags set (0 turns one off). */
export function pressureLimits(flags: Flags): PressureLimits {
  return { maxEventLoopDelayMs: flags.maxEventLoopDelay, maxEventLoopUtilization: flags.maxEventLoopUtilization, maxHeapUsedBytes: flags.maxHeapUsedBytes };
}

/** The notation engine (--notationEngine) and the executable it runs. */
type EngineChoice = { readonly engine: 'cli'; readonly notationPath: string } | { readonly engine: 'helper'; readonly helperPath: string };

/** Where notation (or the helper) and its plugins are, from the flags and the environment; refuses what cannot serve. */
function notationLocation(engine: NotationEngineName, flags: Flags, env: NodeJS.ProcessEnv): { choice: EngineChoice; libexec: string } {
  let choice: EngineChoice;
  if (engine === 'cli') {
    const notationPath = flags.notationPath !== '' ? resolve(flags.notationPath) : findOnPath('notation', env);
    if (notationPath === undefined || !existsSync(notationPath)) {
      throw new VERIFIER_ERR_BAD_FLAG('notation was not found on PATH; install notation v1.3 or pass --notationPath');
    }
    choice = { engine: 'cli', notationPath };
  } else {
    const named = flags.notationHelperPath;
    const helperPath = named.includes('/') ? resolve(named) : findOnPath(named, env);
    if (helperPath === undefined || !existsSync(helperPath)) {
      throw new VERIFIER_ERR_BAD_FLAG(
        `the notation helper ${JSON.stringify(named)} was not found (--notationHelperPath; \`pnpm tools notation-helper\` builds it)`,
      );
    }
    choice = { engine: 'helper', helperPath };
  }
  const libexec =
    flags.notationLibexec !== '' ? flags.notationLibexec : (env.NOTATION_LIBEXEC ?? (env.PLUGINS_DIR !== undefined ? dirname(env.PLUGINS_DIR) : undefined));
  if (libexec === undefined) {
    throw new VERIFIER_ERR_BAD_FLAG('no notation plugin directory: set --notationLibexec (or NOTATION_LIBEXEC / PLUGINS_DIR) to where plugins/<name>/ lives');
  }
  return { choice, libexec };
}

/** The one place the engine is chosen; both take the same settings. The helper's stderr goes to the log. */
function notationEngine(choice: EngineChoice, options: EngineOptions, log: Logger): NotationEngine {
  return choice.engine === 'cli'
    ? new NotationRunner({ ...options, notationPath: choice.notationPath })
    : new NotationHelper({ ...options, helperPath: choice.helperPath, log });
}

/** TokenReview of every caller (--reviewKyvernoToken), or undefined when it is off. */
function authenticatorFromFlags(
  flags: Flags,
  env: NodeJS.ProcessEnv,
  log: Logger,
): { authenticator: RequestAuthenticator; apiServer: ApiServerClient } | undefined {
  if (!flags.reviewKyvernoToken) {
    log.warn('token review is disabled (--reviewKyvernoToken=false): any caller can use the verifier');
    return undefined;
  }
  const apiServer = new ApiServerClient(apiServerCredentials({ kubeconfig: flags.kubeconfig, local: flags.local, env }));
  log.info({ credentials: apiServer.source }, 'token review on: TokenReview through the Kubernetes API');
  const authenticator = new RequestAuthenticator({
    reviewer: kubernetesTokenReviewer(apiServer),
    allowedUsers: flags.allowedUsers,
    audiences: flags.tokenReviewAudiences,
    onReviewError: (err) => log.warn({ err }, 'TokenReview failed; answering 503'),
    apiServerAudience: flags.tokenReviewAPIServerAudience,
  });
  return { authenticator, apiServer };
}

/** The serving certificate (--tlsCertFile, --tlsKeyFile), or undefined for plain HTTP (--local, --notls). */
function servingPairFromFlags(flags: Flags): ServingPair | undefined {
  if (flags.local || flags.notls) return undefined;
  try {
    return loadServingPair(flags.tlsCertFile, flags.tlsKeyFile);
  } catch (err) {
    throw new VERIFIER_ERR_BAD_FLAG(
      `cannot load the serving certificate (--tlsCertFile ${flags.tlsCertFile}, --tlsKeyFile ${flags.tlsKeyFile}): ` +
        `${errorMessage(err)}; mount the tls-pair Secret there, or serve plain HTTP with --notls`,
    );
  }
}

/** The bundle store, logging and counting what it loads and rejects, and the source that feeds it. */
function bundleFromFlags(flags: Flags, workDir: string, log: Logger, metrics: VerifierMetrics): { store: BundleStore; source: Source } {
  const store = new BundleStore({ workDir, retainReplacedMs: (flags.verifyTimeoutSeconds + 30) * 1000 });
  store.on('loaded', (bundle) => {
    metrics.observeBundle('loaded', bundle.version);
    log.info({ bundleVersion: bundle.version.slice(0, 12), trustPolicies: [...bundle.policies.keys()], source: bundle.source }, 'bundle loaded');
  });
  store.on('rejected', (source, err) => {
    metrics.observeBundle('rejected');
    // Say what serves now: the last good bundle, or nothing (every request answers that no trust policy is loaded).
    const serving = store.current
      ? `bundle ${store.current.version.slice(0, 12)} keeps serving`
      : 'no bundle is loaded yet: /checkimages answers 503 and /readyz is false until a valid one is';
    log.error({ source, err: err.message }, `bundle rejected; ${serving}`);
  });
  const source: Source = flags.local
    ? policyDirSource(flags.policyDir, store, {
        pluginConfigMap: flags.pluginConfigMap,
        onStatuses: (statuses) => {
          for (const s of statuses) if (!s.ready) log.warn({ kind: s.kind, name: s.name, reason: s.reason }, s.message);
        },
      })
    : bundleDirSource(flags.bundleDir, store);
  return { store, source };
}

/** notation runs with their metrics and log lines. */
function observedNotation(runner: NotationEngine, flags: Flags, log: Logger, metrics: VerifierMetrics): SignatureVerifier {
  return {
    verify: async (request) => {
      const result = await runner.verify(request);
      metrics.observeNotation(result.outcome, result.durationMs);
      if (flags.debug) log.debug({ reference: request.reference, outcome: result.outcome, stderr: result.stderr }, 'notation verify');
      // The answer says what failed in product terms; notation's own words (request URLs…) are kept here.
      else if (result.outcome === 'could-not-verify') log.warn({ reference: request.reference, stderr: result.stderr }, 'notation could not verify');
      return result;
    },
  };
}

/**
 * A verifier assembled and not yet serving: `start()` loads the bundle and listens, `close()` stops everything.
 * @public
 */
export interface Verifier {
  readonly store: BundleStore;
  readonly runner: NotationEngine;
  readonly cache: VerdictCache;
  readonly metrics: VerifierMetrics;
  /** Loads the bundle and opens the listeners; on an error (a port in use) closes what it opened and throws. */
  start(): Promise<RunningVerifier>;
  /** Flips readiness off and closes every listener and watcher; kills notation runs. */
  close(): Promise<void>;
}

/**
 * Checks the flags and assembles the verifier from them; nothing listens or watches until start().
 * @public
 */
export async function buildVerifier(options: StartOptions): Promise<Verifier> {
  const { flags } = options;
  const env = options.env ?? process.env;
  const log = options.logger ?? createLogger(flags.logLevel);

  const { onInfraError, notationEngine: engine } = checkFlags(flags);
  const { choice, libexec } = notationLocation(engine, flags, env);
  const auth = authenticatorFromFlags(flags, env, log);
  const servingPair = servingPairFromFlags(flags);
  const probeBind = bindAddress('health-probe-bind-address', flags['health-probe-bind-address']);
  const metricsBind = bindAddress('metrics-bind-address', flags['metrics-bind-address']);

  const metrics = new VerifierMetrics();
  // Checked with the other flags, before anything is started; the connection is made in the background
  // and Redis is never part of readiness (a request without it verifies locally).
  const shared = flags.cacheEnabled ? sharedTierFromFlags(flags, log, metrics) : undefined;
  const registry = registryAccess({
    flags,
    env,
    observer: { onResponse: (_host, operation, status, durationMs) => metrics.observeRegistry(operation, status, durationMs) },
  });
  // Made after every check that can refuse the configuration. A directory the verifier made itself is
  // its own to remove on close; a --workDir is left as found.
  const ownWorkDir = flags.workDir === '';
  const workDir = ownWorkDir ? mkdtempSync(join(tmpdir(), 'kna-verifier-')) : flags.workDir;
  const { store, source } = bundleFromFlags(flags, workDir, log, metrics);
  const runner = notationEngine(
    choice,
    {
      libexecDir: libexec,
      cacheDir: join(workDir, 'notation-cache'),
      timeoutMs: flags.notationTimeoutSeconds * 1000,
      maxConcurrent: flags.maxConcurrentVerifications,
      maxSignatures: flags.maxSignatureAttempts,
      niceness: flags.notationNiceness,
      nicePath: findOnPath('nice', env),
      env,
    },
    log,
  );
  const cache = new VerdictCache({
    enabled: flags.cacheEnabled,
    maxEntries: flags.cacheMaxSize,
    ttlSeconds: flags.cacheTTLDurationSeconds,
    negativeTtlSeconds: flags.negativeCacheTTLSeconds,
    observer: metrics,
    ...(shared && { shared }),
  });
  const signatures = new SignatureCheck({
    notation: observedNotation(runner, flags, log, metrics),
    cache,
    credentials: registry.notationCredentials,
    insecureRegistry: registry.insecure,
  });

  let draining = false;
  let tlsWatch: { close(): void } | undefined;
  const app = await buildServer({
    pipeline: {
      bundle: () => store.current,
      resolver: registry.resolver,
      signatures,
      defaultTrustPolicy: env.DEFAULT_TRUST_POLICY,
      attestations: new ReferrerAttestationVerifier({ registry: registry.client, signatures, maxPayloadBytes: flags.maxAttestationBytes }),
    },
    ...(auth && { authenticator: auth.authenticator }),
    answer: { onInfraError },
    requestTimeoutMs: flags.verifyTimeoutSeconds * 1000,
    maxRequestBytes: flags.maxRequestBytes,
    pressure: pressureLimits(flags),
    logger: log,
    metrics,
    ...(servingPair && { https: { key: servingPair.key, cert: servingPair.cert } }),
  });
  const probes = Fastify({ logger: false });
  await probes.register(probeRoutes, { notReady: () => [...(store.current ? [] : ['no trust policy bundle loaded']), ...(draining ? ['shutting down'] : [])] });
  const metricsApp = Fastify({ logger: false });
  await metricsApp.register(metricsRoute, { registry: metrics.registry });

  const close = async () => {
    draining = true;
    source.close();
    tlsWatch?.close();
    store.close();
    runner.killAll();
    await Promise.all([app.close(), probes.close(), metricsApp.close(), cache.close()]);
    auth?.apiServer.close();
    if (ownWorkDir) rmSync(workDir, { recursive: true, force: true });
  };

  const start = async (): Promise<RunningVerifier> => {
    source.refresh();
    const plainHttp = servingPair === undefined;
    await app.listen({ host: flags.bindAddress, port: plainHttp ? flags.httpPort : flags.httpsPort });
    if (probeBind) await probes.listen(probeBind);
    if (metricsBind) await metricsApp.listen(metricsBind);
    tlsWatch =
      servingPair &&
      watchServingPair(
        {
          certFile: flags.tlsCertFile,
          keyFile: flags.tlsKeyFile,
          apply: (pair) => {
            (app.server as unknown as import('node:tls').Server).setSecureContext({ key: pair.key, cert: pair.cert });
            log.info({ serial: pair.serialNumber, notAfter: pair.notAfter.toISOString() }, 'serving certificate reloaded');
          },
          onError: (err) => log.error({ err: err.message }, 'serving certificate not reloaded; the previous one keeps serving'),
        },
        servingPair,
      );
    const url = listenUrl(app, plainHttp ? 'http' : 'https');
    log.info({ url, local: flags.local, workDir, notation: choice, signerPlugins: libexec }, 'verifier listening');
    return {
      url,
      ...(probeBind && { healthUrl: listenUrl(probes, 'http') }),
      ...(metricsBind && { metricsUrl: listenUrl(metricsApp, 'http') }),
      store,
      runner,
      cache,
      metrics,
      close,
    };
  };

  return { store, runner, cache, metrics, start, close };
}

/** buildVerifier, then start; a start that fails (a port in use) leaves nothing running behind the error. */
export async function startVerifier(options: StartOptions): Promise<RunningVerifier> {
  const verifier = await buildVerifier(options);
  try {
    return await verifier.start();
  } catch (err) {
    await verifier.close();
    throw err;
  }
}
