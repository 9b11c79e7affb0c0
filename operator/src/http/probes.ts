// The operator's two small listeners: /livez, /healthz and /readyz on --health-probe-bind-address and /metrics on
// --metrics-bind-address. node:http is enough for three fixed routes.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface Listener {
  /** http://host:port (127.0.0.1 for a wildcard bind). */
  readonly url: string;
  close(): Promise<void>;
}

async function listen(server: Server, bind: { host: string; port: number }): Promise<Listener> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(bind.port, bind.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : address.address;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** /readyz answers 200 while `notReady()` returns nothing, else 503 with the reasons. */
export function serveProbes(bind: { host: string; port: number }, notReady: () => string[]): Promise<Listener> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/livez' || path === '/healthz') return res.end('ok');
    if (path === '/readyz') {
      const problems = notReady();
      res.statusCode = problems.length === 0 ? 200 : 503;
      return res.end(problems.length === 0 ? 'ok' : problems.join('; '));
    }
    res.statusCode = 404;
    res.end('not found');
  });
  return listen(server, bind);
}

export function serveMetrics(bind: { host: string; port: number }, registry: Registry): Promise<Listener> {
  const server = createServer((req, res) => {
    if ((req.url ?? '/').split('?')[0] !== '/metrics') {
      res.statusCode = 404;
      return res.end('not found');
    }
    registry.metrics().then(
      (text) => {
        res.setHeader('Content-Type', registry.contentType);
        res.end(text);
      },
      (err: unknown) => {
        res.statusCode = 500;
        res.end(String(err));
      },
    );
  });
  return listen(server, bind);
}
