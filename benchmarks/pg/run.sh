#!/usr/bin/env bash
# Single-row INSERTs per second: the sample through the PostgreSQL protocol (pgbench with the simple and the extended
# query protocol; Npgsql 10, unprepared and prepared, with a bound parameter) and through POST /sql (keep-alive HTTP),
# over 1 and 8 connections; then the same pgbench and Npgsql runs against a real PostgreSQL 15 (initdb in a temp dir,
# its own port, stopped by PID) as the anchor, with fsync per commit and then with synchronous_commit off. Needs a
# Debug build of the solution; builds the Npgsql client.
# Usage: benchmarks/pg/run.sh [transactions-per-client]
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-2000}
pgbin=/usr/lib/postgresql/15/bin
http_port=18181 pg_port=15433 real_port=15434
dll=samples/HeliosNano.Realtime.Sample/bin/Debug/net10.0/HeliosNano.Realtime.Sample.dll
dir=$(mktemp -d)
cleanup() {
  [ -n "${sample_pid:-}" ] && kill "$sample_pid" 2>/dev/null || true
  [ -f "$dir/data/postmaster.pid" ] && kill "$(head -1 "$dir/data/postmaster.pid")" 2>/dev/null || true
}
trap cleanup EXIT
dotnet build -c Release benchmarks/pg/npgsql_inserts.cs > "$dir/npgsql-build.log"
npgsql() { for mode in unprepared prepared; do for c in 1 8; do
  dotnet run -c Release --no-build benchmarks/pg/npgsql_inserts.cs -- 127.0.0.1 "$1" "$c" "$n" "$mode"; done; done; }
pgbench_runs() { for mode in simple extended; do for c in 1 8; do
  pgbench -n -M "$mode" -f benchmarks/pg/insert.sql -c "$c" -j "$((c > 2 ? 2 : c))" -t "$n" -h 127.0.0.1 -p "$1" -U postgres postgres 2>&1 \
    | grep -E "^tps" | sed "s/^/clients=$c  pgbench -M $mode  /"; done; done; }

dotnet "$dll" --urls "http://127.0.0.1:$http_port" --pg-port "$pg_port" --Logging:LogLevel:Default Warning > "$dir/sample.log" 2>&1 &
sample_pid=$!
for _ in $(seq 50); do pg_isready -q -h 127.0.0.1 -p "$pg_port" && break; sleep 0.2; done
psql -q "postgresql://postgres@127.0.0.1:$pg_port/postgres" -c "CREATE TABLE bench (id INTEGER PRIMARY KEY, v TEXT)"

echo "== sample, PostgreSQL protocol"
pgbench_runs "$pg_port"
npgsql "$pg_port"
echo "== sample, POST /sql"
for c in 1 8; do python3 benchmarks/pg/http_inserts.py 127.0.0.1 "$http_port" "$c" "$n"; done
kill "$sample_pid"; sample_pid=

echo "== PostgreSQL 15 (fsync on, default settings)"
as_pg=()
if [ "$(id -u)" = 0 ]; then chown -R postgres "$dir"; as_pg=(runuser -u postgres --); fi
"${as_pg[@]}" "$pgbin/initdb" -D "$dir/data" -U postgres -A trust > "$dir/initdb.log"
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$dir/data" -o "-p $real_port -k $dir -c listen_addresses=127.0.0.1" -l "$dir/pg.log" -w start > /dev/null
psql -q -h 127.0.0.1 -p "$real_port" -U postgres -c "CREATE TABLE bench (id SERIAL PRIMARY KEY, v TEXT)" postgres
pgbench_runs "$real_port"
npgsql "$real_port"

# The sample's database is in memory: without the WAL flush per commit, PostgreSQL's figures show its protocol and
# executor cost rather than this shared machine's disk.
echo "== PostgreSQL 15 (synchronous_commit off)"
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$dir/data" -o "-p $real_port -k $dir -c listen_addresses=127.0.0.1 -c synchronous_commit=off" -l "$dir/pg.log" -w restart > /dev/null
pgbench_runs "$real_port"
npgsql "$real_port"
