// The admin's and the support engineer's first hour, in Chromium against a real
// `replaydesk serve` (sandbox: its built-in IM emulator) on loopback: register a roster,
// issue a credential (shown once, then never again), revoke it, print a join sheet with
// QR codes and copy a credential, end a class after a confirmation, filter the audit log
// and follow a target, open the alignment on the whole class with its recordings table and
// offset chart, export the class bundle. Every changed view is shot light and dark at
// 1280 px and 800 px wide; at 800 px a 200-character audit target and a 128-character uid
// must not widen the page.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ADMIN_TOKEN, checkPrerequisites, launch, startServer } from "./console.mjs";
import { shotPath, waitFor } from "./lib.mjs";
import { api, postCallback, recordingCallback, reportTimeline } from "./seed.mjs";

const CLASS = "e2e-roster";
const GROUP = "replay_e2e_roster";
const TEACHER = "teacher_li";
const STUDENTS = ["student_wang", "student_zhao", "student_chen"];
const CALLBACK_KEY = "e2e-roster-callback-key-0123456789";
// The longest ids the API takes: a 64-character class id and a 128-character uid make a
// 200-character audit target (`member:<class>:<uid>`).
const LONG_CLASS = `c${"l".repeat(63)}`;
const LONG_UID = `u${"x".repeat(127)}`;

const b64 = (s) => Buffer.from(s, "utf8").toString("base64");

async function seed(base, log) {
  const created = await api(base, "POST", "/v1/classes", {
    token: ADMIN_TOKEN,
    body: { class_id: CLASS, group_id: GROUP, teacher_uid: TEACHER, create_group: true },
  });
  const teacher = created.teacher_credential;
  // The teacher joins, starts the class and reports a second pair a minute later (on its
  // own clock); the class runs.
  const t0 = 7_000_000;
  await reportTimeline(base, teacher, CLASS, TEACHER, t0);
  await api(base, "POST", `/v1/classes/${CLASS}/start`, { token: teacher, body: { uid: TEACHER, timestamp: t0 + 500 } });
  await reportTimeline(base, teacher, CLASS, TEACHER, t0 + 1_500);
  // A recording of the teacher's stream, mapped by stream_param to this class.
  const cb = recordingCallback(CALLBACK_KEY, {
    fileId: "5285890809999111001",
    streamId: `1400000000_${CLASS}_${TEACHER}_main`,
    streamParam: `groupid=${GROUP}&userid=${encodeURIComponent(b64(TEACHER))}`,
  });
  log(`recording callback answered ${JSON.stringify(await postCallback(base, cb))}`);
  // The long-id class: a member with the longest uid, given a credential (audit target of 200 characters).
  await api(base, "POST", "/v1/classes", {
    token: ADMIN_TOKEN,
    body: { class_id: LONG_CLASS, group_id: "replay_long", teacher_uid: LONG_UID, create_group: true },
  });
  await api(base, "POST", `/v1/admin/classes/${LONG_CLASS}/members/${LONG_UID}/credential`, { token: ADMIN_TOKEN });
}

async function shoot(page, name, log, { fullPage = false } = {}) {
  for (const theme of ["light", "dark"]) {
    await page.evaluate((t) => {
      document.documentElement.dataset.theme = t;
    }, theme);
    await page.waitForTimeout(200);
    const width = page.viewportSize()?.width ?? 0;
    const file = shotPath(`roster-${name}-${width}-${theme}.png`);
    await page.screenshot({ path: file, fullPage });
    log(`screenshot ${file}`);
  }
  await page.evaluate(() => {
    document.documentElement.dataset.theme = "light";
  });
}

/** The page is no wider than the window (nothing makes it scroll sideways); else what sticks out. */
async function sideScroll(page, what) {
  const { scroll, client, culprits } = await page.evaluate(() => {
    const client = document.documentElement.clientWidth;
    const culprits = [...document.querySelectorAll("body *")]
      .filter((e) => e.getBoundingClientRect().right > client + 1 && e.children.length === 0)
      .slice(0, 5)
      .map((e) => `${e.tagName.toLowerCase()}.${e.className} (${Math.round(e.getBoundingClientRect().right)} px)`);
    return { scroll: document.documentElement.scrollWidth, client, culprits };
  });
  return scroll > client ? `${what}: the page is ${scroll} px wide in a ${client} px window (${culprits.join(", ")})` : null;
}

async function report(base, credential, uid, timestamp) {
  const res = await fetch(`${base}/v1/classes/${CLASS}/timeline`, {
    method: "POST",
    headers: { Authorization: `Bearer ${credential}`, "Content-Type": "application/json" },
    body: JSON.stringify({ uid, timestamp }),
  });
  return res.status;
}

export async function rosterTest({ log }) {
  checkPrerequisites();
  const dir = mkdtempSync(path.join(os.tmpdir(), "replaydesk-e2e-roster-"));
  const stops = [];
  try {
    const srv = await startServer(dir, { REPLAYDESK_CALLBACK_KEY: CALLBACK_KEY });
    stops.push(() => srv.server.stop());
    const base = srv.url;
    await seed(base, log);

    const browser = await launch();
    stops.push(() => browser.close());
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
    const page = await context.newPage();
    const pageErrors = [];
    page.on("pageerror", (err) => pageErrors.push(err.message));
    // No native dialog may stand in for the console's own confirmations.
    page.on("dialog", (d) => {
      pageErrors.push(`native dialog: ${d.message()}`);
      void d.dismiss();
    });
    await page.goto(`${base}/?token=${encodeURIComponent(ADMIN_TOKEN)}`, { waitUntil: "load" });
    await page.getByTestId("classes").waitFor({ timeout: 15000 });

    // --- The roster, registered before anyone reports.
    await page.goto(`${base}/#/classes/${CLASS}/members`, { waitUntil: "load" });
    await page.getByTestId("roster").waitFor({ timeout: 15000 });
    await page.getByTestId("roster-input").fill(`${STUDENTS.join("\n")}\n${TEACHER}`);
    await page.getByTestId("roster-add").click();
    await page.getByTestId("roster-added").filter({ hasText: "Added 3, 1 already members." }).waitFor({ timeout: 10000 });
    await waitFor("4 rows on the roster", 10000, async () => ((await page.getByTestId("roster-row").count()) === 4 ? true : undefined));
    // Registered students have not reported; the teacher has.
    await waitFor("last reports shown", 10000, async () => {
      const chen = await page.locator(`[data-testid=roster-row][data-uid=${STUDENTS[2]}] [data-testid=last-report]`).innerText();
      const teacher = await page.locator(`[data-testid=roster-row][data-uid=${TEACHER}] [data-testid=last-report]`).innerText();
      return chen.includes("no report yet") && /\d\d:\d\d/.test(teacher) ? true : undefined;
    });
    const states = await page.getByTestId("credential-state").allInnerTexts();
    if (!states.some((s) => s.includes("not issued"))) throw new Error(`credential states: ${states}`);
    await shoot(page, "members", log);

    // --- A credential: asked first, shown once, refused once issued again or revoked.
    const wangRow = page.locator(`[data-testid=roster-row][data-uid=${STUDENTS[0]}]`);
    await wangRow.getByTestId("issue-credential").click();
    const issueDialog = page.getByTestId("confirm-dialog");
    await issueDialog.waitFor();
    const issueText = await issueDialog.getByTestId("confirm-text").innerText();
    if (!issueText.includes("stops working")) throw new Error(`the issue confirmation does not say what it does: ${issueText}`);
    await shoot(page, "issue-confirm", log);
    await issueDialog.getByTestId("confirm-yes").click();
    const issued = page.getByTestId("issued-credential");
    await issued.waitFor({ timeout: 10000 });
    const credential = (await issued.getByTestId("card-credential").innerText()).trim();
    if (!credential.startsWith("rdc2.")) throw new Error(`unexpected credential ${credential}`);
    if ((await issued.locator("img.qr").count()) !== 1) throw new Error("no QR code with the issued credential");
    await shoot(page, "issued", log);
    // Copy: the clipboard holds the credential.
    await issued.getByRole("button", { name: "Copy credential" }).click();
    await issued.getByRole("button", { name: "Copied" }).waitFor({ timeout: 5000 });
    const clip = await page.evaluate(() => navigator.clipboard.readText());
    if (clip !== credential) throw new Error(`the clipboard holds ${clip}, not the credential`);
    if ((await report(base, credential, STUDENTS[0], 9_000_000)) !== 202) throw new Error("the issued credential was refused");
    // Hidden: nowhere on the page, nor after a reload, nor in the roster's answer.
    await issued.getByTestId("issued-done").click();
    await issued.waitFor({ state: "detached" });
    const gone = async (where) => {
      const html = await page.content();
      if (html.includes(credential)) throw new Error(`the credential is still shown (${where})`);
    };
    await gone("after Done");
    await page.reload({ waitUntil: "load" });
    await page.getByTestId("roster").waitFor({ timeout: 15000 });
    await gone("after a reload");
    const members = await api(base, "GET", `/v1/admin/classes/${CLASS}/members`, { token: ADMIN_TOKEN });
    if (JSON.stringify(members).includes(credential)) throw new Error("the roster's answer lists a credential");
    await waitFor("wang's credential shown as issued", 10000, async () =>
      (await wangRow.getByTestId("credential-state").innerText()).includes("issued (generation 1)") ? true : undefined,
    );

    // Revoke: asked first; Cancel changes nothing; then refused.
    await wangRow.getByTestId("revoke-credential").click();
    await page.getByTestId("confirm-dialog").waitFor();
    await page.getByTestId("confirm-cancel").click();
    if ((await report(base, credential, STUDENTS[0], 9_000_100)) !== 202) throw new Error("Cancel revoked the credential");
    await wangRow.getByTestId("revoke-credential").click();
    await shoot(page, "revoke-confirm", log);
    await page.getByTestId("confirm-yes").click();
    await waitFor("wang's credential shown as revoked", 10000, async () =>
      (await wangRow.getByTestId("credential-state").innerText()).includes("revoked") ? true : undefined,
    );
    if ((await report(base, credential, STUDENTS[0], 9_000_200)) !== 401) throw new Error("a revoked credential was accepted");

    // --- The join sheet: asked first, warns about a loopback URL, one card per student.
    await page.getByTestId("join-sheet-button").click();
    const sheetDialog = page.getByTestId("confirm-dialog");
    await sheetDialog.waitFor();
    await sheetDialog.getByTestId("loopback-warning").waitFor({ timeout: 5000 });
    await shoot(page, "join-sheet-confirm", log);
    await sheetDialog.getByTestId("server-url").fill("http://192.168.1.20:8080");
    if ((await sheetDialog.getByTestId("loopback-warning").count()) !== 0) throw new Error("the loopback warning stayed for a LAN URL");
    await sheetDialog.getByTestId("confirm-yes").click();
    const sheet = page.getByTestId("join-sheet");
    await sheet.waitFor({ timeout: 15000 });
    const cards = sheet.getByTestId("join-card");
    if ((await cards.count()) !== STUDENTS.length) throw new Error(`${await cards.count()} cards, not ${STUDENTS.length}`);
    if ((await sheet.locator("img.qr").count()) !== STUDENTS.length) throw new Error("a card without its QR code");
    const zhaoCard = cards.filter({ hasText: STUDENTS[1] });
    const zhaoCred = (await zhaoCard.getByTestId("card-credential").innerText()).trim();
    if ((await report(base, zhaoCred, STUDENTS[1], 9_100_000)) !== 202) throw new Error("a join-sheet credential was refused");
    // Wang's revoked credential is replaced by the sheet's.
    const wangCred = (await cards.filter({ hasText: STUDENTS[0] }).getByTestId("card-credential").innerText()).trim();
    if ((await report(base, wangCred, STUDENTS[0], 9_100_100)) !== 202) throw new Error("wang's new credential was refused");
    await shoot(page, "join-sheet", log, { fullPage: true });
    await page.emulateMedia({ media: "print" });
    const printShot = shotPath("roster-join-sheet-print.png");
    await page.screenshot({ path: printShot, fullPage: true });
    log(`screenshot ${printShot}`);
    await page.emulateMedia({ media: "screen" });
    await sheet.getByTestId("issued-done").click();

    // --- End class: asked first; Cancel keeps it running.
    await page.getByTestId("end-class").click();
    const endDialog = page.getByTestId("end-class-dialog");
    await endDialog.waitFor();
    const endText = await endDialog.innerText();
    if (!endText.includes("1002") || !endText.includes("cannot be taken back")) throw new Error(`End class does not say what it does: ${endText}`);
    await shoot(page, "end-class-confirm", log);
    await endDialog.getByTestId("confirm-cancel").click();
    let cls = await api(base, "GET", `/v1/admin/classes/${CLASS}`, { token: ADMIN_TOKEN });
    if (cls.state !== "started") throw new Error(`Cancel ended the class: ${cls.state}`);
    await page.getByTestId("end-class").click();
    await page.getByTestId("end-class-dialog").getByTestId("confirm-yes").click();
    await page.getByTestId("end-class").waitFor({ state: "detached", timeout: 10000 });
    cls = await api(base, "GET", `/v1/admin/classes/${CLASS}`, { token: ADMIN_TOKEN });
    if (cls.state !== "ended") throw new Error(`the class did not end: ${cls.state}`);

    // --- An unmatched callback, decoded: its user (base64 userid), times as dates, and
    // this class offered first (it ran while the callback recorded, and knows the user).
    const stray = recordingCallback(CALLBACK_KEY, {
      fileId: "5285890809999111002",
      streamId: "1400000000_nowhere_x_main",
      streamParam: `groupid=replay_nowhere&userid=${encodeURIComponent(b64(STUDENTS[1]))}&txTime=6a1b2c3d`,
    });
    const nowS = Math.floor(Date.now() / 1000);
    stray.start_time = nowS - 60;
    stray.end_time = nowS;
    log(`stray callback answered ${JSON.stringify(await postCallback(base, stray))}`);
    await page.goto(`${base}/#/callbacks?status=unmatched`, { waitUntil: "load" });
    const decoded = page.getByTestId("decoded-callback").first();
    await decoded.waitFor({ timeout: 15000 });
    const uidShown = await decoded.getByTestId("decoded-uid").innerText();
    if (uidShown.trim() !== STUDENTS[1]) throw new Error(`the decoded userid reads ${uidShown}`);
    await waitFor("this class offered first", 10000, async () => {
      const first = (await decoded.getByTestId("callback-candidates").innerText()).split("\n")[0] ?? "";
      return first.startsWith(CLASS) && first.includes("is a member") ? true : undefined;
    });
    await shoot(page, "callbacks", log, { fullPage: true });

    // --- The audit log: filter by action and target, follow a target.
    await page.goto(`${base}/#/audit`, { waitUntil: "load" });
    await page.getByTestId("audit").waitFor({ timeout: 15000 });
    await page.getByTestId("audit-action").selectOption("issue_credential");
    await waitFor("only issue_credential rows", 10000, async () => {
      const actions = await page.locator("[data-testid=audit-row] td:nth-child(3)").allInnerTexts();
      return actions.length > 0 && actions.every((a) => a.trim() === "issue_credential") ? true : undefined;
    });
    await page.getByTestId("audit-target-filter").fill(`member:${CLASS}:`);
    await waitFor("only this class's members", 10000, async () => {
      const targets = await page.getByTestId("audit-target").allInnerTexts();
      // Wang once by hand, then every student by the sheet.
      return targets.length === 4 && targets.every((t) => t.startsWith(`member:${CLASS}:`)) ? true : undefined;
    });
    if (!page.url().includes("action=issue_credential")) throw new Error(`the filter is not in the URL: ${page.url()}`);
    await shoot(page, "audit", log);
    await page.getByTestId("audit-action").selectOption("end_class");
    await page.getByTestId("audit-target-filter").fill("");
    await page.getByTestId("audit-target").first().waitFor({ timeout: 10000 });
    await page.getByTestId("audit-target").first().click();
    await page.waitForURL((u) => u.hash.startsWith(`#/classes/${CLASS}`), { timeout: 10000 });

    // --- The alignment: the whole class in view, the recordings table, the offsets chart.
    await page.goto(`${base}/#/classes/${CLASS}/alignment`, { waitUntil: "load" });
    const lanes = page.getByTestId("alignment-lanes");
    await lanes.waitFor({ timeout: 20000 });
    const alignment = await api(base, "GET", `/v1/admin/classes/${CLASS}/alignment`, { token: ADMIN_TOKEN });
    const marks = alignment.events.filter((e) => e.event.kind === "class_start" || e.event.kind === "class_end").map((e) => e.server_ms);
    if (marks.length !== 2) throw new Error(`class start and end expected in the alignment: ${JSON.stringify(alignment.events)}`);
    await waitFor("the first view's range", 10000, async () => ((await lanes.getAttribute("data-view-start")) !== null ? true : undefined));
    const viewStart = Number(await lanes.getAttribute("data-view-start"));
    const viewEnd = Number(await lanes.getAttribute("data-view-end"));
    if (!(viewStart <= Math.min(...marks) && viewEnd >= Math.max(...marks))) {
      throw new Error(`the alignment opens on ${viewStart}..${viewEnd}, not the whole class ${marks}`);
    }
    await page.getByTestId("recordings-table").waitFor({ timeout: 10000 });
    if ((await page.getByTestId("recording-row").count()) !== alignment.recordings.length) throw new Error("recordings table rows");
    await page.getByTestId("offset-chart").waitFor({ timeout: 10000 });
    const source = await page.getByTestId("alignment-source").innerText();
    if (!source.includes("own message log")) throw new Error(`the page does not say what it reads: ${source}`);
    await shoot(page, "alignment", log, { fullPage: true });

    // --- Export: the bundle downloads.
    const [download] = await Promise.all([page.waitForEvent("download", { timeout: 15000 }), page.getByTestId("export-class").click()]);
    const file = path.join(dir, download.suggestedFilename());
    await download.saveAs(file);
    const bundle = JSON.parse(readFileSync(file, "utf8"));
    if (bundle.format !== "replaydesk-class-bundle/1" || bundle.class?.class_id !== CLASS) {
      throw new Error(`the download is not the class's bundle: ${JSON.stringify(bundle).slice(0, 200)}`);
    }
    if (JSON.stringify(bundle).includes(zhaoCred)) throw new Error("the bundle holds a credential");
    log(`export downloaded ${download.suggestedFilename()} (${bundle.messages.length} messages)`);

    // --- The cross-class log: the class whole on hover, the last error, dates with times;
    // the filter inputs carry the API's limits (typing past them is impossible, so no 422).
    await page.goto(`${base}/#/messages`, { waitUntil: "load" });
    await page.locator("[role=columnheader]", { hasText: "last error" }).waitFor({ timeout: 15000 });
    const created = (await page.locator(".vrow > div:nth-child(8)").first().innerText()).trim();
    if (!/^\d\d-\d\d \d\d:\d\d:\d\d$/.test(created)) throw new Error(`a created time without its date: ${created}`);
    for (const [id, max] of [["f-q", "200"], ["f-uid", "128"], ["f-class", "64"]]) {
      const got = await page.locator(`#${id}`).getAttribute("maxlength");
      if (got !== max) throw new Error(`#${id} takes ${got} characters, not ${max}`);
    }
    await page.locator("#f-q").fill("x".repeat(250));
    if ((await page.locator("#f-q").inputValue()).length !== 200) throw new Error("the text filter took more than 200 characters");
    await page.locator("#f-q").fill("");
    await shoot(page, "messages", log);

    // --- 800 px wide: every changed view usable, long ids never widen the page.
    await page.setViewportSize({ width: 800, height: 900 });
    const wide = [];
    const views = [
      ["members", `#/classes/${CLASS}/members`, "roster"],
      ["members-long", `#/classes/${LONG_CLASS}/members`, "roster"],
      ["audit", "#/audit", "audit"],
      ["audit-long", `#/audit?target=member:${LONG_CLASS}:`, "audit"],
      ["alignment", `#/classes/${CLASS}/alignment`, "recordings-table"],
      ["messages-long", `#/classes/${LONG_CLASS}`, null],
      ["callbacks", "#/callbacks?status=unmatched", "decoded-callback"],
      ["messages", "#/messages", null],
    ];
    for (const [name, hash, testId] of views) {
      await page.goto(`${base}/${hash}`, { waitUntil: "load" });
      if (testId) await page.getByTestId(testId).first().waitFor({ timeout: 15000 });
      else await page.waitForTimeout(1500);
      const problem = await sideScroll(page, name);
      if (problem) wide.push(problem);
      await shoot(page, name, log, { fullPage: true });
      if (name === "messages") {
        // Every column is reachable: the log scrolls sideways in its frame.
        await page.locator("[role=columnheader]", { hasText: "last error" }).scrollIntoViewIfNeeded();
        const reach = await page.evaluate(() => {
          const t = document.querySelector(".vtable");
          const h = [...document.querySelectorAll("[role=columnheader]")].find((e) => e.textContent === "last error");
          return { scroll: t?.scrollWidth ?? 0, client: t?.clientWidth ?? 0, right: h?.getBoundingClientRect().right ?? 9999 };
        });
        log(`message log at 800 px: ${reach.scroll} px of columns in a ${reach.client} px frame, "last error" ends at ${Math.round(reach.right)} px`);
        if (reach.right > 800) throw new Error(`the last column cannot be reached: ${JSON.stringify(reach)}`);
        await shoot(page, "messages-scrolled", log);
      }
    }
    const longTarget = page.getByTestId("audit-target").first();
    await page.goto(`${base}/#/audit?target=member:${LONG_CLASS}:`, { waitUntil: "load" });
    await longTarget.waitFor({ timeout: 10000 });
    const title = await longTarget.getAttribute("title");
    if (title?.length !== 200) throw new Error(`the long target's full value is not on hover: ${title?.length}`);
    await page.goto(`${base}/#/classes/${CLASS}/members`, { waitUntil: "load" });
    await page.getByTestId("join-sheet-button").click();
    await page.getByTestId("confirm-yes").click();
    await page.getByTestId("join-sheet").waitFor({ timeout: 15000 });
    const problem = await sideScroll(page, "join sheet");
    if (problem) wide.push(problem);
    await shoot(page, "join-sheet", log, { fullPage: true });
    if (wide.length > 0) throw new Error(`wider than the window at 800 px: ${wide.join("; ")}`);

    if (pageErrors.length > 0) throw new Error(`errors on the page: ${pageErrors.join("; ")}`);
  } finally {
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch {
        // Best effort: a process may be gone already.
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
