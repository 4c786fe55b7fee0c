// Recording sources (issue 22), in Chromium against a real `replaydesk serve` (sandbox) on
// loopback: on a class's Members tab, set its TRTC room, register a stream id for its
// teacher and remove it again; then a TRTC cloud-recording callback, signed as TRTC signs
// it (base64 HMAC-SHA256 of the exact bytes in `Sign`), arrives for that room and the
// Callbacks page lists it as TRTC's, accepted. Shot light and dark.

import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ADMIN_TOKEN, checkPrerequisites, launch, startServer } from "./console.mjs";
import { shotPath } from "./lib.mjs";
import { api } from "./seed.mjs";

const CLASS = "e2e-trtc";
const TRTC_KEY = "e2eTrtcKey0123456789";
const ROOM = "8123";

async function shoot(page, name, log) {
  for (const theme of ["light", "dark"]) {
    await page.evaluate((t) => {
      document.documentElement.dataset.theme = t;
    }, theme);
    await page.waitForTimeout(200);
    const file = shotPath(`recording-sources-${name}-${theme}.png`);
    await page.screenshot({ path: file, fullPage: true });
    log(`screenshot ${file}`);
  }
  await page.evaluate(() => {
    document.documentElement.dataset.theme = "light";
  });
}

/** A TRTC 311 (VOD commit) for the room, pretty-printed with tabs as TRTC sends it. */
function vodCommit() {
  const now = Date.now();
  return JSON.stringify(
    {
      EventGroupId: 3,
      EventType: 311,
      CallbackTs: now,
      EventInfo: {
        RoomId: ROOM,
        EventTs: Math.floor(now / 1000),
        EventMsTs: now,
        UserId: "recorder_8123",
        TaskId: "e2e-task-1",
        Payload: {
          Status: 0,
          TencentVod: {
            UserId: "teacher_li",
            TrackType: "audio_video",
            MediaId: "main",
            FileId: "3270835009000099001",
            VideoUrl: "https://media.example.com/trtc/e2e.mp4",
            CacheFile: "e2e_teacher_li_main.mp4",
            StartTimeStamp: now - 60_000,
            EndTimeStamp: now - 1_000,
          },
          Errmsg: "",
        },
      },
    },
    null,
    "\t",
  );
}

export async function recordingSourcesTest({ log }) {
  checkPrerequisites();
  const dir = mkdtempSync(path.join(os.tmpdir(), "replaydesk-e2e-"));
  const stops = [];
  try {
    const srv = await startServer(dir, { REPLAYDESK_TRTC_CALLBACK_KEY: TRTC_KEY });
    stops.push(() => srv.server.stop());
    await api(srv.url, "POST", "/v1/classes", {
      token: ADMIN_TOKEN,
      body: { class_id: CLASS, group_id: "replay_e2e_trtc", teacher_uid: "teacher_li", create_group: true },
    });
    const browser = await launch();
    stops.push(() => browser.close());
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const pageErrors = [];
    page.on("pageerror", (err) => pageErrors.push(err.message));
    await page.goto(`${srv.url}/?token=${ADMIN_TOKEN}`, { waitUntil: "load" });
    await page.goto(`${srv.url}/#/classes/${CLASS}/members`, { waitUntil: "load" });
    await page.getByTestId("recording-sources").waitFor({ timeout: 15000 });

    // The room: none at first (the class id stands for it), then set.
    const roomText = async () => (await page.getByTestId("room-id").textContent()) ?? "";
    if (!(await roomText()).includes("none")) throw new Error(`room before: ${await roomText()}`);
    await page.getByTestId("room-input").fill(ROOM);
    await page.getByTestId("room-set").click();
    await page.getByTestId("room-id").getByText(ROOM).waitFor({ timeout: 10000 });

    // A stream id registered for the teacher, listed; shot; removed.
    await page.getByTestId("stream-input").fill("school_cam_7");
    await page.getByTestId("stream-uid").fill("teacher_li");
    await page.getByTestId("stream-add").click();
    await page.getByTestId("stream-row").first().waitFor({ timeout: 10000 });
    const rows = await page.getByTestId("stream-row").count();
    if (rows !== 1) throw new Error(`${rows} stream rows, expected 1`);
    await page.getByTestId("recording-sources").scrollIntoViewIfNeeded();
    await shoot(page, "members", log);
    await page.getByTestId("stream-remove").click();
    await page.getByText("No stream ids registered.").waitFor({ timeout: 10000 });

    // A TRTC callback for the room: accepted, listed as TRTC's.
    const body = vodCommit();
    const sign = createHmac("sha256", TRTC_KEY).update(body, "utf8").digest("base64");
    const res = await fetch(`${srv.url}/v1/callbacks/trtc`, {
      method: "POST",
      headers: { "content-type": "application/json", Sign: sign, SdkAppId: "1400000000" },
      body,
    });
    const answer = await res.text();
    if (res.status !== 200) throw new Error(`TRTC callback answered ${res.status} ${answer}`);
    await page.goto(`${srv.url}/#/callbacks`, { waitUntil: "load" });
    const row = page.locator('[data-testid="callback-row"][data-status="accepted"]').first();
    await row.waitFor({ timeout: 15000 });
    const source = ((await row.getByTestId("callback-source").textContent()) ?? "").trim();
    if (source !== "TRTC") throw new Error(`the callback's source reads ${JSON.stringify(source)}`);
    const url = ((await row.getByTestId("video-url").textContent()) ?? "").trim();
    if (url !== "https://media.example.com/trtc/e2e.mp4") throw new Error(`video URL reads ${JSON.stringify(url)}`);
    await shoot(page, "callbacks", log);
    if (pageErrors.length) throw new Error(`errors in the page: ${pageErrors.join("; ")}`);
    log("room set, stream registered and removed, a TRTC callback listed as TRTC's");
  } finally {
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
