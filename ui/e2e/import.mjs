// Import of a class bundle through the console in Chromium: one `replaydesk serve` holds a
// class (timeline reports from two members, sent to its sandbox group) and exports it; a
// second, fresh `replaydesk serve` gets the bundle through the Classes page's "Import
// bundle" file picker. The imported class opens with its "imported" badge and note, is
// badged in the class list, and importing it again is refused in words. Screenshots go to
// target/e2e/.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ADMIN_TOKEN, launch, startServer } from "./console.mjs";
import { shotPath, waitFor } from "./lib.mjs";
import { api, createClass, memberCredential, reportTimeline } from "./seed.mjs";

const CLASS = "e2e-import-room";

export async function consoleImportTest({ log }) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "replaydesk-e2e-import-"));
  const stops = [];
  try {
    const source = await startServer(dir);
    stops.push(() => source.server.stop());
    await createClass(source.url, ADMIN_TOKEN, { classId: CLASS, groupId: "replay_e2e_import", teacher: "teacher_li" });
    for (const [uid, ts] of [["teacher_li", 1_000_000], ["student_wang", 5_000_000]]) {
      const cred = await memberCredential(source.url, ADMIN_TOKEN, CLASS, uid);
      await reportTimeline(source.url, cred, CLASS, uid, ts);
    }
    await waitFor("2 sent messages", 20000, async () => {
      const c = await api(source.url, "GET", `/v1/admin/classes/${CLASS}`, { token: ADMIN_TOKEN });
      return c.counts.sent === 2 ? true : undefined;
    });
    const bundle = await api(source.url, "GET", `/v1/admin/classes/${CLASS}/export`, { token: ADMIN_TOKEN });
    const file = path.join(dir, `${CLASS}.json`);
    writeFileSync(file, JSON.stringify(bundle, null, 2));
    await source.stopCleanly();

    const target = await startServer(dir);
    stops.push(() => target.server.stop());
    const browser = await launch();
    stops.push(() => browser.close());
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const pageErrors = [];
    page.on("pageerror", (err) => pageErrors.push(err.message));
    await page.goto(`${target.url}/?token=${encodeURIComponent(ADMIN_TOKEN)}`, { waitUntil: "load" });
    await page.getByText("Import bundle").waitFor({ timeout: 15000 });

    await page.getByTestId("import-bundle").setInputFiles(file);
    await page.waitForURL(`**/classes/${CLASS}`, { timeout: 15000 });
    await page.getByTestId("imported-badge").waitFor({ timeout: 10000 });
    const note = (await page.getByTestId("imported-note").textContent()) ?? "";
    if (!note.includes("never delivered")) throw new Error(`imported note reads ${JSON.stringify(note)}`);
    await page.getByTestId("message-row").nth(1).waitFor({ timeout: 10000 });
    // A read-only record offers no bulk resend or recover.
    await page.getByTestId("read-only-log").waitFor({ timeout: 10000 });
    if ((await page.getByTestId("bulk-resend").count()) !== 0) throw new Error("an imported class's log offers a bulk resend");
    // Nor does one of its messages: the detail says read-only where the resend button was.
    await page.getByTestId("message-row").first().click();
    await page.getByTestId("message-detail").getByTestId("read-only-message").waitFor({ timeout: 10000 });
    if ((await page.getByTestId("resend-one").count()) !== 0) throw new Error("an imported class's message offers a resend");
    await page.screenshot({ path: shotPath("console-imported-class.png") });

    const c = await api(target.url, "GET", `/v1/admin/classes/${CLASS}`, { token: ADMIN_TOKEN });
    if (typeof c.imported_at !== "number") throw new Error(`GET class: imported_at is ${JSON.stringify(c.imported_at)}`);
    if (c.counts.sent !== 2) throw new Error(`imported counts: ${JSON.stringify(c.counts)}`);

    // The class list badges it; a second import of the same bundle is refused, in words.
    await page.getByRole("link", { name: "Classes" }).first().click();
    await page.locator('[data-testid="classes"]').getByTestId("imported-badge").waitFor({ timeout: 10000 });
    await page.getByTestId("import-bundle").setInputFiles(file);
    const err = page.getByTestId("import-error");
    await err.waitFor({ timeout: 10000 });
    const errText = (await err.textContent()) ?? "";
    if (!errText.includes("already exists")) throw new Error(`second import says ${JSON.stringify(errText)}`);
    await page.screenshot({ path: shotPath("console-import-refused.png") });
    if (pageErrors.length) throw new Error(`errors in the page: ${pageErrors.join("; ")}`);
    log(`imported ${CLASS} through the file picker; screenshots: ${shotPath("console-imported-class.png")}, ${shotPath("console-import-refused.png")}`);
    await browser.close();
    await target.stopCleanly();
  } finally {
    for (const fn of stops.reverse()) await fn().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}
