// The cases of the differential suite (`pnpm compat`): the same /checkimages call to the original
// service v1.1 and to this verifier, and what a Kyverno policy must observe of each. A case is either
// `same` (both answers asserted equal: admitted or not, the JSON patches, the status, and a message
// pattern both must match) or `differs` (each side asserted on its own, with the reason the difference
// is intended and what, if anything, a v1.1 user changes in a policy). README.md's "Compatibility"
// section is generated from this list (`pnpm compat -- --readme`); a unit test keeps the two in step.
import type { Call, Observation, Patch } from './observe.js';
import { POLICY, SBOM_TYPE, type Image } from './environment.js';

export interface Fixtures {
  readonly registry: string;
  readonly images: {
    /** compat/app:v1, signed. */
    readonly app: Image;
    /** compat/other:v1, signed (a second repository). */
    readonly other: Image;
    /** compat/unsigned:v1, never signed. */
    readonly unsigned: Image;
    /** kyverno-demo:v1, the samples' image: signed, with a signed sbom/example attestation that meets the condition. */
    readonly sample: Image;
    /** kyverno-demo:v1-badsbom: signed, with a signed attestation whose licenseListVersion is 3.16. */
    readonly sampleBadSbom: Image;
    /** kyverno-demo:v1-unsigned, as in the original's README. */
    readonly sampleUnsigned: Image;
    /** kyverno-demo:v1-unsigned-sbom: signed, with an attestation that is not signed. */
    readonly sampleUnsignedSbom: Image;
    /** compat/moving:v1, signed; the `moved tag` case moves the tag to another signed image. */
    readonly moving: Image;
  };
  readonly tokens: { readonly stranger: string };
  /** Pushes and signs a new image under compat/moving:v1 (the `moved tag` case). */
  moveTag(): Promise<void>;
  /** The image compat/moving:v1 names after moveTag(). */
  movedTo(): Image;
}

/** Sends one call to both services: [original, ours]. */
type Ask = (call: Call) => Promise<readonly [Observation, Observation]>;

export interface Side {
  readonly status: number | 'reset';
  /** A 200's patches, exactly. */
  readonly patches?: (fx: Fixtures) => readonly Patch[];
  /** A non-200's message must match. */
  readonly message?: RegExp;
  /** What this side answers, in words, for the README when the status alone does not tell. */
  readonly shows?: string;
}

type Expectation =
  | { readonly same: 'admitted'; readonly patches: (fx: Fixtures) => readonly Patch[] }
  | { readonly same: 'denied'; readonly status: number; readonly message: RegExp }
  | {
      readonly differs: { readonly original: Side; readonly ours: Side };
      /** Why the difference is intended. */
      readonly reason: string;
      /** What a v1.1 user changes in a Kyverno policy because of it ("nothing" when Kyverno observes the same outcome). */
      readonly policyChange: string;
    };

export interface CompatCase {
  readonly id: string;
  /** What is asked, for the README. */
  readonly title: string;
  /** Runs before both calls (e.g. moving a tag after the first answers were cached). */
  readonly before?: (fx: Fixtures, ask: Ask) => Promise<void>;
  readonly call: (fx: Fixtures) => Call;
  readonly expect: Expectation;
}

// ---- request builders: the `images` variable exactly as Kyverno (≥ 1.10) fills it ----

type By = 'tag' | 'digest' | 'both';

function imageInfo(image: Image, pointer: string, by: By = 'tag'): Record<string, string> {
  const withTag = `${image.registry}/${image.path}:${image.tag}`;
  return {
    registry: image.registry,
    path: image.path,
    name: image.path.split('/').at(-1) ?? image.path,
    ...(by !== 'digest' && { tag: image.tag }),
    ...(by !== 'tag' && { digest: image.digest }),
    reference: by === 'tag' ? withTag : `${image.registry}/${image.path}${by === 'both' ? `:${image.tag}` : ''}@${image.digest}`,
    referenceWithTag: withTag,
    jsonPointer: pointer,
  };
}

function pod(containers: readonly Image[], extra: Record<string, unknown> = {}, by: By = 'tag'): Record<string, unknown> {
  return {
    images: { containers: Object.fromEntries(containers.map((image, i) => [`c${i}`, imageInfo(image, `/spec/containers/${i}/image`, by)])) },
    ...extra,
  };
}

function pinned(image: Image, path: string): Patch {
  return { op: 'replace', path, value: `${image.registry}/${image.path}@${image.digest}` };
}

/** The attestations entry of configs/samples/kyverno-policy.yaml, as Kyverno sends it (`\{{` unescaped). */
const SAMPLE_ATTESTATIONS = [
  {
    imageReference: '*',
    type: [
      {
        name: SBOM_TYPE,
        conditions: { all: [{ key: '{{creationInfo.licenseListVersion}}', operator: 'Equals', value: '3.17', message: 'invalid license version' }] },
      },
    ],
  },
];

/**
 * The call configs/samples/kyverno-policy.yaml makes for configs/samples/test-pod.yaml in namespace
 * test-notation (trustPolicy `tp-{{request.namespace}}`), with the samples' ECR registry replaced by
 * the run's registry: the app container plus two busybox init containers that imageReferences leaves out.
 */
function samplePod(fx: Fixtures, app: Image, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const busybox = (i: number) => ({
    registry: 'docker.io',
    name: 'busybox',
    path: 'library/busybox',
    tag: '1.28',
    reference: 'docker.io/library/busybox:1.28',
    referenceWithTag: 'docker.io/library/busybox:1.28',
    jsonPointer: `/spec/initContainers/${i}/image`,
  });
  return {
    attestations: SAMPLE_ATTESTATIONS,
    imageReferences: [`${fx.registry}*`],
    images: {
      containers: { 'myapp-container': imageInfo(app, '/spec/containers/0/image') },
      initContainers: { 'init-myservice': busybox(0), 'init-mydb': busybox(1) },
    },
    trustPolicy: POLICY.sample,
    ...extra,
  };
}

const MALFORMED =
  'malformed request: the original answers 406 to everything it refuses; 400 says the caller sent something wrong (and where), so it is not mistaken for a verification failure';
const INFRA =
  'could not verify (registry unreachable): the original answers 406 as if the image were unsigned; 503 with Retry-After says nothing was denied and the call can be retried — Kyverno still fails the rule (any non-2xx does), unless `--onInfraError=allow` is chosen';

export const CASES: readonly CompatCase[] = [
  // ---- the original's samples ----
  {
    id: 'sample-pod',
    title: 'configs/samples: kyverno-policy.yaml for test-pod.yaml (signed image, signed SBOM meeting the condition, busybox init containers filtered out)',
    call: (fx) => ({ body: samplePod(fx, fx.images.sample) }),
    expect: { same: 'admitted', patches: (fx) => [pinned(fx.images.sample, '/spec/containers/0/image')] },
  },
  {
    id: 'sample-pod-validate',
    title: "configs/samples: validate-policy.yaml's call is the same request; its deny on `response.verified == false` never fires (failures are non-2xx)",
    call: (fx) => ({ body: samplePod(fx, fx.images.sampleUnsigned) }),
    expect: { same: 'denied', status: 406, message: /signature/ },
  },
  {
    id: 'sample-bad-sbom',
    title: 'configs/samples: SBOM whose licenseListVersion is 3.16 (condition not met)',
    call: (fx) => ({ body: samplePod(fx, fx.images.sampleBadSbom) }),
    expect: { same: 'denied', status: 406, message: /invalid license version/ },
  },
  {
    id: 'sample-unsigned-sbom',
    title: 'configs/samples: SBOM attached but not signed',
    call: (fx) => ({ body: samplePod(fx, fx.images.sampleUnsignedSbom) }),
    expect: { same: 'denied', status: 406, message: /signature/ },
  },
  {
    id: 'sample-missing-attestation-type',
    title: 'configs/samples: the policy asks for an attestation type the image does not have',
    call: (fx) => ({
      body: samplePod(fx, fx.images.app, { attestations: [{ imageReference: '*', type: [{ name: 'vulnerability/example' }] }], trustPolicy: POLICY.default }),
    }),
    expect: { same: 'denied', status: 406, message: /vulnerability\/example/ },
  },
  {
    id: 'sample-fail-policy',
    title: 'configs/samples: trust policy tp-test-notation-fail (a trust store the signature does not chain to)',
    call: (fx) => ({ body: samplePod(fx, fx.images.sample, { trustPolicy: POLICY.sampleFail }) }),
    expect: { same: 'denied', status: 406, message: /./ },
  },
  {
    id: 'sample-scope-mismatch',
    title: 'configs/samples: tp-test-notation for an image outside its registry scope',
    call: (fx) => ({ body: pod([fx.images.app], { trustPolicy: POLICY.sample }) }),
    expect: { same: 'denied', status: 406, message: /trust policy/ },
  },

  // ---- the request shapes Kyverno sends ----
  {
    id: 'tag-default-policy',
    title: 'one container by tag, no trustPolicy (DEFAULT_TRUST_POLICY)',
    call: (fx) => ({ body: pod([fx.images.app]) }),
    expect: { same: 'admitted', patches: (fx) => [pinned(fx.images.app, '/spec/containers/0/image')] },
  },
  {
    id: 'tag-request-policy',
    title: 'one container by tag, trustPolicy in the request',
    call: (fx) => ({ body: pod([fx.images.other], { trustPolicy: POLICY.default }) }),
    expect: { same: 'admitted', patches: (fx) => [pinned(fx.images.other, '/spec/containers/0/image')] },
  },
  {
    id: 'digest',
    title: 'one container pinned by digest (what Kyverno sends after the patch)',
    call: (fx) => ({ body: pod([fx.images.app], {}, 'digest') }),
    expect: { same: 'admitted', patches: (fx) => [pinned(fx.images.app, '/spec/containers/0/image')] },
  },
  {
    id: 'tag-and-digest',
    title: 'one container with both tag and digest (`app:v1@sha256:…`)',
    call: (fx) => ({ body: pod([fx.images.other], {}, 'both') }),
    expect: { same: 'admitted', patches: (fx) => [pinned(fx.images.other, '/spec/containers/0/image')] },
  },
  {
    id: 'all-groups',
    title: 'containers, initContainers and ephemeralContainers',
    call: (fx) => ({
      body: {
        images: {
          containers: { app: imageInfo(fx.images.app, '/spec/containers/0/image') },
          initContainers: { init: imageInfo(fx.images.other, '/spec/initContainers/0/image') },
          ephemeralContainers: { debug: imageInfo(fx.images.app, '/spec/ephemeralContainers/0/image', 'digest') },
        },
      },
    }),
    expect: {
      same: 'admitted',
      patches: (fx) => [
        pinned(fx.images.app, '/spec/containers/0/image'),
        pinned(fx.images.app, '/spec/ephemeralContainers/0/image'),
        pinned(fx.images.other, '/spec/initContainers/0/image'),
      ],
    },
  },
  {
    id: 'same-image-three-containers',
    title: 'three containers of one image',
    call: (fx) => ({ body: pod([fx.images.app, fx.images.app, fx.images.app]) }),
    expect: { same: 'admitted', patches: (fx) => [0, 1, 2].map((i) => pinned(fx.images.app, `/spec/containers/${i}/image`)) },
  },
  {
    id: 'deployment-pointer',
    title: 'a Deployment (Kyverno autogen: jsonPointer under /spec/template/spec)',
    call: (fx) => ({ body: { images: { containers: { app: imageInfo(fx.images.app, '/spec/template/spec/containers/0/image') } } } }),
    expect: { same: 'admitted', patches: (fx) => [pinned(fx.images.app, '/spec/template/spec/containers/0/image')] },
  },
  {
    id: 'unsigned',
    title: 'an unsigned image',
    call: (fx) => ({ body: pod([fx.images.unsigned]) }),
    expect: { same: 'denied', status: 406, message: /signature/ },
  },
  {
    id: 'one-of-two-unsigned',
    title: 'a signed and an unsigned container',
    call: (fx) => ({ body: pod([fx.images.app, fx.images.unsigned]) }),
    expect: { same: 'denied', status: 406, message: /compat\/unsigned/ },
  },
  {
    id: 'image-references-filter',
    title: 'imageReferences leaves the unsigned image out',
    call: (fx) => ({ body: pod([fx.images.app, fx.images.unsigned], { imageReferences: [`${fx.registry}/compat/app*`] }) }),
    expect: { same: 'admitted', patches: (fx) => [pinned(fx.images.app, '/spec/containers/0/image')] },
  },
  {
    id: 'image-references-question-mark',
    title: 'imageReferences with `?` and `*` crossing `/`',
    call: (fx) => ({ body: pod([fx.images.app, fx.images.unsigned], { imageReferences: [`${fx.registry.replace(/\d$/, '?')}*/app:v?`] }) }),
    expect: { same: 'admitted', patches: (fx) => [pinned(fx.images.app, '/spec/containers/0/image')] },
  },
  {
    id: 'image-references-none',
    title: 'imageReferences matches no image',
    call: (fx) => ({ body: pod([fx.images.unsigned], { imageReferences: ['ghcr.io/*'] }) }),
    expect: { same: 'admitted', patches: () => [] },
  },
  {
    id: 'skip-level',
    title: 'a trust policy at level skip',
    call: (fx) => ({ body: pod([fx.images.unsigned], { trustPolicy: POLICY.skip }) }),
    expect: { same: 'admitted', patches: () => [] },
  },
  {
    id: 'untrusted-identity',
    title: 'a trust policy trusting another signing profile',
    call: (fx) => ({ body: pod([fx.images.app], { trustPolicy: POLICY.otherProfile }) }),
    expect: { same: 'denied', status: 406, message: /trusted identit/ },
  },
  {
    id: 'unknown-policy',
    title: 'a trustPolicy that does not exist',
    call: (fx) => ({ body: pod([fx.images.app], { trustPolicy: 'tp-nobody' }) }),
    expect: {
      differs: { original: { status: 406, message: /no trust policy found for trust policy tp-nobody/ }, ours: { status: 400, message: /tp-nobody/ } },
      reason:
        'a trust policy that is not loaded is a configuration mistake (the policy names it, the cluster lacks it), not an unsigned image: 400, and the message lists the loaded trust policies',
      policyChange: 'nothing: the call fails either way',
    },
  },
  {
    id: 'key-case',
    title: '`TrustPolicy` (capitalised) instead of `trustPolicy`',
    call: (fx) => ({ body: pod([fx.images.app], { TrustPolicy: POLICY.skip }) }),
    expect: {
      differs: {
        original: { status: 200, patches: () => [], shows: 'no patch (tp-compat-skip selected)' },
        ours: { status: 200, patches: (fx) => [pinned(fx.images.app, '/spec/containers/0/image')], shows: 'image verified and pinned (DEFAULT_TRUST_POLICY)' },
      },
      reason:
        "the original decodes JSON keys case-insensitively (Go's encoding/json), so `TrustPolicy` selected tp-compat-skip there; this verifier reads the keys as the request format spells them, ignores the unknown `TrustPolicy` and uses DEFAULT_TRUST_POLICY",
      policyChange:
        'write the `data` keys as the samples and README do (`images`, `imageReferences`, `trustPolicy`, `attestations`); a policy with another spelling selects DEFAULT_TRUST_POLICY',
    },
  },
  {
    id: 'attestation-no-conditions',
    title: 'an attestation type required without conditions',
    call: (fx) => ({ body: pod([fx.images.sample], { attestations: [{ imageReference: '*', type: [{ name: SBOM_TYPE }] }] }) }),
    expect: { same: 'admitted', patches: (fx) => [pinned(fx.images.sample, '/spec/containers/0/image')] },
  },
  {
    id: 'attestation-any',
    title: 'attestation conditions with `any` and a wildcard value',
    call: (fx) => ({
      body: pod([fx.images.sample], {
        attestations: [
          {
            imageReference: `${fx.registry}/kyverno-demo*`,
            type: [{ name: SBOM_TYPE, conditions: { any: [{ key: '{{creationInfo.licenseListVersion}}', operator: 'AnyIn', value: ['3.1*', '4.0'] }] } }],
          },
        ],
      }),
    }),
    expect: { same: 'admitted', patches: (fx) => [pinned(fx.images.sample, '/spec/containers/0/image')] },
  },
  {
    id: 'attestation-other-image',
    title: 'attestations whose imageReference matches none of the images',
    call: (fx) => ({ body: pod([fx.images.app], { attestations: [{ imageReference: 'ghcr.io/*', type: [{ name: SBOM_TYPE }] }] }) }),
    expect: { same: 'admitted', patches: (fx) => [pinned(fx.images.app, '/spec/containers/0/image')] },
  },
  {
    id: 'attestation-missing-path',
    title: 'a condition key naming a path the payload does not have',
    call: (fx) => ({
      body: pod([fx.images.sample], {
        attestations: [
          { imageReference: '*', type: [{ name: SBOM_TYPE, conditions: { all: [{ key: '{{creationInfo.nothing}}', operator: 'Equals', value: 'x' }] } }] },
        ],
      }),
    }),
    expect: { same: 'denied', status: 406, message: /nothing/ },
  },
  {
    id: 'extra-keys',
    title: 'unknown top-level keys (e.g. `namespace`) are ignored',
    call: (fx) => ({ body: pod([fx.images.app], { namespace: 'test-notation', somethingElse: { a: 1 } }) }),
    expect: { same: 'admitted', patches: (fx) => [pinned(fx.images.app, '/spec/containers/0/image')] },
  },

  // ---- malformed requests ----
  {
    id: 'no-images',
    title: 'no image in any group',
    call: () => ({ body: { images: { containers: {}, initContainers: {} } } }),
    expect: {
      differs: { original: { status: 406, message: /atleast one image/ }, ours: { status: 400, message: /image/ } },
      reason: MALFORMED,
      policyChange: 'nothing: the call fails either way',
    },
  },
  {
    id: 'not-json',
    title: 'a body that is not JSON',
    call: () => ({ body: '{"images": ' }),
    expect: {
      differs: { original: { status: 406, message: /unexpected end of JSON/ }, ours: { status: 400, message: /JSON/i } },
      reason: MALFORMED,
      policyChange: 'nothing: the call fails either way',
    },
  },
  {
    id: 'empty-body',
    title: 'an empty body',
    call: () => ({ body: '' }),
    expect: {
      differs: { original: { status: 406, message: /unexpected end of JSON/ }, ours: { status: 400, message: /./ } },
      reason: MALFORMED,
      policyChange: 'nothing: the call fails either way',
    },
  },
  {
    id: 'wrong-type',
    title: '`imageReferences` as a string instead of a list',
    call: (fx) => ({ body: pod([fx.images.app], { imageReferences: 'ghcr.io/*' }) }),
    expect: {
      differs: { original: { status: 406, message: /imageReferences/ }, ours: { status: 400, message: /imageReferences/ } },
      reason: MALFORMED,
      policyChange: 'nothing: the call fails either way',
    },
  },
  {
    id: 'attestation-without-name',
    title: 'an attestation type without a name',
    call: (fx) => ({ body: pod([fx.images.app], { attestations: [{ imageReference: '*', type: [{ conditions: {} }] }] }) }),
    expect: {
      differs: { original: { status: 406, message: /attestation name cannot be empty/ }, ours: { status: 400, message: /name/ } },
      reason: MALFORMED,
      policyChange: 'nothing: the call fails either way',
    },
  },
  {
    id: 'condition-without-key',
    title: 'a condition without a key',
    call: (fx) => ({
      body: pod([fx.images.app], {
        attestations: [{ imageReference: '*', type: [{ name: SBOM_TYPE, conditions: { all: [{ operator: 'Equals', value: 'x' }] } }] }],
      }),
    }),
    expect: {
      differs: { original: { status: 406, message: /condition key cannot be empty/ }, ours: { status: 400, message: /key/ } },
      reason: MALFORMED,
      policyChange: 'nothing: the call fails either way',
    },
  },

  // ---- methods and authentication ----
  {
    id: 'get',
    title: 'GET instead of POST',
    call: () => ({ method: 'GET' }),
    expect: { same: 'denied', status: 405, message: /Method Not Allowed/i },
  },
  {
    id: 'put',
    title: 'PUT instead of POST',
    call: (fx) => ({ method: 'PUT', body: pod([fx.images.app]) }),
    expect: { same: 'denied', status: 405, message: /Method Not Allowed/i },
  },
  {
    id: 'no-token',
    title: 'no Authorization header',
    call: (fx) => ({ body: pod([fx.images.app]), authorization: null }),
    expect: { same: 'denied', status: 401, message: /Authorization/i },
  },
  {
    id: 'user-not-allowed',
    title: 'a valid token of a ServiceAccount not in --allowedUsers',
    call: (fx) => ({ body: pod([fx.images.app]), authorization: `Bearer ${fx.tokens.stranger}` }),
    expect: {
      differs: { original: { status: 406, message: /Token is not authorized/ }, ours: { status: 403, message: /not-kyverno|not allowed|not authorized/i } },
      reason: 'an authenticated caller that is not allowed is 403 Forbidden, not a verification failure; Kyverno fails the call either way',
      policyChange: 'nothing',
    },
  },
  {
    id: 'invalid-token',
    title: 'a bearer token the API server does not authenticate',
    call: (fx) => ({ body: pod([fx.images.app]), authorization: 'Bearer not-a-token' }),
    expect: {
      differs: { original: { status: 406, message: /Token is not authorized/ }, ours: { status: 401, message: /./ } },
      reason: 'a token that does not authenticate is 401 Unauthorized (the original uses 406 for it); Kyverno fails the call either way',
      policyChange: 'nothing',
    },
  },
  {
    id: 'basic-auth',
    title: '`Authorization: Basic …` instead of a bearer token',
    call: (fx) => ({ body: pod([fx.images.app]), authorization: 'Basic a3l2ZXJubzpzZWNyZXQ=' }),
    expect: {
      differs: { original: { status: 'reset' }, ours: { status: 401, message: /[Bb]earer/ } },
      reason:
        "the original's handler panics on a header without `Bearer ` and drops the connection; this verifier answers 401 and says a bearer token is needed",
      policyChange: 'nothing',
    },
  },

  // ---- where the original is unsafe or cannot tell faults from denials ----
  {
    id: 'registry-unreachable',
    title: 'an image on a registry that does not answer',
    call: () => ({
      body: {
        images: { containers: { app: { registry: '127.0.0.3:9', path: 'compat/app', name: 'app', tag: 'v1', jsonPointer: '/spec/containers/0/image' } } },
      },
    }),
    expect: {
      differs: { original: { status: 406, message: /127\.0\.0\.3:9/ }, ours: { status: 503, message: /127\.0\.0\.3:9/ } },
      reason: INFRA,
      policyChange: "nothing (a policy with `failurePolicy: Ignore` and Kyverno's own retries behave as before)",
    },
  },
  {
    id: 'missing-tag',
    title: 'a tag that does not exist',
    call: (fx) => ({ body: pod([{ ...fx.images.app, tag: 'no-such-tag' }]) }),
    expect: { same: 'denied', status: 406, message: /no-such-tag/ },
  },
  {
    id: 'metadata-bypass',
    title: '`metadata` claiming an unsigned digest is already verified',
    call: (fx) => ({
      body: pod(
        [fx.images.unsigned],
        { metadata: JSON.stringify({ [`${fx.images.unsigned.registry}/${fx.images.unsigned.path}@${fx.images.unsigned.digest}`]: true }) },
        'digest',
      ),
    }),
    expect: {
      differs: {
        original: { status: 200, patches: (fx) => [pinned(fx.images.unsigned, '/spec/containers/0/image')], shows: 'unsigned image admitted and pinned' },
        ours: { status: 406, message: /signature/ },
      },
      reason:
        'security: `metadata` comes from the caller (a pod annotation in the venafi variant); the original admits an unsigned digest it names without verifying it, this verifier accepts the field and verifies anyway',
      policyChange:
        'none for policies that call the service for verification; a policy that relied on `metadata` to skip verification now gets the image verified',
    },
  },
  {
    id: 'moved-tag',
    title: 'a tag moved to another signed image after both services cached it',
    before: async (fx, ask) => {
      const [original, ours] = await ask({ body: pod([fx.images.moving]) });
      if (original.status !== 200 || ours.status !== 200)
        throw new Error(`priming compat/moving:v1 failed: original ${original.status} ${original.message}, ours ${ours.status} ${ours.message}`);
      await fx.moveTag();
    },
    call: (fx) => ({ body: pod([fx.images.moving]) }),
    expect: {
      differs: {
        original: { status: 200, patches: (fx) => [pinned(fx.images.moving, '/spec/containers/0/image')], shows: 'pinned to the digest the tag had before' },
        ours: { status: 200, patches: (fx) => [pinned(fx.movedTo(), '/spec/containers/0/image')], shows: 'pinned to the digest the tag names now' },
      },
      reason:
        'the original caches by (trust policy, reference as written), so a moved tag keeps being pinned to the digest it had when first verified, until the cache TTL (whose default overflows to ~91 years); this verifier resolves every tag on every request and pins the digest the tag names now, verified',
      policyChange: "nothing: the patch pins the image the tag names now, as Kyverno's own verifyImages does",
    },
  },
];
