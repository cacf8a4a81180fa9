#!/usr/bin/env bash
# Type-checks the k6 scenarios (load/k6/*.ts) against the pinned @types/k6.
# Installs the two pinned devDependencies with `npm ci` only when load/node_modules is
# missing or was installed from a different package-lock.json; then runs tsc.
# Exit status: 0 when the scripts type-check, non-zero on any type error.
#
#   load/typecheck.sh        (from anywhere; `make test` runs it)
set -euo pipefail

load_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$load_dir"

for tool in node npm npx; do
  command -v "$tool" >/dev/null || { echo "typecheck.sh: $tool not found (Debian: apt-get install nodejs npm)" >&2; exit 1; }
done

# The stamp records the lock file that node_modules was installed from.
stamp=node_modules/.meshinject-lock.sha256
want=$(sha256sum package-lock.json package.json | sha256sum | cut -d' ' -f1)
have=$(cat "$stamp" 2>/dev/null || true)
if [[ ! -x node_modules/.bin/tsc || ! -d node_modules/@types/k6 || "$want" != "$have" ]]; then
  echo "typecheck.sh: npm ci (node_modules missing or stale)" >&2
  npm ci --no-audit --no-fund
  echo "$want" >"$stamp"
fi

# --no: never fetch a package named tsc from the registry; use the pinned one.
npx --no -- tsc --version
npx --no -- tsc --noEmit -p tsconfig.json
echo "typecheck.sh: k6 scenarios type-check"
