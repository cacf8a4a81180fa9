#!/usr/bin/env bash
# Makes the webhook's TLS material for deploy/overlays/self-signed, with the openssl CLI:
# a private CA, a serving certificate whose SANs are the Service's DNS names, the
# kubernetes.io/tls Secret manifest, and a JSON patch that sets the webhook's caBundle.
#
#   deploy/gen-certs.sh [options] [OUTDIR]
#
# OUTDIR defaults to deploy/overlays/self-signed/certs, where the overlay looks.
# It writes (keys are created with mode 0600 in a 0700 directory):
#   ca.key ca.crt            the CA (kept across runs)
#   ca-previous.crt          the CA before the last --rotate-ca, still trusted until it expires
#   tls.key tls.crt          the serving key and certificate, signed by the CA
#   secret.yaml              Secret <secret> in <namespace>: tls.crt, tls.key, ca.crt
#   cabundle-patch.yaml      JSON patch: /webhooks/0/clientConfig/caBundle = the CA bundle
#
# Idempotent: a second run with the same options changes nothing. The CA is kept
# unless it is missing, does not match its key, expires within --renew-days, or
# --rotate-ca is given (then the old CA stays in the bundle until it expires, so the
# apiserver trusts both while the replicas reload). The serving certificate is kept
# unless it is missing, does not match its key, was not signed by the current CA, has
# other SANs than asked for, expires within --renew-days, or --renew is given.
#
# Options:
#   -n, --namespace NS       the webhook's namespace        (default meshinject-system)
#   -s, --service NAME       the webhook's Service          (default meshinject)
#       --secret NAME        the Secret to write            (default meshinject-tls)
#       --cluster-domain D   the cluster's DNS domain       (default cluster.local)
#       --days N             serving certificate lifetime   (default 365)
#       --ca-days N          CA lifetime                    (default 3650)
#       --renew-days N       replace what expires sooner    (default 30)
#       --renew              issue a new serving key and certificate now
#       --rotate-ca          make a new CA now (and a new serving certificate)
#   -h, --help
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
namespace=meshinject-system
service=meshinject
secret=meshinject-tls
domain=cluster.local
days=365
ca_days=3650
renew_days=30
renew=0
rotate_ca=0
outdir=""

die() { echo "gen-certs.sh: $*" >&2; exit 1; }
say() { echo "gen-certs.sh: $*"; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    -n|--namespace) namespace=${2:?}; shift 2 ;;
    -s|--service) service=${2:?}; shift 2 ;;
    --secret) secret=${2:?}; shift 2 ;;
    --cluster-domain) domain=${2:?}; shift 2 ;;
    --days) days=${2:?}; shift 2 ;;
    --ca-days) ca_days=${2:?}; shift 2 ;;
    --renew-days) renew_days=${2:?}; shift 2 ;;
    --renew) renew=1; shift ;;
    --rotate-ca) rotate_ca=1; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [[ -z "$outdir" ]] || die "only one OUTDIR, got '$outdir' and '$1'"; outdir=$1; shift ;;
  esac
done
outdir=${outdir:-$here/overlays/self-signed/certs}
for n in "$days" "$ca_days" "$renew_days"; do
  [[ "$n" =~ ^[0-9]+$ ]] || die "not a number of days: $n"
done
(( days > renew_days )) || die "--days ($days) must be more than --renew-days ($renew_days)"
(( ca_days > days )) || die "--ca-days ($ca_days) must be more than --days ($days)"
command -v openssl >/dev/null || die "needs the openssl CLI (Debian: apt-get install openssl)"

umask 077
mkdir -p "$outdir"
chmod 700 "$outdir"
cd "$outdir"
work=$(mktemp -d "${TMPDIR:-/tmp}/gen-certs.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The names the apiserver (and anyone else in the cluster) may use for the Service.
sans=("$service" "$service.$namespace" "$service.$namespace.svc" "$service.$namespace.svc.$domain")
renew_seconds=$(( renew_days * 86400 ))

new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
pub_of_cert() { openssl x509 -noout -pubkey -in "$1" 2>/dev/null; }
pub_of_key() { openssl pkey -pubout -in "$1" 2>/dev/null; }
matches_key() { [[ -s "$1" && -s "$2" ]] && [[ "$(pub_of_cert "$1")" == "$(pub_of_key "$2")" ]] && [[ -n "$(pub_of_key "$2")" ]]; }
valid_for() { openssl x509 -noout -checkend "$2" -in "$1" >/dev/null 2>&1; }
not_after() { openssl x509 -noout -enddate -in "$1" | sed 's/^notAfter=//'; }
# The DNS SANs of a certificate, sorted, one per line.
dns_sans() {
  openssl x509 -noout -ext subjectAltName -in "$1" 2>/dev/null |
    tr ',' '\n' | sed -n 's/^[[:space:]]*DNS:\(.*\)$/\1/p' | sort
}
# Writes $2 from the file $1 unless it is already identical; says which.
install_file() {
  if [[ -f "$2" ]] && cmp -s "$1" "$2"; then
    say "unchanged $outdir/$2"
  else
    cp "$1" "$2"
    say "wrote     $outdir/$2"
  fi
}

# --- the CA -----------------------------------------------------------------------
ca_reason=""
if [[ ! -s ca.key || ! -s ca.crt ]]; then
  ca_reason="no CA yet"
elif ! matches_key ca.crt ca.key; then
  ca_reason="ca.crt does not match ca.key"
elif ! valid_for ca.crt $(( (days + renew_days) * 86400 )); then
  ca_reason="the CA expires before a new serving certificate would ($(not_after ca.crt))"
elif (( rotate_ca )); then
  ca_reason="--rotate-ca"
fi
if [[ -n "$ca_reason" ]]; then
  if [[ -s ca.crt ]] && valid_for ca.crt 0; then
    cp ca.crt ca-previous.crt
    say "kept the old CA in ca-previous.crt (trusted until $(not_after ca-previous.crt))"
  fi
  cat > "$work/ca.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = meshinject-ca $(date -u +%Y%m%dT%H%M%SZ)
[v3_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
  new_key "$work/ca.key"
  openssl req -x509 -new -sha256 -config "$work/ca.cnf" -extensions v3_ca \
    -key "$work/ca.key" -days "$ca_days" -out "$work/ca.crt" 2>/dev/null ||
    die "openssl could not make the CA"
  cp "$work/ca.key" ca.key
  cp "$work/ca.crt" ca.crt
  say "made a new CA ($ca_reason): $outdir/ca.crt, valid until $(not_after ca.crt)"
  renew=1
else
  say "kept the CA $outdir/ca.crt (valid until $(not_after ca.crt))"
fi
# Drop a previous CA once it has expired.
if [[ -f ca-previous.crt ]] && ! valid_for ca-previous.crt 0; then
  rm -f ca-previous.crt
  say "removed ca-previous.crt (expired)"
fi

# --- the serving certificate ---------------------------------------------------------
tls_reason=""
want_sans=$(printf '%s\n' "${sans[@]}" | sort)
if [[ ! -s tls.key || ! -s tls.crt ]]; then
  tls_reason="no serving certificate yet"
elif ! matches_key tls.crt tls.key; then
  tls_reason="tls.crt does not match tls.key"
elif ! openssl verify -purpose sslserver -CAfile ca.crt tls.crt >/dev/null 2>&1; then
  tls_reason="tls.crt was not signed by the current CA"
elif [[ "$(dns_sans tls.crt)" != "$want_sans" ]]; then
  tls_reason="its SANs are not $(echo "${sans[@]}")"
elif ! valid_for tls.crt "$renew_seconds"; then
  tls_reason="it expires within $renew_days days ($(not_after tls.crt))"
elif (( renew )); then
  tls_reason="--renew"
fi
if [[ -n "$tls_reason" ]]; then
  san_list=$(printf 'DNS:%s,' "${sans[@]}")
  cat > "$work/tls.ext" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = ${san_list%,}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
  new_key "$work/tls.key"
  openssl req -new -sha256 -key "$work/tls.key" -subj "/CN=$service.$namespace.svc" \
    -out "$work/tls.csr" 2>/dev/null || die "openssl could not make the CSR"
  openssl x509 -req -sha256 -in "$work/tls.csr" -CA ca.crt -CAkey ca.key \
    -set_serial "0x$(openssl rand -hex 16)" -days "$days" -extfile "$work/tls.ext" \
    -out "$work/tls.crt" 2>/dev/null || die "openssl could not sign the serving certificate"
  openssl verify -purpose sslserver -CAfile ca.crt "$work/tls.crt" >/dev/null ||
    die "the new serving certificate does not verify against ca.crt"
  cp "$work/tls.key" tls.key
  cp "$work/tls.crt" tls.crt
  say "issued a serving certificate ($tls_reason): $outdir/tls.crt, valid until $(not_after tls.crt)"
else
  say "kept the serving certificate $outdir/tls.crt (valid until $(not_after tls.crt))"
fi
say "  SANs: $(dns_sans tls.crt | paste -sd' ' -)"

# --- the manifests ---------------------------------------------------------------------
# The bundle the apiserver trusts: the current CA, then the previous one while it lives.
cat ca.crt > "$work/bundle.pem"
[[ -f ca-previous.crt ]] && cat ca-previous.crt >> "$work/bundle.pem"
b64() { openssl base64 -A -in "$1"; }
bundle_b64=$(b64 "$work/bundle.pem")

cat > "$work/secret.yaml" <<EOF
# Written by deploy/gen-certs.sh; holds a private key: do not commit.
apiVersion: v1
kind: Secret
metadata:
  name: $secret
  namespace: $namespace
  labels:
    app.kubernetes.io/name: meshinject
type: kubernetes.io/tls
data:
  tls.crt: $(b64 tls.crt)
  tls.key: $(b64 tls.key)
  ca.crt: $bundle_b64
EOF
cat > "$work/cabundle-patch.yaml" <<EOF
# Written by deploy/gen-certs.sh: the CA bundle the apiserver uses to verify meshinject.
- op: add
  path: /webhooks/0/clientConfig/caBundle
  value: $bundle_b64
EOF
install_file "$work/secret.yaml" secret.yaml
install_file "$work/cabundle-patch.yaml" cabundle-patch.yaml
if [[ "$(pwd -P)" == "$(cd "$here/overlays/self-signed" 2>/dev/null && pwd -P)/certs" ]]; then
  say "done; next: kubectl apply -k $here/overlays/self-signed"
else
  say "done; the overlay reads $here/overlays/self-signed/certs: copy these files there, or point a copy of the overlay here"
fi
