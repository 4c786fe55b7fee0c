#!/usr/bin/env node
// The console with a class of 100,000 messages, in Debian's Chromium against a real
// `replaydesk serve` (debug or release build, whichever CARGO_TARGET_DIR/BENCH_BIN points at):
//   - navigation to first rows: from navigation start to the first message row in the DOM
//     (performance.now() in the page, recorded by a MutationObserver installed before load);
//   - filter change to rows: from the click on the "failed" status box to the rows showing
//     only failed messages.
//
//   node ui/e2e/bench-100k.mjs [runs]       (default 7 runs; prints median and max)
//
// Seeding: the class is created through the HTTP API; its 100,000 messages are then written
// straight into the SQLite file with one INSERT (sqlite3 CLI) while serve is stopped (98 %
// sent, 2 % failed, 40 uids), and serve is started again on that file.

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ADMIN_TOKEN, CHROMIUM, launch, startServer } from "./console.mjs";
import { SERVER_BIN, UI_DIST, requireFile } from "./lib.mjs";
import { api, createClass } from "./seed.mjs";

const N = 100_000;
const CLASS = "bench-100k";
const RUNS = Number(process.argv[2] ?? 7);

function seedSql(db) {
  const base = Date.now() - N * 100;
  const sql = `
BEGIN;
WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < ${N})
INSERT INTO messages (class_id, group_id, msg_type, uid, seq, random, data, dedup_key, status,
  attempt_count, last_error, im_msg_seq, created_at, updated_at, sent_at)
SELECT '${CLASS}', 'replay_bench', 1003, 'stu' || (n % 40), 1000000 + n, n,
  '{"type":1003,"seq":' || (1000000 + n) || ',"timestamp":' || (n * 1000) || ',"time_line":' || (${base} + n * 100) || ',"uid":"stu' || (n % 40) || '"}',
  'bench:' || n,
  CASE WHEN n % 50 = 0 THEN 'failed' ELSE 'sent' END,
  CASE WHEN n % 50 = 0 THEN 3 ELSE 1 END,
  CASE WHEN n % 50 = 0 THEN 'IM 10010: group not found' ELSE NULL END,
  CASE WHEN n % 50 = 0 THEN NULL ELSE n END,
  ${base} + n * 100, ${base} + n * 100 + 50,
  CASE WHEN n % 50 = 0 THEN NULL ELSE ${base} + n * 100 + 50 END
FROM i;
COMMIT;`;
  execFileSync("sqlite3", [db], { input: sql });
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], max: s[s.length - 1], min: s[0] };
}

const fmt = (x) => `${x.toFixed(0)} ms`;

async function main() {
  requireFile(SERVER_BIN, "build it with: cargo build -p replaydesk");
  requireFile(path.join(UI_DIST, "index.html"), "build the console with: npm --prefix ui run build");
  requireFile(CHROMIUM, "install Debian's chromium");
  const dir = mkdtempSync(path.join(os.tmpdir(), "replaydesk-bench-"));
  const stops = [];
  try {
    // The same port for both runs of serve, so the same --db path is used.
    let srv = await startServer(dir);
    await createClass(srv.url, ADMIN_TOKEN, { classId: CLASS, groupId: "replay_bench", teacher: "teacher_bench" });
    await srv.stopCleanly();
    const db = path.join(dir, `serve-${new URL(srv.url).port}.db`);
    const t0 = Date.now();
    seedSql(db);
    console.log(`seeded ${N} messages in ${Date.now() - t0} ms (${db})`);
    srv = await startServer(dir, {}, db);
    stops.push(() => srv.server.stop());
    const cls = await api(srv.url, "GET", `/v1/admin/classes/${CLASS}`, { token: ADMIN_TOKEN });
    if (cls.counts.total !== N) throw new Error(`the class has ${cls.counts.total} messages`);

    const browser = await launch();
    stops.push(() => browser.close());
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.addInitScript(() => {
      // Time from navigation start to the first message row.
      const obs = new MutationObserver(() => {
        if (document.querySelector('[data-testid="message-row"]')) {
          window.__firstRows = performance.now();
          obs.disconnect();
        }
      });
      document.addEventListener("DOMContentLoaded", () => obs.observe(document.body, { childList: true, subtree: true }));
    });
    const page = await context.newPage();
    await page.goto(`${srv.url}/?token=${encodeURIComponent(ADMIN_TOKEN)}`, { waitUntil: "load" });
    await page.getByTestId("classes").waitFor({ timeout: 20000 });

    const nav = [];
    const filter = [];
    const classUrl = `${srv.url}/#/classes/${CLASS}`;
    for (let r = 0; r < RUNS + 1; r++) {
      // A fresh document each run (not a client-side route change): the whole cold path.
      await page.goto("about:blank");
      await page.goto(classUrl, { waitUntil: "commit" });
      await page.waitForFunction(() => typeof window.__firstRows === "number", null, { timeout: 20000 });
      const tNav = await page.evaluate(() => window.__firstRows);
      const ms = await page.evaluate(
        () =>
          new Promise((resolve) => {
            const box = document.querySelector('input[name="status"][value="failed"]');
            const t = performance.now();
            const done = () => {
              const rows = [...document.querySelectorAll('[data-testid="message-row"]')];
              return rows.length > 0 && rows.every((el) => el.getAttribute("data-status") === "failed");
            };
            const obs = new MutationObserver(() => {
              if (done()) {
                obs.disconnect();
                resolve(performance.now() - t);
              }
            });
            obs.observe(document.body, { childList: true, subtree: true, attributes: true });
            box.click();
          }),
      );
      if (r > 0) {
        // The first run warms the server's page cache and the browser's HTTP cache.
        nav.push(tNav);
        filter.push(ms);
      }
      console.log(`run ${r}${r === 0 ? " (warm-up, not counted)" : ""}: first rows ${fmt(tNav)}, filter → rows ${fmt(ms)}`);
    }
    // Scrolling: to the bottom of what is loaded, 10 times, each loading the next 1000 rows.
    await page.goto(classUrl, { waitUntil: "load" });
    await page.getByTestId("message-row").first().waitFor();
    const scroll = await page.evaluate(async () => {
      const body = document.querySelector('[data-testid="message-rows"]');
      const frames = [];
      let last = performance.now();
      let running = true;
      const tick = () => {
        const now = performance.now();
        frames.push(now - last);
        last = now;
        if (running) requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
      const t = performance.now();
      for (let i = 0; i < 200; i++) {
        body.scrollTop += 600;
        await new Promise((r) => requestAnimationFrame(r));
      }
      running = false;
      const rows = document.querySelector('[data-testid="row-count"]').textContent;
      frames.sort((a, b) => a - b);
      return { ms: performance.now() - t, rows, p95: frames[Math.floor(frames.length * 0.95)], worst: frames[frames.length - 1] };
    });
    const n = stats(nav);
    const f = stats(filter);
    console.log("");
    const load = os.loadavg().map((x) => x.toFixed(1)).join(" ");
    console.log(`class of ${N} messages, ${RUNS} runs, Chromium ${browser.version()}, ${os.cpus().length} cores, load average ${load}`);
    console.log(`navigation → first rows: median ${fmt(n.median)}, min ${fmt(n.min)}, max ${fmt(n.max)} (goal ≤ 300 ms)`);
    console.log(`filter change → rows:    median ${fmt(f.median)}, min ${fmt(f.min)}, max ${fmt(f.max)} (goal ≤ 150 ms)`);
    console.log(`scroll 200 steps of 600 px: ${fmt(scroll.ms)}, frame p95 ${fmt(scroll.p95)}, worst ${fmt(scroll.worst)}; loaded: ${scroll.rows}`);
    await browser.close();
  } finally {
    for (const fn of stops.reverse()) await fn().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
