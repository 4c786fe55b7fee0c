// The real desktop app in a real window, driven over WebDriver: a private Xvfb,
// tauri-driver (which starts WebKitWebDriver, which starts target/debug/replaydesk-desktop),
// and plain W3C WebDriver calls over HTTP.

import http from "node:http";
import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  DESKTOP_BIN,
  cleanEnv,
  freePort,
  onPath,
  requireFile,
  shotPath,
  sleep,
  start,
  startXvfb,
  waitFor,
  waitForPort,
} from "./lib.mjs";

const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

/** tauri-driver from PATH, else where `cargo install` (scripts/setup.sh) puts it. */
function tauriDriver() {
  const found = onPath("tauri-driver");
  if (found) return found;
  const cargoHome = process.env.CARGO_HOME ?? path.join(os.homedir(), ".cargo");
  const installed = path.join(cargoHome, "bin", "tauri-driver");
  requireFile(installed, "install it with: bash scripts/setup.sh");
  return installed;
}

/** A W3C WebDriver error answer (the driver understood the call and refused it). */
class WebDriverError extends Error {
  constructor(status, value) {
    super(`WebDriver ${status}: ${value?.error ?? "error"}: ${String(value?.message ?? "").split("\n")[0]}`);
    this.code = value?.error;
  }
}

/** One HTTP exchange, on a fresh connection each time (no keep-alive to go stale). */
function exchange(port, method, urlPath, body, timeoutMs) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method,
        path: urlPath,
        agent: false,
        headers: payload
          ? { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(payload) }
          : {},
        timeout: timeoutMs,
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json;
          try {
            json = JSON.parse(text);
          } catch {
            reject(new Error(`WebDriver ${method} ${urlPath}: HTTP ${res.statusCode}, not JSON: ${text.slice(0, 200)}`));
            return;
          }
          if (res.statusCode >= 400) reject(new WebDriverError(res.statusCode, json.value));
          else resolve(json.value);
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`WebDriver ${method} ${urlPath}: no answer in ${timeoutMs} ms`)));
    req.on("error", reject);
    if (payload) req.write(payload);
    req.end();
  });
}

/**
 * A WebDriver call. `retry` is for idempotent calls only: under load tauri-driver
 * sometimes drops the connection, so those are tried up to 3 more times, 0.5 s apart.
 * A WebDriver error answer is never retried here.
 */
async function wd(port, method, urlPath, body, { retry = false, timeoutMs = 15000 } = {}) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await exchange(port, method, urlPath, body, timeoutMs);
    } catch (err) {
      if (!retry || err instanceof WebDriverError || attempt >= 3) throw err;
      console.log(`  (retrying ${method} ${urlPath} after: ${err.message})`);
      await sleep(500);
    }
  }
}

export async function desktopTest({ version, log }) {
  requireFile(DESKTOP_BIN, "build it with: cargo build -p replaydesk-desktop");
  const driverBin = tauriDriver();
  if (!onPath("WebKitWebDriver")) {
    throw new Error("WebKitWebDriver is not on PATH (Debian package webkit2gtk-driver; bash scripts/setup.sh)");
  }
  const cleanup = [];
  try {
    const xvfb = await startXvfb();
    cleanup.push(() => xvfb.stop());
    log(`Xvfb on display ${xvfb.display}`);

    const port = await freePort();
    let nativePort = await freePort();
    while (nativePort === port) nativePort = await freePort();
    const driver = start("tauri-driver", driverBin, ["--port", String(port), "--native-port", String(nativePort)], {
      env: cleanEnv({ DISPLAY: xvfb.display }),
    });
    cleanup.push(() => driver.stop());
    // tauri-driver listens at once but only proxies to WebKitWebDriver, which it starts
    // itself: a session asked for before that one listens gets a dropped connection.
    await waitForPort(port, 15000, driver);
    await waitForPort(nativePort, 15000, driver);
    log(`tauri-driver on port ${port} (WebKitWebDriver on ${nativePort})`);

    // Not retried: a second POST would start a second app.
    const session = await wd(
      port,
      "POST",
      "/session",
      { capabilities: { alwaysMatch: { "tauri:options": { application: DESKTOP_BIN } } } },
      { timeoutMs: 60000 },
    );
    const sid = session.sessionId;
    const s = `/session/${sid}`;
    let deleted = false;
    cleanup.push(async () => {
      if (!deleted) await wd(port, "DELETE", s, undefined, { retry: true }).catch(() => {});
    });
    log(`session ${sid}`);

    const find = async (css) => (await wd(port, "POST", `${s}/element`, { using: "css selector", value: css }, { retry: true }))[ELEMENT];
    const text = async (id) => wd(port, "GET", `${s}/element/${id}/text`, undefined, { retry: true });

    // The page is ready once the header shows the version that came over Tauri IPC.
    const versionEl = await waitFor("the version in the header", 30000, async () => {
      try {
        return await find('[data-testid="version"]');
      } catch (err) {
        if (err instanceof WebDriverError && err.code === "no such element") return undefined;
        throw err;
      }
    });
    const shown = await text(versionEl);
    if (shown !== `v${version}`) throw new Error(`header version is ${JSON.stringify(shown)}, expected "v${version}"`);

    const badge = await text(await find('[data-testid="mode-badge"]'));
    if (!badge.includes("SANDBOX")) throw new Error(`mode badge reads ${JSON.stringify(badge)}, expected SANDBOX`);

    const main = await text(await find("main"));
    if (!main.includes("Desktop app (Tauri IPC)")) {
      throw new Error(`"Connected via" does not say "Desktop app (Tauri IPC)"; the page reads:\n${main}`);
    }
    const title = await wd(port, "GET", `${s}/title`, undefined, { retry: true });
    if (title !== "ReplayDesk") throw new Error(`window title is ${JSON.stringify(title)}`);

    await sleep(1000); // let the last paint land before the screenshot
    const png = await wd(port, "GET", `${s}/screenshot`, undefined, { retry: true, timeoutMs: 30000 });
    const file = shotPath("desktop.png");
    writeFileSync(file, Buffer.from(png, "base64"));
    log(`header: v${version} · ${badge.trim()}; screenshot: ${file}`);

    await wd(port, "DELETE", s, undefined, { retry: true }).catch((err) => {
      // A retried DELETE may find the session already gone: that is the goal anyway.
      if (!(err instanceof WebDriverError && err.code === "invalid session id")) throw err;
    });
    deleted = true;
  } finally {
    for (const fn of cleanup.reverse()) await fn();
  }
}
