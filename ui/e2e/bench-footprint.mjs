#!/usr/bin/env node
// The desktop app's footprint: the release build in a real window under a private Xvfb,
// started straight from the binary (no WebDriver in between), each run with a fresh data
// and config dir (so the embedded backend creates and migrates its SQLite file) and
// REPLAYDESK_LISTEN on a free loopback port:
//   - cold start → first paint: from spawning the process to the first screen capture on
//     which the window shows content (not one uniform colour). Captures are taken back to
//     back; the figure is the end of the first capture that shows content, so it is an
//     upper bound, late by at most one capture (the capture time is printed too).
//   - the console's first render: from spawning to the first later capture that shows
//     content different from that first paint (the static shell "Starting…" in index.html
//     paints first; the console's own render replaces it once its script has run).
//   - /healthz: from spawning to the first 200 of GET /healthz on REPLAYDESK_LISTEN.
//   - idle memory 60 s after the spawn, the backend running and the window open: resident
//     memory of the app process alone, and of the app with the WebKit processes it
//     started (WebKitWebProcess, WebKitNetworkProcess), both as RSS (shared pages counted
//     in every process) and PSS (shared pages divided between the processes sharing them).
// Page cache is warm after the first run (nothing here drops it): "cold" means a new
// process and a new data dir, not a cold disk. "Warm" starts on an existing store of
// 100,000 messages (made once per binary: one start to create and migrate it, then the
// messages written straight into the SQLite file; each warm run starts on a copy).
// Several binaries (a baseline and a change) run alternately, each run's load average
// printed beside its figures, so that they compare within one sitting.
//
//   node ui/e2e/bench-footprint.mjs [runs]      (default 3, per binary and per start)
//   BENCH_DESKTOP_BIN=path  another binary (default $CARGO_TARGET_DIR/release/replaydesk-desktop)
//   BENCH_DESKTOP_BINS=label=path,label=path   several, run alternately
//   BENCH_STARTS=cold,warm  which starts (default both)
//   BENCH_IDLE_SECS=60      how long to wait before reading memory
//
// Needs the release app (`npx --prefix ui tauri build --bundles deb`, or `cargo build
// --release -p replaydesk-desktop` after `npm --prefix ui run build`), Xvfb and
// ImageMagick's `import` (for the screenshots: target/e2e/footprint-*.png, one at the first
// paint and one, `-idle`, before memory is read).

import { execFile, execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { createHash } from "node:crypto";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { TARGET_DIR, cleanEnv, freePort, killAll, requireFile, shotPath, sleep, start, startXvfb } from "./lib.mjs";

const RUNS = Number(process.argv[2] ?? 3);
const IDLE_SECS = Number(process.env.BENCH_IDLE_SECS ?? 60);
const BIN = process.env.BENCH_DESKTOP_BIN ?? path.join(TARGET_DIR, "release", "replaydesk-desktop");
const BINS = process.env.BENCH_DESKTOP_BINS
  ? process.env.BENCH_DESKTOP_BINS.split(",").map((kv) => {
      const at = kv.indexOf("=");
      return { label: kv.slice(0, at), bin: kv.slice(at + 1) };
    })
  : [{ label: "app", bin: BIN }];
const STARTS = (process.env.BENCH_STARTS ?? "cold,warm").split(",");
const WARM_MESSAGES = 100_000;
const SCREEN = { w: 1280, h: 1024 };

function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: "buffer", maxBuffer: 64 << 20, ...opts }, (err, stdout) =>
      err ? reject(err) : resolve(stdout),
    );
  });
}

/**
 * True when the screen shows painted content: more than 16 distinct colours. The bare
 * screen has one (the root window), a mapped window not yet painted adds its background
 * (two), while the console's first paint brings text, badges and buttons (hundreds, with
 * anti-aliasing). Xvfb keeps the screen in an XWD file (`-fbdir`), so a look costs one
 * file read, not an X round trip.
 */
function screenHasContent(fbFile) {
  const xwd = readFileSync(fbFile);
  // XWD header: header_size (word 0), bits_per_pixel (word 11), ncolors (word 19), all
  // big-endian; the colour map (12 bytes an entry) follows the header, then the pixels.
  const headerSize = xwd.readUInt32BE(0);
  if (xwd.readUInt32BE(44) !== 32) throw new Error("expected a 32-bit Xvfb screen (-screen 0 WxHx24)");
  const start = headerSize + xwd.readUInt32BE(76) * 12;
  const offset = xwd.byteOffset + start;
  const count = Math.floor((xwd.length - start) / 4);
  // A typed view needs 4-byte alignment; copy only when the header leaves the pixels unaligned.
  const pixels =
    offset % 4 === 0 ? new Uint32Array(xwd.buffer, offset, count) : new Uint32Array(xwd.buffer.slice(offset, offset + count * 4));
  const colours = new Set();
  let previous = -1;
  for (let i = 0; i < pixels.length; i++) {
    const colour = pixels[i] & 0xffffff;
    if (colour === previous) continue; // most pixels repeat their left neighbour
    previous = colour;
    colours.add(colour);
    if (colours.size > 16) return true;
  }
  return false;
}

/** A digest of the screen's pixels, to tell one painted frame from another. */
function screenDigest(fbFile) {
  return createHash("sha1").update(readFileSync(fbFile)).digest("hex");
}

function healthz(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/healthz", agent: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on("error", () => resolve(null));
    req.on("timeout", () => req.destroy());
  });
}

/**
 * kB figures of one process from /proc: VmRSS, Pss, and Pss of anonymous memory (heap,
 * stacks: what the process itself allocated, as opposed to mapped libraries); zeros for a
 * process already gone.
 */
function memoryOf(pid) {
  try {
    const rss = Number(readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+) kB/m)?.[1] ?? 0);
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    const pss = Number(rollup.match(/^Pss:\s+(\d+) kB/m)?.[1] ?? 0);
    const anon = Number(rollup.match(/^Pss_Anon:\s+(\d+) kB/m)?.[1] ?? 0);
    return { rss, pss, anon };
  } catch {
    return { rss: 0, pss: 0, anon: 0 };
  }
}

/** The process and all its descendants, as [pid, command name]. */
function processTree(root) {
  const parent = new Map();
  const name = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // comm is in parentheses and may contain spaces; ppid is the 2nd field after it.
      const close = stat.lastIndexOf(")");
      name.set(Number(entry), stat.slice(stat.indexOf("(") + 1, close));
      parent.set(Number(entry), Number(stat.slice(close + 2).split(" ")[1]));
    } catch {
      // gone meanwhile
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) {
    for (const [pid, ppid] of parent) if (ppid === tree[i]) tree.push(pid);
  }
  return tree.map((pid) => [pid, name.get(pid) ?? "?"]);
}

const mb = (kb) => kb / 1024;

/** The app's environment for a run in `home`. */
function appEnv(home, display, port) {
  return cleanEnv({
    DISPLAY: display,
    XDG_DATA_HOME: path.join(home, "data"),
    XDG_CONFIG_HOME: path.join(home, "config"),
    REPLAYDESK_LISTEN: `127.0.0.1:${port}`,
    RUST_LOG: "warn",
  });
}

async function waitHealthy(port, ms) {
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    if ((await healthz(port)) === 200) return;
    await sleep(50);
  }
  throw new Error(`/healthz on 127.0.0.1:${port} did not answer 200 within ${ms} ms`);
}

/**
 * A home whose store holds WARM_MESSAGES messages, made by `bin` itself (one start creates
 * and migrates the store, a graceful stop, then the messages go straight into the file with
 * one INSERT, as ui/e2e/bench-100k.mjs seeds them).
 */
async function warmTemplate(bin) {
  const home = mkdtempSync(path.join(os.tmpdir(), "replaydesk-footprint-warm-"));
  const xvfb = await startXvfb();
  const port = await freePort();
  const app = start("replaydesk-desktop (seeding)", bin, [], { env: appEnv(home, xvfb.display, port) });
  await waitHealthy(port, 60000);
  await app.stop(10000);
  await xvfb.stop();
  const db = path.join(home, "data", "dev.replaydesk.desktop", "replaydesk.db");
  const base = Date.now() - WARM_MESSAGES * 100;
  execFileSync("sqlite3", [db], {
    input: `
BEGIN;
INSERT INTO classes (class_id, group_id, teacher_uid, report_token_sha256, created_at)
VALUES ('bench-warm', 'replay_bench_warm', 'teacher', '${"0".repeat(64)}', ${base});
WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < ${WARM_MESSAGES})
INSERT INTO messages (class_id, group_id, msg_type, uid, seq, random, data, dedup_key, status,
  attempt_count, im_msg_seq, created_at, updated_at, sent_at)
SELECT 'bench-warm', 'replay_bench_warm', 1003, 'stu' || (n % 40), 1000000 + n, n,
  '{"type":1003,"seq":' || (1000000 + n) || ',"timestamp":' || (n * 1000) || ',"uid":"stu' || (n % 40) || '"}',
  'bench:' || n, 'sent', 1, n, ${base} + n * 100, ${base} + n * 100, ${base} + n * 100
FROM i;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
`,
  });
  return home;
}

async function oneRun(n, bin, template, name) {
  const home = mkdtempSync(path.join(os.tmpdir(), "replaydesk-footprint-"));
  if (template) {
    for (const dir of ["data", "config"]) {
      if (existsSync(path.join(template, dir))) cpSync(path.join(template, dir), path.join(home, dir), { recursive: true });
    }
  }
  const load = os.loadavg()[0];
  const xvfb = await startXvfb(["-fbdir", home]);
  const fb = path.join(home, "Xvfb_screen0");
  const port = await freePort();
  const env = appEnv(home, xvfb.display, port);
  // Nothing painted yet: the bare Xvfb screen must read as blank, or the figure means nothing.
  if (screenHasContent(fb)) throw new Error("the empty Xvfb screen already shows content");
  const t0 = performance.now();
  const app = start("replaydesk-desktop", bin, [], { env });
  let paintMs = null;
  let healthMs = null;
  let captureMs = 0;
  let captures = 0;
  const health = (async () => {
    while (healthMs === null && performance.now() - t0 < 30000) {
      if ((await healthz(port)) === 200) healthMs = performance.now() - t0;
      else await sleep(20);
    }
  })();
  while (paintMs === null && performance.now() - t0 < 30000) {
    app.assertAlive();
    const before = performance.now();
    const content = screenHasContent(fb);
    const after = performance.now();
    captureMs += after - before;
    captures++;
    if (content) paintMs = after - t0;
    // Let the app, the health poll and the timers run between looks.
    else await sleep(5);
  }
  if (paintMs === null) throw new Error(`run ${n}: no content on the screen after 30 s`);
  // The console's own first render replaces the static shell ("Starting…") that painted
  // first: the first later look at a screen with content that differs from the shell's.
  const shell = screenDigest(fb);
  let consoleMs = null;
  while (consoleMs === null && performance.now() - t0 < 30000) {
    app.assertAlive();
    if (screenHasContent(fb) && screenDigest(fb) !== shell) consoleMs = performance.now() - t0;
    else await sleep(5);
  }
  await health;
  if (consoleMs === null) throw new Error(`run ${n}: the console did not replace the starting shell within 30 s`);
  if (healthMs === null) throw new Error(`run ${n}: /healthz on 127.0.0.1:${port} did not answer 200 within 30 s`);
  const shot = shotPath(`footprint-${name}-run${n}.png`);
  await run("import", ["-window", "root", shot], { env: { ...process.env, DISPLAY: xvfb.display } });

  const idleLeft = IDLE_SECS * 1000 - (performance.now() - t0);
  if (idleLeft > 0) await sleep(idleLeft);
  app.assertAlive();
  // What the teacher sees once it has settled (the console, not the shell).
  const idleShot = shotPath(`footprint-${name}-run${n}-idle.png`);
  await run("import", ["-window", "root", idleShot], { env: { ...process.env, DISPLAY: xvfb.display } });
  if ((await healthz(port)) !== 200) throw new Error(`run ${n}: /healthz stopped answering while idle`);
  const tree = processTree(app.child.pid);
  const main = memoryOf(app.child.pid);
  let rss = 0;
  let pss = 0;
  const parts = [];
  for (const [pid, comm] of tree) {
    const m = memoryOf(pid);
    rss += m.rss;
    pss += m.pss;
    parts.push(`${comm} RSS ${mb(m.rss).toFixed(0)} PSS ${mb(m.pss).toFixed(0)} (anonymous ${mb(m.anon).toFixed(0)})`);
  }
  await app.stop(10000);
  await xvfb.stop();
  rmSync(home, { recursive: true, force: true });
  return { paintMs, consoleMs, healthMs, captureMs: captureMs / captures, main, rss, pss, parts, shot, idleShot, load };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main() {
  for (const { bin } of BINS) requireFile(bin, "build the release app: npx --prefix ui tauri build --bundles deb");
  const [load1] = os.loadavg();
  console.log(`footprint of ${BINS.map((b) => `${b.label} = ${b.bin}`).join("; ")}`);
  console.log(`${os.cpus().length} cores, load average ${load1.toFixed(1)} at the start; idle wait ${IDLE_SECS} s; ${new Date().toISOString()}`);
  const templates = new Map();
  if (STARTS.includes("warm")) {
    for (const { label, bin } of BINS) {
      const t0 = performance.now();
      templates.set(label, await warmTemplate(bin));
      console.log(`${label}: warm store of ${WARM_MESSAGES} messages made in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
  }
  const results = new Map();
  for (let n = 1; n <= RUNS; n++) {
    for (const startKind of STARTS) {
      for (const { label, bin } of BINS) {
        const r = await oneRun(n, bin, startKind === "warm" ? templates.get(label) : null, `${label}-${startKind}`);
        const key = `${label} ${startKind}`;
        if (!results.has(key)) results.set(key, []);
        results.get(key).push(r);
        console.log(
          `run ${n} ${key} (load ${r.load.toFixed(1)}): first paint ${r.paintMs.toFixed(0)} ms (screen read ${r.captureMs.toFixed(1)} ms), console ${r.consoleMs.toFixed(0)} ms, /healthz ${r.healthMs.toFixed(0)} ms; ` +
            `idle after ${IDLE_SECS} s: app ${mb(r.main.rss).toFixed(1)} MB RSS / ${mb(r.main.pss).toFixed(1)} MB PSS, ` +
            `with WebKit ${mb(r.rss).toFixed(1)} MB RSS / ${mb(r.pss).toFixed(1)} MB PSS [${r.parts.join(", ")}]; ${r.shot}, ${r.idleShot}`,
        );
      }
    }
  }
  for (const home of templates.values()) rmSync(home, { recursive: true, force: true });
  const row = (what, xs, unit, goal) =>
    console.log(`${what.padEnd(52)} median ${median(xs).toFixed(unit === "ms" ? 0 : 1)} ${unit}, min ${Math.min(...xs).toFixed(unit === "ms" ? 0 : 1)}, max ${Math.max(...xs).toFixed(unit === "ms" ? 0 : 1)}${goal ? ` (goal ${goal})` : ""}`);
  console.log(`--- ${RUNS} runs each, load average ${os.loadavg()[0].toFixed(1)} at the end`);
  for (const [key, rs] of results) {
    const warm = key.endsWith("warm");
    row(`${key}: start → first paint`, rs.map((r) => r.paintMs), "ms", warm ? "< 600 ms" : "< 1000 ms");
    row(`${key}: start → the console's first render`, rs.map((r) => r.consoleMs), "ms");
    row(`${key}: start → /healthz 200`, rs.map((r) => r.healthMs), "ms");
    row(`${key}: idle PSS, app process`, rs.map((r) => mb(r.main.pss)), "MB");
    row(`${key}: idle RSS, app + WebKit processes`, rs.map((r) => mb(r.rss)), "MB");
    row(`${key}: idle PSS, app + WebKit processes`, rs.map((r) => mb(r.pss)), "MB", "≤ 200 MB");
  }
}

main()
  .then(() => process.exit(0))
  .catch((err) => {
    console.error(`bench-footprint: ${err.stack ?? err}`);
    killAll();
    process.exit(1);
  });
