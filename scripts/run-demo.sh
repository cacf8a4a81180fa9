#!/usr/bin/env bash
set -euo pipefail
bin=${1:-build/release/cmd/meshinject}
exec "$bin" serve --listen 127.0.0.1:9443
