# syntax=docker/dockerfile:1
# One image for both deployments of the Helm chart: `verifier [flags]` and `operator [flags]`, with notation
# and the AWS Signer notation plugin built from source at the versions the tests use (e2e/tools/tools.sh; a
# test keeps the two in step). Multi-architecture: every Go binary is built for the target platform, e.g.
#   docker buildx build --platform linux/amd64,linux/arm64 -t <registry>/kyverno-notation-aws:<tag> --push .
ARG NODE_VERSION=20.19
ARG GO_VERSION=1.26

# ---- notation and the AWS Signer plugin, from their public sources; the notation helper from this repository ----
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS notation
ARG NOTATION_VERSION=1.3.2
ARG AWS_SIGNER_PLUGIN_VERSION=1.0.350
ARG TARGETOS
ARG TARGETARCH
ENV CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} GOFLAGS=-trimpath
WORKDIR /build
RUN git clone --depth 1 --branch "v${NOTATION_VERSION}" https://github.com/notaryproject/notation.git notation \
 && cd notation \
 && go build -ldflags "-s -w -X github.com/notaryproject/notation/internal/version.Version=v${NOTATION_VERSION}" \
      -o /out/bin/notation ./cmd/notation
# The plugin is built from its release tag, not downloaded: AWS publishes its binary for amd64 only.
RUN git clone --depth 1 --branch "v${AWS_SIGNER_PLUGIN_VERSION}" https://github.com/aws/aws-signer-notation-plugin.git plugin \
 && cd plugin \
 && go build -ldflags "-s -w" \
      -o /out/libexec/plugins/com.amazonaws.signer.notation.plugin/notation-com.amazonaws.signer.notation.plugin ./cmd
# The verifier's notation helper (--notationEngine=helper), from this repository's source; go.sum is complete.
COPY verifier/notation-helper/ notation-helper/
RUN cd notation-helper && go build -mod=readonly -ldflags "-s -w" -o /out/bin/kna-notation-helper .

# ---- the TypeScript workspace (built once on the build platform: its production dependencies are pure JavaScript) ----
FROM --platform=$BUILDPLATFORM node:${NODE_VERSION}-bookworm-slim AS app
ARG PNPM_VERSION=10.34.9
RUN npm install --global "pnpm@${PNPM_VERSION}"
WORKDIR /app
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc tsconfig.base.json tsconfig.json ./
COPY shared/package.json shared/
COPY verifier/package.json verifier/
COPY operator/package.json operator/
COPY e2e/package.json e2e/
COPY scripts/ scripts/
RUN pnpm install --frozen-lockfile
COPY shared/ shared/
COPY verifier/ verifier/
COPY operator/ operator/
COPY e2e/ e2e/
RUN pnpm build \
 && rm -rf node_modules */node_modules \
 && pnpm install --frozen-lockfile --prod --filter @kna/verifier... --filter @kna/operator... \
 && rm -rf e2e scripts */src */tsconfig*.json */*.tsbuildinfo verifier/testkit verifier/bench verifier/compat verifier/dist/tooling

# ---- runtime ----
FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production \
    NOTATION_LIBEXEC=/opt/notation/libexec \
    PLUGINS_DIR=/opt/notation/libexec/plugins \
    HOME=/var/lib/kyverno-notation-aws
COPY --from=notation /out/bin/notation /usr/local/bin/notation
COPY --from=notation /out/bin/kna-notation-helper /usr/local/bin/kna-notation-helper
COPY --from=notation /out/libexec /opt/notation/libexec
COPY --from=app /app /app
COPY scripts/container-entrypoint.sh /usr/local/bin/kyverno-notation-aws
RUN chmod 0755 /usr/local/bin/kyverno-notation-aws \
 && mkdir -p /var/lib/kyverno-notation-aws && chown 65532:65532 /var/lib/kyverno-notation-aws
USER 65532:65532
WORKDIR /app
ENTRYPOINT ["/usr/local/bin/kyverno-notation-aws"]
CMD ["verifier", "--help"]
