// The certificate rotator: reads the CA Secret, the serving-pair Secret and the CA ConfigMap, asks
// plan.ts what to do, generates what is missing and writes only what changed, each write conditional
// on the resourceVersion it read (a 409 re-reads and re-plans). Level-based: call reconcile() again at
// the returned nextCheckAt (and whenever one of the three objects changes); only the leader may call it.
//
// Secret layout, compatible with the original service's certificate manager (so its Secrets are
// adopted as they are, and a cluster going back to it keeps working):
//   <svc>.<ns>.svc.tls-ca    kubernetes.io/tls  tls.crt = every unexpired CA, oldest first;
//                                               tls.key = the newest CA's key;
//                                               tls.previous.key = while a new CA propagates, the key of
//                                               the older CA that still signs the serving certificate.
//   <svc>.<ns>.svc.tls-pair  kubernetes.io/tls  tls.crt = the serving certificate alone; tls.key.
//   ConfigMap <name>-ca      ca.crt = every unexpired CA (what clients trust); annotation
//                            notation.nirmata.io/ca-published-at = when each CA was first published.
import { ApiException, type CoreV1Api, type V1ConfigMap, type V1Secret } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { KubeRequestTimeoutError } from '@kna/shared';
import { CERTIFICATES_ERR_API, CERTIFICATES_ERR_CONFLICT } from './errors.js';
import {
  createCa,
  issuedAt,
  issuedBy,
  issueServingCertificate,
  keyMatches,
  parseCertificates,
  pkcs1Pem,
  tryParsePrivateKey,
  type KeyedCertificate,
  type ParsedCertificate,
} from './pki.js';
import { NEW_CA, planCertificates, type CertificatePlan, type ObservedCa, type ObservedCertificates, type SignerRef } from './plan.js';
import type { KeyObject } from 'node:crypto';
import { isIP } from 'node:net';

export interface CertificateOptions {
  readonly namespace: string;
  readonly serviceName: string;
  /** `<name>-ca`. */
  readonly caConfigMapName: string;
  readonly caValidityMs: number;
  readonly certValidityMs: number;
  /** Extra SANs (--extraServiceHosts): IP addresses as IP SANs, anything else as DNS names. */
  readonly extraHosts?: readonly string[];
}

export interface CertificateState {
  /** Every valid CA, PEM concatenated (what goes into `<name>-ca` and injected caBundles). */
  readonly caBundlePem: string;
  /** For the not-after metric: the CA Secret (its newest CA) and the serving pair. */
  readonly secrets: { name: string; notAfter: Date }[];
  /** When reconcile should run again. */
  readonly nextCheckAt: Date;
}

const TLS_SECRET_TYPE = 'kubernetes.io/tls';
export const PUBLISHED_AT_ANNOTATION = 'notation.nirmata.io/ca-published-at';
const CA_BUNDLE_KEY = 'ca.crt';
const PREVIOUS_KEY = 'tls.previous.key';
// The original's certificate manager read this when tls.crt was empty.
const LEGACY_CA_KEY = 'rootCA.crt';
const MAX_ATTEMPTS = 5;

/** The Secret names of the original service for a Service in a namespace. */
export function certificateSecretNames(serviceName: string, namespace: string): { ca: string; pair: string } {
  const host = `${serviceName}.${namespace}.svc`;
  return { ca: `${host}.tls-ca`, pair: `${host}.tls-pair` };
}

/** Every name the verifier is reached by inside the cluster. */
function serviceDnsNames(serviceName: string, namespace: string): string[] {
  return [serviceName, `${serviceName}.${namespace}`, `${serviceName}.${namespace}.svc`, `${serviceName}.${namespace}.svc.cluster.local`];
}

// A serving certificate written by the original names the first three (plus a fourth, odd one) but not
// .svc.cluster.local: it is adopted, and gets that name at its next renewal.
function requiredForAdoption(serviceName: string, namespace: string): string[] {
  return serviceDnsNames(serviceName, namespace).slice(0, 3);
}

function decode(data: Record<string, string> | undefined, key: string): string | undefined {
  const value = data?.[key];
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
}

function encode(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

interface Observation {
  readonly caSecret: V1Secret | undefined;
  readonly pairSecret: V1Secret | undefined;
  readonly configMap: V1ConfigMap | undefined;
  /** Valid-or-not CA certificates with their keys when present. */
  readonly cas: readonly { cert: ParsedCertificate; key: KeyObject | undefined }[];
  readonly leaf: ParsedCertificate | undefined;
  readonly leafKey: KeyObject | undefined;
  readonly planInput: ObservedCertificates;
}

class Conflict extends Error {}

function isStatus(err: unknown, code: number): boolean {
  return err instanceof ApiException && err.code === code;
}

function describeApiError(err: unknown): string {
  if (err instanceof ApiException) {
    try {
      const status = JSON.parse(String(err.body)) as { message?: string };
      return `${err.code}${status.message !== undefined ? ` ${status.message}` : ''}`;
    } catch {
      return String(err.code);
    }
  }
  return err instanceof Error ? err.message : String(err);
}

export class CertificateRotator {
  readonly #core: CoreV1Api;
  readonly #options: CertificateOptions;
  readonly #log: Logger;
  readonly #names: { ca: string; pair: string };

  constructor(core: CoreV1Api, options: CertificateOptions, log: Logger) {
    this.#core = core;
    this.#options = options;
    this.#log = log;
    this.#names = certificateSecretNames(options.serviceName, options.namespace);
  }

  /** Brings the Secrets and the ConfigMap to the state the schedule asks for at `now`. */
  async reconcile(now: Date = new Date()): Promise<CertificateState> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#reconcileOnce(now);
      } catch (err) {
        if (!(err instanceof Conflict)) throw err;
        if (attempt >= MAX_ATTEMPTS) throw new CERTIFICATES_ERR_CONFLICT(attempt);
        this.#log.debug({ attempt, object: err.message }, 'certificate write conflicted; re-reading');
      }
    }
  }

  async #call<T>(operation: string, object: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isStatus(err, 409)) throw new Conflict(object);
      if (err instanceof KubeRequestTimeoutError) throw err;
      throw new CERTIFICATES_ERR_API(operation, object, describeApiError(err), { cause: err });
    }
  }

  async #readOptional<T>(object: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      // Explained already (verb, resource, bound), and no matter of permissions.
      if (err instanceof KubeRequestTimeoutError) throw err;
      throw new CERTIFICATES_ERR_API('reading', object, describeApiError(err), { cause: err });
    }
  }

  async #observe(): Promise<Observation> {
    const { namespace, caConfigMapName } = this.#options;
    const [caSecret, pairSecret, configMap] = await Promise.all([
      this.#readOptional(`Secret ${namespace}/${this.#names.ca}`, () => this.#core.readNamespacedSecret({ namespace, name: this.#names.ca })),
      this.#readOptional(`Secret ${namespace}/${this.#names.pair}`, () => this.#core.readNamespacedSecret({ namespace, name: this.#names.pair })),
      this.#readOptional(`ConfigMap ${namespace}/${caConfigMapName}`, () => this.#core.readNamespacedConfigMap({ namespace, name: caConfigMapName })),
    ]);

    const caPem = decode(caSecret?.data, 'tls.crt')?.trim() || decode(caSecret?.data, LEGACY_CA_KEY) || '';
    const keys = [tryParsePrivateKey(decode(caSecret?.data, 'tls.key')), tryParsePrivateKey(decode(caSecret?.data, PREVIOUS_KEY))].filter(
      (k): k is KeyObject => k !== undefined,
    );
    const parsedCas = parseCertificates(caPem);
    if (parsedCas.unparsable > 0)
      this.#log.warn({ secret: this.#names.ca, unparsable: parsedCas.unparsable }, 'CA Secret holds certificates that do not parse; they are dropped');
    const cas = parsedCas.certificates.filter((c) => c.isCa).map((cert) => ({ cert, key: keys.find((k) => keyMatches(cert, k)) }));

    const leaf = parseCertificates(decode(pairSecret?.data, 'tls.crt') ?? '').certificates[0];
    const leafKey = tryParsePrivateKey(decode(pairSecret?.data, 'tls.key'));
    const required = requiredForAdoption(this.#options.serviceName, this.#options.namespace);

    const bundleIds = new Set(parseCertificates(configMap?.data?.[CA_BUNDLE_KEY] ?? '').certificates.map((c) => c.id));
    const publishedAt = new Map<string, Date>();
    try {
      const recorded = JSON.parse(configMap?.metadata?.annotations?.[PUBLISHED_AT_ANNOTATION] ?? '{}') as Record<string, unknown>;
      for (const [id, at] of Object.entries(recorded)) {
        const date = typeof at === 'string' ? new Date(at) : undefined;
        // Only for CAs the bundle really holds: an entry without its certificate proves nothing.
        if (date && !Number.isNaN(date.getTime()) && bundleIds.has(id)) publishedAt.set(id, date);
      }
    } catch {
      this.#log.warn({ configMap: caConfigMapName }, `annotation ${PUBLISHED_AT_ANNOTATION} is not JSON; CA publication times restart now`);
    }

    const observedCas: ObservedCa[] = cas.map(({ cert, key }) => ({
      id: cert.id,
      issuedAt: issuedAt(cert.notBefore, cert.notAfter),
      notAfter: cert.notAfter,
      hasKey: key !== undefined,
    }));
    const planInput: ObservedCertificates = {
      cas: observedCas,
      leaf: leaf && {
        id: leaf.id,
        issuedAt: issuedAt(leaf.notBefore, leaf.notAfter),
        notAfter: leaf.notAfter,
        issuerId: cas.find((ca) => issuedBy(leaf, ca.cert))?.cert.id,
        usable:
          leafKey !== undefined &&
          keyMatches(leaf, leafKey) &&
          required.every((name) => leaf.dnsNames.includes(name)) &&
          (this.#options.extraHosts ?? []).every((host) => (isIP(host) ? leaf.ips.includes(host) : leaf.dnsNames.includes(host))),
      },
      publishedAt,
    };
    return { caSecret, pairSecret, configMap, cas, leaf, leafKey, planInput };
  }

  async #reconcileOnce(now: Date): Promise<CertificateState> {
    const observed = await this.#observe();
    const plan = planCertificates(observed.planInput, now, this.#options);
    const { namespace, serviceName } = this.#options;
    const byId = new Map(observed.cas.map((ca) => [ca.cert.id, ca]));

    let created: KeyedCertificate | undefined;
    if (plan.createCa) {
      created = await createCa({ commonName: `${serviceName}.${namespace}.svc CA ${now.toISOString()}`, now, validityMs: this.#options.caValidityMs });
      this.#log.info({ secret: this.#names.ca, reason: plan.createCaReason, notAfter: created.cert.notAfter.toISOString() }, 'created a new CA');
    }
    const resolve = (ref: SignerRef | undefined): KeyedCertificate | undefined => {
      if (!ref) return undefined;
      if (ref.kind === 'new') return created;
      const ca = byId.get(ref.id);
      return ca?.key ? { cert: ca.cert, key: ca.key } : undefined;
    };
    const caCerts = [
      ...plan.keepCaIds.map((id) => byId.get(id)?.cert).filter((c): c is ParsedCertificate => c !== undefined),
      ...(created ? [created.cert] : []),
    ];

    // 1. The CA Secret first: a new CA's key is stored before anything depends on it.
    await this.#writeCaSecret(
      observed,
      caCerts,
      resolve(plan.newestKey),
      plan.previousKeyId === undefined ? undefined : resolve({ kind: 'existing', id: plan.previousKeyId }),
    );
    // 2. Then the bundle clients trust, before a leaf that may need it.
    const caBundlePem = await this.#writeConfigMap(observed, plan, caCerts, created);
    // 3. Then the serving certificate.
    let leaf = observed.leaf;
    if (plan.leaf.action === 'keep' && observed.pairSecret && observed.pairSecret.type !== TLS_SECRET_TYPE) {
      // An adopted pair in a Secret of another type: same content, right type.
      const data = observed.pairSecret.data ?? {};
      await this.#writeSecret(observed.pairSecret, this.#names.pair, { 'tls.crt': decode(data, 'tls.crt'), 'tls.key': decode(data, 'tls.key') }, []);
    }
    if (plan.leaf.action === 'issue') {
      const signer = resolve(plan.leaf.signer);
      if (!signer) throw new Error('planned signer has no key'); // planCertificates only picks CAs with keys
      const extra = this.#options.extraHosts ?? [];
      const issued = await issueServingCertificate({
        ca: signer,
        dnsNames: [...serviceDnsNames(serviceName, namespace), ...extra.filter((h) => !isIP(h))],
        ips: extra.filter((h) => isIP(h)),
        now,
        validityMs: this.#options.certValidityMs,
      });
      await this.#writeSecret(observed.pairSecret, this.#names.pair, { 'tls.crt': issued.cert.pem, 'tls.key': pkcs1Pem(issued.key) }, []);
      leaf = issued.cert;
      const fields = { secret: this.#names.pair, reason: plan.leaf.reason, issuer: signer.cert.id, notAfter: issued.cert.notAfter.toISOString() };
      if (plan.leaf.early) this.#log.warn(fields, 'issued the serving certificate with a CA clients may not have yet (no older CA could sign)');
      else this.#log.info(fields, 'issued the serving certificate');
    }

    const newestCaNotAfter = caCerts.reduce<Date | undefined>((max, c) => (max && max >= c.notAfter ? max : c.notAfter), undefined);
    return {
      caBundlePem,
      secrets: [
        ...(newestCaNotAfter ? [{ name: this.#names.ca, notAfter: newestCaNotAfter }] : []),
        ...(leaf ? [{ name: this.#names.pair, notAfter: leaf.notAfter }] : []),
      ],
      nextCheckAt: plan.nextCheckAt,
    };
  }

  async #writeCaSecret(
    observed: Observation,
    caCerts: readonly ParsedCertificate[],
    newest: KeyedCertificate | undefined,
    previous: KeyedCertificate | undefined,
  ): Promise<void> {
    const existing = observed.caSecret;
    const existingCertPem = decode(existing?.data, 'tls.crt') ?? '';
    const existingIds = parseCertificates(existingCertPem).certificates.map((c) => c.id);
    // Unchanged certificates and keys keep their exact bytes (the original's PEM quirks included), so
    // adopting its Secret writes nothing.
    const certPem = existingIds.join() === caCerts.map((c) => c.id).join() ? existingCertPem : caCerts.map((c) => c.pem).join('');
    const keyPem = (key: KeyObject, field: string): string => {
      const text = decode(existing?.data, field);
      return text !== undefined && tryParsePrivateKey(text)?.equals(key) === true ? text : pkcs1Pem(key);
    };
    if (!newest) throw new Error('no CA key to store'); // planCertificates always leaves a newest CA with a key
    const data: Record<string, string | undefined> = {
      'tls.crt': certPem,
      'tls.key': keyPem(newest.key, 'tls.key'),
      [PREVIOUS_KEY]: previous && keyPem(previous.key, PREVIOUS_KEY),
    };
    await this.#writeSecret(existing, this.#names.ca, data, [LEGACY_CA_KEY]);
  }

  /** Writes `data` (undefined values removed) over the Secret's, if anything differs. */
  async #writeSecret(existing: V1Secret | undefined, name: string, data: Record<string, string | undefined>, keep: readonly string[]): Promise<void> {
    const { namespace } = this.#options;
    const object = `Secret ${namespace}/${name}`;
    const next: Record<string, string> = {};
    for (const key of keep) {
      const value = existing?.data?.[key];
      if (value !== undefined) next[key] = value;
    }
    for (const [key, value] of Object.entries(data)) if (value !== undefined) next[key] = encode(value);
    const current = existing?.data ?? {};
    const same =
      existing?.type === TLS_SECRET_TYPE &&
      Object.keys(next).length === Object.keys(current).length &&
      Object.entries(next).every(([k, v]) => current[k] === v);
    if (same) return;
    const metadata = { name, namespace, labels: existing?.metadata?.labels ?? {}, annotations: existing?.metadata?.annotations ?? {} };
    const body: V1Secret = { metadata, type: TLS_SECRET_TYPE, data: next };
    if (!existing) {
      await this.#call('creating', object, () => this.#core.createNamespacedSecret({ namespace, body }));
    } else if (existing.type !== TLS_SECRET_TYPE) {
      // The type of a Secret cannot change: delete the one read (and only that one) and create it anew.
      this.#log.info({ secret: name, type: existing.type }, `the Secret is not of type ${TLS_SECRET_TYPE}; re-creating it`);
      await this.#call('deleting', object, () =>
        this.#core.deleteNamespacedSecret({
          namespace,
          name,
          body: { preconditions: { resourceVersion: existing.metadata?.resourceVersion ?? '', uid: existing.metadata?.uid ?? '' } },
        }),
      );
      await this.#call('creating', object, () => this.#core.createNamespacedSecret({ namespace, body }));
    } else {
      body.metadata = { ...metadata, resourceVersion: existing.metadata?.resourceVersion ?? '' };
      await this.#call('updating', object, () => this.#core.replaceNamespacedSecret({ namespace, name, body }));
    }
  }

  async #writeConfigMap(
    observed: Observation,
    plan: CertificatePlan,
    caCerts: readonly ParsedCertificate[],
    created: KeyedCertificate | undefined,
  ): Promise<string> {
    const { namespace, caConfigMapName: name } = this.#options;
    const object = `ConfigMap ${namespace}/${name}`;
    const existing = observed.configMap;
    const publishedAt: Record<string, string> = {};
    for (const cert of caCerts) {
      const at = plan.publishedAt.get(cert === created?.cert ? NEW_CA : cert.id);
      if (at) publishedAt[cert.id] = at.toISOString();
    }
    const annotation = JSON.stringify(publishedAt);
    const existingBundle = existing?.data?.[CA_BUNDLE_KEY];
    const sameBundle =
      existingBundle !== undefined &&
      parseCertificates(existingBundle)
        .certificates.map((c) => c.id)
        .join() === caCerts.map((c) => c.id).join();
    const caBundlePem = sameBundle ? existingBundle : caCerts.map((c) => c.pem).join('');
    if (existing && sameBundle && existing.metadata?.annotations?.[PUBLISHED_AT_ANNOTATION] === annotation) return caBundlePem;
    const body: V1ConfigMap = {
      metadata: {
        name,
        namespace,
        labels: existing?.metadata?.labels ?? {},
        annotations: { ...existing?.metadata?.annotations, [PUBLISHED_AT_ANNOTATION]: annotation },
        ...(existing && { resourceVersion: existing.metadata?.resourceVersion ?? '' }),
      },
      data: { ...existing?.data, [CA_BUNDLE_KEY]: caBundlePem },
    };
    if (existing) await this.#call('updating', object, () => this.#core.replaceNamespacedConfigMap({ namespace, name, body }));
    else await this.#call('creating', object, () => this.#core.createNamespacedConfigMap({ namespace, body }));
    return caBundlePem;
  }
}
