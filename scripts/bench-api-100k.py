#!/usr/bin/env python3
"""The admin API's side of the console with 100,000 messages: how long `replaydesk serve`
takes to answer the list requests the console makes (first page, each filter, a deep page,
across classes, the class list), measured over HTTP on loopback with a kept-alive
connection, like a browser's. The browser side (navigation and filter to rows in Chromium)
is ui/e2e/bench-100k.mjs; this tells how much of that budget is the server's.

    python3 scripts/bench-api-100k.py [runs]     (default 15 runs per request, after 2 warm-ups)

Uses the serve binary at $BENCH_BIN, else $CARGO_TARGET_DIR/debug/replaydesk, else
target/debug/replaydesk (build it with `cargo build -p replaydesk`), and the sqlite3 CLI.
Seeding: the classes are created through the HTTP API; their messages are then written
straight into the SQLite file with one INSERT each while serve is stopped (class
bench-100k: 100,000 messages, 98 % sent, 2 % failed, 40 uids, every 7th retried; class
bench-other: 20,000 more, so the cross-class listing has two classes to page through).
"""

import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

TOKEN = "bench-admin-token-0123456789"
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 15
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("BENCH_BIN") or os.path.join(
    os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target"), "debug", "replaydesk"
)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Serve:
    def __init__(self, db, port):
        env = dict(os.environ)
        env.update(
            REPLAYDESK_ADMIN_TOKEN=TOKEN,
            REPLAYDESK_DB=db,
            REPLAYDESK_LISTEN=f"127.0.0.1:{port}",
            REPLAYDESK_UI_DIR=os.path.join(os.path.dirname(db), "no-ui"),
            RUST_LOG="warn",
        )
        self.port = port
        self.proc = subprocess.Popen(
            [BIN, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        # serve prints "console: <url>" once it listens.
        for line in self.proc.stdout:
            if line.startswith("console: "):
                break
        else:
            raise SystemExit("serve exited before listening")
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method, path, body=None):
        headers = {"Authorization": f"Bearer {TOKEN}"}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=data, headers=headers)
        res = self.conn.getresponse()
        raw = res.read()
        if res.status >= 300:
            raise SystemExit(f"{method} {path}: {res.status} {raw[:300]!r}")
        return json.loads(raw) if raw else None

    def stop(self):
        self.conn.close()
        self.proc.terminate()
        self.proc.wait(timeout=60)


def seed(db, class_id, group, n, first_id_offset):
    base = int(time.time() * 1000) - n * 100
    sql = f"""
BEGIN;
WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < {n})
INSERT INTO messages (class_id, group_id, msg_type, uid, seq, random, data, dedup_key, status,
  attempt_count, last_error, im_msg_seq, created_at, updated_at, sent_at)
SELECT '{class_id}', '{group}', 1003, 'stu' || (n % 40), {first_id_offset} + n, n,
  '{{"type":1003,"seq":' || ({first_id_offset} + n) || ',"timestamp":' || (n * 1000) || ',"time_line":' || ({base} + n * 100) || ',"uid":"stu' || (n % 40) || '"}}',
  '{class_id}:' || n,
  CASE WHEN n % 50 = 0 THEN 'failed' ELSE 'sent' END,
  CASE WHEN n % 50 = 0 THEN 3 WHEN n % 7 = 0 THEN 2 ELSE 1 END,
  CASE WHEN n % 50 = 0 THEN 'IM 10010: group not found' ELSE NULL END,
  CASE WHEN n % 50 = 0 THEN NULL ELSE n END,
  {base} + n * 100, {base} + n * 100 + 50,
  CASE WHEN n % 50 = 0 THEN NULL ELSE {base} + n * 100 + 50 END
FROM i;
COMMIT;"""
    subprocess.run(["sqlite3", db], input=sql, text=True, check=True)


def main():
    if not os.path.exists(BIN):
        raise SystemExit(f"{BIN} is missing: build it with `cargo build -p replaydesk`")
    tmp = tempfile.mkdtemp(prefix="replaydesk-apibench-")
    db = os.path.join(tmp, "bench.db")
    port = free_port()
    srv = Serve(db, port)
    for cid in ("bench-100k", "bench-other"):
        srv.call("POST", "/v1/classes", {"class_id": cid, "group_id": f"replay_{cid}", "teacher_uid": "teacher_bench", "create_group": True})
    srv.stop()
    t0 = time.monotonic()
    seed(db, "bench-100k", "replay_bench-100k", 100_000, 1_000_000)
    seed(db, "bench-other", "replay_bench-other", 20_000, 5_000_000)
    print(f"seeded 120,000 messages in {time.monotonic() - t0:.1f} s")
    srv = Serve(db, port)
    try:
        measure(srv)
    finally:
        srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"load average: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")


def measure(srv):
    c = "/v1/admin/classes/bench-100k/messages"
    mid = srv.call("GET", f"{c}?limit=1")["items"][0]["id"] - 50_000
    cases = [
        ("class: first page (200)", f"{c}?limit=200"),
        ("class: next page (1000)", f"{c}?limit=1000&cursor={mid + 50_000 - 200}"),
        ("class: a page deep in (cursor at 50,000)", f"{c}?limit=1000&cursor={mid}"),
        ("class: status=failed", f"{c}?limit=200&status=failed"),
        ("class: status=failed,retrying,pending", f"{c}?limit=200&status=failed,retrying,pending"),
        ("class: uid=stu7", f"{c}?limit=200&uid=stu7"),
        ("class: type=timeline", f"{c}?limit=200&type=timeline"),
        ("class: retried=true", f"{c}?limit=200&retried=true"),
        ("class: time range (10 min)", f"{c}?limit=200&from={int(time.time() * 1000) - 6_000_000}&to={int(time.time() * 1000) - 5_400_000}"),
        ("class: q= common text", f"{c}?limit=200&q=" + urllib.parse.quote('"uid":"stu7"')),
        ("class: q= text in no message (scans all)", f"{c}?limit=200&q=nowhere"),
        ("all classes: first page", "/v1/admin/messages?limit=200"),
        ("all classes: status=failed", "/v1/admin/messages?limit=200&status=failed"),
        ("class list with counts", "/v1/admin/classes"),
        ("one class with counts", "/v1/admin/classes/bench-100k"),
    ]
    print(f"{RUNS} runs each after 2 warm-ups; debug or release as built ({BIN})")
    print(f"| request | rows | median | p90 | max |")
    print(f"|---|---:|---:|---:|---:|")
    for name, path in cases:
        times = []
        rows = 0
        for r in range(RUNS + 2):
            t = time.perf_counter()
            v = srv.call("GET", path)
            dt = (time.perf_counter() - t) * 1000
            rows = len(v["items"]) if isinstance(v, dict) and "items" in v else (len(v) if isinstance(v, list) else 1)
            if r >= 2:
                times.append(dt)
        times.sort()
        p90 = times[min(len(times) - 1, int(len(times) * 0.9))]
        print(f"| {name} | {rows} | {statistics.median(times):.1f} ms | {p90:.1f} ms | {times[-1]:.1f} ms |", flush=True)


if __name__ == "__main__":
    main()
