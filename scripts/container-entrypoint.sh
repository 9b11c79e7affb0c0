#!/bin/sh
# The image's entrypoint: `verifier [flags]` or `operator [flags]`. Node's heap limit is set from the
# container's memory limit (cgroup v2, else v1), so V8 collects garbage before the kernel kills the container:
# 75% of the limit, leaving the rest for buffers and code. A --max-old-space-size in NODE_OPTIONS wins.
set -eu
command=${1:-}
case "$command" in
  verifier) shift; main=/app/verifier/dist/main.js ;;
  operator) shift; main=/app/operator/dist/main.js ;;
  *) echo "usage: kyverno-notation-aws verifier|operator [flags]  (--help lists the flags)" >&2; exit 2 ;;
esac

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
      heap_mib=$((limit / 1048576 * 3 / 4))
      [ "$heap_mib" -ge 64 ] || heap_mib=64
      export NODE_OPTIONS="${NODE_OPTIONS:-} --max-old-space-size=$heap_mib"
    fi
    ;;
esac
exec node "$main" "$@"
