// The demo's rebooted student in the alignment view, in Chromium against a real
// `replaydesk serve` (sandbox, with a callback key) filled by `replaydesk demo`: the
// student's clock restarted 35 s before the class, so its video's media_start_time is as
// small as a stream offset; the alignment places the video inside the class by the
// student's clock and says why. Screenshots light, dark and at 800 px wide.

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ADMIN_TOKEN, checkPrerequisites, launch, startServer } from "./console.mjs";
import { SERVER_BIN, cleanEnv, shotPath } from "./lib.mjs";
import { api } from "./seed.mjs";

const CALLBACK_KEY = "e2e-demo-callback-key-0123456789";

async function shoot(page, name, log) {
  const wide = page.viewportSize();
  for (const width of [null, 800]) {
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
    if (width && wide) await page.setViewportSize(wide);
  }
}

// At 800 px the page never scrolls sideways, and the recordings table's last column can
// be brought into view by scrolling the table's own box.
async function reachableAt800(page, log) {
  const wide = page.viewportSize();
  await page.setViewportSize({ width: 800, height: 900 });
  await page.waitForTimeout(300);
  const page800 = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
  if (page800.scroll > page800.client) throw new Error(`the page scrolls sideways at 800 px: ${page800.scroll} > ${page800.client}`);
  // As a user would: bring the table into view, then scroll sideways over it with the wheel
  // (a box that clips without scrolling would not move).
  const table = page.getByTestId("recordings-table");
  await table.scrollIntoViewIfNeeded();
  const tbox = await table.boundingBox();
  if (!tbox) throw new Error("the recordings table is not shown");
  await page.mouse.move(Math.min(tbox.x + 100, 700), tbox.y + 20);
  await page.mouse.wheel(3000, 0);
  await page.waitForTimeout(300);
  const last = table.locator("thead th").last();
  const box = await last.boundingBox();
  const view = await page.evaluate(() => document.documentElement.clientWidth);
  if (!box || box.x < 0 || box.x + box.width > view + 1) throw new Error(`the table's last column is out of reach at 800 px: ${JSON.stringify(box)}, view ${view}`);
  const after = await page.evaluate(() => document.documentElement.scrollWidth);
  if (after > view) throw new Error(`the page scrolls sideways at 800 px after reaching the last column: ${after} > ${view}`);
  log(`800 px: page ${page800.scroll}/${page800.client} px wide, last column at ${Math.round(box.x)}..${Math.round(box.x + box.width)} px`);
  await last.evaluate((th) => th.closest(".table-scroll")?.scrollTo({ left: 0 }));
  if (wide) await page.setViewportSize(wide);
}

export async function demoAlignmentTest({ log }) {
  checkPrerequisites();
  const dir = mkdtempSync(path.join(os.tmpdir(), "replaydesk-e2e-"));
  const stops = [];
  try {
    const srv = await startServer(dir, { REPLAYDESK_CALLBACK_KEY: CALLBACK_KEY });
    stops.push(() => srv.server.stop());
    execFileSync(SERVER_BIN, ["demo", "--url", srv.url, "--token", ADMIN_TOKEN, "--callback-key", CALLBACK_KEY], {
      env: cleanEnv(),
      timeout: 90000,
      stdio: "pipe",
    });
    const classes = await api(srv.url, "GET", "/v1/admin/classes", { token: ADMIN_TOKEN });
    // The demo's main class: the others (outage, TRTC, the live heartbeat class) carry a suffix.
    const demo = classes.find((c) => c.class_id.startsWith("demo-") && !/-(outage|trtc|live)$/.test(c.class_id));
    if (!demo) throw new Error(`no demo class among ${JSON.stringify(classes.map((c) => c.class_id))}`);

    // What the backend says: zhao's video by its client clock, starting inside the class.
    const a = await api(srv.url, "GET", `/v1/admin/classes/${demo.class_id}/alignment`, { token: ADMIN_TOKEN });
    const zhao = a.recordings.find((r) => r.uid === "student_zhao");
    if (!zhao) throw new Error(`no recording of student_zhao: ${JSON.stringify(a.recordings.map((r) => r.uid))}`);
    const inside = a.class_start_ms !== null && a.class_end_ms !== null && zhao.start_ms >= a.class_start_ms - 5000 && zhao.start_ms <= a.class_end_ms;
    if (zhao.chosen !== "client_clock" || zhao.reason !== "evidence" || !inside) {
      throw new Error(
        `student_zhao's video: ${zhao.chosen} (${zhao.reason}) at ${zhao.start_ms}, class ${a.class_start_ms}..${a.class_end_ms}: ${zhao.reason_text}`,
      );
    }
    log(`student_zhao: ${zhao.chosen}, ${zhao.start_ms - a.class_start_ms} ms after the class start; readings ${zhao.readings_disagree_ms} ms apart`);
    log(`reason: ${zhao.reason_text}`);
    if (a.diagnostics.some((d) => d.code === "recording_outside_class")) throw new Error("a recording is outside the class");

    // What the console shows: the finding, with the reason, in the alignment view.
    const browser = await launch();
    stops.push(() => browser.close());
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const pageErrors = [];
    page.on("pageerror", (err) => pageErrors.push(err.message));
    await page.goto(`${srv.url}/?token=${encodeURIComponent(ADMIN_TOKEN)}`, { waitUntil: "load" });
    await page.getByTestId("classes").waitFor({ timeout: 15000 });
    await page.goto(`${srv.url}/#/classes/${demo.class_id}/alignment`, { waitUntil: "load" });
    await page.getByTestId("alignment-lanes").locator("canvas").first().waitFor({ timeout: 15000 });
    const finding = page.getByTestId("diagnostic").filter({ hasText: "readings_disagree" }).filter({ hasText: "student_zhao" });
    await finding.waitFor({ timeout: 10000 });
    const said = (await finding.textContent()) ?? "";
    for (const words of ["client-clock reading", "inside the class", "after the class ended", "from start_time"]) {
      if (!said.includes(words)) throw new Error(`the finding does not say ${JSON.stringify(words)}: ${said}`);
    }
    log(`shown: ${said.slice(0, 300)}`);
    await finding.click();
    await reachableAt800(page, log);
    await shoot(page, "alignment-demo", log);
    if (pageErrors.length) throw new Error(`errors in the page: ${pageErrors.join("; ")}`);
    await browser.close();
    await srv.stopCleanly();
  } finally {
    for (const fn of stops.reverse()) await fn().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}
