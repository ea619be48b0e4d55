# Starts a throwaway PostgreSQL cluster for the tests; meant to be sourced
# (`. scripts/postgres-for-tests.sh`) by scripts/test.sh or by hand.
#
# Installs Debian's `postgresql` when no initdb/pg_ctl is found, creates a
# cluster in a temporary folder (C locale, UTF-8, password authentication
# with a random password) listening on a free loopback port, and exports:
#
#   HELPDESK_SLO_TEST_POSTGRES           postgres://slo_test@127.0.0.1:PORT/postgres?password_env=...
#   HELPDESK_SLO_TEST_POSTGRES_PASSWORD  the cluster's password
#   HELPDESK_SLO_TEST_POSTGRES_CA        the certificate authority of the
#                                        cluster's TLS certificate (PEM)
#
# The cluster accepts TLS (and plain) connections, with a certificate for
# localhost and 127.0.0.1 signed by a throwaway authority that `openssl`
# (installed when missing) makes here.
# The server refuses to run as root: as root, the cluster belongs to the
# `postgres` user (created by Debian's package) and runs under `runuser`.
# `pg_test_cluster_stop` stops it and removes the folder; the caller's EXIT
# trap calls it.

pg_find_bin() {
  local d
  for d in "$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/x)")" /usr/lib/postgresql/*/bin; do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
      echo "$d"
      return 0
    fi
  done
  return 1
}

pg_bin=$(pg_find_bin || true)
if [ -z "$pg_bin" ]; then
  echo "installing postgresql (Debian package) for the PostgreSQL store tests"
  pg_sudo=""
  [ "$(id -u)" -eq 0 ] || pg_sudo="sudo"
  $pg_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $pg_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql
  pg_bin=$(pg_find_bin || true)
  if [ -z "$pg_bin" ]; then
    echo "error: no initdb/pg_ctl found after installing postgresql; the PostgreSQL store tests cannot run" >&2
    exit 1
  fi
fi

pg_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_dir=$(mktemp -d)
chmod 700 "$pg_dir"
if [ "$(id -u)" -eq 0 ]; then
  if ! id postgres >/dev/null 2>&1; then
    echo "error: running as root, and there is no 'postgres' user to run the test cluster as" >&2
    echo "       (PostgreSQL refuses to run as root; install Debian's postgresql, which creates it)" >&2
    exit 1
  fi
  chown postgres "$pg_dir"
fi

# A free loopback port: the first from 54329 up that nothing answers on.
pg_port=54329
while (exec 3<>"/dev/tcp/127.0.0.1/$pg_port") 2>/dev/null; do
  pg_port=$((pg_port + 1))
done

# TLS: a throwaway certificate authority and the server's certificate.
if ! command -v openssl >/dev/null 2>&1; then
  echo "installing openssl (Debian package) for the PostgreSQL TLS tests"
  pg_sudo=""
  [ "$(id -u)" -eq 0 ] || pg_sudo="sudo"
  $pg_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends openssl
fi
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >"$pg_dir/server.ext"
{
  openssl req -x509 -newkey rsa:2048 -nodes -days 3 -subj "/CN=helpdesk-slo test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$pg_dir/ca.key" -out "$pg_dir/ca.pem" &&
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
      -keyout "$pg_dir/server.key" -out "$pg_dir/server.csr" &&
    openssl x509 -req -in "$pg_dir/server.csr" -CA "$pg_dir/ca.pem" -CAkey "$pg_dir/ca.key" \
      -CAcreateserial -days 3 -extfile "$pg_dir/server.ext" -out "$pg_dir/server.pem"
} >"$pg_dir/openssl.log" 2>&1 || {
  cat "$pg_dir/openssl.log" >&2
  echo "error: could not make the test cluster's TLS certificate" >&2
  exit 1
}
chmod 600 "$pg_dir/server.key"
chmod 644 "$pg_dir/ca.pem"
[ "$(id -u)" -eq 0 ] && chown postgres "$pg_dir/server.key" "$pg_dir/server.pem"

pg_password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$pg_password" >"$pg_dir/pwfile"
[ "$(id -u)" -eq 0 ] && chown postgres "$pg_dir/pwfile"
pg_as_owner "$pg_bin/initdb" -D "$pg_dir/data" -U slo_test --pwfile="$pg_dir/pwfile" \
  -A scram-sha-256 --locale=C -E UTF8 >"$pg_dir/initdb.log" 2>&1 || {
  cat "$pg_dir/initdb.log" >&2
  echo "error: initdb failed; the PostgreSQL store tests cannot run" >&2
  exit 1
}
rm -f "$pg_dir/pwfile"
# Durability off: the cluster is thrown away (the tests check the store's
# transactions, not the disk's).
pg_as_owner "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 60 \
  -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c ssl=on -c ssl_cert_file=$pg_dir/server.pem -c ssl_key_file=$pg_dir/server.key" \
  start >/dev/null || {
  cat "$pg_dir/server.log" >&2
  echo "error: the test PostgreSQL cluster did not start" >&2
  exit 1
}

pg_test_cluster_stop() {
  if [ -n "${pg_dir:-}" ] && [ -d "$pg_dir/data" ]; then
    pg_as_owner "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  [ -n "${pg_dir:-}" ] && rm -rf "$pg_dir"
}

export HELPDESK_SLO_TEST_POSTGRES_PASSWORD="$pg_password"
export HELPDESK_SLO_TEST_POSTGRES_CA="$pg_dir/ca.pem"
export HELPDESK_SLO_TEST_POSTGRES="postgres://slo_test@127.0.0.1:$pg_port/postgres?password_env=HELPDESK_SLO_TEST_POSTGRES_PASSWORD"
echo "test PostgreSQL cluster on 127.0.0.1:$pg_port ($("$pg_bin/pg_ctl" --version))"
