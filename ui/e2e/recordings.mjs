// The class's Recordings view and the alignment with both sources, in Chromium against a
// real `replaydesk serve` (sandbox) fed signed callbacks through its HTTP API: a TRTC task
// recording the teacher's camera (main) and screen share (aux) (301, 311, 311, 302), a
// legacy CSS file of a student (event 100), and a second TRTC task that started and
// stopped with no file, which raises the missing-recording alert (missing_after 2 s). The
// admin enters that file by hand from the alert (the confirmation says what is sent), the
// alert clears, and the alignment names TRTC, CSS and "entered by hand", main and aux.
// Screenshots light and dark (and the view at 800 px wide) in target/e2e/.

import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ADMIN_TOKEN, checkPrerequisites, launch, startServer } from "./console.mjs";
import { shotPath, waitFor } from "./lib.mjs";
import { api, memberCredential, postCallback, recordingCallback, reportTimeline } from "./seed.mjs";

const CALLBACK_KEY = "e2e-css-callback-key-0123456789";
const TRTC_KEY = "e2e-trtc-callback-key-0123456789";
const SDKAPPID = "1400000000"; // the sandbox emulator's app: TRTC and IM share it
const CLASS = "rec-e2e";
const GROUP = "g_rec_e2e";
const ROOM = "9001";

/** A TRTC cloud-recording callback, signed as Tencent signs: base64(HMAC-SHA256(key, body)). */
async function postTrtc(base, eventType, taskId, userId, payload) {
  const now = Date.now();
  const body = JSON.stringify({
    EventGroupId: 3,
    EventType: eventType,
    CallbackTs: now,
    EventInfo: { RoomId: ROOM, EventTs: Math.floor(now / 1000), EventMsTs: now, UserId: userId, TaskId: taskId, Payload: payload },
  });
  const sign = createHmac("sha256", TRTC_KEY).update(body).digest("base64");
  const res = await fetch(`${base}/v1/callbacks/trtc`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Sign: sign, SdkAppId: SDKAPPID },
    body,
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`TRTC ${eventType} answered ${res.status}: ${text}`);
}

function vod(userId, media, start, end) {
  return {
    Status: 0,
    TencentVod: {
      UserId: userId,
      TrackType: "audio_video",
      MediaId: media,
      FileId: `52858907${media === "main" ? "01" : "02"}`,
      VideoUrl: `https://1500000000.vod2.myqcloud.com/e2e/${userId}_${media}.mp4`,
      CacheFile: `${userId}_${media}.mp4`,
      StartTimeStamp: start,
      EndTimeStamp: end,
    },
  };
}

async function shoot(page, name, log, { narrow = false } = {}) {
  const wide = page.viewportSize();
  for (const width of narrow ? [null, 800] : [null]) {
    if (width) await page.setViewportSize({ width, height: 900 });
    for (const theme of ["light", "dark"]) {
      await page.evaluate((t) => {
        document.documentElement.dataset.theme = t;
      }, theme);
      await page.waitForTimeout(300);
      const file = shotPath(`console-${name}-${theme}${width ? `-${width}` : ""}.png`);
      await page.screenshot({ path: file, fullPage: true });
      log(`screenshot ${file}`);
    }
    if (width) {
      const w = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
      if (w.scroll > w.client) throw new Error(`${name} scrolls sideways at 800 px: ${w.scroll} > ${w.client}`);
      log(`800 px: ${name} is ${w.scroll}/${w.client} px wide`);
    }
    if (width && wide) await page.setViewportSize(wide);
  }
}

export async function recordingsTest({ log }) {
  checkPrerequisites();
  const dir = mkdtempSync(path.join(os.tmpdir(), "replaydesk-e2e-"));
  const stops = [];
  try {
    const srv = await startServer(dir, {
      REPLAYDESK_CALLBACK_KEY: CALLBACK_KEY,
      REPLAYDESK_TRTC_CALLBACK_KEY: TRTC_KEY,
      REPLAYDESK_RECORDINGS_MISSING_AFTER: "2s",
    });
    stops.push(() => srv.server.stop());
    const base = srv.url;
    await api(base, "POST", "/v1/classes", {
      token: ADMIN_TOKEN,
      body: { class_id: CLASS, group_id: GROUP, teacher_uid: "teacher_li", create_group: true, room_id: ROOM },
    });
    // Clock pairs for the lanes.
    for (const uid of ["teacher_li", "stu1"]) {
      const cred = await memberCredential(base, ADMIN_TOKEN, CLASS, uid);
      await reportTimeline(base, cred, CLASS, uid, 1_000_000 + (uid === "stu1" ? 7 : 0));
    }
    const now = Date.now();
    const start = now - 20 * 60_000;
    const end = now - 60_000;
    // TRTC: the teacher's camera and screen share, from one task.
    await postTrtc(base, 301, "trtc-task-1", "recorder_bot", { Status: 0 });
    await postTrtc(base, 311, "trtc-task-1", "recorder_bot", vod("teacher_li", "main", start, end));
    await postTrtc(base, 311, "trtc-task-1", "recorder_bot", vod("teacher_li", "aux", start + 120_000, end - 60_000));
    await postTrtc(base, 302, "trtc-task-1", "recorder_bot", { Status: 0 });
    // CSS (legacy, event 100): a student's camera.
    const b64 = Buffer.from("stu1").toString("base64");
    const css = recordingCallback(CALLBACK_KEY, {
      fileId: "css-stu1-file",
      streamId: "1400000000_9001_stu1_main",
      streamParam: `groupid=${GROUP}&userid=${encodeURIComponent(b64)}`,
      videoUrl: "https://1500000000.vod2.myqcloud.com/e2e/stu1_css.mp4",
    });
    css.start_time = Math.floor(start / 1000) + 30;
    css.end_time = Math.floor(end / 1000);
    css.duration = css.end_time - css.start_time;
    const cssAnswer = await postCallback(base, css);
    if (cssAnswer?.code !== 0) throw new Error(`the CSS callback was not taken: ${JSON.stringify(cssAnswer)}`);
    // A second TRTC task that started and stopped and never produced a file.
    await postTrtc(base, 301, "trtc-task-2", "recorder_bot2", { Status: 0 });
    await postTrtc(base, 302, "trtc-task-2", "recorder_bot2", { Status: 0 });
    const missingAlert = await waitFor("the recording_missing alert", 20000, async () => {
      const alerts = await api(base, "GET", "/v1/admin/alerts", { token: ADMIN_TOKEN });
      return alerts.find((a) => a.kind === "recording_missing" && a.class_id === CLASS);
    });
    log(`alert: ${missingAlert.detail}`);
    if (!missingAlert.detail.includes("trtc-task-2")) throw new Error(`the alert does not name its task: ${missingAlert.detail}`);

    const browser = await launch();
    stops.push(() => browser.close());
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const pageErrors = [];
    page.on("pageerror", (err) => pageErrors.push(err.message));
    await page.goto(`${base}/?token=${encodeURIComponent(ADMIN_TOKEN)}`, { waitUntil: "load" });
    await page.getByTestId("classes").waitFor({ timeout: 15000 });
    // The alert at the top of the Classes page leads to the class's Recordings view.
    const toRecordings = page.getByTestId("alert-recordings");
    await toRecordings.waitFor({ timeout: 15000 });
    await shoot(page, "recordings-alert-classes", log);
    await toRecordings.click();
    await page.getByTestId("recorder").first().waitFor({ timeout: 15000 });
    if (!page.url().includes(`/classes/${CLASS}/recordings`)) throw new Error(`the alert led to ${page.url()}`);
    const cards = await page.getByTestId("recorder").evaluateAll((els) => els.map((e) => `${e.dataset.source}/${e.dataset.media}`));
    log(`recorders: ${cards.join(", ")}`);
    for (const want of ["trtc/main", "trtc/aux", "css/main", "trtc/"]) {
      if (!cards.includes(want)) throw new Error(`no ${want} recorder among ${cards.join(", ")}`);
    }
    const stages = await page.getByTestId("recorder-event").evaluateAll((els) => [...new Set(els.map((e) => e.dataset.stage))]);
    for (const s of ["started", "ready", "stopped"]) {
      if (!stages.includes(s)) throw new Error(`no ${s} event shown: ${stages.join(", ")}`);
    }
    const banner = page.getByTestId("missing-recordings");
    await banner.waitFor({ timeout: 10000 });
    const said = (await banner.textContent()) ?? "";
    if (!said.includes("recording of recorder_bot2 started") || !said.includes("no file")) throw new Error(`the missing recording is not said: ${said}`);
    await shoot(page, "recordings", log, { narrow: true });

    // Enter the file by hand from the alert: the form is filled with the task; the
    // confirmation says what is sent where; Cancel first changes nothing.
    await banner.getByRole("button", { name: "Enter the file…" }).first().click();
    const form = page.getByTestId("hand-entry");
    await form.waitFor();
    if ((await page.getByTestId("entry-task").inputValue()) !== "trtc-task-2") throw new Error("the form is not filled with the alert's task");
    await page.getByTestId("entry-uid").fill("stu1");
    await page.getByTestId("entry-type").selectOption("aux");
    await page.getByTestId("entry-video-id").fill("hand-5285890799");
    await page.getByTestId("entry-video-url").fill("https://1500000000.vod2.myqcloud.com/e2e/stu1_screen.mp4");
    await page.getByTestId("entry-start").fill(String(Math.floor(start / 1000) + 60));
    await page.getByTestId("entry-end").fill(String(Math.floor(end / 1000)));
    await page.getByTestId("entry-review").click();
    const dialog = page.getByTestId("entry-confirm");
    await dialog.waitFor();
    const ask = (await dialog.textContent()) ?? "";
    for (const words of ["1004", GROUP, "stu1", "cannot be taken back", "trtc-task-2"]) {
      if (!ask.includes(words)) throw new Error(`the confirmation does not say ${JSON.stringify(words)}: ${ask}`);
    }
    await shoot(page, "recordings-confirm", log);
    const before = (await api(base, "GET", `/v1/admin/classes/${CLASS}/recordings`, { token: ADMIN_TOKEN })).recorders.length;
    await page.getByTestId("confirm-cancel").click();
    const afterCancel = (await api(base, "GET", `/v1/admin/classes/${CLASS}/recordings`, { token: ADMIN_TOKEN })).recorders.length;
    if (afterCancel !== before) throw new Error("Cancel changed the recordings");
    await page.getByTestId("entry-review").click();
    await page.getByTestId("confirm-yes").click();
    await page.getByTestId("entered-note").waitFor({ timeout: 10000 });
    await banner.waitFor({ state: "detached", timeout: 15000 });
    const open = (await api(base, "GET", "/v1/admin/alerts", { token: ADMIN_TOKEN })).filter((a) => a.kind === "recording_missing");
    if (open.length) throw new Error(`the alert is still open: ${JSON.stringify(open)}`);
    await page.locator('[data-testid="recorder"][data-source="manual"]').waitFor({ timeout: 10000 });
    await shoot(page, "recordings-entered", log);

    // The alignment: one recording per source, main and aux apart.
    const a = await api(base, "GET", `/v1/admin/classes/${CLASS}/alignment`, { token: ADMIN_TOKEN });
    const placed = a.recordings.map((r) => `${r.source}/${r.media}/${r.chosen}`);
    log(`alignment: ${placed.join(", ")}`);
    for (const want of ["trtc/main/wall_clock", "trtc/aux/wall_clock", "manual/aux/wall_clock"]) {
      if (!placed.includes(want)) throw new Error(`the alignment has no ${want}: ${placed.join(", ")}`);
    }
    if (!a.recordings.some((r) => r.source === "css" && r.chosen !== "wall_clock")) throw new Error("no CSS recording placed by a reading");
    const overlap = a.diagnostics.filter((d) => d.code === "recordings_overlap");
    if (overlap.length) throw new Error(`a main and an aux file are said to overlap: ${JSON.stringify(overlap)}`);
    await page.goto(`${base}/#/classes/${CLASS}/alignment`, { waitUntil: "load" });
    await page.getByTestId("alignment-lanes").locator("canvas").first().waitFor({ timeout: 15000 });
    await page.getByTestId("recordings-table").waitFor({ timeout: 10000 });
    const shown = await page.getByTestId("recording-source").evaluateAll((els) => els.map((e) => `${e.dataset.source}/${e.dataset.media}`));
    for (const want of ["trtc/main", "trtc/aux", "css/main", "manual/aux"]) {
      if (!shown.includes(want)) throw new Error(`the recordings table does not show ${want}: ${shown.join(", ")}`);
    }
    await shoot(page, "alignment-sources", log, { narrow: true });
    if (pageErrors.length) throw new Error(`errors in the page: ${pageErrors.join("; ")}`);
    await browser.close();
    await srv.stopCleanly();
  } finally {
    for (const fn of stops.reverse()) await fn().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}
