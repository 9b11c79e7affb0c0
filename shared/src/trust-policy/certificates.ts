// TrustStore contents: the PEM certificates of caBundle, checked the way notation checks a trust store directory
// when it verifies (notation-go verifier/truststore: every certificate a CA or self-signed, "tsa" stores only
// root CAs; notation's specification), plus this product's rule that an expired certificate makes the store
// invalid (docs/architecture.md "Custom resources") — caught at apply time instead of as a verification failure under load.
import { X509Certificate } from 'node:crypto';
import { childPath, Reason, type Problem } from '../crd/problem.js';
import type { TrustStoreType } from '../crd/trust-store.js';
import { TRUST_STORE_NAME_PATTERN } from './document.js';
import { errorMessage } from '../errors.js';

export interface TrustStoreInspection {
  /** The distinct certificates, re-encoded as normalised PEM (64-column base64, "\n" line ends), sorted. */
  certificates: string[];
  certificateCount: number;
  /** When the first certificate expires (RFC 3339, UTC); absent when there is no certificate. */
  earliestExpiry?: string;
  /** Empty when notation could use the store. */
  problems: Problem[];
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n?([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
const BASE64_BODY = /^[A-Za-z0-9+/]*={0,2}$/;

function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.000Z$/, 'Z');
}

/** Normalised PEM text of a DER certificate. */
export function certificatePem(der: Uint8Array): string {
  const base64 = Buffer.from(der).toString('base64');
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

function subjectOf(cert: X509Certificate): string {
  return cert.subject.split('\n').join(', ');
}

function isSelfSigned(cert: X509Certificate): boolean {
  try {
    return cert.verify(cert.publicKey);
  } catch {
    return false;
  }
}

/**
 * Parses and checks a TrustStore spec (`type`, `caBundle`, `trustStoreName`) at time `now`. Problems carry paths
 * under `options.path` (default "spec").
 */
export function inspectTrustStore(
  spec: { trustStoreName: string; type: TrustStoreType; caBundle: string },
  options: { now: Date; path?: string },
): TrustStoreInspection {
  const base = options.path ?? 'spec';
  const bundlePath = childPath(base, 'caBundle');
  const problems: Problem[] = [];
  const add = (message: string, reason: Problem['reason'], path = bundlePath) => problems.push({ path, message, reason });

  if (!TRUST_STORE_NAME_PATTERN.test(spec.trustStoreName)) {
    add(
      `invalid trust store name ${JSON.stringify(spec.trustStoreName)}: notation store names are letters, digits, "_", "." and "-"`,
      Reason.InvalidTrustStoreName,
      childPath(base, 'trustStoreName'),
    );
  }

  const byFingerprint = new Map<string, { pem: string; notAfter: Date }>();
  let blocks = 0;
  for (const match of spec.caBundle.matchAll(PEM_BLOCK)) {
    blocks += 1;
    const [, label = '', body = '', endLabel = ''] = match;
    const which = `PEM block ${blocks}`;
    if (label !== endLabel) {
      add(`${which} starts with BEGIN ${label} but ends with END ${endLabel}`, Reason.InvalidCertificate);
      continue;
    }
    if (label !== 'CERTIFICATE') {
      const hint = label.includes('PRIVATE KEY') ? '; remove it now: a private key must never be stored in a TrustStore' : '';
      add(`${which} is a ${label}; caBundle may contain only CERTIFICATE blocks${hint}`, Reason.InvalidCertificate);
      continue;
    }
    const base64 = body.replace(/\s+/g, '');
    if (!BASE64_BODY.test(base64) || base64.length % 4 !== 0) {
      add(`${which} is not valid base64; paste the certificate again, including its BEGIN and END lines`, Reason.InvalidCertificate);
      continue;
    }
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(Buffer.from(base64, 'base64'));
    } catch (err) {
      add(`${which} is not a valid X.509 certificate (${errorMessage(err)})`, Reason.InvalidCertificate);
      continue;
    }
    const subject = `certificate ${blocks} (subject "${subjectOf(cert)}")`;
    const selfSigned = isSelfSigned(cert);
    if (spec.type === 'tsa') {
      // notation: a tsa trust store holds root certificates only (self-signed CA certificates).
      if (!(cert.ca && selfSigned && cert.checkIssued(cert))) {
        add(`${subject} is not a root CA certificate; a tsa trust store accepts only root certificates of timestamping authorities`, Reason.NotCACertificate);
      }
    } else if (!cert.ca && !selfSigned) {
      add(
        `${subject} is neither a CA nor self-signed; notation trusts only CA or self-signed certificates, so put the root (or intermediate) CA here, not the signing certificate`,
        Reason.NotCACertificate,
      );
    }
    const notAfter = new Date(cert.validTo);
    if (Number.isNaN(notAfter.getTime())) {
      add(`${subject} has an unreadable expiry date ${JSON.stringify(cert.validTo)}`, Reason.InvalidCertificate);
      continue;
    }
    if (notAfter.getTime() <= options.now.getTime()) {
      add(`${subject} expired on ${rfc3339(notAfter)}; remove it from caBundle or replace it with its renewed certificate`, Reason.CertificateExpired);
    }
    byFingerprint.set(cert.fingerprint256, { pem: certificatePem(cert.raw), notAfter });
  }
  if (blocks === 0) {
    add('no PEM certificate found; caBundle must contain "-----BEGIN CERTIFICATE-----" … "-----END CERTIFICATE-----" blocks', Reason.InvalidCertificate);
  } else if ((spec.caBundle.match(/-----BEGIN /g) ?? []).length !== blocks) {
    add('a PEM block has no matching END line; paste the certificate again, including its BEGIN and END lines', Reason.InvalidCertificate);
  }

  const entries = [...byFingerprint.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, entry]) => entry);
  const inspection: TrustStoreInspection = {
    certificates: entries.map((e) => e.pem),
    certificateCount: entries.length,
    problems,
  };
  const earliest = entries.reduce<Date | undefined>((min, e) => (min === undefined || e.notAfter < min ? e.notAfter : min), undefined);
  if (earliest !== undefined) inspection.earliestExpiry = rfc3339(earliest);
  return inspection;
}
