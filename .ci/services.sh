#!/usr/bin/env bash
# Install (from Debian's packages) and start PostgreSQL and Redis on 127.0.0.1 for the tests,
# then write their URLs to .ci/services.env. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || ! command -v redis-server >/dev/null; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql redis-server >/dev/null
fi

version=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
if ! pg_lsclusters -h | grep -q "^$version main"; then
  as_root pg_createcluster "$version" main >/dev/null
fi
as_root pg_ctlcluster "$version" main start 2>/dev/null || true
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 && break
  sleep 1
done
as_root su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='civicbot'\"" | grep -q 1 ||
  as_root su postgres -c "psql -qc \"CREATE ROLE civicbot LOGIN SUPERUSER PASSWORD 'civicbot'\""
as_root su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='civicbot_test'\"" | grep -q 1 ||
  as_root su postgres -c "createdb -O civicbot civicbot_test"

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no --daemonize yes >/dev/null
fi
for _ in $(seq 1 30); do
  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break
  sleep 0.5
done

cat > .ci/services.env <<ENV
export POSTGRES_TEST_URL=postgresql+asyncpg://civicbot:civicbot@127.0.0.1:5432/civicbot_test
export REDIS_TEST_URL=redis://127.0.0.1:6379/15
ENV
echo "services: PostgreSQL $version and Redis are running"
