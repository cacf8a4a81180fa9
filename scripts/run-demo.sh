#!/usr/bin/env bash
# `make run`: serve the embedded default config on https://127.0.0.1:9443 with a
# self-signed certificate, after printing how to try it.
#   scripts/run-demo.sh [BINARY] [extra serve flags...]
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${1:-$repo/build/release/cmd/meshinject}
shift || true
[[ -x $bin ]] || { echo "run-demo.sh: no binary at $bin (make build first)" >&2; exit 1; }

listen=${MESHINJECT_DEMO_LISTEN:-127.0.0.1:9443}
admin=${MESHINJECT_DEMO_ADMIN:-127.0.0.1:15014}
dir=${TMPDIR:-/tmp}/meshinject-demo
mkdir -p "$dir"
ca=$dir/ca.crt
review=$repo/load/reviews/orders-pod.json

cat <<MSG

meshinject serve: https://$listen (self-signed certificate; its CA is written to $ca)
                  admin on http://$admin
                  config: the embedded default, Istio 1.28's shape (docs/default-config.md):
                  istio-proxy as a native sidecar, istiod on istiod.istio-system.svc:15012

Try it from another terminal:

  # an AdmissionReview for a Deployment's pod; the answer carries a base64 JSON Patch
  curl --cacert $ca -H 'Content-Type: application/json' \\
       --data-binary @$review https://$listen/inject

  # the patch itself (needs jq)
  curl -s --cacert $ca -H 'Content-Type: application/json' \\
       --data-binary @$review https://$listen/inject | jq -r .response.patch | base64 -d | jq .

  # a pod that opts out, a v1beta1 review, a Service: allowed, no patch
  for r in opt-out-pod cart-pod-v1beta1 service-create; do
    curl -s --cacert $ca -H 'Content-Type: application/json' --data-binary @$repo/load/reviews/\$r.json https://$listen/inject; echo
  done

Admin:
  curl http://$admin/readyz
  curl http://$admin/metrics
  curl http://$admin/debug/config
  curl -X PUT 'http://$admin/debug/loglevel?level=debug'    # log every decision, without a restart

Stop with Ctrl-C (SIGINT drains for --drain-seconds, 1 s here).

MSG
exec "$bin" serve --listen "$listen" --admin-listen "$admin" --self-signed-ca-out "$ca" \
  --log-format text --drain-seconds 1 "$@"
