#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests: `initdb` + `pg_ctl` in a temporary
# directory, trust authentication, listening on 127.0.0.1 only.
#
#   eval "$(scripts/pg_cluster.sh start /tmp/rd-pg 55432)"   # exports REPLAYDESK_TEST_PG
#   scripts/pg_cluster.sh stop /tmp/rd-pg
#
# `PG_FSYNC=on` starts it durable (fsync on, as a real server runs), for benchmarks that
# compare its commits with SQLite's `synchronous=FULL`; the default stays off.
#
# `initdb` refuses to run as root: as root (CI, containers) the cluster runs as the
# `postgres` user that Debian's `postgresql` package creates.
set -euo pipefail

cmd=${1:?usage: pg_cluster.sh start|stop DIR [PORT]}
dir=${2:?usage: pg_cluster.sh start|stop DIR [PORT]}
port=${3:-55432}

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    bin=$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")
fi
if [ ! -x "$bin/initdb" ]; then
    echo "pg_cluster.sh: PostgreSQL's initdb not found (apt-get install postgresql)" >&2
    exit 1
fi

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

case "$cmd" in
start)
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    # fsync off by default: a test cluster is thrown away, and the tests measure behaviour,
    # not speed. A benchmark asks for it on (PG_FSYNC=on).
    fsync=${PG_FSYNC:-off}
    case "$fsync" in
    on | off) ;;
    *) echo "pg_cluster.sh: PG_FSYNC must be on or off (is $fsync)" >&2; exit 2 ;;
    esac
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=$fsync -c max_connections=200" start >&2 \
        || { cat "$dir/server.log" >&2; exit 1; }
    echo "export REPLAYDESK_TEST_PG=postgres://postgres@127.0.0.1:$port/postgres"
    ;;
stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: pg_cluster.sh start|stop DIR [PORT]" >&2
    exit 2
    ;;
esac
