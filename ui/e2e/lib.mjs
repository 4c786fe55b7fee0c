// Shared helpers for the end-to-end tests: where things are, child processes that are
// always cleaned up, free ports, a private Xvfb, waiting with deadlines.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const TARGET_DIR = process.env.CARGO_TARGET_DIR
  ? path.resolve(ROOT, process.env.CARGO_TARGET_DIR)
  : path.join(ROOT, "target");
export const SHOTS_DIR = path.join(ROOT, "target", "e2e");
export const SERVER_BIN = path.join(TARGET_DIR, "debug", "replaydesk");
export const DESKTOP_BIN = path.join(TARGET_DIR, "debug", "replaydesk-desktop");
export const UI_DIST = path.join(ROOT, "ui", "dist");

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The product version: `[workspace.package] version` in the workspace Cargo.toml. */
export function cargoVersion() {
  const toml = readFileSync(path.join(ROOT, "Cargo.toml"), "utf8");
  let section = "";
  for (const raw of toml.split("\n")) {
    const line = raw.replace(/#.*$/, "").trim();
    const header = line.match(/^\[([^\]]+)\]$/);
    if (header) {
      section = header[1].trim();
      continue;
    }
    const version = line.match(/^version\s*=\s*"([^"]+)"$/);
    if (section === "workspace.package" && version) return version[1];
  }
  throw new Error("no [workspace.package] version in Cargo.toml");
}

export function shotPath(name) {
  mkdirSync(SHOTS_DIR, { recursive: true });
  return path.join(SHOTS_DIR, name);
}

export function requireFile(file, hint) {
  if (!existsSync(file)) throw new Error(`${file} is missing (${hint})`);
}

/** The full path of `name` on PATH, or null. */
export function onPath(name) {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter).filter(Boolean)) {
    const file = path.join(dir, name);
    if (existsSync(file)) return file;
  }
  return null;
}

/** The environment for a child, without any REPLAYDESK_* setting of the caller's shell. */
export function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith("REPLAYDESK_")) env[k] = v;
  }
  return { ...env, ...extra };
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts connections on 127.0.0.1:port. */
export async function waitForPort(port, timeoutMs, child) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child) child.assertAlive();
    const open = await new Promise((resolve) => {
      const sock = net.connect({ host: "127.0.0.1", port });
      sock.once("connect", () => {
        sock.destroy();
        resolve(true);
      });
      sock.once("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** Polls `fn` until it returns a value other than undefined, or throws after the deadline. */
export async function waitFor(what, timeoutMs, fn, intervalMs = 250) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ""}`);
    }
    await sleep(intervalMs);
  }
}

/** Rejects with a clear message if `promise` takes longer than `ms`. */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// ---- child processes ----

const live = new Set();

/**
 * Starts a command in its own process group (so that whatever it starts in turn, e.g.
 * tauri-driver's WebKitWebDriver and the app, goes away with it) and keeps the last
 * output for error messages.
 */
export function start(name, cmd, args, opts = {}) {
  const child = spawn(cmd, args, {
    cwd: opts.cwd ?? ROOT,
    env: opts.env ?? cleanEnv(),
    stdio: opts.stdio ?? ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let tail = "";
  const keep = (chunk) => {
    tail = (tail + chunk.toString()).slice(-4000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  let exit = null;
  const exited = new Promise((resolve) => {
    child.once("exit", (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    });
    child.once("error", (err) => {
      exit = { code: null, signal: null, error: err };
      resolve(exit);
    });
  });
  const handle = {
    name,
    child,
    exited,
    output: () => tail,
    assertAlive() {
      if (exit) {
        const how = exit.error ? exit.error.message : `exit ${exit.code ?? exit.signal}`;
        throw new Error(`${name} stopped early (${how}); its last output:\n${tail}`);
      }
    },
    /** SIGTERM to the whole group, SIGKILL after `graceMs` if anything of it is left. */
    async stop(graceMs = 3000) {
      live.delete(handle);
      if (!signalGroup(child.pid, "SIGTERM")) return;
      const deadline = Date.now() + graceMs;
      while (Date.now() < deadline) {
        if (exit && !groupAlive(child.pid)) return;
        await sleep(100);
      }
      signalGroup(child.pid, "SIGKILL");
      await Promise.race([exited, sleep(1000)]);
    },
  };
  live.add(handle);
  return handle;
}

function signalGroup(pid, signal) {
  if (!pid) return false;
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

function groupAlive(pid) {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Last resort on exit: SIGKILL every process group still registered. */
export function killAll() {
  for (const h of live) signalGroup(h.child.pid, "SIGKILL");
  live.clear();
}

/**
 * A private X server for the desktop window: Xvfb picks a free display itself
 * (`-displayfd`), so this never collides with another Xvfb on the machine. `extraArgs`
 * go to Xvfb as they are (e.g. `-fbdir DIR`: the screen as an XWD file anyone can read).
 */
export async function startXvfb(extraArgs = []) {
  const xvfb = start("Xvfb", "Xvfb", ["-displayfd", "3", "-screen", "0", "1280x1024x24", "-nolisten", "tcp", ...extraArgs], {
    stdio: ["ignore", "ignore", "pipe", "pipe"],
  });
  let buf = "";
  const display = await withTimeout(
    new Promise((resolve, reject) => {
      xvfb.child.stdio[3].on("data", (chunk) => {
        buf += chunk.toString();
        const m = buf.match(/^(\d+)\n/);
        if (m) resolve(`:${m[1]}`);
      });
      xvfb.exited.then(() => {
        try {
          xvfb.assertAlive();
        } catch (err) {
          reject(err);
        }
      });
    }),
    15000,
    "starting Xvfb",
  );
  return { display, stop: () => xvfb.stop() };
}
