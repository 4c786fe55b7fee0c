// The console in a real browser (Debian's Chromium through playwright-core) against a
// real `replaydesk serve` on loopback with a scratch SQLite file.

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import {
  SERVER_BIN,
  UI_DIST,
  cleanEnv,
  freePort,
  requireFile,
  shotPath,
  start,
  waitFor,
  waitForPort,
} from "./lib.mjs";

export const CHROMIUM = "/usr/bin/chromium";
/** The admin token every test server gets (a scratch value, not a secret). */
export const ADMIN_TOKEN = `e2e-admin-token-${process.pid}-${Date.now()}`;
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

export function checkPrerequisites() {
  requireFile(SERVER_BIN, "build it with: cargo build -p replaydesk");
  requireFile(path.join(UI_DIST, "index.html"), "build the console with: npm --prefix ui run build");
  requireFile(CHROMIUM, "install Debian's chromium: bash scripts/setup.sh");
}

/**
 * A `replaydesk im-emulator` on a free port with a fresh secret key; its stop is pushed onto
 * `stops`. Resolves once it accepts connections.
 */
export async function startEmulator(dir, stops) {
  const secret = `e2e-${process.pid}-${Date.now()}`;
  const sdkappid = "1400000000";
  const port = await freePort();
  const emulator = start(
    "replaydesk im-emulator",
    SERVER_BIN,
    ["im-emulator", "--listen", `127.0.0.1:${port}`, "--sdkappid", sdkappid],
    { cwd: dir, env: cleanEnv({ REPLAYDESK_IM_SECRET_KEY: secret, RUST_LOG: "warn" }) },
  );
  stops.push(() => emulator.stop());
  await waitForPort(port, 15000, emulator);
  return { port, base: `http://127.0.0.1:${port}`, secret, sdkappid };
}

/** `replaydesk serve` on a free port with a fresh database; resolves once /healthz answers. */
export async function startServer(dir, env = {}, db = null) {
  const port = await freePort();
  const server = start(
    "replaydesk serve",
    SERVER_BIN,
    ["serve", "--listen", `127.0.0.1:${port}`, "--db", db ?? path.join(dir, `serve-${port}.db`)],
    // A scratch working directory, so that no replaydesk.toml of the checkout is read.
    {
      cwd: dir,
      env: cleanEnv({ REPLAYDESK_UI_DIR: UI_DIST, RUST_LOG: "warn", REPLAYDESK_ADMIN_TOKEN: ADMIN_TOKEN, ...env }),
    },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor("GET /healthz", 20000, async () => {
    server.assertAlive();
    try {
      const res = await fetch(`${url}/healthz`);
      return res.ok ? true : undefined;
    } catch {
      return undefined;
    }
  }, 100);
  return {
    url,
    server,
    /** SIGTERM, then the server must exit 0 (a graceful shutdown). */
    async stopCleanly() {
      await server.stop(15000);
      const { code, signal } = await server.exited;
      if (code !== 0) throw new Error(`replaydesk serve exited with ${code ?? signal} on SIGTERM:\n${server.output()}`);
    },
  };
}

/** Opens `url` in a fresh page; fails the test on any uncaught error in the page. */
async function openConsole(browser, url) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const pageErrors = [];
  page.on("pageerror", (err) => pageErrors.push(err.message));
  await page.goto(url, { waitUntil: "load", timeout: 15000 });
  return { page, pageErrors, close: () => context.close() };
}

export function launch() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, timeout: 30000 });
}

/** Sandbox mode: version, SANDBOX badge, HTTP transport; screenshot. */
export async function consoleTest({ version, log }) {
  checkPrerequisites();
  const dir = mkdtempSync(path.join(os.tmpdir(), "replaydesk-e2e-"));
  const stops = [];
  try {
    const srv = await startServer(dir);
    stops.push(() => srv.server.stop());
    const browser = await launch();
    stops.push(() => browser.close());
    const { page, pageErrors } = await openConsole(browser, `${srv.url}/?token=${ADMIN_TOKEN}`);

    const versionEl = page.getByTestId("version");
    await versionEl.waitFor({ timeout: 15000 });
    const shown = (await versionEl.textContent())?.trim();
    if (shown !== `v${version}`) throw new Error(`header version is ${JSON.stringify(shown)}, expected "v${version}"`);
    const badge = (await page.getByTestId("mode-badge").textContent()) ?? "";
    if (!badge.includes("SANDBOX")) throw new Error(`mode badge reads ${JSON.stringify(badge)}, expected SANDBOX`);
    await page.getByText("Browser (HTTP API)", { exact: true }).waitFor({ timeout: 5000 });
    if ((await page.title()) !== "ReplayDesk") throw new Error(`page title is ${JSON.stringify(await page.title())}`);

    // A new user's empty sandbox says how to fill it with demo data, with this server's URL.
    const hint = (await page.getByTestId("demo-hint").textContent({ timeout: 10000 })) ?? "";
    if (!hint.includes(`replaydesk demo --url ${srv.url} --token <admin token>`)) throw new Error(`demo hint reads ${JSON.stringify(hint)}`);

    const file = shotPath("console.png");
    await page.screenshot({ path: file, fullPage: true });
    if (pageErrors.length) throw new Error(`errors in the page: ${pageErrors.join("; ")}`);
    log(`header: ${shown} · ${badge.trim()}; screenshot: ${file}`);

    // Doing what it says fills the page: the demo's classes appear, the hint goes.
    execFileSync(SERVER_BIN, ["demo", "--url", srv.url, "--token", ADMIN_TOKEN], { env: cleanEnv(), timeout: 90000, stdio: "pipe" });
    await page.locator('[data-testid="classes"] tbody tr').nth(1).waitFor({ timeout: 15000 });
    if (await page.getByTestId("demo-hint").count()) throw new Error("the demo hint is still shown beside classes");
    log(`after replaydesk demo: ${await page.locator('[data-testid="classes"] tbody tr').count()} classes; screenshot: ${shotPath("console-demo.png")}`);
    await page.screenshot({ path: shotPath("console-demo.png") });

    await browser.close();
    await srv.stopCleanly();
  } finally {
    for (const fn of stops.reverse()) await fn().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

// Markup in a configured value (the IM endpoint here) must show as text, never as HTML.
const MARKUP = `<b>x</b><img src=x onerror="window.__injected=1">`;

/** Live mode against a local `replaydesk im-emulator`, with markup in the endpoint's path. */
export async function consoleMarkupTest({ log }) {
  checkPrerequisites();
  const dir = mkdtempSync(path.join(os.tmpdir(), "replaydesk-e2e-"));
  const stops = [];
  try {
    const { port: emuPort, secret, sdkappid } = await startEmulator(dir, stops);

    const endpoint = `http://127.0.0.1:${emuPort}/${MARKUP}`;
    const srv = await startServer(dir, {
      REPLAYDESK_IM_ENDPOINT: endpoint,
      REPLAYDESK_IM_SDKAPPID: sdkappid,
      REPLAYDESK_IM_SECRET_KEY: secret,
    });
    stops.push(() => srv.server.stop());

    const info = await (await fetch(`${srv.url}/v1/info`)).json();
    if (info.sandbox !== false || info.im_endpoint !== endpoint) {
      throw new Error(`GET /v1/info answered ${JSON.stringify(info)}, expected the endpoint ${JSON.stringify(endpoint)}`);
    }

    const browser = await launch();
    stops.push(() => browser.close());
    const { page, pageErrors } = await openConsole(browser, `${srv.url}/?token=${ADMIN_TOKEN}`);
    const badgeEl = page.getByTestId("mode-badge");
    await badgeEl.waitFor({ timeout: 15000 });
    const badge = (await badgeEl.textContent()) ?? "";
    if (!badge.includes("LIVE IM") || !badge.includes(MARKUP)) {
      throw new Error(`mode badge reads ${JSON.stringify(badge)}, expected LIVE IM and the endpoint as text`);
    }
    // Rendered as text: no element came out of the markup, and its handler never ran.
    const made = await page.evaluate(() => document.querySelectorAll("b, img").length);
    if (made !== 0) throw new Error(`the endpoint's markup became ${made} element(s) in the page`);
    await waitFor("the endpoint shown in the facts", 5000, async () =>
      (await page.getByText(endpoint, { exact: true }).count()) > 0 ? true : undefined,
    );
    const file = shotPath("console-live.png");
    await page.screenshot({ path: file, fullPage: true });
    if (await page.evaluate(() => "__injected" in window)) throw new Error("the endpoint's onerror handler ran");
    if (pageErrors.length) throw new Error(`errors in the page: ${pageErrors.join("; ")}`);
    log(`badge: ${badge.trim()}; screenshot: ${file}`);

    await browser.close();
    await srv.stopCleanly();
  } finally {
    for (const fn of stops.reverse()) await fn().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}
