#!/bin/sh
# Entry point behind `npm test` / `npm run demo` and bin/kna on a machine that has only Node.js and npm:
# make sure pnpm (the version pinned in package.json's packageManager) and the workspace's
# dependencies are installed, then hand the arguments to pnpm.
#
# pnpm is installed with npm into a private prefix under the user's cache directory rather than
# through corepack: the corepack that ships with Node 20 cannot verify the signatures of current
# pnpm releases ("No compatible signature found in package metadata"), and a private prefix needs
# neither root nor changes to the global npm installation.
set -eu
cd "$(dirname "$0")/.."

want=$(node -p "require('./package.json').packageManager.split('@')[1]")
if [ "$(pnpm --version 2>/dev/null || true)" != "$want" ]; then
  prefix="${XDG_CACHE_HOME:-$HOME/.cache}/kyverno-notation-aws/pnpm-$want"
  if [ ! -x "$prefix/node_modules/.bin/pnpm" ]; then
    echo "bootstrap: installing pnpm $want into $prefix" >&2
    npm install --prefix "$prefix" --no-fund --no-audit --no-save --loglevel=error "pnpm@$want" >&2
  fi
  PATH="$prefix/node_modules/.bin:$PATH"
  export PATH
fi

# A few seconds when node_modules is current; installs everything on a fresh clone.
pnpm install --frozen-lockfile --prefer-offline --reporter=silent >&2
# bin/kna asks where pnpm is, to put it on the user's PATH.
if [ "${1:-}" = --print-bin-dir ]; then
  dirname "$(command -v pnpm)"
  exit 0
fi
exec pnpm "$@"
