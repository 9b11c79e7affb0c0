// A loopback proxy in front of a real API server that leaves the requests a test selects unanswered: the
// connection is accepted and the request read, and nothing ever comes back, which is what a client sees of an
// API server that is paused or partitioned after accepting. Everything else is forwarded as it is (watches
// stream), with the credentials of the kubeconfig the proxy was given; clients reach the proxy over plain HTTP
// without credentials (`kubeConfig()`).
//
//   const proxy = await startUnansweredProxy(kube().kubeConfig(), (r) => r.method === 'GET' && r.path.endsWith('/configmaps/x'));
//   … proxy.kubeConfig() …
//   await proxy.close();
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

export interface ProxiedRequest {
  readonly method: string;
  /** The path without the query. */
  readonly path: string;
  readonly query: URLSearchParams;
}

export interface UnansweredProxy {
  /** A client-node configuration that reaches the API server through the proxy. */
  kubeConfig(): KubeConfig;
  /** The requests left unanswered so far, as `METHOD path`. */
  readonly unanswered: readonly string[];
  /** Closes the proxy, ending the unanswered requests and the forwarded ones. */
  close(): Promise<void>;
}

/** Starts the proxy; `leaveUnanswered` is asked once per request, in the order they arrive. */
export async function startUnansweredProxy(upstream: KubeConfig, leaveUnanswered: (request: ProxiedRequest) => boolean): Promise<UnansweredProxy> {
  const cluster = upstream.getCurrentCluster();
  if (!cluster) throw new Error('the upstream kubeconfig has no current cluster');
  const server = new URL(cluster.server);
  const credentials: RequestOptions = {};
  await upstream.applyToHTTPSOptions(credentials);
  // One connection per forwarded request: the agent client-node built for `credentials` may keep connections alive.
  delete credentials.agent;
  const unanswered: string[] = [];
  const held = new Set<IncomingMessage | ServerResponse>();

  const proxy = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const method = req.method ?? 'GET';
    if (leaveUnanswered({ method, path: url.pathname, query: url.searchParams })) {
      unanswered.push(`${method} ${url.pathname}`);
      held.add(res);
      req.resume();
      return;
    }
    const send = server.protocol === 'https:' ? httpsRequest : httpRequest;
    const headers = { ...req.headers, ...(credentials.headers as Record<string, string> | undefined), host: server.host };
    const forwarded = send(new URL(server.pathname.replace(/\/$/, '') + (req.url ?? '/'), server), { ...credentials, method, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      held.add(answer);
      answer.once('close', () => held.delete(answer));
    });
    forwarded.once('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: ${err.message}`);
    });
    // A client that goes away (a stopped watch, a timed-out request) ends the forwarded request too.
    res.once('close', () => forwarded.destroy());
    req.pipe(forwarded);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const port = (proxy.address() as AddressInfo).port;

  return {
    kubeConfig: () => {
      const kubeConfig = new KubeConfig();
      // client-node talks plain HTTP only with skipTLSVerify set (KubeConfig.createAgent).
      kubeConfig.loadFromOptions({
        clusters: [{ name: 'proxy', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
        users: [{ name: 'proxy' }],
        contexts: [{ name: 'proxy', cluster: 'proxy', user: 'proxy' }],
        currentContext: 'proxy',
      });
      return kubeConfig;
    },
    get unanswered() {
      return unanswered;
    },
    close: async () => {
      for (const stream of held) stream.destroy();
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}
