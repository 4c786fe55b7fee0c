#!/usr/bin/env python3
"""How long another class's report waits while one credential floods its own class
(issue 27, hole 2): a real `replaydesk serve` delivering to a real `replaydesk
im-emulator` at the IM service's limits (200 requests/s, 40 messages/s per group).

One teacher credential sends FLOOD timeline reports to its class as fast as THREADS
connections allow; then a member of another class reports once, and the time from that
report's 202 until its 1003 is `sent` is measured (polled every 50 ms), with how many of
the flood's messages were still unsent then.

    scripts/bench-flood-fairness.py BIN [--flood N] [--threads T] [--limits default|off]

`--limits off` sets limits.reports_per_credential and limits.reports_per_class to 0 (a
build without them ignores the variables), so the flood is taken whole and only the
claiming decides the wait. Prints one JSON line.
"""

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ADMIN = "bench-admin-token-0123456789"
KEY = "0f3c8e1d5b7a92c4e6f8a0b2c4d6e8f0a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d1"
SDKAPPID = "1400000001"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(port, method, path, body=None, token=ADMIN, conn=None):
    own = conn is None
    if own:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    res = conn.getresponse()
    data = res.read()
    if own:
        conn.close()
    try:
        return res.status, json.loads(data or b"null")
    except ValueError:
        return res.status, data.decode(errors="replace")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("--flood", type=int, default=6000)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--limits", choices=["default", "off"], default="default")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="rd-flood-")
    im_port, port = free_port(), free_port()
    procs = []
    try:
        env = dict(os.environ, REPLAYDESK_IM_SECRET_KEY=KEY, RUST_LOG="warn")
        procs.append(subprocess.Popen(
            [args.bin, "im-emulator", "--listen", f"127.0.0.1:{im_port}", "--sdkappid", SDKAPPID],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        env.update(
            REPLAYDESK_LISTEN=f"127.0.0.1:{port}",
            REPLAYDESK_DB=os.path.join(work, "rd.db"),
            REPLAYDESK_ADMIN_TOKEN=ADMIN,
            REPLAYDESK_IM_ENDPOINT=f"http://127.0.0.1:{im_port}",
            REPLAYDESK_IM_SDKAPPID=SDKAPPID,
            REPLAYDESK_UI_DIR=os.path.join(work, "no-ui"),
        )
        if args.limits == "off":
            env.update(REPLAYDESK_LIMITS_REPORTS_PER_CREDENTIAL="0", REPLAYDESK_LIMITS_REPORTS_PER_CLASS="0")
        procs.append(subprocess.Popen([args.bin, "serve"], env=env, stdout=subprocess.DEVNULL,
                                      stderr=open(os.path.join(work, "serve.log"), "w")))
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except Exception:
                time.sleep(0.1)
        creds = {}
        for cls in ("flood", "quiet"):
            st, v = call(port, "POST", "/v1/classes",
                         {"class_id": cls, "group_id": f"replay_{cls}", "teacher_uid": "teacher", "create_group": True})
            assert st == 201, (st, v)
            creds[cls] = v["teacher_credential"]

        statuses = {}
        lock = threading.Lock()

        def flooder(n, base):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            local = {}
            for i in range(n):
                try:
                    st, _ = call(port, "POST", "/v1/classes/flood/timeline",
                                 {"uid": "teacher", "timestamp": base + i}, creds["flood"], conn)
                except Exception:
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    st = "error"
                local[st] = local.get(st, 0) + 1
            with lock:
                for k, c in local.items():
                    statuses[k] = statuses.get(k, 0) + c

        t0 = time.monotonic()
        per = args.flood // args.threads
        threads = [threading.Thread(target=flooder, args=(per, 1_000_000 * (k + 1))) for k in range(args.threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        flood_s = time.monotonic() - t0

        st, v = call(port, "POST", "/v1/classes/quiet/timeline", {"uid": "teacher", "timestamp": 1}, creds["quiet"])
        assert st == 202, (st, v)
        asked = time.monotonic()
        mid = v["message_id"]
        waited = None
        while time.monotonic() - asked < 900:
            _, m = call(port, "GET", f"/v1/admin/messages/{mid}")
            if m["message"]["status"] == "sent":
                waited = time.monotonic() - asked
                break
            time.sleep(0.05)
        _, cls = call(port, "GET", "/v1/admin/classes/flood")
        counts = cls["counts"]
        print(json.dumps({
            "limits": args.limits,
            "flood_sent": args.flood,
            "flood_seconds": round(flood_s, 1),
            "flood_answers": {str(k): c for k, c in sorted(statuses.items(), key=str)},
            "other_class_wait_s": None if waited is None else round(waited, 2),
            "flood_unsent_then": counts["total"] - counts["sent"],
        }))
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    sys.exit(main())
