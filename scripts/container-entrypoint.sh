#!/bin/sh
# The image's entrypoint, and `pnpm verifier:prod` / `pnpm operator:prod` outside it: `verifier [flags]` or
# `operator [flags]`, run as compiled JavaScript (dist/, no TypeScript loader). Node's old-space heap limit
# is set from the memory limit of the cgroup it runs in (v2, else v1), so V8 collects garbage before the
# kernel kills the container: half the limit, leaving the rest for Node outside the heap (code, buffers:
# ~80 MiB) and, for the verifier, the notation and AWS Signer plugin processes, which count against the
# same limit (~10 MiB each, two per run, --maxConcurrentVerifications runs at once; docs/benchmarks.md).
# A --max-old-space-size in NODE_OPTIONS wins. KNA_APP_DIR is the workspace (default /app, the image's).
#
# The verifier's garbage collector is set for memory (docs/benchmarks.md "Production runtime"): semi-spaces
# (the young generation) of at most 4 MiB instead of V8's 16, and an old generation allowed to grow by 30%
# over what survived the last full collection instead of V8's dynamic factor (up to 4x), so the garbage of
# many requests in flight is collected before it piles up. Measured with `pnpm bench -- memory` (verifier
# process alone, median of each run): RSS idle 85-87 -> 78-79 MiB, after 50-connection cached loads 136-150
# -> 92-94 MiB; CPU per cached answer 0-15% more, within the noise of the (loaded) machine it ran on.
# A --max-semi-space-size in NODE_OPTIONS wins; --heap-growing-percent is not allowed there.
set -eu
app=${KNA_APP_DIR:-/app}
command=${1:-}
case "$command" in
  verifier) shift; main=$app/verifier/dist/main.js ;;
  operator) shift; main=$app/operator/dist/main.js ;;
  *) echo "usage: kyverno-notation-aws verifier|operator [flags]  (--help lists the flags)" >&2; exit 2 ;;
esac
# `pnpm verifier:prod -- <flags>` hands the separator through.
if [ "${1:-}" = -- ]; then shift; fi

limit=""
if [ -r /sys/fs/cgroup/memory.max ]; then
  limit=$(cat /sys/fs/cgroup/memory.max)
elif [ -r /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then
  limit=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)
fi
case "${NODE_OPTIONS:-}" in
  *--max-old-space-size*) ;;
  *)
    # "max" (v2) or a huge number (v1) means no limit: leave V8's default.
    if [ -n "$limit" ] && [ "$limit" != max ] && [ "$limit" -lt 1099511627776 ]; then
      heap_mib=$((limit / 1048576 / 2))
      [ "$heap_mib" -ge 64 ] || heap_mib=64
      export NODE_OPTIONS="${NODE_OPTIONS:-} --max-old-space-size=$heap_mib"
    fi
    ;;
esac

gc_flags=""
if [ "$command" = verifier ]; then
  gc_flags="--heap-growing-percent=30"
  case "${NODE_OPTIONS:-}" in
    *--max-semi-space-size*) ;;
    *) gc_flags="--max-semi-space-size=4 $gc_flags" ;;
  esac
fi
# shellcheck disable=SC2086 # gc_flags is a list of flags
exec node $gc_flags "$main" "$@"
