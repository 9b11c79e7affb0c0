#!/usr/bin/env bash
# Builds and caches the real components the tests run against, by version, under the user's cache
# directory (docs: README "Test components"). Everything comes from the Go module proxy or Debian's
# packages; nothing is downloaded from release pages. The one exception is the AWS Signer plugin, which
# some module proxies refuse: it is built from a kept copy of its release source (see aws_signer_plugin_src).
#
#   tools.sh build [component...]   build what is missing (all components when none is named)
#   tools.sh env                    print `export` lines that put the components on PATH
#   tools.sh list                   show each component, its version and whether it is cached
#
# Environment: KNA_TOOLS_DIR (cache root), KNA_AWS_SIGNER_PLUGIN_SRC (a source tree of the AWS Signer
# plugin release, used when the module proxy does not serve it; see aws_signer_plugin_src),
# KNA_ORIGINAL_SRC (source of the opt-in `original` component, see build_original).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${KNA_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kyverno-notation-aws/tools}

NOTATION_VERSION=1.3.2
AWS_SIGNER_PLUGIN_VERSION=1.0.350
AWS_SIGNER_PLUGIN_NAME=com.amazonaws.signer.notation.plugin
OLAREG_VERSION=0.2.2
ETCD_VERSION=3.6.16
KUBERNETES_VERSION=1.35.4
HELM_VERSION=3.22.0
KYVERNO_VERSION=1.19.1

ALL_COMPONENTS=(notation aws-signer-plugin notation-helper olareg docker-registry etcd kubernetes helm kyverno)
# Built only when named (`pnpm tools original`): not needed by `pnpm test`.
OPTIONAL_COMPONENTS=(original)

export GOFLAGS="${GOFLAGS:+$GOFLAGS }-trimpath -mod=mod"
export CGO_ENABLED=0
export GOTOOLCHAIN=local

say() { printf '%s\n' "$*" >&2; }
die() { say "tools: $*"; exit 1; }

need_go() {
  command -v go >/dev/null 2>&1 ||
    die "Go is not installed or not on PATH. Install Go >= 1.26 (https://go.dev/doc/install) and run 'pnpm tools' again."
}

# ---- component layout: <cache>/<name>-<version>/{bin,...}, complete once <dir>/.complete exists ----

dir_of() {
  case "$1" in
    notation) echo "$cache/notation-v$NOTATION_VERSION" ;;
    aws-signer-plugin) aws_signer_plugin_dir "${PLUGIN_SRC:-}" ;;
    notation-helper) echo "$cache/notation-helper-src-$(notation_helper_source_hash)" ;;
    olareg) echo "$cache/olareg-v$OLAREG_VERSION" ;;
    docker-registry) echo "$cache/docker-registry" ;;
    etcd) echo "$cache/etcd-v$ETCD_VERSION" ;;
    kubernetes) echo "$cache/kubernetes-v$KUBERNETES_VERSION" ;;
    helm) echo "$cache/helm-v$HELM_VERSION" ;;
    kyverno) echo "$cache/kyverno-v$KYVERNO_VERSION" ;;
    original) echo "$cache/kyverno-notation-aws-original-$(original_source_hash)" ;;
    *) die "unknown component '$1' (known: ${ALL_COMPONENTS[*]} ${OPTIONAL_COMPONENTS[*]})" ;;
  esac
}

version_of() {
  case "$1" in
    notation) echo "v$NOTATION_VERSION" ;;
    aws-signer-plugin) echo "v$AWS_SIGNER_PLUGIN_VERSION" ;;
    notation-helper) echo "source $(notation_helper_source_hash) (verifier/notation-helper)" ;;
    olareg) echo "v$OLAREG_VERSION" ;;
    docker-registry) echo "Debian package" ;;
    etcd) echo "v$ETCD_VERSION" ;;
    kubernetes) echo "v$KUBERNETES_VERSION (kube-apiserver, kubectl)" ;;
    helm) echo "v$HELM_VERSION" ;;
    kyverno) echo "v$KYVERNO_VERSION (admission controller, CRDs)" ;;
    original) echo "v1.1 (kyverno-notation-aws, source $(original_source_hash))" ;;
  esac
}

# The verifier's notation helper (kna-notation-helper, docs/architecture.md "Two notation engines"), built
# from this repository's own source; cached by a hash of that source, so an edit is rebuilt.
notation_helper_source() {
  echo "$repo/verifier/notation-helper"
}
notation_helper_source_hash() {
  (cd "$(notation_helper_source)" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-12)
}

# The original Go service (nirmata/kyverno-notation-aws v1.1), the reference `pnpm compat` and
# `pnpm bench -- original` compare against (docs/compatibility.md). Its source is not in this repository:
# KNA_ORIGINAL_SRC, else the third-party folder beside the repository. Cached by a hash of the source
# files, so a different source (another release) gets its own build.
original_source() {
  echo "${KNA_ORIGINAL_SRC:-$repo/../shared/third_party/kyverno-notation-aws-v1.1}"
}
original_source_hash() {
  local src
  src=$(original_source)
  if [ ! -f "$src/go.mod" ]; then
    echo "absent"
    return
  fi
  (cd "$src" && find . -type f ! -path './.git/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-12)
}

# The AWS Signer notation plugin, github.com/aws/aws-signer-notation-plugin at release v1.0.350 (AWS's
# own code, unmodified). Its source comes from, in this order:
#   1. the Go module proxy (what users elsewhere get; one quick attempt per build);
#   2. the source tree named by KNA_AWS_SIGNER_PLUGIN_SRC;
#   3. <repository>/../shared/third_party/aws-signer-notation-plugin, when it exists (a read-only copy
#      kept beside the repository on the project's machines and CI, because their proxy refuses the
#      module with "403 This module version is not available").
# It is always built out of tree, and cached under a name that includes a hash of the source files, so
# a changed source tree is rebuilt. There is no substitute: without a source, the build fails.
AWS_SIGNER_PLUGIN_MODULE=github.com/aws/aws-signer-notation-plugin

plugin_module_cache_dir() { # where the module proxy's copy lives once downloaded (no network)
  local d
  d="$(go env GOMODCACHE 2>/dev/null)/$AWS_SIGNER_PLUGIN_MODULE@v$AWS_SIGNER_PLUGIN_VERSION"
  [ -f "$d/go.mod" ] && echo "$d"
}

# Prints the plugin's source directory without touching the network: the module cache copy (if the
# proxy served it before), else KNA_AWS_SIGNER_PLUGIN_SRC, else the kept copy beside the repository.
aws_signer_plugin_src() {
  local d
  if command -v go >/dev/null 2>&1 && d=$(plugin_module_cache_dir); then echo "$d"; return; fi
  if [ -n "${KNA_AWS_SIGNER_PLUGIN_SRC:-}" ]; then echo "$KNA_AWS_SIGNER_PLUGIN_SRC"; return; fi
  d="$repo/../shared/third_party/aws-signer-notation-plugin"
  [ -d "$d" ] && (cd "$d" && pwd)
}

# As aws_signer_plugin_src, after one attempt to fetch the module from the proxy; fails with where to get
# the source when there is none.
fetch_aws_signer_plugin_src() {
  need_go
  local d proxy
  proxy=$(go env GOPROXY)
  if ! plugin_module_cache_dir >/dev/null; then
    if GOFLAGS=-mod=mod timeout 30 go mod download -json "$AWS_SIGNER_PLUGIN_MODULE@v$AWS_SIGNER_PLUGIN_VERSION" >/dev/null 2>&1; then
      say "  fetched $AWS_SIGNER_PLUGIN_MODULE@v$AWS_SIGNER_PLUGIN_VERSION from the module proxy"
    else
      say "  the module proxy ($proxy) does not serve $AWS_SIGNER_PLUGIN_MODULE@v$AWS_SIGNER_PLUGIN_VERSION"
    fi
  fi
  d=$(aws_signer_plugin_src) || true
  if [ -z "$d" ] && [ -f "$(newest_aws_signer_plugin_build)/.complete" ]; then
    say "  no source of the plugin here; using the cached build $(newest_aws_signer_plugin_build)"
    return 0
  fi
  if [ -z "$d" ]; then
    die "the AWS Signer notation plugin v$AWS_SIGNER_PLUGIN_VERSION has no source: the Go module proxy ($proxy)
  does not serve $AWS_SIGNER_PLUGIN_MODULE@v$AWS_SIGNER_PLUGIN_VERSION, KNA_AWS_SIGNER_PLUGIN_SRC is not set,
  and $(cd "$repo/.." && pwd)/shared/third_party/aws-signer-notation-plugin does not exist.
  Get release v$AWS_SIGNER_PLUGIN_VERSION from https://github.com/aws/aws-signer-notation-plugin (tag v$AWS_SIGNER_PLUGIN_VERSION), e.g.
    git clone --depth 1 --branch v$AWS_SIGNER_PLUGIN_VERSION https://github.com/aws/aws-signer-notation-plugin <dir>
  then run: KNA_AWS_SIGNER_PLUGIN_SRC=<dir> pnpm tools"
  fi
  check_aws_signer_plugin_src "$d"
  echo "$d"
}

check_aws_signer_plugin_src() {
  local d=$1 v
  [ -f "$d/go.mod" ] && [ -f "$d/cmd/main.go" ] ||
    die "$d is not a source tree of $AWS_SIGNER_PLUGIN_MODULE (no go.mod and cmd/main.go); check KNA_AWS_SIGNER_PLUGIN_SRC"
  grep -q "^module $AWS_SIGNER_PLUGIN_MODULE\$" "$d/go.mod" ||
    die "$d/go.mod is not module $AWS_SIGNER_PLUGIN_MODULE; check KNA_AWS_SIGNER_PLUGIN_SRC"
  v=$(sed -n 's/^var version = "\(.*\)"/\1/p' "$d/internal/version/version.go" 2>/dev/null)
  [ "$v" = "$AWS_SIGNER_PLUGIN_VERSION" ] ||
    die "$d holds plugin version '${v:-unknown}', not $AWS_SIGNER_PLUGIN_VERSION: get tag v$AWS_SIGNER_PLUGIN_VERSION of https://github.com/aws/aws-signer-notation-plugin"
}

# 12 hex digits identifying the source files (names and contents; .git and .github excluded).
aws_signer_plugin_src_hash() {
  (cd "$1" && find . \( -name .git -o -name .github \) -prune -o -type f -print | LC_ALL=C sort |
    xargs -d '\n' sha256sum | sha256sum | cut -c1-12)
}

# The plugin's cache directory for the given source (or the current one). Where no source can be found
# (e.g. a clone elsewhere), the most recent build of this version, so tools:env still finds it.
aws_signer_plugin_dir() {
  local src=${1:-}
  [ -n "$src" ] || src=$(aws_signer_plugin_src) || true
  if [ -n "$src" ] && [ -d "$src" ]; then
    echo "$cache/aws-signer-plugin-v$AWS_SIGNER_PLUGIN_VERSION-src-$(aws_signer_plugin_src_hash "$src")"
  else
    newest_aws_signer_plugin_build
  fi
}

newest_aws_signer_plugin_build() {
  local d
  d=$(ls -td "$cache/aws-signer-plugin-v$AWS_SIGNER_PLUGIN_VERSION-src-"*/.complete 2>/dev/null | head -n 1)
  if [ -n "$d" ]; then dirname "$d"; else echo "$cache/aws-signer-plugin-v$AWS_SIGNER_PLUGIN_VERSION-nosource"; fi
}

aws_signer_plugin_bin() { # the binary inside a plugin cache directory
  echo "$1/libexec/plugins/$AWS_SIGNER_PLUGIN_NAME/notation-$AWS_SIGNER_PLUGIN_NAME"
}

# "<name> <version>" as the binary reports them (the plugin contract's get-plugin-metadata command).
aws_signer_plugin_metadata() {
  local out
  out=$(echo '{}' | timeout 20 "$1" get-plugin-metadata 2>&1) || { echo "get-plugin-metadata failed: $out"; return 1; }
  printf '%s %s\n' "$(sed -n 's/.*"name":"\([^"]*\)".*/\1/p' <<<"$out")" "$(sed -n 's/.*"version":"\([^"]*\)".*/\1/p' <<<"$out")"
}

# ---- builders: each receives the (temporary) target directory ----

# Builds packages of one module version in a scratch module inside the target directory. Plain
# `go install pkg@version` is not used: it asks the proxy for the module's version list (to look for
# deprecations), which some module proxies refuse even when they serve the version itself.
go_build_scratch() { # target module@version ldflags package...
  local target=$1 module=$2 ldflags=$3
  shift 3
  (
    cd "$target"
    printf 'module local/%s\n\ngo 1.26\n' "$(basename "$target")" >go.mod
    go get "$module"
    mkdir -p bin
    go build -ldflags "-s -w $ldflags" -o bin/ "$@"
  )
}

build_notation() {
  need_go
  go_build_scratch "$1" "github.com/notaryproject/notation@v$NOTATION_VERSION" "" \
    github.com/notaryproject/notation/cmd/notation
}

build_aws_signer_plugin() {
  need_go
  local target=$1 src=${PLUGIN_SRC:?} bin meta
  bin=$(aws_signer_plugin_bin "$target")
  mkdir -p "$(dirname "$bin")"
  echo "source: $src"
  # Out of tree: the source may be read-only (the module cache, a kept copy); -mod=readonly because its
  # go.sum is complete and must not be rewritten.
  (cd "$src" && GOFLAGS="-trimpath -mod=readonly" go build -ldflags "-s -w" -o "$bin" ./cmd)
  meta=$(aws_signer_plugin_metadata "$bin") || die "the built plugin does not answer: $meta"
  [ "$meta" = "$AWS_SIGNER_PLUGIN_NAME $AWS_SIGNER_PLUGIN_VERSION" ] ||
    die "the built plugin reports '$meta', not '$AWS_SIGNER_PLUGIN_NAME $AWS_SIGNER_PLUGIN_VERSION'"
  echo "$src" >"$target/SOURCE"
}

build_notation_helper() {
  need_go
  local target=$1 src
  src=$(notation_helper_source)
  mkdir -p "$target/bin"
  # -mod=readonly: the committed go.sum is complete and is never rewritten by a build.
  (cd "$src" && GOFLAGS="-trimpath -mod=readonly" go build -ldflags "-s -w" -o "$target/bin/kna-notation-helper" .)
  # It starts, and exits when its input closes.
  "$target/bin/kna-notation-helper" --libexec "$target" </dev/null || die "the built kna-notation-helper does not start"
}

build_olareg() {
  need_go
  go_build_scratch "$1" "github.com/olareg/olareg@v$OLAREG_VERSION" "" github.com/olareg/olareg/cmd/olareg
}

# Debian's docker-registry (CNCF distribution 2.8.2): a registry without the OCI referrers API, so
# clients fall back to the referrers tag schema. Linked into the cache so PATH handling is uniform.
build_docker_registry() {
  local bin
  bin=$(command -v docker-registry || true)
  if [ -z "$bin" ]; then
    command -v apt-get >/dev/null 2>&1 ||
      die "docker-registry is missing and apt-get is not available: install the Debian/Ubuntu package 'docker-registry'"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    [ -z "$sudo" ] || command -v sudo >/dev/null 2>&1 ||
      die "docker-registry is missing; run 'apt-get install docker-registry' as root"
    say "  apt-get install docker-registry"
    $sudo apt-get update -qq
    # The package's own service is never used (tests start their own processes on free ports).
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends docker-registry >/dev/null
    bin=$(command -v docker-registry) || die "apt-get installed docker-registry but it is not on PATH"
  fi
  mkdir -p "$1/bin"
  ln -sf "$bin" "$1/bin/docker-registry"
}

build_etcd() {
  need_go
  # etcd's server module has relative replace directives, so `go install` refuses it; as a dependency
  # of a scratch module its requirements resolve to published versions (README "Test components").
  go_build_scratch "$1" "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" "" go.etcd.io/etcd/server/v3
  # go names the binary after the module path without its major-version suffix: "server".
  mv "$1/bin/server" "$1/bin/etcd"
}

build_kubernetes() {
  need_go
  # k8s.io/kubernetes pins every staging module to v0.0.0 plus a local replace; a scratch module replaces
  # each with its published v0.<minor>.<patch>, and the version ldflags make /version report the real
  # version (Helm checks chart kubeVersion against it). README "Test components"
  local target=$1 v=$KUBERNETES_VERSION minor
  minor=${v#1.}
  minor=${minor%%.*}
  (
    cd "$target"
    printf 'module local/kubernetes\n\ngo 1.26\n' >go.mod
    local kgomod
    kgomod=$(go mod download -json "k8s.io/kubernetes@v$v" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
    [ -f "$kgomod" ] || die "could not download k8s.io/kubernetes@v$v"
    grep '^godebug' "$kgomod" >>go.mod || true
    local m
    for m in $(sed -n 's|^[[:space:]]*\(k8s\.io/[^ ]*\) => \./staging/.*|\1|p' "$kgomod"); do
      go mod edit "-replace=$m=$m@v0.${v#1.}"
    done
    go get "k8s.io/kubernetes/cmd/kube-apiserver@v$v" "k8s.io/kubernetes/cmd/kubectl@v$v"
    local ld="-s -w"
    ld+=" -X k8s.io/component-base/version.gitVersion=v$v -X k8s.io/component-base/version.gitMajor=1"
    ld+=" -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
    ld+=" -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z"
    ld+=" -X k8s.io/client-go/pkg/version.gitVersion=v$v -X k8s.io/client-go/pkg/version.gitMajor=1"
    ld+=" -X k8s.io/client-go/pkg/version.gitMinor=$minor"
    go build -ldflags "$ld" -o bin/ k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl
    bin/kube-apiserver --version | grep -q "v$v" || die "kube-apiserver does not report v$v"
  )
}

build_helm() {
  need_go
  local target=$1 kminor=${KUBERNETES_VERSION#1.}
  kminor=${kminor%%.*}
  # Without these ldflags helm assumes Kubernetes v1.20 for template/lint (README "Test components").
  local ld="-X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION"
  ld+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$kminor"
  ld+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$kminor"
  go_build_scratch "$target" "helm.sh/helm/v3@v$HELM_VERSION" "$ld" helm.sh/helm/v3/cmd/helm
}

build_kyverno() {
  need_go
  # Kyverno's go.mod replaces k8s.io/pod-security-admission with Kyverno's fork, so `go install` refuses
  # it; a scratch module carries over every module-to-module replace of the release (local-path replaces
  # cannot resolve and are skipped) and its godebug defaults. The CRDs come from the same module source.
  local target=$1 v=$KYVERNO_VERSION
  (
    cd "$target"
    printf 'module local/kyverno\n\ngo 1.26\n' >go.mod
    local info gomod moddir
    info=$(go mod download -json "github.com/kyverno/kyverno@v$v")
    gomod=$(sed -n 's/.*"GoMod": "\(.*\)",*/\1/p' <<<"$info")
    moddir=$(sed -n 's/.*"Dir": "\(.*\)",*/\1/p' <<<"$info")
    [ -f "$gomod" ] && [ -d "$moddir" ] || die "could not download github.com/kyverno/kyverno@v$v"
    grep '^godebug' "$gomod" >>go.mod || true
    local old arrow new
    while read -r old arrow new; do
      [ "$arrow" = "=>" ] || continue
      case "$new" in .* | /*) continue ;; esac
      go mod edit "-replace=$old=$new"
    done < <(awk '/^replace \(/{b=1;next} b&&/^\)/{b=0;next} b{print;next} /^replace /{sub(/^replace /,"");print}' "$gomod" |
      sed -E 's/^[[:space:]]*([^ ]+) (v[^ ]+) =>/\1@\2 =>/; s/=> ([^ ]+) (v[^ ]+)[[:space:]]*$/=> \1@\2/')
    go get "github.com/kyverno/kyverno/cmd/kyverno@v$v"
    go build -ldflags "-s -w -X github.com/kyverno/kyverno/pkg/version.BuildVersion=v$v" -o bin/ \
      github.com/kyverno/kyverno/cmd/kyverno
    mkdir -p crds
    cp -R "$moddir/config/crds/." crds/
    chmod -R u+w crds
    bin/kyverno --help 2>&1 | grep -q -- -serverIP || die "the kyverno binary has no -serverIP flag"
  )
}

# Built from a writable copy (the source folder may be read-only), as its own Dockerfile builds it.
# Cold: the module download is ~1.9 GB and the build ~12 minutes with 1.5 GiB peak RSS on 2 cores.
build_original() {
  need_go
  local target=$1 src
  src=$(original_source)
  mkdir -p "$target/bin"
  cp -R "$src" "$target/src"
  chmod -R u+w "$target/src"
  (cd "$target/src" && go build -ldflags "-s -w" -o "$target/bin/kyverno-notation-aws" .)
  printf '%s\n' "$src" >"$target/SOURCE"
  rm -rf "$target/src"
}

# ---- driver ----

# Prints elapsed time every 30 s while a build runs (kube-apiserver takes ~15 minutes cold), with the
# last line of its log, so a long build is never silent.
progress_ticker() { # name started log
  local name=$1 started=$2 log=$3 last nap
  trap 'kill "$nap" 2>/dev/null; exit 0' TERM
  while :; do
    sleep 30 &
    nap=$!
    wait "$nap"
    last=$(tail -n 1 "$log" 2>/dev/null | cut -c1-100)
    say "  … $name still building: $(($(date +%s) - started)) s${last:+ (log: $last)}"
  done
}

build_one() {
  local name=$1 dir tmp log started peak="" ticker rc=0
  if [ "$name" = aws-signer-plugin ]; then
    PLUGIN_SRC=$(fetch_aws_signer_plugin_src) || exit 1
    export PLUGIN_SRC
  fi
  dir=$(dir_of "$name")
  if [ -f "$dir/.complete" ]; then
    say "✓ $name $(version_of "$name") (cached)"
    [ "$name" = aws-signer-plugin ] && report_aws_signer_plugin "$dir"
    return 0
  fi
  say "… $name $(version_of "$name"): building into $dir"
  tmp="$dir.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp" "$cache/logs"
  log="$cache/logs/$name.log"
  : >"$log"
  started=$(date +%s)
  local fn="build_${name//-/_}"
  progress_ticker "$name" "$started" "$log" 9>&- &
  ticker=$!
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f '%M' -o "$tmp.rss" bash -c "set -euo pipefail; source '$here/tools.sh' --functions-only; $fn '$tmp'" >"$log" 2>&1 || rc=$?
  else
    (set -euo pipefail; "$fn" "$tmp") >"$log" 2>&1 || rc=$?
  fi
  kill "$ticker" 2>/dev/null || true
  wait "$ticker" 2>/dev/null || true
  if [ "$rc" -ne 0 ]; then
    say "✗ $name failed after $(($(date +%s) - started)) s; last lines of $log:"
    tail -n 30 "$log" >&2
    rm -rf "$tmp" "$tmp.rss"
    exit 1
  fi
  if [ -f "$tmp.rss" ]; then
    peak=" peak RSS $(($(tail -n1 "$tmp.rss") / 1024)) MiB"
    rm -f "$tmp.rss"
  fi
  touch "$tmp/.complete"
  rm -rf "$dir"
  mv "$tmp" "$dir"
  say "✓ $name $(version_of "$name") built in $(($(date +%s) - started)) s$peak"
  [ "$name" = aws-signer-plugin ] && report_aws_signer_plugin "$dir"
  return 0
}

# Which plugin binary the tests use, with the name and version the binary itself reports.
report_aws_signer_plugin() {
  local bin meta
  bin=$(aws_signer_plugin_bin "$1")
  meta=$(aws_signer_plugin_metadata "$bin") || die "$bin does not answer get-plugin-metadata: $meta"
  say "  AWS Signer plugin: $bin"
  say "  get-plugin-metadata: ${meta/ / version } (source: $(cat "$1/SOURCE" 2>/dev/null || echo unknown))"
}

cmd_build() {
  local names=("$@")
  [ ${#names[@]} -gt 0 ] || names=("${ALL_COMPONENTS[@]}")
  local n
  for n in "${names[@]}"; do
    if [ "$n" = original ] && [ "$(original_source_hash)" = absent ]; then
      die "original: no source of kyverno-notation-aws v1.1 at $(original_source) (no go.mod there).
  Set KNA_ORIGINAL_SRC to a checkout of github.com/nirmata/kyverno-notation-aws at tag v1.1 and run 'pnpm tools original' again."
    fi
  done
  mkdir -p "$cache"
  # One build at a time per cache (parallel test runs may all call `pnpm tools`).
  exec 9>"$cache/.lock"
  if ! flock -n 9; then
    say "tools: another build holds $cache/.lock; waiting for it"
    flock 9
  fi
  trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
  local started n
  started=$(date +%s)
  for n in "${names[@]}"; do build_one "$n"; done
  say "tools: ready in $(($(date +%s) - started)) s (cache: $cache; 'eval \"\$(pnpm -s tools:env)\"' puts them on PATH)"
}

cmd_env() {
  local path="" n dir plugin_dir meta
  for n in "${ALL_COMPONENTS[@]}"; do
    dir=$(dir_of "$n")
    if [ -f "$dir/.complete" ]; then
      [ -d "$dir/bin" ] && path="$path$dir/bin:"
    else
      say "tools: $n is not built yet; run 'pnpm tools'"
    fi
  done
  plugin_dir=$(dir_of aws-signer-plugin)
  # Opt-in components are on PATH once built, and silent otherwise.
  for n in "${OPTIONAL_COMPONENTS[@]}"; do
    dir=$(dir_of "$n")
    [ -f "$dir/.complete" ] && path="$path$dir/bin:"
  done
  printf 'export KNA_TOOLS_DIR=%q\n' "$cache"
  printf 'export PATH=%q"$PATH"\n' "$path"
  printf 'export NOTATION_LIBEXEC=%q\n' "$plugin_dir/libexec"
  if [ -f "$plugin_dir/.complete" ] && meta=$(aws_signer_plugin_metadata "$(aws_signer_plugin_bin "$plugin_dir")"); then
    printf '# AWS Signer plugin: %s (get-plugin-metadata: %s)\n' "$(aws_signer_plugin_bin "$plugin_dir")" "${meta/ / version }"
  fi
}

cmd_list() {
  local n dir state
  for n in "${ALL_COMPONENTS[@]}" "${OPTIONAL_COMPONENTS[@]}"; do
    dir=$(dir_of "$n")
    if [ -f "$dir/.complete" ]; then state="cached  $dir"; else state="missing"; fi
    printf '%-18s %-40s %s\n' "$n" "$(version_of "$n")" "$state"
  done
}

[ "${1:-}" = --functions-only ] && return 0

case "${1:-}" in
  build) shift; cmd_build "$@" ;;
  env) cmd_env ;;
  list) cmd_list ;;
  *) die "usage: tools.sh build [component...] | env | list" ;;
esac
