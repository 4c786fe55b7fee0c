// The real desktop app in a real window, driven over WebDriver: a private Xvfb,
// tauri-driver (which starts WebKitWebDriver, which starts target/debug/replaydesk-desktop),
// and plain W3C WebDriver calls over HTTP.

import http from "node:http";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
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
    const driver = start("tauri-driver", driverBin, ["--port", String(port), "--native-port", String(nativePort)], {
      // The app inherits this environment (tauri-driver → WebKitWebDriver → app).
      env: cleanEnv({
        DISPLAY: xvfb.display,
        XDG_DATA_HOME: path.join(home, "data"),
        XDG_CONFIG_HOME: path.join(home, "config"),
        REPLAYDESK_LISTEN: `127.0.0.1:${appPort}`,
        // No keychain here: secrets go to the 0600 file, which this test can check.
        REPLAYDESK_SECRET_STORE: "file",
      }),
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

    // The app opens on Host, the teacher's page, without being sent there.
    await waitFor("the app opening on Host", 15000, () => app.present('[data-testid="host-new"]'));

    // Host: create a class, Start, both messages reach `sent`, join info shown.
    await app.go("#/host");
    await waitFor("the host view", 15000, () => app.present('[data-testid="host-new"]'));
    await app.click('[data-testid="host-new"]');
    await app.type("#hc-class", "c-e2e");
    await app.type("#hc-teacher", "teacher_li");
    await app.click('[data-testid="host-create-submit"]');
    await waitFor("the created class", 15000, () => app.present('[data-testid="host-start"]'));
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
    const msgs = await app.invoke("class_messages", { classId: "c-e2e", query: {} });
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
    log(`host: started c-e2e, 1001 + 1003 sent, join info shown; screenshot: ${await app.screenshot("desktop-host.png")}`);

    await app.click('[data-testid="host-end"]');
    await waitFor("the class to end", 15000, async () =>
      (await app.text(await app.find('[data-testid="class-state"]'))) === "ended" ? true : undefined,
    );

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
      const a = await app.invoke(cmd, args);
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
