// The thin edge between the operator and the API server: API clients (@kubernetes/client-node's) and the
// list-watch (GET a list and stream a watch over node:https, with the TLS material and credentials client-node
// derives from a kubeconfig or the in-cluster ServiceAccount: KubeConfig.applyToHTTPSOptions, which also refreshes
// rotating tokens). Everything else of the list-watch (bookkeeping, retries, the watchdog) is in listWatch.ts.
//
// Every request but a watch is bounded in time, here and only here (KubeClient): connecting, the answer and its
// body within `requestTimeoutMs` (the operator's --kube-api-timeout). An API server that accepts the connection and
// never answers (paused, partitioned, overloaded) would otherwise hold a reconcile, the certificate rotator or a
// list for as long as the socket lives, which with a kept-alive connection and no FIN is forever. client-go has
// the same knob (rest.Config.Timeout); its default is no bound, kubectl's --request-timeout too. A watch is long by
// nature: it ends at its own timeoutSeconds, and ListWatcher's watchdog ends one that stays silent past that.
import { request, type RequestOptions } from 'node:https';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { createInterface } from 'node:readline';
import {
  IsomorphicFetchHttpLibrary,
  ResponseContext,
  ServerConfiguration,
  createConfiguration,
  wrapHttpLibrary,
  type ApiConstructor,
  type ApiType,
  type KubeConfig,
  type PromiseHttpLibrary,
  type RequestContext,
} from '@kubernetes/client-node';
import { KubeRequestTimeoutError, type KubeRequestTarget } from './errors.js';
import type { KubeObject, ListResult, ListWatchSource, WatchEvent } from './listWatch.js';

/** A kind of object: its API group (""" for core), version and plural resource name; optionally one namespace. */
export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
  namespace?: string;
  fieldSelector?: string;
  labelSelector?: string;
  /**
   * List and watch only the objects' metadata (meta.k8s.io/v1 PartialObjectMetadata, as client-go's metadata
   * informers do): for a watcher that needs resourceVersions and names, not a large payload.
   */
  metadataOnly?: boolean;
}

/** The collection path of `ref` on the API server. */
export function resourcePath(ref: ResourceRef): string {
  const base = ref.group === '' ? `/api/${ref.version}` : `/apis/${ref.group}/${ref.version}`;
  return `${base}${ref.namespace === undefined ? '' : `/namespaces/${encodeURIComponent(ref.namespace)}`}/${ref.plural}`;
}

/** An answer other than 200: `statusCode` and the Status message the API server gave. */
export class KubeRequestError extends Error {
  readonly statusCode: number;
  constructor(statusCode: number, message: string) {
    super(message);
    this.statusCode = statusCode;
  }
}

/** Subresources of a namespace itself (`/api/v1/namespaces/<name>/status`), which are not namespaced objects. */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

/**
 * The verb and resource of a request to `url`, as Kubernetes names them (the API server's RequestInfo): for
 * messages and metrics. A server URL with a path prefix is allowed; a non-resource path is its own resource.
 */
export function requestTarget(method: string, url: URL): KubeRequestTarget {
  const segments = url.pathname
    .split('/')
    .filter((s) => s !== '')
    .map((s) => decodeURIComponent(s));
  const root = segments.findIndex((s) => s === 'api' || s === 'apis');
  if (root < 0) return { verb: method.toLowerCase(), resource: url.pathname };
  const group = segments[root] === 'apis' ? (segments[root + 1] ?? '') : '';
  let rest = segments.slice(segments[root] === 'apis' ? root + 3 : root + 2);
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && !(rest.length === 3 && NAMESPACE_SUBRESOURCES.has(rest[2] ?? ''))) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural = '', name, ...subresource] = rest;
  const resource = `${plural}${group === '' ? '' : `.${group}`}${subresource.length > 0 ? `/${subresource.join('/')}` : ''}`;
  const watch = url.searchParams.get('watch');
  const verb = ((): string => {
    switch (method.toUpperCase()) {
      case 'GET':
        return watch === 'true' || watch === '1' ? 'watch' : name === undefined ? 'list' : 'get';
      case 'POST':
        return 'create';
      case 'PUT':
        return 'update';
      case 'PATCH':
        return 'patch';
      case 'DELETE':
        return name === undefined ? 'deletecollection' : 'delete';
      default:
        return method.toLowerCase();
    }
  })();
  return { verb, resource, ...(namespace !== undefined && { namespace }), ...(name !== undefined && { name }) };
}

/** The bound of a request but a watch when none is given (the operator's --kube-api-timeout default). */
export const DEFAULT_KUBE_API_TIMEOUT_MS = 30_000;

export interface KubeClientOptions {
  /** Bound of every request but a watch: connecting, the answer and its body; 30 s by default. */
  requestTimeoutMs?: number;
  /** Told of every request that ran out of time (before its caller sees the error), for logs and metrics. */
  onTimeout?: (err: KubeRequestTimeoutError) => void;
}

/** KubeClientOptions with the bound settled. */
type Bound = KubeClientOptions & { requestTimeoutMs: number };

/**
 * One request's bound: `signal` aborts the request (and frees its socket) when the time is up, and `within` turns
 * whatever the aborted request then rejects with into the KubeRequestTimeoutError, also for an HTTP library that
 * does not watch the signal while a body is read. Between the answer and the reading of its body nobody waits
 * (`answered`): a bound that passes then frees the socket and is reported only if the body is read after all
 * (client-node never reads the body of a 401).
 */
class Deadline {
  readonly signal: AbortSignal;
  readonly #expired: Promise<never>;
  readonly #timer: NodeJS.Timeout;
  readonly #report: () => void;
  #error: KubeRequestTimeoutError | undefined;
  #waiting = true;

  constructor(target: KubeRequestTarget, bound: Bound, callerSignal?: AbortSignal) {
    const abort = new AbortController();
    let expire: (err: KubeRequestTimeoutError) => void = () => undefined;
    this.#expired = new Promise<never>((_, reject) => (expire = reject));
    this.#expired.catch(() => undefined);
    let reported = false;
    this.#report = () => {
      if (reported || this.#error === undefined) return;
      reported = true;
      bound.onTimeout?.(this.#error);
      expire(this.#error);
    };
    this.#timer = setTimeout(() => {
      this.#error = new KubeRequestTimeoutError(target, bound.requestTimeoutMs);
      abort.abort(this.#error);
      if (this.#waiting) this.#report();
    }, bound.requestTimeoutMs);
    // An answer whose body is never read must not keep the process alive until the timer fires.
    this.#timer.unref();
    this.signal = callerSignal === undefined ? abort.signal : AbortSignal.any([callerSignal, abort.signal]);
  }

  /** `work` within the bound: rejects with the KubeRequestTimeoutError once the time is up. */
  async within<T>(work: Promise<T>): Promise<T> {
    this.#waiting = true;
    this.#report();
    try {
      return await Promise.race([work, this.#expired]);
    } catch (err) {
      throw this.#error ?? err;
    }
  }

  /** The answer arrived; nobody waits until its body is read (`within` again). */
  answered(): void {
    this.#waiting = false;
  }

  end(): void {
    clearTimeout(this.#timer);
  }
}

/**
 * client-node's HTTP library (node-fetch) with every request bounded: the answer, then its body when the response
 * processor reads it. A request that already carries a signal keeps it.
 */
class BoundedHttpLibrary implements PromiseHttpLibrary {
  readonly #fetch = new IsomorphicFetchHttpLibrary();
  readonly #bound: Bound;

  constructor(bound: Bound) {
    this.#bound = bound;
  }

  async send(context: RequestContext): Promise<ResponseContext> {
    const deadline = new Deadline(requestTarget(context.getHttpMethod(), new URL(context.getUrl())), this.#bound, context.getSignal() ?? undefined);
    context.setSignal(deadline.signal);
    let response: ResponseContext;
    try {
      response = await deadline.within(this.#fetch.send(context).toPromise());
    } catch (err) {
      deadline.end();
      throw err;
    }
    deadline.answered();
    const { body } = response;
    const read = <T>(reading: () => Promise<T>) => deadline.within(reading()).finally(() => deadline.end());
    return new ResponseContext(response.httpStatusCode, response.headers, { text: () => read(() => body.text()), binary: () => read(() => body.binary()) });
  }
}

async function open(kubeConfig: KubeConfig, path: string, signal: AbortSignal, accept = 'application/json'): Promise<IncomingMessage> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const url = new URL(cluster.server + path);
  const options: RequestOptions = { headers: { Accept: accept } };
  await kubeConfig.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'http:' ? httpRequest : request;
    const req = send(url, { ...options, method: 'GET', signal }, (res) => {
      if (res.statusCode === 200) return resolve(res);
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let message = body.slice(0, 500);
        try {
          message = (JSON.parse(body) as { message?: string }).message ?? message;
        } catch {
          // not a Status: keep the text
        }
        reject(new KubeRequestError(res.statusCode ?? 0, `GET ${url.pathname}: ${res.statusCode ?? 0} ${message}`));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function query(ref: ResourceRef, extra: Record<string, string>): string {
  const params = new URLSearchParams(extra);
  if (ref.fieldSelector !== undefined) params.set('fieldSelector', ref.fieldSelector);
  if (ref.labelSelector !== undefined) params.set('labelSelector', ref.labelSelector);
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

/** Accept headers of a metadata-only list and watch. */
const METADATA_ONLY_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
const METADATA_ONLY = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

/**
 * The operator's way to one cluster: API clients and list-watch sources whose requests are bounded (see the file
 * comment). Nothing else in the operator makes requests, so nothing else needs a bound of its own.
 */
export class KubeClient {
  readonly #kubeConfig: KubeConfig;
  readonly #bound: Bound;
  readonly #http: BoundedHttpLibrary;

  constructor(kubeConfig: KubeConfig, options: KubeClientOptions = {}) {
    const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_KUBE_API_TIMEOUT_MS;
    if (!(requestTimeoutMs > 0)) throw new RangeError('requestTimeoutMs must be positive');
    this.#kubeConfig = kubeConfig;
    this.#bound = { ...options, requestTimeoutMs };
    this.#http = new BoundedHttpLibrary(this.#bound);
  }

  /** An API client (`CoreV1Api`, …): KubeConfig.makeApiClient with the bounded HTTP library. */
  api<T extends ApiType>(type: ApiConstructor<T>): T {
    const cluster = this.#kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    return new type(
      createConfiguration({
        baseServer: new ServerConfiguration(cluster.server, {}),
        authMethods: { default: this.#kubeConfig },
        httpApi: wrapHttpLibrary(this.#http),
      }),
    );
  }

  /** A ListWatchSource for `ref`: the list bounded, the watch bounded by its timeoutSeconds and ListWatcher's watchdog. */
  listWatchSource<T extends KubeObject>(ref: ResourceRef): ListWatchSource<T> {
    const kubeConfig = this.#kubeConfig;
    const bound = this.#bound;
    const path = resourcePath(ref);
    return {
      description: `${ref.plural}${ref.group === '' ? '' : `.${ref.group}`}${ref.namespace === undefined ? '' : ` in ${ref.namespace}`}${ref.fieldSelector === undefined ? '' : ` (${ref.fieldSelector})`}`,
      async list(signal) {
        const listPath = `${path}${query(ref, {})}`;
        const deadline = new Deadline(requestTarget('GET', new URL(listPath, 'http://list')), bound, signal);
        try {
          return await deadline.within(
            (async () => {
              const res = await open(kubeConfig, listPath, deadline.signal, ref.metadataOnly === true ? METADATA_ONLY_LIST : undefined);
              const chunks: Buffer[] = [];
              for await (const chunk of res) chunks.push(chunk as Buffer);
              const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { items?: T[]; metadata?: { resourceVersion?: string } };
              return { items: body.items ?? [], resourceVersion: body.metadata?.resourceVersion ?? '' } satisfies ListResult<T>;
            })(),
          );
        } finally {
          deadline.end();
        }
      },
      async watch(resourceVersion, timeoutSeconds, onEvent, signal) {
        const res = await open(
          kubeConfig,
          `${path}${query(ref, { watch: 'true', resourceVersion, timeoutSeconds: String(timeoutSeconds), allowWatchBookmarks: 'true' })}`,
          signal,
          ref.metadataOnly === true ? METADATA_ONLY : undefined,
        );
        const lines = createInterface({ input: res, crlfDelay: Infinity });
        await new Promise<void>((resolve, reject) => {
          const fail = (err: Error) => {
            lines.close();
            res.destroy();
            reject(err);
          };
          lines.on('line', (line) => {
            if (line.trim() === '') return;
            let event: WatchEvent<T>;
            try {
              event = JSON.parse(line) as WatchEvent<T>;
            } catch (err) {
              fail(new Error(`undecodable watch event: ${line.slice(0, 200)}`, { cause: err }));
              return;
            }
            onEvent(event);
          });
          res.on('error', fail);
          res.on('aborted', () => fail(new Error('watch connection aborted')));
          signal.addEventListener('abort', () => fail(new Error('watch stopped')), { once: true });
          lines.on('close', () => resolve());
        });
      },
    };
  }
}

type AgentFactory = (cluster: unknown, options: Record<string, unknown>) => import('node:http').Agent;

/**
 * Makes the API clients of `kubeConfig` reuse their connections. @kubernetes/client-node 1.4 builds a new
 * https.Agent for every request (KubeConfig.createAgent, called from applySecurityAuthentication), so every call
 * pays a TCP and TLS handshake: at a thousand status writes that is most of the cost. Agents are cached by the TLS
 * material they carry (a rotated client certificate gets a new agent) and keep connections alive. createAgent is
 * private in the typings, hence the cast; without that method (another client-node) this does nothing.
 */
export function reuseConnections<T extends KubeConfig>(kubeConfig: T): T {
  const target = kubeConfig as unknown as { createAgent?: AgentFactory };
  const original = target.createAgent?.bind(kubeConfig);
  if (original === undefined) return kubeConfig;
  const agents = new Map<string, import('node:http').Agent>();
  target.createAgent = (cluster, options) => {
    const key = JSON.stringify([options.ca, options.cert, options.key, options.pfx, options.servername, options.rejectUnauthorized]);
    let agent = agents.get(key);
    if (agent === undefined) {
      agent = original(cluster, { ...options, keepAlive: true, maxSockets: 32 });
      agents.set(key, agent);
    }
    return agent;
  };
  return kubeConfig;
}
