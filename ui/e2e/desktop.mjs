// The real desktop app in a real window, driven over WebDriver: a private Xvfb,
// tauri-driver (which starts WebKitWebDriver, which starts target/debug/replaydesk-desktop),
// and plain W3C WebDriver calls over HTTP.

import { execFileSync } from "node:child_process";
import http from "node:http";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  DESKTOP_BIN,
  ROOT,
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
  withTimeout,
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

/** GET http://127.0.0.1:PORT/healthz: the embedded backend's own HTTP listener. */
function healthz(port) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/healthz", agent: false, timeout: 5000 }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("timeout", () => req.destroy(new Error("no answer from /healthz in 5 s")));
    req.on("error", reject);
  });
}

/** Every file under `dir`, recursively. */
function filesUnder(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

/** One app session over tauri-driver; `close()` quits the app. */
async function openSession(port, log) {
  // Not retried: a second POST would start a second app.
  const session = await wd(
    port,
    "POST",
    "/session",
    { capabilities: { alwaysMatch: { "tauri:options": { application: DESKTOP_BIN } } } },
    { timeoutMs: 60000 },
  );
  const s = `/session/${session.sessionId}`;
  log(`session ${session.sessionId}`);
  let closed = false;
  const find = async (css) => (await wd(port, "POST", `${s}/element`, { using: "css selector", value: css }, { retry: true }))[ELEMENT];
  /** The element, once it exists (undefined until then, for waitFor). */
  const present = async (css) => {
    try {
      return await find(css);
    } catch (err) {
      if (err instanceof WebDriverError && err.code === "no such element") return undefined;
      throw err;
    }
  };
  const api = {
    find,
    present,
    text: async (id) => wd(port, "GET", `${s}/element/${id}/text`, undefined, { retry: true }),
    attr: async (id, name) => wd(port, "GET", `${s}/element/${id}/attribute/${name}`, undefined, { retry: true }),
    click: async (css) => wd(port, "POST", `${s}/element/${await find(css)}/click`, {}),
    type: async (css, value) => wd(port, "POST", `${s}/element/${await find(css)}/value`, { text: value }),
    clear: async (css) => wd(port, "POST", `${s}/element/${await find(css)}/clear`, {}),
    exec: async (script, args = []) => wd(port, "POST", `${s}/execute/sync`, { script, args }, { retry: true }),
    /** A Tauri command, as the page calls it; resolves to {ok} or {err}. */
    invoke: async (cmd, args = {}) =>
      wd(
        port,
        "POST",
        `${s}/execute/async`,
        {
          script:
            "const done = arguments[arguments.length - 1];" +
            "window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1]).then((ok) => done({ ok }), (err) => done({ err }));",
          args: [cmd, args],
        },
        { retry: true, timeoutMs: 30000 },
      ),
    // Setting the hash twice lands on the same page, so a dropped connection is retried
    // (it was the one unretried call in the 'socket hang up' failures of CI runs).
    go: async (hash) =>
      wd(port, "POST", `${s}/execute/sync`, { script: "window.location.hash = arguments[0];", args: [hash] }, { retry: true }),
    title: async () => wd(port, "GET", `${s}/title`, undefined, { retry: true }),
    /** The window's size (no window manager under Xvfb: GTK resizes it itself). */
    resize: async (width, height) => wd(port, "POST", `${s}/window/rect`, { width, height }, { retry: true }),
    /** True when the element exists and is disabled. */
    disabled: async (css) =>
      wd(port, "POST", `${s}/execute/sync`, { script: "const e = document.querySelector(arguments[0]); return !!e && e.disabled === true;", args: [css] }, { retry: true }),
    /** The labels of the header's navigation links, in order. */
    navLabels: async () =>
      wd(
        port,
        "POST",
        `${s}/execute/sync`,
        { script: "return Array.from(document.querySelectorAll('[data-testid=\"nav\"] a')).map((a) => a.textContent.trim());", args: [] },
        { retry: true },
      ),
    /** Sets the theme ("light", "dark" or "auto") with the header's toggle, as a person would. */
    async theme(t) {
      const want = { light: "Theme: light", dark: "Theme: dark", auto: "Theme: system" }[t];
      for (let i = 0; i < 3; i++) {
        if ((await api.text(await find('[data-testid="theme-toggle"]'))) === want) return;
        await api.click('[data-testid="theme-toggle"]');
      }
      throw new Error(`the theme toggle never read ${JSON.stringify(want)}`);
    },
    /**
     * `name`.png light, `name`-dark.png, and `name`-800.png light at 800 px wide, each of
     * the whole page: the window is made as tall as the page for the picture (a WebDriver
     * screenshot holds only what the window shows).
     */
    async screenshots(name) {
      const files = [];
      const whole = async (width, file) => {
        await api.resize(width, 800);
        await api.exec("window.scrollTo(0, 0); return true;");
        const high = await api.exec("return document.documentElement.scrollHeight;");
        await api.resize(width, Math.min(Math.max(high, 600), 4000));
        files.push(await api.screenshot(file));
        const wide = await api.exec("return [document.documentElement.scrollWidth, window.innerWidth];");
        if (wide[0] > wide[1] + 1) throw new Error(`${file}: the page is ${wide[0]} px wide in a ${wide[1]} px window`);
      };
      await api.theme("light");
      await whole(1200, `${name}.png`);
      await api.theme("dark");
      await whole(1200, `${name}-dark.png`);
      await api.theme("light");
      await whole(800, `${name}-800.png`);
      await api.resize(1200, 800);
      await api.theme("auto");
      return files.map((f) => path.basename(f)).join(", ");
    },
    async screenshot(name) {
      await sleep(1000); // let the last paint land
      const png = await wd(port, "GET", `${s}/screenshot`, undefined, { retry: true, timeoutMs: 30000 });
      const file = shotPath(name);
      writeFileSync(file, Buffer.from(png, "base64"));
      return file;
    },
    async close() {
      if (closed) return;
      closed = true;
      await wd(port, "DELETE", s, undefined, { retry: true }).catch((err) => {
        // A retried DELETE may find the session already gone: that is the goal anyway.
        if (!(err instanceof WebDriverError && err.code === "invalid session id")) throw err;
      });
    },
  };
  return api;
}

const PLANTED = "PLANTED-e2e-secret-5b7d1c";

export async function desktopTest({ version, log }) {
  requireFile(DESKTOP_BIN, "build it with: cargo build -p replaydesk-desktop");
  const driverBin = tauriDriver();
  if (!onPath("WebKitWebDriver")) {
    throw new Error("WebKitWebDriver is not on PATH (Debian package webkit2gtk-driver; bash scripts/setup.sh)");
  }
  const cleanup = [];
  // A fresh home for the app: its data dir (database, log) and config dir (settings,
  // secrets file) live under these XDG directories.
  const home = mkdtempSync(path.join(os.tmpdir(), "replaydesk-e2e-desktop-"));
  cleanup.push(() => rmSync(home, { recursive: true, force: true }));
  const dataDir = path.join(home, "data", "dev.replaydesk.desktop");
  const configDir = path.join(home, "config", "dev.replaydesk.desktop");
  try {
    const xvfb = await startXvfb();
    cleanup.push(() => xvfb.stop());
    log(`Xvfb on display ${xvfb.display}`);

    const port = await freePort();
    let nativePort = await freePort();
    while (nativePort === port) nativePort = await freePort();
    let appPort = await freePort();
    while (appPort === port || appPort === nativePort) appPort = await freePort();
    // A private D-Bus session bus: the app's single-instance guard finds the first launch
    // over it (the plugin lets every launch run on its own where no bus answers).
    const busPath = path.join(home, "bus");
    const bus = start("dbus-daemon", "dbus-daemon", ["--session", "--nofork", "--nopidfile", `--address=unix:path=${busPath}`]);
    cleanup.push(() => bus.stop());
    await waitFor("the session bus", 15000, async () => {
      bus.assertAlive();
      return existsSync(busPath) ? true : undefined;
    });
    const appEnv = cleanEnv({
      DISPLAY: xvfb.display,
      XDG_DATA_HOME: path.join(home, "data"),
      XDG_CONFIG_HOME: path.join(home, "config"),
      REPLAYDESK_LISTEN: `127.0.0.1:${appPort}`,
      // No keychain here: secrets go to the 0600 file, which this test can check.
      REPLAYDESK_SECRET_STORE: "file",
      DBUS_SESSION_BUS_ADDRESS: `unix:path=${busPath}`,
      // No accessibility bus to start on the private session bus.
      NO_AT_BRIDGE: "1",
      // WebKitWebDriver's screenshot never answers when WebKitGTK's compositing is off, as
      // the app sets it by default on Linux (docs/desktop.md): on for this test. The
      // default's rendering is looked at by ui/e2e/bench-footprint.mjs's screenshots.
      WEBKIT_DISABLE_COMPOSITING_MODE: "0",
    });
    // The app inherits this environment (tauri-driver → WebKitWebDriver → app).
    const driver = start("tauri-driver", driverBin, ["--port", String(port), "--native-port", String(nativePort)], {
      env: appEnv,
    });
    cleanup.push(() => driver.stop());
    // tauri-driver listens at once but only proxies to WebKitWebDriver, which it starts
    // itself: a session asked for before that one listens gets a dropped connection.
    await waitForPort(port, 15000, driver);
    await waitForPort(nativePort, 15000, driver);
    log(`tauri-driver on port ${port} (WebKitWebDriver on ${nativePort}); the app listens on ${appPort}`);

    // ---- first launch: a fresh data dir ----
    let app = await openSession(port, log);
    cleanup.push(() => app.close().catch(() => {}));

    // The page is ready once the header shows the version that came over Tauri IPC.
    const versionEl = await waitFor("the version in the header", 30000, () => app.present('[data-testid="version"]'));
    const shown = await app.text(versionEl);
    if (shown !== `v${version}`) throw new Error(`header version is ${JSON.stringify(shown)}, expected "v${version}"`);
    const badge = await app.text(await app.find('[data-testid="mode-badge"]'));
    if (!badge.includes("SANDBOX")) throw new Error(`mode badge reads ${JSON.stringify(badge)}, expected SANDBOX`);
    const main = await app.text(await app.find("main"));
    if (!main.includes("Desktop app (Tauri IPC)")) {
      throw new Error(`"Connected via" does not say "Desktop app (Tauri IPC)"; the page reads:\n${main}`);
    }
    const title = await app.title();
    if (title !== "ReplayDesk") throw new Error(`window title is ${JSON.stringify(title)}`);
    log(`header: v${version} · ${badge.trim()}; screenshot: ${await app.screenshot("desktop.png")}`);

    // The embedded backend answers on the configured address while the app runs.
    const h1 = await healthz(appPort);
    if (h1.status !== 200) throw new Error(`/healthz on ${appPort}: HTTP ${h1.status} ${h1.body}`);

    // The app opens on Host, the teacher's page, without being sent there; its navigation
    // is the teacher's (Host, My classes, Settings) and the admin's pages are one switch away.
    await waitFor("the app opening on Host", 15000, () => app.present('[data-testid="host-new"]'));
    const teacherNav = await app.navLabels();
    if (JSON.stringify(teacherNav) !== JSON.stringify(["Host", "My classes", "Settings"])) {
      throw new Error(`the teacher's navigation reads ${JSON.stringify(teacherNav)}`);
    }
    await app.click('[data-testid="area-admin"]');
    const adminNav = await waitFor("the admin's navigation", 15000, async () => {
      const labels = await app.navLabels();
      return labels.includes("Messages") ? labels : undefined;
    });
    if (adminNav.includes("Host") || !adminNav.includes("Classes") || !adminNav.includes("Audit log")) {
      throw new Error(`the admin's navigation reads ${JSON.stringify(adminNav)}`);
    }
    await app.present('[data-testid="classes"]');
    log(`navigation: teacher ${JSON.stringify(teacherNav)}, one switch to admin ${JSON.stringify(adminNav)}`);
    log(`screenshots: ${await app.screenshots("desktop-admin-nav")}`);
    await app.click('[data-testid="area-teacher"]');
    await waitFor("the switch back to Host", 15000, () => app.present('[data-testid="host-new"]'));

    // Host: create a class, Start, both messages reach `sent`, join info shown.
    await app.go("#/host");
    await waitFor("the host view", 15000, () => app.present('[data-testid="host-new"]'));
    await app.click('[data-testid="host-new"]');
    await app.type("#hc-class", "c-e2e");
    await app.type("#hc-teacher", "teacher_li");
    await app.click('[data-testid="host-create-submit"]');
    await waitFor("the created class", 15000, () => app.present('[data-testid="host-start"]'));
    // The app listens on 127.0.0.1: the join info says, where the teacher looks, that no
    // student's device can use it, and offers this computer's addresses and the setting.
    const warning = await app.text(await waitFor("the join warning", 15000, () => app.present('[data-testid="join-warning"]')));
    if (!warning.includes("Students cannot join with this address") || !warning.includes(`http://127.0.0.1:${appPort}`) || !warning.includes("0.0.0.0")) {
      throw new Error(`the join warning reads:\n${warning}`);
    }
    const offered = await app.exec(
      "return Array.from(document.querySelectorAll('[data-testid=\"join-addresses\"] li')).map((e) => e.textContent);",
    );
    if (offered.some((a) => a.includes("127.0.0.1") || !a.includes(`:${appPort}`))) {
      throw new Error(`offered addresses: ${JSON.stringify(offered)}`);
    }
    log(`join warning shown; addresses offered: ${JSON.stringify(offered)}`);
    await app.click('[data-testid="host-start"]');
    const sentEl = await app.find('[data-testid="count-sent"]');
    await waitFor("the 1001 and the teacher's 1003 to be sent", 30000, async () =>
      (await app.attr(await app.find('[data-testid="count-sent"]'), "data-count")) === "2" ? true : undefined,
    );
    void sentEl;
    const state = await app.text(await app.find('[data-testid="class-state"]'));
    if (state !== "started") throw new Error(`class state reads ${JSON.stringify(state)} after Start`);
    const joinText = await app.text(await app.find('[data-testid="join-text"]'));
    if (!joinText.includes(`server_url: http://127.0.0.1:${appPort}`) || !joinText.includes("class_id: c-e2e")) {
      throw new Error(`join info reads:\n${joinText}`);
    }
    const qr = await app.attr(await app.find('[data-testid="join-qr"]'), "src");
    if (!String(qr).startsWith("data:image/svg+xml;base64,")) throw new Error("no QR code image in the join info");
    // What the messages are: the class start and the teacher's timeline report.
    const msgs = await app.invoke("operation", { name: "class_messages", classId: "c-e2e", query: {} });
    const types = (msgs.ok?.items ?? []).map((m) => `${m.msg_type}:${m.status}`).sort();
    if (JSON.stringify(types) !== JSON.stringify(["class_start:sent", "timeline:sent"])) {
      throw new Error(`class messages: ${JSON.stringify(msgs)}`);
    }
    await app.type('[data-testid="student-uid"]', "stu_wang");
    await app.click('[data-testid="student-join-submit"]');
    await waitFor("a student's credential", 15000, async () => {
      const texts = await app.exec(
        "return Array.from(document.querySelectorAll('[data-testid=\"join-text\"]')).map((e) => e.textContent);",
      );
      return texts.some((t) => t.includes("uid: stu_wang") && t.includes("credential: ")) ? true : undefined;
    });
    // While it runs: Start is off, the elapsed time shows, the roster lists the members
    // with their last report.
    if (!(await app.disabled('[data-testid="host-start"]'))) throw new Error("Start is enabled while the class runs");
    const running = await app.text(await app.find('[data-testid="host-elapsed"]'));
    if (!/^Running for \d+:\d\d/.test(running)) throw new Error(`elapsed time reads ${JSON.stringify(running)}`);
    const roster = await waitFor("the roster: the teacher's last report, none yet for the student", 15000, async () => {
      const rows = await app.exec(
        "return Array.from(document.querySelectorAll('[data-testid=\"roster-row\"]')).map((r) => r.textContent);",
      );
      // The teacher reported (the 1003 of Start); the student only has a credential so far.
      const teacherRow = rows.find((r) => r.includes("teacher_li"));
      const studentRow = rows.find((r) => r.includes("stu_wang"));
      return teacherRow?.includes("ago") && studentRow?.includes("no report yet") ? rows : undefined;
    });
    log(`host: started c-e2e, 1001 + 1003 sent, join info shown; ${running}; roster ${JSON.stringify(roster)}`);
    // The app heartbeats the teacher's native clock while hosting: "In class now" lists them.
    const live = await waitFor("the teacher in 'In class now' (the app's own heartbeats)", 20000, async () => {
      const text = await app.exec(
        "const el = document.querySelector('[data-testid=\"host-live-members\"]'); return el ? el.textContent : '';",
      );
      return text.includes("teacher_li") ? text : undefined;
    });
    log(`host: in class now ${JSON.stringify(live)}`);
    log(`screenshots: ${await app.screenshots("desktop-host")}`);

    // End asks first: nothing is sent until the teacher confirms.
    await app.click('[data-testid="host-end"]');
    await waitFor("End's confirmation", 15000, () => app.present('[data-testid="host-end-confirm"]'));
    if ((await app.text(await app.find('[data-testid="class-state"]'))) !== "started") throw new Error("End did not ask first");
    await app.click('[data-testid="host-end-confirm-yes"]');
    await waitFor("the class to end", 15000, async () =>
      (await app.text(await app.find('[data-testid="class-state"]'))) === "ended" ? true : undefined,
    );
    // After End, Start stays off (a start would only be refused with a conflict).
    await waitFor("Start to be disabled after End", 15000, async () => ((await app.disabled('[data-testid="host-start"]')) ? true : undefined));
    const lasted = await app.text(await app.find('[data-testid="host-elapsed"]'));
    if (!lasted.startsWith("Lasted ")) throw new Error(`after End the elapsed time reads ${JSON.stringify(lasted)}`);
    await app.present('[data-testid="host-ended-note"]');
    log(`ended: Start disabled, ${lasted}; screenshots: ${await app.screenshots("desktop-host-ended")}`);

    // The teacher's classes, and the join warning's way to Settings with the address filled in.
    await app.click('[data-testid="nav"] a[href*="my-classes"]');
    const mine = await waitFor("c-e2e among my classes", 15000, async () => {
      const rows = await app.exec(
        "return Array.from(document.querySelectorAll('[data-testid=\"my-class-row\"]')).map((r) => r.textContent);",
      );
      return rows.find((r) => r.includes("c-e2e") && r.includes("3 sent"));
    });
    if (!mine.includes("ended")) {
      throw new Error(`my classes' row reads ${JSON.stringify(mine)}`);
    }
    log(`my classes: ${mine}; screenshots: ${await app.screenshots("desktop-my-classes")}`);
    await app.go("#/host?class=c-e2e");
    await app.click(await waitFor("the join warning's Settings link", 15000, async () => ((await app.present('[data-testid="join-listen-settings"]')) ? '[data-testid="join-listen-settings"]' : undefined)));
    await waitFor("the listen address filled in", 15000, () => app.present('[data-testid="s-listen-suggested"]'));
    // No callback key in this fresh app: Settings says what that costs, as serve's log does.
    const cbWarning = await app.text(await app.find('[data-testid="s-callback-warning"]'));
    if (!cbWarning.includes("every one is refused")) throw new Error(`the callback-key warning reads ${JSON.stringify(cbWarning)}`);
    const listenValue = await app.exec("return document.querySelector('[data-testid=\"s-listen\"]').value;");
    if (listenValue !== `0.0.0.0:${appPort}`) throw new Error(`Settings' listen address reads ${JSON.stringify(listenValue)}`);
    log(`settings: listen address filled in from Host (${listenValue}), not saved; screenshots: ${await app.screenshots("desktop-settings-listen")}`);
    // Leave without saving, so the form below starts from the stored settings.
    await app.go("#/my-classes");
    await waitFor("my classes again", 15000, () => app.present('[data-testid="my-classes"]'));

    // Settings: plant a known secret through the form.
    await app.go("#/settings");
    await waitFor("the settings form", 15000, () => app.present('[data-testid="s-secret"]'));
    await app.type('[data-testid="s-secret"]', PLANTED);
    await app.click('[data-testid="s-save"]');
    await waitFor("the settings to be saved", 15000, () => app.present('[data-testid="s-saved"]'));
    const secretState = await app.text(await app.find('[data-testid="s-secret-state"]'));
    if (secretState !== "A secret key is set.") throw new Error(`settings say ${JSON.stringify(secretState)}`);
    log(`settings: secret saved; screenshot: ${await app.screenshot("desktop-settings.png")}`);

    // The secret is in no command's answer and not on the page.
    const answers = [];
    for (const [cmd, args] of [
      ["app_info", {}],
      ["get_settings", {}],
      ["host_list_classes", {}],
      ["host_status", { classId: "c-e2e" }],
      ["host_join_info", { classId: "c-e2e", uid: "stu_wang" }],
      ["list_classes", { query: {} }],
      ["get_class", { classId: "c-e2e" }],
      ["class_messages", { classId: "c-e2e", query: {} }],
      ["list_messages", { query: {} }],
      ["list_audit", { query: {} }],
      ["list_alerts", {}],
      ["list_jobs", { query: {} }],
      ["list_callbacks", { query: {} }],
    ]) {
      // The desktop's own commands are called by name; the console's operations go
      // through the one `operation` command.
      const desktopOnly = ["app_info", "get_settings", "host_list_classes", "host_status", "host_join_info"];
      const a = desktopOnly.includes(cmd) ? await app.invoke(cmd, args) : await app.invoke("operation", { name: cmd, ...args });
      if (a.err !== undefined && cmd !== "list_alerts") throw new Error(`${cmd} failed: ${JSON.stringify(a.err)}`);
      answers.push(JSON.stringify(a));
    }
    answers.push(await app.exec("return document.documentElement.outerHTML;"));
    for (const a of answers) if (a.includes(PLANTED)) throw new Error(`the planted secret is in an answer: ${a.slice(0, 300)}`);

    // ---- quit ----
    await app.close();
    await waitFor("the app to quit (its port to close)", 20000, async () => {
      try {
        await healthz(appPort);
        return undefined;
      } catch {
        return true;
      }
    });

    // The database, its WAL, the log and the settings file do not hold the secret; the
    // secrets file does, readable by its owner only.
    const files = [...filesUnder(dataDir), path.join(configDir, "replaydesk.toml")];
    if (!files.some((f) => f.endsWith("replaydesk.db")) || !files.some((f) => f.endsWith("replaydesk.log"))) {
      throw new Error(`no database or log in ${dataDir}: ${files.join(", ")}`);
    }
    for (const f of files) {
      if (readFileSync(f).includes(PLANTED)) throw new Error(`${f} holds the planted secret`);
    }
    const secretsFile = path.join(configDir, "secrets.toml");
    const mode = statSync(secretsFile).mode & 0o777;
    if (mode !== 0o600) throw new Error(`${secretsFile} has mode ${mode.toString(8)}, expected 600`);
    if (!readFileSync(secretsFile, "utf8").includes(PLANTED)) throw new Error("the secret was not kept");
    log(`quit; secret absent from ${files.length} files (database, WAL, log, settings), kept in secrets.toml (0600)`);

    // ---- relaunch: the class and its messages are still there ----
    app = await openSession(port, log);
    await waitFor("the version in the header after relaunch", 30000, () => app.present('[data-testid="version"]'));
    const h2 = await healthz(appPort);
    if (h2.status !== 200) throw new Error(`/healthz after relaunch: HTTP ${h2.status}`);
    // The app remembers the class last hosted and the teacher's id: Host opens on that
    // class, and the New class form starts with the teacher filled in.
    await waitFor("Host opening on the last class", 15000, async () => {
      const el = await app.present('[data-testid="class-state"]');
      return el && (await app.exec("return window.location.hash;")).includes("class=c-e2e") ? true : undefined;
    });
    await app.click('[data-testid="host-new"]');
    const teacherValue = await app.exec("return document.querySelector('#hc-teacher').value;");
    if (teacherValue !== "teacher_li") throw new Error(`the New class form's teacher reads ${JSON.stringify(teacherValue)}`);
    log("relaunched: Host opened on c-e2e by itself; the New class form has teacher_li filled in");
    await app.click('[data-testid="host-new"]');

    // A second launch hands over to this one and exits: no second backend, no error, and
    // this one's window shows again. It is hidden first (unmapped, as a minimized window
    // is), so that "shows its window" is seen, not assumed.
    const xwindow = (action) =>
      execFileSync("python3", [path.join(ROOT, "ui", "e2e", "xwindow.py"), action, "ReplayDesk"], {
        env: { ...process.env, DISPLAY: xvfb.display },
        encoding: "utf8",
      }).trim();
    const hidden = xwindow("unmap");
    if (hidden !== "unmapped") throw new Error(`the window could not be hidden: ${hidden}`);
    const second = start("second launch", DESKTOP_BIN, [], { env: appEnv });
    const secondExit = await withTimeout(second.exited, 60000, "the second launch exiting");
    if (secondExit.code !== 0) {
      throw new Error(`the second launch exited ${JSON.stringify(secondExit)}; its output:\n${second.output()}`);
    }
    const handedOver = await waitFor("the first app to log the hand-over", 15000, async () => {
      const text = readFileSync(path.join(dataDir, "replaydesk.log"), "utf8");
      return text.includes("another launch of ReplayDesk handed over to this one") ? true : undefined;
    });
    void handedOver;
    const shownAgain = await waitFor("the first app's window to show again", 15000, async () =>
      xwindow("state") === "viewable" ? true : undefined,
    );
    void shownAgain;
    const h3 = await healthz(appPort);
    if (h3.status !== 200) throw new Error(`/healthz after the second launch: HTTP ${h3.status}`);
    const stillTitle = await app.title();
    if (stillTitle !== "ReplayDesk") throw new Error(`after the second launch the window's title is ${JSON.stringify(stillTitle)}`);
    log(`second launch: exited 0 at once (output ${JSON.stringify(second.output().trim().slice(0, 200))}); the first logged the hand-over, its hidden window is viewable again, and it still serves`);

    await app.go("#/host?class=c-e2e");
    await waitFor("the class after relaunch", 15000, async () => {
      const el = await app.present('[data-testid="class-state"]');
      return el && (await app.text(el)) === "ended" ? true : undefined;
    });
    await waitFor("all three messages sent after relaunch", 30000, async () =>
      (await app.attr(await app.find('[data-testid="count-sent"]'), "data-count")) === "3" ? true : undefined,
    );
    const settings = await app.invoke("get_settings");
    if (settings.ok?.secret_key_set !== true) throw new Error(`after relaunch: ${JSON.stringify(settings)}`);
    log("relaunched: class c-e2e ended with 1001, 1003, 1002 sent; the secret key is still set");

    // The console's own pages over Tauri IPC, as in the browser: the class list with its
    // counts, then the class's log and one message's detail with its attempts.
    await app.go("#/");
    const classRow = await waitFor("c-e2e in the class list", 15000, async () => {
      const rows = await app.exec(
        "return Array.from(document.querySelectorAll('[data-testid=\"classes\"] tbody tr')).map((r) => r.textContent);",
      );
      return rows.find((r) => r.includes("c-e2e"));
    });
    if (!classRow.includes("teacher_li") || !classRow.includes("ended") || !classRow.includes("sent 3")) {
      throw new Error(`the class list's row reads ${JSON.stringify(classRow)}`);
    }
    log(`class list: ${classRow}; screenshot: ${await app.screenshot("desktop-classes.png")}`);
    await app.click('[data-testid="classes"] a[href*="c-e2e"]');
    await waitFor("the class's message rows", 15000, () => app.present('[data-testid="message-row"]'));
    const rowCount = await app.exec("return document.querySelectorAll('[data-testid=\"message-row\"]').length;");
    if (rowCount !== 3) throw new Error(`the class's log shows ${rowCount} rows, expected 3`);
    await app.click('[data-testid="message-row"]');
    const attempts = await waitFor("the message's attempts", 15000, () => app.present('[data-testid="attempts"]'));
    const attemptsText = await app.text(attempts);
    if (!attemptsText.includes("sent")) throw new Error(`the attempts read ${JSON.stringify(attemptsText)}`);
    const data = await app.text(await app.find('[data-testid="message-detail"]'));
    if (!data.includes("c-e2e") || !data.includes('"type"')) throw new Error(`the message detail reads:\n${data}`);
    log(`message detail: attempts ${JSON.stringify(attemptsText.split("\n")[0])}; screenshot: ${await app.screenshot("desktop-message.png")}`);
    await app.close();
  } finally {
    for (const fn of cleanup.reverse()) await fn();
  }
}
