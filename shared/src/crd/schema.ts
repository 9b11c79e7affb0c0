// The TypeScript types of the custom resources are computed from their OpenAPI schemas (the `as const` objects in
// trust-policy.ts and trust-store.ts), so the CRD YAML, the runtime validation and the types cannot drift apart
// (docs/architecture.md "Custom resources": one source of truth). FromSchema understands the subset of structural schema the CRDs use.

/** The subset of a Kubernetes structural schema (OpenAPI v3) that the CRDs of this product use. */
export interface StructuralSchema {
  readonly type: 'object' | 'array' | 'string' | 'integer' | 'boolean';
  readonly description?: string;
  readonly properties?: Readonly<Record<string, StructuralSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: StructuralSchema;
  readonly items?: StructuralSchema;
  readonly enum?: readonly (string | number)[];
  readonly format?: string;
  readonly pattern?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minItems?: number;
  readonly minimum?: number;
  readonly 'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  readonly 'x-kubernetes-list-map-keys'?: readonly string[];
}

type Simplify<T> = { [K in keyof T]: T[K] } & {};

type RequiredKeys<S> = S extends { readonly required: readonly (infer R)[] } ? R : never;

type ObjectOf<P, R> = Simplify<
  { -readonly [K in keyof P as K extends R ? K : never]: FromSchema<P[K]> } & {
    -readonly [K in keyof P as K extends R ? never : K]?: FromSchema<P[K]>;
  }
>;

/** The TypeScript type of the values a schema accepts. */
export type FromSchema<S> = S extends { readonly enum: readonly (infer E)[] }
  ? E
  : S extends { readonly type: 'string' }
    ? string
    : S extends { readonly type: 'integer' }
      ? number
      : S extends { readonly type: 'boolean' }
        ? boolean
        : S extends { readonly type: 'array'; readonly items: infer I }
          ? FromSchema<I>[]
          : S extends { readonly type: 'object'; readonly properties: infer P }
            ? ObjectOf<P, RequiredKeys<S>>
            : S extends { readonly type: 'object'; readonly additionalProperties: infer A }
              ? Record<string, FromSchema<A>>
              : S extends { readonly type: 'object' }
                ? Record<string, unknown>
                : never;

/** Identity at runtime; checks at compile time that `schema` stays inside StructuralSchema. */
export function structural<const S extends StructuralSchema>(schema: S): S {
  return schema;
}
