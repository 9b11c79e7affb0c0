// The Kyverno ClusterPolicy users copy from the original service's samples, as a manifest builder: an
// Enforce mutate rule that POSTs the pod's images to the verifier's /checkimages (apiCall.service) and
// applies the JSON patches it answers with, which pin every verified image to its digest. The shape
// (context names, data keys, the escaped `\{{…}}` condition key, the foreach patch) is the sample's;
// only the values are parameters. README "Try it with Kyverno" shows the YAML.

/** The annotation that asks the operator to inject its CA bundle into the policy's verifier apiCalls. */
export const INJECT_CA_ANNOTATION = 'notation.nirmata.io/inject-ca';

/** One `attestations[]` entry of the request (conditions in Kyverno's any/all form). */
export interface AttestationSpec {
  readonly imageReference: string;
  readonly type: readonly { readonly name: string; readonly conditions?: unknown }[];
}

export interface CheckImagesPolicyOptions {
  /** metadata.name; `check-images` as in the sample. */
  readonly name?: string;
  /** The namespaces whose Pods the rule matches. */
  readonly namespaces: readonly string[];
  /** The verifier's /checkimages URL (https). */
  readonly url: string;
  /**
   * Where Kyverno gets the CA bundle for the URL: the sample reads the verifier's TLS Secret with an
   * apiCall (`tlsSecret`, tls.crt), or the PEM is written into the policy (`caBundle`, what CA
   * injection does), or the policy carries the `notation.nirmata.io/inject-ca: "true"` annotation and
   * no caBundle, for the operator to inject it (`injectCa`).
   */
  readonly ca: { readonly tlsSecret: { readonly namespace: string; readonly name: string } } | { readonly caBundle: string } | { readonly injectCa: true };
  /** Kyverno wildcards of the images to verify. */
  readonly imageReferences: readonly string[];
  /** The request's trustPolicy; `tp-{{request.namespace}}` as in the sample. */
  readonly trustPolicy?: string;
  readonly attestations?: readonly AttestationSpec[];
  /** Enforce as in the sample (Audit only reports). */
  readonly validationFailureAction?: 'Enforce' | 'Audit';
  /** Fail as in the sample: a verifier that cannot answer blocks the pod. */
  readonly failurePolicy?: 'Fail' | 'Ignore';
  /** 30 as in the sample. */
  readonly webhookTimeoutSeconds?: number;
}

/** The sample's condition: `\{{…}}` keeps Kyverno from substituting it, so the verifier evaluates it on the payload. */
export const SAMPLE_ATTESTATION: AttestationSpec = {
  imageReference: '*',
  type: [
    {
      name: 'sbom/example',
      conditions: { all: [{ key: '\\{{creationInfo.licenseListVersion}}', operator: 'Equals', value: '3.17', message: 'invalid license version' }] },
    },
  ],
};

/** The ClusterPolicy as a plain object (serialise it with JSON or YAML for kubectl). */
export function checkImagesPolicy(options: CheckImagesPolicyOptions): Record<string, unknown> {
  const context: Record<string, unknown>[] = [];
  let caBundle: string | undefined;
  if ('injectCa' in options.ca) {
    caBundle = undefined;
  } else if ('tlsSecret' in options.ca) {
    const { namespace, name } = options.ca.tlsSecret;
    context.push({
      name: 'tlscerts',
      apiCall: { urlPath: `/api/v1/namespaces/${namespace}/secrets/${name}`, jmesPath: 'base64_decode( data."tls.crt" )' },
    });
    caBundle = '{{ tlscerts }}';
  } else {
    caBundle = options.ca.caBundle;
  }
  const data: Record<string, unknown>[] = [
    { key: 'images', value: '{{images}}' },
    { key: 'imageReferences', value: [...options.imageReferences] },
    { key: 'trustPolicy', value: options.trustPolicy ?? 'tp-{{request.namespace}}' },
  ];
  if (options.attestations) data.push({ key: 'attestations', value: options.attestations });
  context.push({ name: 'response', apiCall: { method: 'POST', data, service: { url: options.url, ...(caBundle !== undefined && { caBundle }) } } });
  return {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: options.name ?? 'check-images', ...('injectCa' in options.ca && { annotations: { [INJECT_CA_ANNOTATION]: 'true' } }) },
    spec: {
      validationFailureAction: options.validationFailureAction ?? 'Enforce',
      failurePolicy: options.failurePolicy ?? 'Fail',
      webhookTimeoutSeconds: options.webhookTimeoutSeconds ?? 30,
      schemaValidation: false,
      rules: [
        {
          name: 'call-aws-signer-extension',
          match: { any: [{ resources: { namespaces: [...options.namespaces], kinds: ['Pod'], operations: ['CREATE', 'UPDATE'] } }] },
          context,
          mutate: {
            foreach: [
              {
                list: 'response.results',
                patchesJson6902: "- path: '{{ element.path }}'\n  op: '{{ element.op }}'\n  value: '{{ element.value }}'",
              },
            ],
          },
        },
      ],
    },
  };
}
