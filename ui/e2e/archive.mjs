// The class page's ReplayGroup archive panel in Chromium against `replaydesk serve`
// (sandbox IM): a class with two reports sent to its group shows its archive pending with
// a deadline; "Archive now" runs a pass and the panel turns complete with the messages by
// kind and the last MsgSeq read (the class is not over: its deadline stays, for what
// its clients may still write).
// Screenshot: target/e2e/console-archive.png.

import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ADMIN_TOKEN, launch, startServer } from "./console.mjs";
import { shotPath, waitFor } from "./lib.mjs";
import { api, createClass, memberCredential, reportTimeline } from "./seed.mjs";

const CLASS = "e2e-archive-room";

export async function consoleArchiveTest({ log }) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "replaydesk-e2e-archive-"));
  const stops = [];
  try {
    const s = await startServer(dir);
    stops.push(() => s.server.stop());
    await createClass(s.url, ADMIN_TOKEN, { classId: CLASS, groupId: "replay_e2e_archive", teacher: "teacher_li" });
    for (const [uid, ts] of [["teacher_li", 1_000_000], ["student_wang", 5_000_000]]) {
      const cred = await memberCredential(s.url, ADMIN_TOKEN, CLASS, uid);
      await reportTimeline(s.url, cred, CLASS, uid, ts);
    }
    await waitFor("2 sent messages", 20000, async () => {
      const c = await api(s.url, "GET", `/v1/admin/classes/${CLASS}`, { token: ADMIN_TOKEN });
      return c.counts.sent === 2 ? true : undefined;
    });
    const browser = await launch();
    stops.push(() => browser.close());
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const pageErrors = [];
    page.on("pageerror", (err) => pageErrors.push(err.message));
    await page.goto(`${s.url}/?token=${encodeURIComponent(ADMIN_TOKEN)}`, { waitUntil: "load" });
    await page.getByRole("link", { name: CLASS }).first().click();
    const panel = page.getByTestId("archive-panel");
    await panel.waitFor({ timeout: 15000 });
    const before = (await panel.textContent()) ?? "";
    if (!before.includes("pending")) throw new Error(`archive panel before a pass: ${JSON.stringify(before)}`);
    const deadline = (await page.getByTestId("archive-deadline").textContent()) ?? "";
    if (!deadline.includes("expire in the IM in")) throw new Error(`deadline reads ${JSON.stringify(deadline)}`);

    await page.getByTestId("archive-now").click();
    await waitFor("the archive complete", 20000, async () => {
      const t = (await panel.textContent()) ?? "";
      return t.includes("complete") && t.includes("2 messages held: 2 ours, 0 whiteboard, 0 other") ? true : undefined;
    });
    const summary = (await page.getByTestId("archive-summary").textContent()) ?? "";
    if (!summary.includes("read up to MsgSeq 2")) throw new Error(`summary reads ${JSON.stringify(summary)}`);
    const job = (await page.getByTestId("archive-job").textContent()) ?? "";
    if (!job.includes("finished")) throw new Error(`job reads ${JSON.stringify(job)}`);
    await page.screenshot({ path: shotPath("console-archive.png"), fullPage: true });

    // The classes list filters by archive state and deadline.
    await page.getByRole("link", { name: "Classes" }).first().click();
    await page.getByTestId("archive-filter").selectOption("complete");
    await page.getByRole("link", { name: CLASS }).first().waitFor({ timeout: 10000 });
    // The list shows the class before and after the filter applies: wait for the filtered one.
    await waitFor("the filtered list", 10000, async () => {
      const cell = (await page.getByTestId("class-archive").first().textContent()) ?? "";
      return cell.includes("complete") ? true : undefined;
    });
    const cell = (await page.getByTestId("class-archive").first().textContent()) ?? "";
    if (!cell.includes("complete") || !cell.includes("expires in 7 days")) throw new Error(`archive cell reads ${JSON.stringify(cell)}`);
    await page.screenshot({ path: shotPath("console-archive-filter.png") });
    await page.getByTestId("archive-filter").selectOption("failed");
    await page.getByText("with its archive failed").waitFor({ timeout: 10000 });
    await page.getByTestId("archive-filter").selectOption("");
    await page.getByTestId("deadline-filter").check();
    await page.getByText("with an archive deadline within a day").waitFor({ timeout: 10000 });

    const a = await api(s.url, "GET", `/v1/admin/classes/${CLASS}/archive`, { token: ADMIN_TOKEN });
    if (a.state !== "complete" || a.archived !== 2) throw new Error(`GET archive: ${JSON.stringify(a)}`);
    if (pageErrors.length) throw new Error(`errors in the page: ${pageErrors.join("; ")}`);
    log(`archived ${CLASS} from its page; screenshots: ${shotPath("console-archive.png")}, ${shotPath("console-archive-filter.png")}`);
    await browser.close();
    await s.stopCleanly();
  } finally {
    for (const fn of stops.reverse()) await fn().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}
