// Test certificates (ECDSA P-256), generated once with `openssl ca` so that validity dates could be chosen
// (including one that expired in 2001). Only public certificates; the keys were discarded.
//
//   ROOT_CA          self-signed CA, C=US ST=WA O=Test Signer, 2024-01-01 .. 2124-01-01
//   INTERMEDIATE_CA  CA issued by ROOT_CA, 2024-01-01 .. 2100-01-01 (a CA, not self-signed)
//   LEAF             CA:FALSE, issued by INTERMEDIATE_CA, 2024-01-01 .. 2099-01-01 (neither CA nor self-signed)
//   SELF_SIGNED_LEAF CA:FALSE, self-signed, 2024-01-01 .. 2100-01-01
//   EXPIRED_CA       self-signed CA, 2000-01-01 .. 2001-01-01
//   OTHER_CA         self-signed CA, C=DE, 2024-01-01 .. 2050-01-01

export const ROOT_CA = `-----BEGIN CERTIFICATE-----
MIIB0DCCAXagAwIBAgICEAAwCgYIKoZIzj0EAwIwTjEcMBoGA1UEAwwTVGVzdCBT
aWduZXIgUm9vdCBDQTELMAkGA1UEBhMCVVMxCzAJBgNVBAgMAldBMRQwEgYDVQQK
DAtUZXN0IFNpZ25lcjAgFw0yNDAxMDEwMDAwMDBaGA8yMTI0MDEwMTAwMDAwMFow
TjEcMBoGA1UEAwwTVGVzdCBTaWduZXIgUm9vdCBDQTELMAkGA1UEBhMCVVMxCzAJ
BgNVBAgMAldBMRQwEgYDVQQKDAtUZXN0IFNpZ25lcjBZMBMGByqGSM49AgEGCCqG
SM49AwEHA0IABP6hKgd4w+x3ksMgcOBZXpYO1KJy3lav3THWac2kbyb49FddF8vF
QUkHa65CGInIYglX2vJWBrdPd4vL7PGyi/+jQjBAMA8GA1UdEwEB/wQFMAMBAf8w
DgYDVR0PAQH/BAQDAgEGMB0GA1UdDgQWBBTT+6g5Ek7JDCcmxPK4qiT34cvfnzAK
BggqhkjOPQQDAgNIADBFAiBTHFo6ns3bgb/GTIg+ghwK2un2ASsI/ZnTk/b0Hwt4
HwIhALToTzzClZhOy8pVXKvniV8Vr2AqzvK6CV0YUPqEMc0i
-----END CERTIFICATE-----
`;

export const INTERMEDIATE_CA = `-----BEGIN CERTIFICATE-----
MIIB+jCCAZ+gAwIBAgICEAEwCgYIKoZIzj0EAwIwTjEcMBoGA1UEAwwTVGVzdCBT
aWduZXIgUm9vdCBDQTELMAkGA1UEBhMCVVMxCzAJBgNVBAgMAldBMRQwEgYDVQQK
DAtUZXN0IFNpZ25lcjAgFw0yNDAxMDEwMDAwMDBaGA8yMTAwMDEwMTAwMDAwMFow
VjEkMCIGA1UEAwwbVGVzdCBTaWduZXIgSW50ZXJtZWRpYXRlIENBMQswCQYDVQQG
EwJVUzELMAkGA1UECAwCV0ExFDASBgNVBAoMC1Rlc3QgU2lnbmVyMFkwEwYHKoZI
zj0CAQYIKoZIzj0DAQcDQgAEy6cZwZLp+c0HIWHFDg5HLKFNZWGINytR3+OYq31n
z5D79Ndn9YF2IdAVDnLIk+LLCmXnoteyG8KybZMAFF+SlqNjMGEwDwYDVR0TAQH/
BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAQYwHQYDVR0OBBYEFK/bfuTtqRYSamxjZBUn
/kbu1lwZMB8GA1UdIwQYMBaAFNP7qDkSTskMJybE8riqJPfhy9+fMAoGCCqGSM49
BAMCA0kAMEYCIQCgfwA5k8YDHMcIvdDnK0ZLjEaxLsXGAIfEy9I+rGE1bwIhANtD
Mv9f6UfiEmRSCKrEGFsb/KARtT1tdWUWDaAy4zTl
-----END CERTIFICATE-----
`;

export const LEAF = `-----BEGIN CERTIFICATE-----
MIICBDCCAaqgAwIBAgICEAIwCgYIKoZIzj0EAwIwVjEkMCIGA1UEAwwbVGVzdCBT
aWduZXIgSW50ZXJtZWRpYXRlIENBMQswCQYDVQQGEwJVUzELMAkGA1UECAwCV0Ex
FDASBgNVBAoMC1Rlc3QgU2lnbmVyMCAXDTI0MDEwMTAwMDAwMFoYDzIwOTkwMTAx
MDAwMDAwWjBHMRUwEwYDVQQDDAxzaWduaW5nIGxlYWYxCzAJBgNVBAYTAlVTMQsw
CQYDVQQIDAJXQTEUMBIGA1UECgwLVGVzdCBTaWduZXIwWTATBgcqhkjOPQIBBggq
hkjOPQMBBwNCAAT2pOxmxPvgR100UmFBgLi/84R2SkQaKlaD3H4FoSawX9P3DaSS
2NVPZiMz/qb8bz7bwNbxNdGFWqklbJ5X77vKo3UwczAMBgNVHRMBAf8EAjAAMA4G
A1UdDwEB/wQEAwIHgDATBgNVHSUEDDAKBggrBgEFBQcDAzAdBgNVHQ4EFgQUea8S
Qm3/aLf/xNyazZO90Leh/wMwHwYDVR0jBBgwFoAUr9t+5O2pFhJqbGNkFSf+Ru7W
XBkwCgYIKoZIzj0EAwIDSAAwRQIgA4Au+NMDUqf1YS/al6urHpWLs9tK02Ynl1j2
FFgQQa8CIQDfv5uxAmC5Bi7Teg+np7cFfweUPf6WJISWbsACGqLsMA==
-----END CERTIFICATE-----
`;

export const SELF_SIGNED_LEAF = `-----BEGIN CERTIFICATE-----
MIIB7DCCAZKgAwIBAgICEAMwCgYIKoZIzj0EAwIwUzEhMB8GA1UEAwwYc2VsZi1z
aWduZWQgc2lnbmluZyBjZXJ0MQswCQYDVQQGEwJVUzELMAkGA1UECAwCV0ExFDAS
BgNVBAoMC1NlbGYgU2lnbmVkMCAXDTI0MDEwMTAwMDAwMFoYDzIxMDAwMTAxMDAw
MDAwWjBTMSEwHwYDVQQDDBhzZWxmLXNpZ25lZCBzaWduaW5nIGNlcnQxCzAJBgNV
BAYTAlVTMQswCQYDVQQIDAJXQTEUMBIGA1UECgwLU2VsZiBTaWduZWQwWTATBgcq
hkjOPQIBBggqhkjOPQMBBwNCAAQ+riUn5Vo/4KVDg2FPj+BwKDNkqPWLqHUh2nFx
NnxwXAvRMyI2NXx/zNA/jYWjvnT5+WfNwvO5pKtwkWcNGcgQo1QwUjAMBgNVHRMB
Af8EAjAAMA4GA1UdDwEB/wQEAwIHgDATBgNVHSUEDDAKBggrBgEFBQcDAzAdBgNV
HQ4EFgQUQajYdKETqNDHl/fqh4Xo7858psMwCgYIKoZIzj0EAwIDSAAwRQIhAMFb
vsia2LhZI5ZwK+GwtdqA+1cn+AgatB1mY8XnyuMUAiAK4MfqXsO29n4xt/cvhduy
6vVqk7grYXDpRrX0e4gzUQ==
-----END CERTIFICATE-----
`;

export const EXPIRED_CA = `-----BEGIN CERTIFICATE-----
MIIBtTCCAVygAwIBAgICEAQwCgYIKoZIzj0EAwIwQjEYMBYGA1UEAwwPRXhwaXJl
ZCBSb290IENBMQswCQYDVQQGEwJVUzELMAkGA1UECAwCV0ExDDAKBgNVBAoMA09s
ZDAeFw0wMDAxMDEwMDAwMDBaFw0wMTAxMDEwMDAwMDBaMEIxGDAWBgNVBAMMD0V4
cGlyZWQgUm9vdCBDQTELMAkGA1UEBhMCVVMxCzAJBgNVBAgMAldBMQwwCgYDVQQK
DANPbGQwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATEOXObllKo8r/GQ5zrPvJ/
J1BgyhOWu/eZ2i9nQ6HkmweZWKZIYAdwPd30WW/w9e1s+P+v7H3lzKeQIcrwcZqT
o0IwQDAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwIBBjAdBgNVHQ4EFgQU
WIbKxhXC5FBsLvhNRHFXdpAt9JswCgYIKoZIzj0EAwIDRwAwRAIgPOyx4BqEurMf
gWUQVPcA0zmkKo6qBu5+dZmnHLxsPWgCIDWCVRzLotn2/BQLibWvODoWWKbcfK+W
9IHN+Y36W1fm
-----END CERTIFICATE-----
`;

export const OTHER_CA = `-----BEGIN CERTIFICATE-----
MIIBuDCCAV6gAwIBAgICEAUwCgYIKoZIzj0EAwIwQjEWMBQGA1UEAwwNT3RoZXIg
Um9vdCBDQTELMAkGA1UEBhMCREUxCzAJBgNVBAgMAkJFMQ4wDAYDVQQKDAVPdGhl
cjAgFw0yNDAxMDEwMDAwMDBaGA8yMDUwMDEwMTAwMDAwMFowQjEWMBQGA1UEAwwN
T3RoZXIgUm9vdCBDQTELMAkGA1UEBhMCREUxCzAJBgNVBAgMAkJFMQ4wDAYDVQQK
DAVPdGhlcjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABFCphNoQUycmOwgArIic
kxj1zju+9ECMNSspIlhVpz1/hEYl426D9m1Z/UQGHBReUafgsjXjSue31yrPQibF
ALyjQjBAMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgEGMB0GA1UdDgQW
BBTj7V4Lkz96faDW3GAU+ruuoo/WxjAKBggqhkjOPQQDAgNIADBFAiEAjiC5Q3GC
iOi6OdlJ4+VIQKHEqr8CRboyrSzmjnBAt+YCIHegy2kUj/WaAPjqQjIelU8ryy7X
5puh/YIYXIUTNOB9
-----END CERTIFICATE-----
`;

function indent(text: string, spaces: number): string {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => ' '.repeat(spaces) + line)
    .join('\n');
}

/**
 * The original project's sample manifests (configs/samples/trustpolicy.yaml and truststore.yaml,
 * docs/architecture.md "Custom resources"), as users have them today; ROOT_CA stands in for the AWS Signer root.
 */
export const ORIGINAL_SAMPLES = `apiVersion: notation.nirmata.io/v1alpha1
kind: TrustPolicy
metadata:
  name: tp-test-notation
spec:
  version: '1.0'
  trustPolicyName: tp-test-notation
  trustPolicies:
  - name: aws-signer-tp
    registryScopes:
    - "844333597536.dkr.ecr.us-west-2.amazonaws.com/kyverno-demo"
    signatureVerification:
      level: strict
      override: {}
    trustStores:
    - signingAuthority:aws-signer-ts
    trustedIdentities:
    - "arn:aws:signer:us-west-2:844333597536:/signing-profiles/kyvernodemo"
---
apiVersion: notation.nirmata.io/v1alpha1
kind: TrustPolicy
metadata:
  name: tp-test-notation-fail
spec:
  version: '1.0'
  trustPolicyName: tp-test-notation-fail
  trustPolicies:
  - name: aws-signer-tp-fail
    registryScopes:
    - "*"
    signatureVerification:
      level: strict
      override: {}
    trustStores:
    - signingAuthority:aws-signer-ts-fail
    trustedIdentities:
    - "arn:aws:signer:us-west-2:844333597536:/signing-profiles/kyvernodemo"
---
apiVersion: notation.nirmata.io/v1alpha1
kind: TrustStore
metadata:
  name: aws-signer-ts
spec:
  trustStoreName: aws-signer-ts
  type: signingAuthority
  caBundle: |-
${indent(ROOT_CA, 4)}
---
apiVersion: notation.nirmata.io/v1alpha1
kind: TrustStore
metadata:
  name: aws-signer-ts-fail
spec:
  trustStoreName: aws-signer-ts-fail
  type: signingAuthority
  caBundle: |-
${indent(OTHER_CA, 4)}
`;
