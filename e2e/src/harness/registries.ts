// The two kinds of registry the product must work with, started on free loopback ports:
// olareg (OCI 1.1, referrers API) and Debian's docker-registry (CNCF distribution 2.8, no referrers API,
// so clients use the referrers tag schema). Both are addressed as localhost:<port>, for which notation
// uses plain HTTP without extra flags (notation's specification).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { answers, startOnFreePort, type RunningProcess } from './processes.js';
import { toolPath } from './tools-env.js';

export interface RunningRegistry extends RunningProcess {
  /** localhost:<port> */
  readonly host: string;
  readonly port: number;
}

export interface RegistryOptions {
  /** Working directory for logs and storage. */
  readonly dir: string;
  readonly outliveParent?: boolean;
}

/** docker-registry's `auth: token` (distribution's token authentication; tokenServer.ts serves the realm). */
export interface TokenAuthConfig {
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  /** PEM file of the certificates whose keys sign the tokens. */
  readonly rootCertBundle: string;
}

export interface TagSchemaRegistryOptions extends RegistryOptions {
  /** Storage directory; default a new one under `dir`. Two registries on one directory serve the same content. */
  readonly storageDir?: string;
  /** Bearer-token authentication; default none. */
  readonly tokenAuth?: TokenAuthConfig;
}

/** olareg with in-memory storage, push and delete enabled (notation deletes superseded tag-schema indexes). */
export async function startReferrersRegistry(options: RegistryOptions): Promise<RunningRegistry> {
  const olareg = toolPath('olareg');
  const proc = await startOnFreePort((port) => ({
    name: 'olareg',
    command: olareg,
    args: ['serve', '--addr', '127.0.0.1', '--port', String(port), '--store-type', 'mem', '--api-delete'],
    logFile: join(options.dir, 'olareg.log'),
    ready: () => answers(`http://127.0.0.1:${port}/v2/`),
    ...(options.outliveParent !== undefined && { outliveParent: options.outliveParent }),
  }));
  return { ...proc, host: `localhost:${proc.port}` };
}

/** Debian's docker-registry with filesystem storage under `dir` (or `storageDir`) and deletes enabled. */
export async function startTagSchemaRegistry(options: TagSchemaRegistryOptions): Promise<RunningRegistry> {
  const registry = toolPath('docker-registry');
  const { tokenAuth } = options;
  const proc = await startOnFreePort((port) => {
    const storage = options.storageDir ?? join(options.dir, `distribution-${port}`);
    mkdirSync(storage, { recursive: true });
    const config = join(options.dir, `distribution-${port}.yml`);
    writeFileSync(
      config,
      [
        'version: 0.1',
        'log: {level: warn}',
        `storage: {filesystem: {rootdirectory: ${storage}}, delete: {enabled: true}}`,
        `http: {addr: 127.0.0.1:${port}, secret: kna-harness}`,
        ...(tokenAuth
          ? [
              `auth: {token: {realm: ${JSON.stringify(tokenAuth.realm)}, service: ${JSON.stringify(tokenAuth.service)}, ` +
                `issuer: ${JSON.stringify(tokenAuth.issuer)}, rootcertbundle: ${JSON.stringify(tokenAuth.rootCertBundle)}}}`,
            ]
          : []),
        '',
      ].join('\n'),
    );
    return {
      name: 'docker-registry',
      command: registry,
      args: ['serve', config],
      logFile: join(options.dir, 'docker-registry.log'),
      ready: () => answers(`http://127.0.0.1:${port}/v2/`),
      ...(options.outliveParent !== undefined && { outliveParent: options.outliveParent }),
    };
  });
  return { ...proc, host: `localhost:${proc.port}` };
}
