// The console's whole round in Chromium against a real `replaydesk serve` talking to a real
// `replaydesk im-emulator` whose fault knobs make deliveries fail, then heal:
// sign in; open a class; filter to failed; bulk-resend with the emulator healthy again;
// watch the job finish and the rows turn `sent`; open a message and see its attempts;
// assign an unmatched callback; reload a filtered URL and get the same view; markup in a
// callback's video_url shows as text and runs nothing. Screenshots of every view, light
// and dark, go to target/e2e/.

import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ADMIN_TOKEN, checkPrerequisites, launch, startEmulator, startServer } from "./console.mjs";
import { shotPath, waitFor } from "./lib.mjs";
import {
  api,
  createClass,
  memberCredential,
  postCallback,
  recordingCallback,
  reportTimeline,
  setFaults,
} from "./seed.mjs";

const CLASS = "e2e-room";
const GROUP = "replay_e2e_room";
const TEACHER = "teacher_li";
const STUDENT = "student_wang";
const CALLBACK_KEY = "e2e-callback-key-0123456789";
const MARKUP = `"><img src=x onerror=alert(1)>`;

async function messages(base, query) {
  return api(base, "GET", `/v1/admin/classes/${CLASS}/messages?${query}`, { token: ADMIN_TOKEN });
}

/** Seeds the class: 6 timeline reports that fail (group missing, 10010), then heals IM. */
async function seed(base, emulatorBase, log) {
  await createClass(base, ADMIN_TOKEN, { classId: CLASS, groupId: GROUP, teacher: TEACHER });
  const created = await api(base, "GET", `/v1/admin/classes/${CLASS}`, { token: ADMIN_TOKEN });
  if (created.class_id !== CLASS) throw new Error(`class not created: ${JSON.stringify(created)}`);
  // Every send now fails for good: 10010 is permanent, so each message goes `failed` at once.
  await setFaults(emulatorBase, { fail_rate: 1.0, fail_codes: [10010] });
  const teacherCred = await memberCredential(base, ADMIN_TOKEN, CLASS, TEACHER);
  const studentCred = await memberCredential(base, ADMIN_TOKEN, CLASS, STUDENT);
  for (let i = 0; i < 3; i++) {
    await reportTimeline(base, teacherCred, CLASS, TEACHER, 1_000_000 + i * 30_000);
    await reportTimeline(base, studentCred, CLASS, STUDENT, 5_000_000 + i * 30_000);
  }
  await waitFor("6 failed messages", 30000, async () => {
    const page = await messages(base, "status=failed");
    return page.items.length === 6 ? true : undefined;
  });
  await setFaults(emulatorBase, {});
  // One callback that matches no class, and one whose video_url holds markup (also
  // unmatched, so that it is listed whatever the URL checks make of it).
  const unmatched = recordingCallback(CALLBACK_KEY, {
    fileId: "5285890809999000001",
    streamId: "1400000000_ghost-room_nobody_main",
    streamParam: "groupid=replay_ghost&userid=bm9ib2R5",
  });
  const markup = recordingCallback(CALLBACK_KEY, {
    fileId: "5285890809999000002",
    streamId: "1400000000_ghost-room2_nobody_main",
    streamParam: "groupid=replay_ghost2&userid=bm9ib2R5",
    videoUrl: MARKUP,
  });
  log(`callbacks answered ${JSON.stringify(await postCallback(base, unmatched))} and ${JSON.stringify(await postCallback(base, markup))}`);
}

/** Light and dark screenshots; with `narrow`, also both at 800 px wide. */
async function shoot(page, name, log, { narrow = false } = {}) {
  const widths = narrow ? [null, 800] : [null];
  const wide = page.viewportSize();
  for (const width of widths) {
    if (width) await page.setViewportSize({ width, height: 900 });
    for (const theme of ["light", "dark"]) {
      await page.evaluate((t) => {
        document.documentElement.dataset.theme = t;
      }, theme);
      await page.waitForTimeout(150);
      const file = shotPath(`console-${name}-${theme}${width ? `-${width}` : ""}.png`);
      await page.screenshot({ path: file });
      log(`screenshot ${file}`);
    }
    if (width && wide) await page.setViewportSize(wide);
  }
  await page.evaluate(() => {
    document.documentElement.dataset.theme = "light";
  });
}

export async function consoleFlowTest({ log }) {
  checkPrerequisites();
  const dir = mkdtempSync(path.join(os.tmpdir(), "replaydesk-e2e-"));
  const stops = [];
  try {
    const { base: emulatorBase, secret, sdkappid } = await startEmulator(dir, stops);
    const srv = await startServer(dir, {
      REPLAYDESK_IM_ENDPOINT: emulatorBase,
      REPLAYDESK_IM_SDKAPPID: sdkappid,
      REPLAYDESK_IM_SECRET_KEY: secret,
      REPLAYDESK_CALLBACK_KEY: CALLBACK_KEY,
    });
    stops.push(() => srv.server.stop());
    await seed(srv.url, emulatorBase, log);

    const browser = await launch();
    stops.push(() => browser.close());
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const pageErrors = [];
    const dialogs = [];
    page.on("pageerror", (err) => pageErrors.push(err.message));
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });

    // Sign in: first without a token (the sign-in screen), then with ?token= once.
    await page.goto(`${srv.url}/`, { waitUntil: "load" });
    await page.getByLabel("Admin token").waitFor({ timeout: 15000 });
    await shoot(page, "signin", log);
    // A wrong token is refused on the sign-in screen, in words.
    await page.getByLabel("Admin token").fill("not-the-admin-token-at-all");
    await page.getByRole("button", { name: "Use the token" }).click();
    await page.getByText("The token was not accepted").waitFor({ timeout: 10000 });
    await page.goto(`${srv.url}/?token=${encodeURIComponent(ADMIN_TOKEN)}`, { waitUntil: "load" });
    await page.getByTestId("classes").waitFor({ timeout: 15000 });
    if (page.url().includes(ADMIN_TOKEN)) throw new Error(`the token is still in the address bar: ${page.url()}`);
    const stored = await page.evaluate(() => [sessionStorage.length, localStorage.getItem("replaydesk.adminToken")]);
    if (stored[0] !== 1 || stored[1] !== null) throw new Error(`token storage: ${JSON.stringify(stored)}`);
    await page.getByTestId("alerts").getByText("failed and will not be retried").waitFor({ timeout: 10000 });
    await shoot(page, "classes", log);

    // Create a class from the console, with its IM group.
    await page.getByRole("button", { name: "Create class" }).click();
    await page.getByLabel("Class id").fill("e2e-made-here");
    await page.getByLabel("IM group id").fill("replay_e2e_made_here");
    await page.getByLabel("Teacher uid").fill("teacher_new");
    if (!(await page.getByRole("checkbox", { name: "Create the IM group" }).isChecked())) throw new Error("create the IM group is not the default");
    await shoot(page, "create-class", log);
    await page.getByRole("button", { name: "Create", exact: true }).click();
    const made = page.getByTestId("created-class");
    await made.waitFor({ timeout: 10000 });
    const madeText = (await made.textContent()) ?? "";
    if (!madeText.includes("The IM group was created") || !/rdc1\./.test(madeText)) throw new Error(`after create: ${madeText}`);
    await made.getByRole("button", { name: "Done" }).click();
    await page.getByRole("link", { name: "e2e-made-here", exact: true }).waitFor({ timeout: 10000 });

    // Open the class; filter to failed.
    await page.getByRole("link", { name: CLASS, exact: true }).click();
    await page.getByTestId("message-row").first().waitFor({ timeout: 10000 });
    await page.getByRole("checkbox", { name: "failed" }).check();
    await waitFor("only failed rows", 10000, async () => {
      const st = await page.getByTestId("message-row").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-status")));
      return st.length === 6 && st.every((s) => s === "failed") ? true : undefined;
    });
    if (!page.url().includes("status=failed")) throw new Error(`the filter is not in the URL: ${page.url()}`);
    const failedIds = await page.getByTestId("message-row").evaluateAll((rows) => rows.map((r) => Number(r.getAttribute("data-id"))));
    await shoot(page, "class-failed", log);

    // Reload a filtered URL: same filter, same rows.
    const filteredUrl = page.url();
    await page.reload({ waitUntil: "load" });
    await page.getByTestId("message-row").first().waitFor({ timeout: 10000 });
    if (!(await page.getByRole("checkbox", { name: "failed" }).isChecked())) throw new Error("after reload the failed filter is unchecked");
    const reloadedIds = await page.getByTestId("message-row").evaluateAll((rows) => rows.map((r) => Number(r.getAttribute("data-id"))));
    if (JSON.stringify(reloadedIds) !== JSON.stringify(failedIds) || page.url() !== filteredUrl) {
      throw new Error(`after reload: ${page.url()} ${JSON.stringify(reloadedIds)}, before: ${filteredUrl} ${JSON.stringify(failedIds)}`);
    }

    // Bulk resend everything failed, after a confirmation stating the count.
    await page.getByTestId("bulk-resend").click();
    const confirmText = page.getByTestId("confirm-text");
    await confirmText.waitFor({ timeout: 10000 });
    const said = (await confirmText.textContent()) ?? "";
    if (!said.includes("Resend 6 messages") || !said.includes(`class ${CLASS}`) || !said.includes("status failed")) {
      throw new Error(`the confirmation reads ${JSON.stringify(said)}`);
    }
    await shoot(page, "bulk-confirm", log);
    await page.getByTestId("confirm-resend").click();
    const progress = page.getByTestId("job-progress");
    await progress.waitFor({ timeout: 10000 });
    await page.locator('[data-testid="job-progress"][data-state="finished"]').waitFor({ timeout: 30000 });
    const summary = (await page.getByTestId("job-summary").textContent()) ?? "";
    if (!summary.includes("6 sent, 0 failed of 6")) throw new Error(`job summary: ${JSON.stringify(summary)}`);
    log(`job: ${summary}`);
    const bulkJobId = ((await progress.getByRole("link", { name: /^Job \d+$/ }).textContent()) ?? "").replace("Job ", "").trim();
    await shoot(page, "bulk-finished", log);

    // The rows turn `sent`: the failed filter now shows none; without it they read sent.
    await page.getByRole("checkbox", { name: "failed" }).uncheck();
    await waitFor("the resent rows read sent", 15000, async () => {
      const rows = await page.getByTestId("message-row").evaluateAll((rs) =>
        rs.map((r) => [Number(r.getAttribute("data-id")), r.getAttribute("data-status")]),
      );
      const byId = new Map(rows);
      return failedIds.every((id) => byId.get(id) === "sent") ? true : undefined;
    });

    // Open a message: its attempts, the failed one's IM code in words.
    await page.locator(`[data-testid="message-row"][data-id="${failedIds[0]}"]`).click();
    const detail = page.getByTestId("message-detail");
    await detail.getByTestId("attempt").nth(1).waitFor({ timeout: 10000 });
    const attemptsText = (await detail.getByTestId("attempts").textContent()) ?? "";
    if (!attemptsText.includes("The group does not exist") || !attemptsText.includes("sent")) {
      throw new Error(`attempts read: ${attemptsText}`);
    }
    if (!page.url().includes(`msg=${failedIds[0]}`)) throw new Error(`the open message is not in the URL: ${page.url()}`);
    await detail.getByTestId("message-source").waitFor({ timeout: 10000 });
    await shoot(page, "message-detail", log);
    await detail.getByTestId("attempts").scrollIntoViewIfNeeded();
    await shoot(page, "message-attempts", log);
    // Resend this one message. It is already sent, so the console says what a resend does
    // (a second copy with the same seq in the group) and asks; declined, nothing is sent.
    const resendRequests = [];
    page.on("request", (r) => {
      if (r.method() === "POST" && /\/v1\/admin\/messages\/\d+\/resend$/.test(new URL(r.url()).pathname)) resendRequests.push(r.url());
    });
    await detail.getByTestId("resend-one").click();
    const dup = page.getByTestId("duplicate-dialog");
    await dup.waitFor({ timeout: 5000 });
    const dupText = (await dup.getByTestId("duplicate-text").textContent()) ?? "";
    if (!dupText.includes("already in the group") || !dupText.includes("second") || !dupText.includes("same seq")) {
      throw new Error(`the duplicate question reads ${JSON.stringify(dupText)}`);
    }
    await shoot(page, "resend-duplicate-confirm", log, { narrow: true });
    await dup.getByTestId("cancel-duplicate").click();
    await dup.waitFor({ state: "detached", timeout: 5000 });
    const afterDecline = await api(srv.url, "GET", `/v1/admin/messages/${failedIds[0]}`, { token: ADMIN_TOKEN });
    if (resendRequests.length !== 0 || afterDecline.attempts.length !== 2 || afterDecline.message.status !== "sent") {
      throw new Error(`declined, yet ${resendRequests.length} resend request(s); ${afterDecline.attempts.length} attempts, ${afterDecline.message.status}`);
    }
    if (await detail.getByTestId("resend-notice").count()) throw new Error("a resend notice after declining");
    // Confirmed: a third attempt, manual, and it is sent again.
    await detail.getByTestId("resend-one").click();
    await page.getByTestId("confirm-duplicate").click();
    await detail.getByText("Queued for sending again.").waitFor({ timeout: 10000 });
    if (resendRequests.length !== 1) throw new Error(`confirmed: ${resendRequests.length} resend requests`);
    await detail.getByTestId("attempt").nth(2).waitFor({ timeout: 15000 });
    const third = (await detail.getByTestId("attempt").nth(2).textContent()) ?? "";
    if (!third.includes("manual")) throw new Error(`the third attempt reads ${JSON.stringify(third)}`);
    // Keyboard: the arrow key moves the open message to the next row; Escape closes it.
    const rowIds = await page.getByTestId("message-row").evaluateAll((rs) => rs.map((r) => Number(r.getAttribute("data-id"))));
    const at = rowIds.indexOf(failedIds[0]);
    await page.getByTestId("message-rows").focus();
    await page.keyboard.press("ArrowDown");
    await waitFor("the next message open", 5000, async () => (page.url().includes(`msg=${rowIds[at + 1]}`) ? true : undefined));
    // The notice belonged to the message resent, not to the one opened next.
    await detail.getByRole("heading", { name: `Message ${rowIds[at + 1]}` }).waitFor({ timeout: 5000 });
    await detail.getByTestId("resend-one").waitFor({ timeout: 5000 });
    if (await detail.getByTestId("resend-notice").count()) {
      throw new Error(`message ${rowIds[at + 1]} shows the notice of message ${failedIds[0]}: ${await detail.getByTestId("resend-notice").textContent()}`);
    }
    await page.keyboard.press("Escape");
    await detail.waitFor({ state: "detached", timeout: 5000 });

    // "Recover failed since": one more report fails while IM is down again, IM heals, and
    // the recovery job (everything failed since an hour ago) sends it.
    await setFaults(emulatorBase, { fail_rate: 1.0, fail_codes: [10010] });
    const late = await reportTimeline(srv.url, await memberCredential(srv.url, ADMIN_TOKEN, CLASS, STUDENT), CLASS, STUDENT, 9_000_000);
    await waitFor("the late report failed", 15000, async () => {
      const m = await api(srv.url, "GET", `/v1/admin/messages/${late.message_id}`, { token: ADMIN_TOKEN });
      return m.message.status === "failed" ? true : undefined;
    });
    await setFaults(emulatorBase, {});
    const since = await page.evaluate(() => {
      const d = new Date(Date.now() - 3_600_000);
      const p = (n) => String(n).padStart(2, "0");
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
    });
    await page.getByLabel("Failed since").fill(since);
    await page.getByRole("button", { name: "Recover failed since…" }).click();
    // Counted first, and asked with the count.
    const recoverText = page.getByTestId("recover-text");
    await recoverText.waitFor({ timeout: 10000 });
    const recoverSaid = (await recoverText.textContent()) ?? "";
    if (!recoverSaid.includes("Send again 1 message") || !recoverSaid.includes(`class ${CLASS}`)) {
      throw new Error(`the recover question reads ${JSON.stringify(recoverSaid)}`);
    }
    await shoot(page, "recover-confirm", log, { narrow: true });
    await page.getByTestId("confirm-recover").click();
    await page.locator('[data-testid="job-progress"][data-state="finished"]', { hasText: "Recovery of failed messages" }).waitFor({ timeout: 30000 });
    const recovered = (await page.getByTestId("job-summary").first().textContent()) ?? "";
    if (!recovered.includes("1 sent, 0 failed of 1")) throw new Error(`recovery summary: ${JSON.stringify(recovered)}`);
    await page.locator(`[data-testid="message-row"][data-id="${late.message_id}"][data-status="sent"]`).waitFor({ timeout: 15000 });
    log(`recovery: ${recovered}`);

    // Credentials refused (70003 from the emulator): sending pauses and the classes page
    // says so at the top with a form for the key; saving the key there resumes sending and
    // clears the alert.
    await setFaults(emulatorBase, { fail_rate: 1.0, fail_codes: [70003] });
    const held = await reportTimeline(srv.url, await memberCredential(srv.url, ADMIN_TOKEN, CLASS, STUDENT), CLASS, STUDENT, 9_800_000);
    await page.getByRole("link", { name: "Classes", exact: true }).click();
    const paused = page.getByRole("alert").filter({ hasText: "Sending paused: IM credentials refused" });
    await paused.waitFor({ timeout: 20000 });
    await shoot(page, "alert-credentials", log);
    await setFaults(emulatorBase, {});
    await paused.getByLabel("New IM secret key").fill(secret);
    await paused.getByRole("button", { name: "Save and resume sending" }).click();
    await paused.waitFor({ state: "detached", timeout: 20000 });
    await waitFor("the held message sent once the key is saved", 20000, async () => {
      const m = await api(srv.url, "GET", `/v1/admin/messages/${held.message_id}`, { token: ADMIN_TOKEN });
      return m.message.status === "sent" ? true : undefined;
    });
    log("credentials: alert shown, key saved from it, sending resumed");
    await page.goto(`${srv.url}/#/classes/${CLASS}`, { waitUntil: "load" });
    await page.getByTestId("message-row").first().waitFor({ timeout: 10000 });

    // A refused report (round trip out of range) is kept and listed with its reason.
    await api(srv.url, "POST", `/v1/classes/${CLASS}/timeline`, {
      token: await memberCredential(srv.url, ADMIN_TOKEN, CLASS, STUDENT),
      body: { uid: STUDENT, timestamp: 9_500_000, rtt_ms: 70000 },
      expect: [400, 422],
    });

    // Other views, for the screenshots (and that each renders without error).
    await page.getByRole("link", { name: "Timeline reports" }).click();
    await page.getByTestId("report-row").first().waitFor({ timeout: 10000 });
    const reason = page.getByTestId("refusal-reason").first();
    await reason.waitFor({ timeout: 10000 });
    const reasonText = (await reason.textContent()) ?? "";
    if (!reasonText.includes("rtt_ms")) throw new Error(`refused report's reason: ${JSON.stringify(reasonText)}`);
    log(`refused report: ${reasonText}`);
    await shoot(page, "reports", log);
    // A report's message number opens that message in the class's log.
    await page.getByTestId("reports").getByRole("link", { name: String(late.message_id), exact: true }).click();
    await page.getByTestId("message-detail").waitFor({ timeout: 10000 });
    if (!page.url().includes(`msg=${late.message_id}`)) throw new Error(`report link led to ${page.url()}`);
    await page.getByRole("link", { name: "Jobs", exact: true }).click();
    await page.locator('[data-testid="job-row"][data-state="finished"]').first().waitFor({ timeout: 10000 });
    await shoot(page, "jobs", log);
    // The job opens onto the messages it took on: exactly the six resent, each sent now,
    // each opening its detail.
    await page.getByRole("link", { name: `Job ${bulkJobId}: its messages`, exact: true }).click();
    await page.locator('[data-testid="job-header"][data-state="finished"]').waitFor({ timeout: 10000 });
    let jobRows = [];
    await waitFor("the job's six messages, sent", 15000, async () => {
      jobRows = await page.getByTestId("message-row").evaluateAll((rs) =>
        rs.map((r) => [Number(r.getAttribute("data-id")), r.getAttribute("data-status")]),
      );
      const ids = jobRows.map(([id]) => id).sort((x, y) => x - y);
      const want = [...failedIds].sort((x, y) => x - y);
      return JSON.stringify(ids) === JSON.stringify(want) && jobRows.every(([, st]) => st === "sent") ? true : undefined;
    }).catch(async (e) => {
      await page.screenshot({ path: shotPath("console-job-messages-failed.png") });
      throw new Error(`${e.message}: the job lists ${JSON.stringify(jobRows)}, the bulk resend took ${JSON.stringify(failedIds)}`);
    });
    if (!page.url().includes(`/jobs/${bulkJobId}`)) throw new Error(`the job's link led to ${page.url()}`);
    log(`job ${bulkJobId} lists its ${failedIds.length} messages, all sent`);
    await shoot(page, "job-messages", log);
    await page.locator(`[data-testid="message-row"][data-id="${failedIds[1]}"]`).click();
    await page.getByTestId("message-detail").getByTestId("attempt").nth(1).waitFor({ timeout: 10000 });
    if (!page.url().includes(`msg=${failedIds[1]}`)) throw new Error(`the job's message is not in the URL: ${page.url()}`);
    await shoot(page, "job-message-detail", log);
    await page.setViewportSize({ width: 800, height: 800 });
    await page.waitForTimeout(200);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    if (wide > 800) throw new Error(`at 800 px the job's page is ${wide} px wide`);
    await shoot(page, "job-messages-800", log);
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.getByRole("link", { name: "Messages", exact: true }).click();
    await page.getByTestId("message-row").first().waitFor({ timeout: 10000 });
    await shoot(page, "messages", log);

    // Callbacks: the markup is text, nothing ran; assign the unmatched one.
    await page.getByRole("link", { name: "Callbacks", exact: true }).click();
    await page.getByTestId("callback-row").first().waitFor({ timeout: 10000 });
    // Refused (only http(s) video URLs are taken) or not, its body is listed: the video
    // URL column shows the markup as the characters it is.
    const shown = await page.getByTestId("video-url").evaluateAll((els) => els.map((e) => e.textContent));
    if (!shown.includes(MARKUP)) throw new Error(`the callback's markup is not shown as text; video URLs read ${JSON.stringify(shown)}`);
    await shoot(page, "callbacks-all", log);
    const imgs = await page.evaluate(() => document.querySelectorAll("main img").length);
    if (imgs !== 0) throw new Error(`the markup became ${imgs} <img> element(s)`);
    await page.getByRole("link", { name: "unmatched", exact: true }).click();
    const row = page.locator('[data-testid="callback-row"]', { hasText: "replay_ghost\"" }).first();
    await row.waitFor({ timeout: 10000 });
    const cbId = await row.getAttribute("data-id");
    const form = row.getByTestId("assign-form");
    await shoot(page, "callbacks-unmatched", log);
    await form.getByLabel("Class").selectOption(CLASS);
    // A user who is not a member of the class: warned about, with the members, and asked.
    await form.getByLabel("User").fill("teacher_lee");
    await form.getByRole("button", { name: "Assign" }).click();
    const stranger = form.getByTestId("assign-not-member");
    await stranger.waitFor({ timeout: 10000 });
    const strangerText = (await stranger.textContent()) ?? "";
    if (!strangerText.includes("teacher_lee is not a member of class") || !strangerText.includes(TEACHER)) {
      throw new Error(`the non-member warning reads ${JSON.stringify(strangerText)}`);
    }
    await shoot(page, "callbacks-assign-not-member", log, { narrow: true });
    await stranger.getByRole("button", { name: "Cancel" }).click();
    await stranger.waitFor({ state: "detached", timeout: 5000 });
    const stillUnmatched = await api(srv.url, "GET", `/v1/admin/callbacks/${cbId}`, { token: ADMIN_TOKEN });
    if (stillUnmatched.status !== "unmatched") throw new Error(`declined, yet the callback is ${stillUnmatched.status}`);
    // A member is assigned at once.
    await form.getByLabel("User").fill(TEACHER);
    await form.getByRole("button", { name: "Assign" }).click();
    // Once assigned it leaves the unmatched list; the assigned list has it, with its 1004.
    await waitFor("the callback gone from the unmatched list", 10000, async () =>
      (await page.locator(`[data-testid="callback-row"][data-id="${cbId}"]`).count()) === 0 ? true : undefined,
    );
    const assigned = await api(srv.url, "GET", "/v1/admin/callbacks?status=assigned", { token: ADMIN_TOKEN });
    if (assigned.items.length !== 1 || assigned.items[0].class_id !== CLASS || assigned.items[0].uid !== TEACHER || !assigned.items[0].message_id) {
      throw new Error(`assigned callbacks: ${JSON.stringify(assigned.items.map((c) => [c.class_id, c.uid, c.message_id]))}`);
    }
    await page.getByRole("link", { name: "assigned", exact: true }).click();
    await page.locator('[data-testid="callback-row"][data-status="assigned"]').waitFor({ timeout: 10000 });
    // Once its 1004 is in the group, the assignment can no longer be undone, and says why.
    await waitFor("the assigned 1004 sent", 15000, async () => {
      const m = await api(srv.url, "GET", `/v1/admin/messages/${assigned.items[0].message_id}`, { token: ADMIN_TOKEN });
      return m.message.status === "sent" ? true : undefined;
    });
    const assignedRow = page.locator('[data-testid="callback-row"][data-status="assigned"]');
    await assignedRow.getByTestId("unassign").click();
    await assignedRow.getByText("already in the group").waitFor({ timeout: 10000 });
    await shoot(page, "callbacks-assigned", log, { narrow: true });
    // Its 1004 opens from the row, in the class's log.
    const oneOhFour = assigned.items[0].message_id;
    await page.locator('[data-testid="callback-row"][data-status="assigned"]').getByRole("link", { name: `message ${oneOhFour}` }).click();
    await page.getByTestId("message-detail").filter({ hasText: "1004 recording" }).waitFor({ timeout: 10000 });
    if (!page.url().includes(`/classes/${CLASS}`) || !page.url().includes(`msg=${oneOhFour}`)) throw new Error(`the 1004 link led to ${page.url()}`);

    // Alignment: lanes drawn; a diagnostic, clicked, lists and highlights its messages.
    await page.goto(`${srv.url}/#/classes/${CLASS}/alignment`, { waitUntil: "load" });
    await page.getByTestId("alignment-lanes").locator("canvas").first().waitFor({ timeout: 15000 });
    const diags = page.getByTestId("diagnostic");
    await diags.first().waitFor({ timeout: 10000 });
    log(`alignment: ${await diags.count()} diagnostic(s); first: ${((await diags.first().textContent()) ?? "").slice(0, 120)}`);
    // The seeded reports are 30 s apart on the clients' clocks but milliseconds apart on
    // the server's: clock jumps between pairs, each naming its timeline messages.
    const jump = diags.filter({ hasText: "clock_jump_between_pairs" }).first();
    await jump.click();
    if ((await jump.getAttribute("aria-pressed")) !== "true") throw new Error("the clicked diagnostic is not marked");
    const listed = page.getByTestId("diagnostic-messages");
    await listed.getByRole("link", { name: /^message \d+$/ }).first().waitFor({ timeout: 5000 });
    if (!/diag=\d+/.test(page.url())) throw new Error(`the picked diagnostic is not in the URL: ${page.url()}`);
    await shoot(page, "alignment", log);

    // Reconcile: the group's history (the emulator's) against the log, run from the page.
    await page.getByRole("link", { name: "Reconcile with IM" }).click();
    await page.getByTestId("reconcile-start").click();
    await page.locator('[data-testid="reconcile-run"][data-state="finished"]').waitFor({ timeout: 30000 });
    const compared = (await page.getByTestId("reconcile-summary").textContent()) ?? "";
    if (!/\d+ in the group, \d+ in the log, \d+ matched/.test(compared)) throw new Error(`reconcile summary: ${JSON.stringify(compared)}`);
    log(`reconcile: ${compared}`);
    await shoot(page, "reconcile", log);

    await page.getByRole("link", { name: "Audit log", exact: true }).click();
    await page.getByTestId("audit-row").first().waitFor({ timeout: 10000 });
    await shoot(page, "audit", log);

    if (dialogs.length) throw new Error(`a dialog opened (script ran): ${dialogs.join("; ")}`);
    if (pageErrors.length) throw new Error(`errors in the page: ${pageErrors.join("; ")}`);
    await browser.close();
    await srv.stopCleanly();
  } finally {
    for (const fn of stops.reverse()) await fn().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}
