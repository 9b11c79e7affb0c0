#!/usr/bin/env bash
# Builds and caches the real components the tests run against, by version, under the user's cache
# directory (docs: README "Test components"). Everything comes from the Go module proxy or Debian's
# packages; nothing is downloaded from release pages.
#
#   tools.sh build [component...]   build what is missing (all components when none is named)
#   tools.sh env                    print `export` lines that put the components on PATH
#   tools.sh list                   show each component, its version and whether it is cached
#
# Environment: KNA_TOOLS_DIR (cache root), KNA_AWS_SIGNER_PLUGIN=auto|real|stand-in (see signer_plugin),
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

ALL_COMPONENTS=(notation aws-signer-plugin olareg docker-registry etcd kubernetes helm)
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
    aws-signer-plugin) signer_plugin_dir ;;
    olareg) echo "$cache/olareg-v$OLAREG_VERSION" ;;
    docker-registry) echo "$cache/docker-registry" ;;
    etcd) echo "$cache/etcd-v$ETCD_VERSION" ;;
    kubernetes) echo "$cache/kubernetes-v$KUBERNETES_VERSION" ;;
    helm) echo "$cache/helm-v$HELM_VERSION" ;;
    original) echo "$cache/kyverno-notation-aws-original-$(original_source_hash)" ;;
    *) die "unknown component '$1' (known: ${ALL_COMPONENTS[*]} ${OPTIONAL_COMPONENTS[*]})" ;;
  esac
}

version_of() {
  case "$1" in
    notation) echo "v$NOTATION_VERSION" ;;
    aws-signer-plugin) echo "v$AWS_SIGNER_PLUGIN_VERSION ($(signer_plugin_kind))" ;;
    olareg) echo "v$OLAREG_VERSION" ;;
    docker-registry) echo "Debian package" ;;
    etcd) echo "v$ETCD_VERSION" ;;
    kubernetes) echo "v$KUBERNETES_VERSION (kube-apiserver, kubectl)" ;;
    helm) echo "v$HELM_VERSION" ;;
    original) echo "v1.1 (kyverno-notation-aws, source $(original_source_hash))" ;;
  esac
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

# The AWS Signer notation plugin. The real one is github.com/aws/aws-signer-notation-plugin@v1.0.350.
# When the module proxy does not serve that module (it answers 403 on some mirrors), the stand-in in
# e2e/signer-plugin is built instead: a Go plugin written for this project against the same AWS SDK
# signer client and the Notary Project plugin framework, so requests, host prefixes, error mapping and
# messages follow the real plugin's documented behaviour. KNA_AWS_SIGNER_PLUGIN=real refuses the
# stand-in; =stand-in skips the attempt to fetch the real one.
signer_plugin_source_hash() {
  (cd "$repo/e2e/signer-plugin" && cat go.mod go.sum ./*.go | sha256sum | cut -c1-12)
}
signer_plugin_kind() {
  if [ -f "$cache/aws-signer-plugin-v$AWS_SIGNER_PLUGIN_VERSION/.complete" ] &&
    [ "${KNA_AWS_SIGNER_PLUGIN:-auto}" != stand-in ]; then
    echo real
  else
    echo stand-in
  fi
}
signer_plugin_dir() {
  if [ "$(signer_plugin_kind)" = real ]; then
    echo "$cache/aws-signer-plugin-v$AWS_SIGNER_PLUGIN_VERSION"
  else
    echo "$cache/aws-signer-plugin-standin-$(signer_plugin_source_hash)"
  fi
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
  local target=$1 mode=${KNA_AWS_SIGNER_PLUGIN:-auto} plugdir
  plugdir="$target/libexec/plugins/$AWS_SIGNER_PLUGIN_NAME"
  mkdir -p "$plugdir"
  if [ "$mode" != stand-in ] &&
    timeout 60 go mod download "github.com/aws/aws-signer-notation-plugin@v$AWS_SIGNER_PLUGIN_VERSION" 2>/dev/null; then
    go_build_scratch "$target" "github.com/aws/aws-signer-notation-plugin@v$AWS_SIGNER_PLUGIN_VERSION" "" \
      github.com/aws/aws-signer-notation-plugin/cmd
    mv "$target/bin/cmd" "$plugdir/notation-$AWS_SIGNER_PLUGIN_NAME"
    echo real >"$target/KIND"
    return
  fi
  [ "$mode" = real ] && die "github.com/aws/aws-signer-notation-plugin@v$AWS_SIGNER_PLUGIN_VERSION is not served by $(go env GOPROXY) (KNA_AWS_SIGNER_PLUGIN=real)"
  say "  the module proxy does not serve github.com/aws/aws-signer-notation-plugin@v$AWS_SIGNER_PLUGIN_VERSION;"
  say "  building the project's stand-in plugin from e2e/signer-plugin (see its README)"
  (cd "$repo/e2e/signer-plugin" &&
    go build -ldflags "-s -w" -o "$plugdir/notation-$AWS_SIGNER_PLUGIN_NAME" .)
  echo stand-in >"$target/KIND"
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
  # of a scratch module its requirements resolve to published versions (real-test-components.md §1.5).
  go_build_scratch "$1" "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" "" go.etcd.io/etcd/server/v3
  # go names the binary after the module path without its major-version suffix: "server".
  mv "$1/bin/server" "$1/bin/etcd"
}

build_kubernetes() {
  need_go
  # k8s.io/kubernetes pins every staging module to v0.0.0 plus a local replace; a scratch module replaces
  # each with its published v0.<minor>.<patch>, and the version ldflags make /version report the real
  # version (Helm checks chart kubeVersion against it). real-test-components.md §1.1-1.4.
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
  # Without these ldflags helm assumes Kubernetes v1.20 for template/lint (real-test-components.md §3).
  local ld="-X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION"
  ld+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$kminor"
  ld+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$kminor"
  go_build_scratch "$target" "helm.sh/helm/v3@v$HELM_VERSION" "$ld" helm.sh/helm/v3/cmd/helm
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

build_one() {
  local name=$1 dir tmp log started peak=""
  dir=$(dir_of "$name")
  if [ -f "$dir/.complete" ]; then
    say "✓ $name $(version_of "$name") (cached)"
    return
  fi
  say "… $name $(version_of "$name"): building into $dir"
  tmp="$dir.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp" "$cache/logs"
  log="$cache/logs/$name.log"
  started=$(date +%s)
  local fn="build_${name//-/_}"
  if [ -x /usr/bin/time ]; then
    if ! /usr/bin/time -f '%M' -o "$tmp.rss" bash -c "set -euo pipefail; source '$here/tools.sh' --functions-only; $fn '$tmp'" >"$log" 2>&1; then
      say "✗ $name failed; last lines of $log:"
      tail -n 30 "$log" >&2
      rm -rf "$tmp" "$tmp.rss"
      exit 1
    fi
    peak=" peak RSS $(($(tail -n1 "$tmp.rss") / 1024)) MiB"
    rm -f "$tmp.rss"
  else
    "$fn" "$tmp" >"$log" 2>&1 || {
      say "✗ $name failed; last lines of $log:"
      tail -n 30 "$log" >&2
      rm -rf "$tmp"
      exit 1
    }
  fi
  # The plugin's directory name depends on which kind was built, so re-resolve it afterwards.
  [ "$name" = aws-signer-plugin ] && [ "$(cat "$tmp/KIND")" = real ] && dir="$cache/aws-signer-plugin-v$AWS_SIGNER_PLUGIN_VERSION"
  touch "$tmp/.complete"
  rm -rf "$dir"
  mv "$tmp" "$dir"
  say "✓ $name $(version_of "$name") built in $(($(date +%s) - started)) s$peak"
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
  flock 9
  local started
  started=$(date +%s)
  for n in "${names[@]}"; do build_one "$n"; done
  say "tools: ready in $(($(date +%s) - started)) s (cache: $cache; 'eval \"\$(pnpm -s tools:env)\"' puts them on PATH)"
}

cmd_env() {
  local path="" n dir
  for n in "${ALL_COMPONENTS[@]}"; do
    dir=$(dir_of "$n")
    if [ -f "$dir/.complete" ]; then
      [ -d "$dir/bin" ] && path="$path$dir/bin:"
    else
      say "tools: $n is not built yet; run 'pnpm tools'"
    fi
  done
  # Opt-in components are on PATH once built, and silent otherwise.
  for n in "${OPTIONAL_COMPONENTS[@]}"; do
    dir=$(dir_of "$n")
    [ -f "$dir/.complete" ] && path="$path$dir/bin:"
  done
  printf 'export KNA_TOOLS_DIR=%q\n' "$cache"
  printf 'export PATH=%q"$PATH"\n' "$path"
  printf 'export NOTATION_LIBEXEC=%q\n' "$(signer_plugin_dir)/libexec"
  printf 'export KNA_AWS_SIGNER_PLUGIN_KIND=%q\n' "$(signer_plugin_kind)"
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
