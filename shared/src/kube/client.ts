// The thin edge of the list-watch: GET a list and stream a watch from the API server over node:https, with the
// TLS material and credentials @kubernetes/client-node derives from a kubeconfig or the in-cluster
// ServiceAccount (KubeConfig.applyToHTTPSOptions, which also refreshes rotating tokens). Everything else
// (bookkeeping, retries, the watchdog) is in listWatch.ts.
import { request, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import { createInterface } from 'node:readline';
import type { KubeConfig } from '@kubernetes/client-node';
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

async function open(kubeConfig: KubeConfig, path: string, signal: AbortSignal, accept = 'application/json'): Promise<import('node:http').IncomingMessage> {
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

/** A ListWatchSource for `ref` on the cluster of `kubeConfig`. */
export function kubeListWatchSource<T extends KubeObject>(kubeConfig: KubeConfig, ref: ResourceRef): ListWatchSource<T> {
  const path = resourcePath(ref);
  return {
    description: `${ref.plural}${ref.group === '' ? '' : `.${ref.group}`}${ref.namespace === undefined ? '' : ` in ${ref.namespace}`}${ref.fieldSelector === undefined ? '' : ` (${ref.fieldSelector})`}`,
    async list(signal) {
      const res = await open(kubeConfig, `${path}${query(ref, {})}`, signal, ref.metadataOnly === true ? METADATA_ONLY_LIST : undefined);
      const chunks: Buffer[] = [];
      for await (const chunk of res) chunks.push(chunk as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { items?: T[]; metadata?: { resourceVersion?: string } };
      return { items: body.items ?? [], resourceVersion: body.metadata?.resourceVersion ?? '' } satisfies ListResult<T>;
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
