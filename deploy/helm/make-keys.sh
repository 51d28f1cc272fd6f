#!/bin/sh
# make-keys.sh DIR: the keys every control-plane replica must share, made
# once, for a Secret (see the chart's values.yaml, keys.existingSecret):
#   token.key, audit.key, secrets.key  32 random bytes in hex each
#   node-ca/ca.pem, node-ca/ca-key.pem the node CA (ECDSA P-256, 10 years)
# The same files a server makes in its keys dir on its first start. DIR
# must not exist: keys are never overwritten (a new token key ends every
# access token, a new secrets key loses every team secret).
set -eu
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
dir=$1
[ ! -e "$dir" ] || { echo "$dir exists: keys are never overwritten" >&2; exit 1; }
umask 077
mkdir -p "$dir/node-ca"
for k in token audit secrets; do
	openssl rand -hex 32 >"$dir/$k.key"
done
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/node-ca/ca-key.pem"
openssl req -x509 -new -key "$dir/node-ca/ca-key.pem" -days 3650 -subj "/O=SoulBox/CN=SoulBox node CA" \
	-addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,digitalSignature" \
	-out "$dir/node-ca/ca.pem" 2>/dev/null
chmod 0644 "$dir/node-ca/ca.pem"
echo "keys made in $dir; for the chart:"
echo "  kubectl create secret generic soulbox-keys --from-file=$dir/token.key --from-file=$dir/audit.key \\"
echo "    --from-file=$dir/secrets.key --from-file=$dir/node-ca/ca.pem --from-file=$dir/node-ca/ca-key.pem"
