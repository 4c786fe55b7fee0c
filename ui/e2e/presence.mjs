// Presence from heartbeats in the console, in Chromium against `replaydesk serve`: a class
// whose teacher and students heartbeat (one student's clock drifting fast, one rebooting
// silently, one that never reported a timeline) shows who is here with each clock's health
// and the 1003s ReplayDesk sent, each with why; then everyone vanishes, and after the
// configured silence (4 s here) the class is ended by ReplayDesk and says so. Screenshots
// go to target/e2e/.

import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ADMIN_TOKEN, launch, startServer } from "./console.mjs";
import { shotPath, sleep, waitFor } from "./lib.mjs";
import { api, createClass, memberCredential, reportTimeline } from "./seed.mjs";

const CLASS = "e2e-presence";

export async function presenceTest({ log }) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "replaydesk-e2e-presence-"));
  const stops = [];
  try {
    const srv = await startServer(dir, { REPLAYDESK_HEARTBEAT_SILENCE_END: "4s" });
    stops.push(() => srv.server.stop());
    const created = await createClass(srv.url, ADMIN_TOKEN, { classId: CLASS, groupId: "replay_e2e_presence", teacher: "teacher_li" });
    const cred = { teacher_li: created.teacher_credential };
    for (const uid of ["student_wang", "student_zhao", "student_new"]) cred[uid] = await memberCredential(srv.url, ADMIN_TOKEN, CLASS, uid);
    const t0 = Date.now();
    // Clocks: the teacher's true; wang's 1,000 ppm slow (a fast stand-in for tens of ppm
    // over an hour; much faster would look like a string of jumps); zhao's true until it
    // reboots silently; new's true, never reported.
    const clocks = {
      teacher_li: (t) => 9_000_000 + (t - t0),
      student_wang: (t) => 4_000_000 + Math.round((t - t0) * 0.999),
      student_zhao: (t) => (t - t0 < 4000 ? 7_000_000 + (t - t0) : 1_000 + (t - t0 - 4000)),
      student_new: (t) => 2_000_000 + (t - t0),
    };
    await api(srv.url, "POST", `/v1/classes/${CLASS}/start`, { token: cred.teacher_li, body: { uid: "teacher_li", timestamp: clocks.teacher_li(Date.now()) } });
    for (const uid of ["teacher_li", "student_wang", "student_zhao"]) await reportTimeline(srv.url, cred[uid], CLASS, uid, clocks[uid](Date.now()), 2);
    let beating = true;
    const beats = (async () => {
      while (beating) {
        for (const uid of Object.keys(clocks)) {
          // student_new drops out for 18 s (longer than the 15 s that ends a span): two spans.
          const since = Date.now() - t0;
          if (uid === "student_new" && since > 5000 && since < 23000) continue;
          await api(srv.url, "POST", `/v1/classes/${CLASS}/heartbeat`, { token: cred[uid], body: { uid, timestamp: clocks[uid](Date.now()), rtt_ms: 1 } });
        }
        await sleep(600); // under the heartbeats' own limit of 2 a second
      }
    })();
    let lastReasons = "";
    // A drift is told from noise once the track keeps three 15 s stretches: about 45 s.
    await waitFor("a re-anchor of each kind (drift, jump, first)", 90000, async () => {
      const p = await api(srv.url, "GET", `/v1/admin/classes/${CLASS}/presence`, { token: ADMIN_TOKEN });
      const reasons = new Set(p.reanchors.map((r) => r.reason));
      lastReasons = [...reasons].join(", ");
      return ["drift", "jump", "first"].every((r) => reasons.has(r)) ? true : undefined;
    });

    const browser = await launch();
    stops.push(() => browser.close());
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const page = await context.newPage();
    const pageErrors = [];
    page.on("pageerror", (err) => pageErrors.push(err.message));
    await page.goto(`${srv.url}/?token=${encodeURIComponent(ADMIN_TOKEN)}`, { waitUntil: "load" });
    await page.getByTestId("version").waitFor({ timeout: 15000 });
    await page.goto(`${srv.url}/#/classes/${CLASS}/alignment`, { waitUntil: "load" });
    const panel = page.getByTestId("presence");
    await panel.waitFor({ timeout: 15000 });
    await panel.locator('tr[data-health="jumped"]').first().waitFor({ timeout: 10000 });
    const text = (await panel.textContent()) ?? "";
    for (const want of ["student_wang", "student_zhao", "student_new", "its clock jumped", "its clock drifted", "it never reported a timeline"]) {
      if (!text.includes(want)) throw new Error(`the presence panel lacks ${JSON.stringify(want)}: ${text.slice(0, 500)}`);
    }
    const spans = page.getByTestId("presence-spans");
    await spans.waitFor({ timeout: 10000 });
    const count = async (uid) => spans.locator(`[data-uid="${uid}"] [data-testid="presence-span"]`).count();
    if ((await count("student_new")) !== 2 || (await count("teacher_li")) !== 1) {
      throw new Error(`presence spans: student_new ${await count("student_new")}, teacher_li ${await count("teacher_li")} (want 2 and 1)`);
    }
    // The span's bounds read like every other time in the console: 24-hour, whatever the
    // browser's locale (Chromium's default here is en-US, which would write "8:05:14 PM").
    const heading = (await spans.locator("h3").textContent()) ?? "";
    if (!/\((\d{2}-\d{2} )?\d{2}:\d{2}:\d{2} – (\d{2}-\d{2} )?\d{2}:\d{2}:\d{2}\)/.test(heading) || /AM|PM/.test(heading)) {
      throw new Error(`presence spans' heading not in 24-hour time: ${JSON.stringify(heading)}`);
    }
    await panel.scrollIntoViewIfNeeded();
    await page.screenshot({ path: shotPath("console-presence.png"), fullPage: true });

    // Everyone vanishes: after the silence, ReplayDesk ends the class, once.
    beating = false;
    await beats;
    await page.getByTestId("ended-by-silence").waitFor({ timeout: 30000 });
    const c = await api(srv.url, "GET", `/v1/admin/classes/${CLASS}`, { token: ADMIN_TOKEN });
    if (c.ended_by !== "silence" || c.state !== "ended") throw new Error(`class after the silence: ${JSON.stringify(c)}`);
    await page.getByTestId("ended-by-silence").scrollIntoViewIfNeeded();
    await page.screenshot({ path: shotPath("console-presence-ended-by-silence.png"), fullPage: true });
    if (pageErrors.length) throw new Error(`errors in the page: ${pageErrors.join("; ")}`);
    log(`presence shown, each reason; ended by silence; screenshots: ${shotPath("console-presence.png")}, ${shotPath("console-presence-ended-by-silence.png")}`);
    await browser.close();
    await srv.stopCleanly();
  } finally {
    for (const fn of stops.reverse()) await fn().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}
