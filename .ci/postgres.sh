#!/usr/bin/env bash
# Start the machine's PostgreSQL (Debian's PostgreSQL 15 cluster) and give the tests a role
# and a database of their own, for the test of a PostgreSQL-catalog lake
# (tests/storage/test_postgres_catalog.py). Safe to run again. Needs root (pg_ctlcluster,
# su postgres); without PostgreSQL installed it says so and exits 0, and that test skips.
set -euo pipefail
ROLE=monitor_test
DB=monitor_test
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "postgres.sh: no PostgreSQL on this machine (pg_ctlcluster not found): the PostgreSQL-catalog test will skip"
    exit 0
fi
VERSION=$(pg_lsclusters --no-header | awk 'NR==1 {print $1}')
CLUSTER=$(pg_lsclusters --no-header | awk 'NR==1 {print $2}')
if [ -z "$VERSION" ]; then
    echo "postgres.sh: PostgreSQL is installed but has no cluster: the PostgreSQL-catalog test will skip"
    exit 0
fi
pg_ctlcluster "$VERSION" "$CLUSTER" start 2>/dev/null || true  # already running is fine
psql_as_postgres() { su postgres -c "psql -v ON_ERROR_STOP=1 -tAc \"$1\""; }
for _ in $(seq 1 30); do psql_as_postgres "SELECT 1" >/dev/null 2>&1 && break; sleep 1; done
if [ "$(psql_as_postgres "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" != "1" ]; then
    psql_as_postgres "CREATE ROLE $ROLE LOGIN PASSWORD '$ROLE'"
fi
if [ "$(psql_as_postgres "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != "1" ]; then
    psql_as_postgres "CREATE DATABASE $DB OWNER $ROLE"
fi
echo "postgres.sh: PostgreSQL $VERSION/$CLUSTER is up; role and database $DB on 127.0.0.1:5432"
