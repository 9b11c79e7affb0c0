// A fake of the AWS Signer HTTP API on loopback: the one piece of the test setup that is not the real
// thing. notation and AWS's own Signer plugin (v1.0.350, built by `pnpm tools`) talk to it as to AWS,
// through the AWS SDK for Go v2 Signer client. It fakes exactly the two operations the plugin calls:
//
//   POST /signing-jobs/with-payload   SignPayload (notation sign): JSON {payload, payloadFormat,
//                                     profileName, profileOwner}; answers {jobId, jobOwner, metadata,
//                                     signature} where signature is a JWS envelope in AWS Signer's layout,
//                                     signed with the harness's certificate chain
//   GET  /revocations                 GetRevocationStatus (notation verify): query certificateHashes
//                                     (repeated), jobArn, platformId, profileVersionArn,
//                                     signatureTimestamp; answers {revokedEntities}
//
// Errors are answered as AWS's REST-JSON protocol does (status, x-amzn-errortype, {"message"}), which
// the SDK turns into the API error codes the plugin maps. Requests must carry a SigV4 Authorization
// header for service "signer" (the signature itself is not checked: the credentials are dummies).
//
// The SDK puts the endpoint host prefix "verification." on GetRevocationStatus calls, even for the
// plugin's custom endpoint (aws-signer-endpoint-url), so a loopback address cannot be used as the
// endpoint directly. The harness gives the plugin a hostname under the reserved .test TLD as its
// endpoint and points HTTP_PROXY at this server, which therefore also accepts proxy-form requests
// ("GET http://verification.signer.kna.test/revocations?..."). Go never proxies localhost, so
// registry traffic from notation is unaffected. Every request's host and User-Agent are recorded so
// tests can check that the prefix really was applied and which plugin made the call.
//
// Harness control endpoints (not AWS): POST /_harness/revoke, POST /_harness/fault, GET /_harness/jobs.
import { createHash, randomUUID, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const SIGNER_HOST = 'signer.kna.test';
export const DEFAULT_REGION = 'us-east-1';
export const DEFAULT_ACCOUNT = '123456789012';
const PAYLOAD_TYPE = 'application/vnd.cncf.notary.payload.v1+json';
const PLUGIN_NAME = 'com.amazonaws.signer.notation.plugin';
/** Signatures stay valid for this long (AWS profiles default to 135 months; any long span will do). */
const SIGNATURE_VALIDITY_MS = 365 * 24 * 3_600_000;

interface SignerKeys {
  /** The signing key of the leaf certificate. */
  readonly leafKey: KeyObject;
  /** DER certificates from leaf to root, as they go into the envelope's x5c header. */
  readonly chain: readonly Buffer[];
}

export interface SigningJob {
  readonly jobArn: string;
  readonly profileVersionArn: string;
  /** Digest of the artifact whose payload was signed (from the notation payload). */
  readonly targetDigest: string;
  readonly signedAt: string;
}

interface RecordedRequest {
  readonly operation: 'SignPayload' | 'GetRevocationStatus';
  /** Host the client addressed (from the proxy-form URL or the Host header). */
  readonly host: string;
  /** The caller's User-Agent (the plugin adds "aws-signer-caller/NotationPlugin-<version>"). */
  readonly userAgent: string;
}

/** revocation-hang: GetRevocationStatus never answers (until the fault is cleared or the signer closes). */
type SignerFault = 'revocation-unavailable' | 'revocation-hang' | 'signing-unavailable';
const FAULTS: readonly string[] = ['revocation-unavailable', 'revocation-hang', 'signing-unavailable'];

export interface FakeSigner {
  readonly url: string;
  readonly port: number;
  readonly jobs: readonly SigningJob[];
  readonly requests: readonly RecordedRequest[];
  revokeProfile(profileArn: string): void;
  revokeJob(jobArn: string): void;
  setFault(fault: SignerFault | null): void;
  close(): Promise<void>;
}

class ApiError extends Error {
  readonly status: number;
  readonly type: string;
  constructor(status: number, type: string, message: string) {
    super(message);
    this.status = status;
    this.type = type;
  }
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** Seconds-precision RFC 3339, as notation expects for io.cncf.notary.authenticSigningTime. */
function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The region of the request's SigV4 signature; a request not signed for AWS Signer is refused as AWS does. */
function regionOf(req: IncomingMessage): string {
  // SigV4: "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/signer/aws4_request, ...".
  const match = /^AWS4-HMAC-SHA256 Credential=[^/]+\/\d{8}\/([^/]+)\/signer\/aws4_request, /.exec(req.headers.authorization ?? '');
  if (!match?.[1]) throw new ApiError(403, 'MissingAuthenticationTokenException', 'Missing Authentication Token (no SigV4 signature for service signer)');
  return match[1];
}

/** GetRevocationStatus's platform for notation's OCI signatures. */
const PLATFORM_NOTATION = 'Notation-OCI-SHA384-ECDSA';
/** A certificate hash: hex SHA-384 of its TBSCertificate, followed by the same of its issuer. */
const CERT_HASH = /^[0-9a-f]{192}$/;

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

interface SignPayloadInput {
  payload?: unknown;
  payloadFormat?: unknown;
  profileName?: unknown;
  profileOwner?: unknown;
}

/** The envelope AWS Signer returns: a flattened JWS JSON serialisation (signature-envelope-jws.md). */
function buildEnvelope(keys: SignerKeys, payload: Buffer, profileVersionArn: string, jobArn: string): Buffer {
  const now = new Date();
  const protectedHeader = {
    alg: 'ES384',
    cty: PAYLOAD_TYPE,
    'io.cncf.notary.signingScheme': 'notary.x509.signingAuthority',
    'io.cncf.notary.authenticSigningTime': rfc3339(now),
    'io.cncf.notary.expiry': rfc3339(new Date(now.getTime() + SIGNATURE_VALIDITY_MS)),
    'io.cncf.notary.verificationPlugin': PLUGIN_NAME,
    'io.cncf.notary.verificationPluginMinVersion': '1.0.298',
    'com.amazonaws.signer.signingProfileVersion': profileVersionArn,
    'com.amazonaws.signer.signingJob': jobArn,
    crit: [
      'io.cncf.notary.signingScheme',
      'io.cncf.notary.authenticSigningTime',
      'io.cncf.notary.expiry',
      'io.cncf.notary.verificationPlugin',
      'io.cncf.notary.verificationPluginMinVersion',
      'com.amazonaws.signer.signingProfileVersion',
      'com.amazonaws.signer.signingJob',
    ],
  };
  const encodedProtected = base64url(JSON.stringify(protectedHeader));
  const encodedPayload = base64url(payload);
  // ES384 in JWS is the IEEE P1363 r||s form, not DER.
  const signature = cryptoSign('sha384', Buffer.from(`${encodedProtected}.${encodedPayload}`), {
    key: keys.leafKey,
    dsaEncoding: 'ieee-p1363',
  });
  return Buffer.from(
    JSON.stringify({
      payload: encodedPayload,
      protected: encodedProtected,
      header: {
        x5c: keys.chain.map((der) => der.toString('base64')),
        'io.cncf.notary.signingAgent': 'kyverno-notation-aws harness fake AWS Signer',
      },
      signature: base64url(signature),
    }),
  );
}

/** The signing-profile ARN of a profile-version ARN (drops the trailing /<version>). */
export function profileArnOf(profileVersionArn: string): string {
  return profileVersionArn.slice(0, profileVersionArn.lastIndexOf('/'));
}

export interface FakeSignerOptions {
  readonly keys: SignerKeys;
  /** Listening port on 127.0.0.1; 0 picks a free one. */
  readonly port?: number;
}

export async function startFakeSigner(options: FakeSignerOptions): Promise<FakeSigner> {
  const jobs: SigningJob[] = [];
  const requests: RecordedRequest[] = [];
  const revokedProfiles = new Set<string>();
  const revokedJobs = new Set<string>();
  let fault: SignerFault | null = null;

  function signPayload(req: IncomingMessage, body: Buffer, host: string) {
    requests.push({ operation: 'SignPayload', host, userAgent: req.headers['user-agent'] ?? '' });
    const region = regionOf(req);
    if (fault === 'signing-unavailable') throw new ApiError(503, 'ServiceUnavailableException', 'harness fault: signing unavailable');
    let input: SignPayloadInput;
    try {
      input = JSON.parse(body.toString('utf8')) as SignPayloadInput;
    } catch {
      throw new ApiError(400, 'ValidationException', 'request body is not JSON');
    }
    if (input.payloadFormat !== PAYLOAD_TYPE) {
      throw new ApiError(400, 'ValidationException', `payloadFormat must be ${PAYLOAD_TYPE}`);
    }
    if (typeof input.profileName !== 'string' || !/^[A-Za-z0-9_]{2,64}$/.test(input.profileName)) {
      throw new ApiError(400, 'ValidationException', 'profileName is missing or invalid');
    }
    const owner = typeof input.profileOwner === 'string' && input.profileOwner !== '' ? input.profileOwner : DEFAULT_ACCOUNT;
    if (!/^\d{12}$/.test(owner)) throw new ApiError(400, 'ValidationException', 'profileOwner must be a 12-digit account id');
    if (typeof input.payload !== 'string') throw new ApiError(400, 'ValidationException', 'payload is missing');
    const payload = Buffer.from(input.payload, 'base64');
    let target: { targetArtifact?: { digest?: unknown } };
    try {
      target = JSON.parse(payload.toString('utf8')) as typeof target;
    } catch {
      throw new ApiError(400, 'ValidationException', 'payload is not a notation payload');
    }
    const targetDigest = target.targetArtifact?.digest;
    if (typeof targetDigest !== 'string') throw new ApiError(400, 'ValidationException', 'payload has no targetArtifact digest');

    // Profile versions are stable per profile name, like a real profile that is never re-created.
    const version = createHash('sha256').update(input.profileName).digest('base64url').replace(/[-_]/g, 'x').slice(0, 10);
    const profileVersionArn = `arn:aws:signer:${region}:${owner}:/signing-profiles/${input.profileName}/${version}`;
    const jobId = randomUUID();
    const jobArn = `arn:aws:signer:${region}:${owner}:/signing-jobs/${jobId}`;
    const envelope = buildEnvelope(options.keys, payload, profileVersionArn, jobArn);
    jobs.push({ jobArn, profileVersionArn, targetDigest, signedAt: new Date().toISOString() });
    return { jobId, jobOwner: owner, metadata: {}, signature: envelope.toString('base64') };
  }

  function getRevocationStatus(req: IncomingMessage, url: URL, host: string) {
    requests.push({ operation: 'GetRevocationStatus', host, userAgent: req.headers['user-agent'] ?? '' });
    regionOf(req);
    if (fault === 'revocation-unavailable') {
      throw new ApiError(503, 'ServiceUnavailableException', 'harness fault: revocation status unavailable');
    }
    const q = url.searchParams;
    for (const required of ['jobArn', 'platformId', 'profileVersionArn', 'signatureTimestamp', 'certificateHashes']) {
      if (!q.get(required)) throw new ApiError(400, 'ValidationException', `${required} is required`);
    }
    if (q.get('platformId') !== PLATFORM_NOTATION) throw new ApiError(400, 'ValidationException', `platformId must be ${PLATFORM_NOTATION}`);
    if (Number.isNaN(Date.parse(q.get('signatureTimestamp') ?? ''))) throw new ApiError(400, 'ValidationException', 'signatureTimestamp is not a date-time');
    if (!q.getAll('certificateHashes').every((h) => CERT_HASH.test(h))) {
      throw new ApiError(400, 'ValidationException', 'certificateHashes must be hex SHA-384 hashes of a certificate and its issuer');
    }
    const profileVersionArn = q.get('profileVersionArn') ?? '';
    const jobArn = q.get('jobArn') ?? '';
    const revokedEntities: string[] = [];
    if (revokedProfiles.has(profileArnOf(profileVersionArn).toLowerCase()) || revokedProfiles.has(profileVersionArn.toLowerCase())) {
      revokedEntities.push(profileVersionArn);
    }
    if (revokedJobs.has(jobArn.toLowerCase())) revokedEntities.push(jobArn);
    return { revokedEntities };
  }

  function control(path: string, body: Buffer): unknown {
    const input = body.length > 0 ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
    switch (path) {
      case '/_harness/revoke': {
        if (typeof input.profileArn === 'string') revokedProfiles.add(input.profileArn.toLowerCase());
        else if (typeof input.jobArn === 'string') revokedJobs.add(input.jobArn.toLowerCase());
        else throw new ApiError(400, 'ValidationException', 'give profileArn or jobArn');
        return { revokedProfiles: [...revokedProfiles], revokedJobs: [...revokedJobs] };
      }
      case '/_harness/fault': {
        const value = input.fault ?? null;
        if (value !== null && (typeof value !== 'string' || !FAULTS.includes(value))) {
          throw new ApiError(400, 'ValidationException', `unknown fault ${JSON.stringify(value)}`);
        }
        fault = value as SignerFault | null;
        return { fault };
      }
      case '/_harness/jobs':
        return { jobs, requests };
      default:
        return undefined;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = req.url ?? '/';
    // Proxy-form requests carry the absolute URL; direct ones only the path.
    const url = new URL(raw, `http://${req.headers.host ?? SIGNER_HOST}`);
    const host = url.host;
    const body = await readBody(req);
    let result: unknown;
    if (req.method === 'POST' && url.pathname === '/signing-jobs/with-payload') {
      result = signPayload(req, body, host);
    } else if (req.method === 'GET' && url.pathname === '/revocations') {
      if (fault === 'revocation-hang') {
        requests.push({ operation: 'GetRevocationStatus', host, userAgent: req.headers['user-agent'] ?? '' });
        return; // never answered; closeAllConnections() ends it
      }
      result = getRevocationStatus(req, url, host);
    } else if (url.pathname.startsWith('/_harness/')) {
      result = control(url.pathname, body);
    }
    if (result === undefined) throw new ApiError(404, 'NotFoundException', `no route for ${req.method ?? ''} ${url.pathname}`);
    const json = JSON.stringify(result);
    res.writeHead(200, { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID() });
    res.end(json);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const apiErr = err instanceof ApiError ? err : new ApiError(500, 'InternalServerException', String(err));
      res.writeHead(apiErr.status, {
        'content-type': 'application/json',
        'x-amzn-errortype': apiErr.type,
        'x-amzn-requestid': randomUUID(),
      });
      res.end(JSON.stringify({ message: apiErr.message }));
    });
  });
  // Longer than the AWS SDK's own idle limit (Go's transport: 90 s), as AWS's endpoints keep connections: a server
  // that closes an idle connection first races the plugin's next request on it ("use of closed network
  // connection" while reading SignPayload's answer, seen on a loaded machine with a 1 s limit).
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    jobs,
    requests,
    revokeProfile: (arn) => revokedProfiles.add(arn.toLowerCase()),
    revokeJob: (arn) => revokedJobs.add(arn.toLowerCase()),
    setFault: (f) => {
      fault = f;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
