// People, roles and sign-in (issue 23) in Chromium against a real `replaydesk serve`: an
// admin sets her first password with a setup code and signs in by name, adds a person on
// the People page (the setup code shown once) and makes an API token (shown once); a
// support engineer signs in and sees every class, the message detail and the audit log,
// with no "Create class", import, resend, bulk actions, Jobs or People; the audit log
// filters by person; the support engineer changes his own password from "Your account".
// Screenshots: people-signin.png, people-users.png, people-support.png, the message detail
// a support engineer sees (people-support-message.png) and his account (people-account.png).

import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ADMIN_TOKEN, checkPrerequisites, launch, startServer } from "./console.mjs";
import { shotPath } from "./lib.mjs";
import { api } from "./seed.mjs";

const CLASS = "e2e-people";
const TEACHER = "teacher_li";
const PASSWORD = "correct horse battery";

async function signIn(page, name, password) {
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByTestId("who").getByText(name).waitFor({ timeout: 10000 });
}

export async function peopleTest({ log }) {
  checkPrerequisites();
  const dir = mkdtempSync(path.join(os.tmpdir(), "replaydesk-e2e-"));
  const stops = [];
  try {
    const srv = await startServer(dir);
    stops.push(() => srv.server.stop());
    // A class with a message (the teacher's start), made with the bootstrap token.
    const created = await api(srv.url, "POST", "/v1/classes", {
      token: ADMIN_TOKEN,
      body: { class_id: CLASS, group_id: "replay_e2e_people", teacher_uid: TEACHER, create_group: true },
    });
    const started = await api(srv.url, "POST", `/v1/classes/${CLASS}/start`, {
      token: created.teacher_credential,
      body: { uid: TEACHER, timestamp: 1000 },
    });
    // Two people, as an admin adds them (the CLI does the same: tests/it/auth_people.rs).
    const ada = await api(srv.url, "POST", "/v1/admin/users", { token: ADMIN_TOKEN, body: { name: "ada", role: "admin" } });
    const sam = await api(srv.url, "POST", "/v1/admin/users", { token: ADMIN_TOKEN, body: { name: "sam", role: "support" } });
    await api(srv.url, "POST", "/v1/auth/setup", { body: { name: "sam", code: sam.setup_code, password: PASSWORD }, expect: [204] });

    const browser = await launch();
    stops.push(() => browser.close());
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const pageErrors = [];
    page.on("pageerror", (err) => pageErrors.push(err.message));
    await page.goto(srv.url, { waitUntil: "load" });
    await page.getByLabel("Name", { exact: true }).waitFor({ timeout: 15000 });
    await page.screenshot({ path: shotPath("people-signin.png") });

    // A wrong password: one refusal, whichever part was wrong.
    await page.getByLabel("Name", { exact: true }).fill("ada");
    await page.getByLabel("Password", { exact: true }).fill("not her password");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByText("wrong name or password").waitFor({ timeout: 10000 });

    // Ada's first password, from her setup code.
    await page.getByRole("button", { name: "Set your password with your setup code" }).click();
    await page.getByLabel("Setup code").fill(ada.setup_code);
    await page.locator("#setup-name").fill("ada");
    await page.getByLabel("New password").fill(PASSWORD);
    await page.getByLabel("The same again").fill(PASSWORD);
    await page.getByRole("button", { name: "Set password" }).click();
    await page.getByText("Password set for ada").waitFor({ timeout: 10000 });
    await signIn(page, "ada", PASSWORD);
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === "replaydesk_session");
    if (!session || !session.httpOnly || session.sameSite !== "Strict") throw new Error(`session cookie: ${JSON.stringify(session)}`);
    const stored = await page.evaluate(() => [sessionStorage.length, localStorage.length, document.cookie]);
    if (stored[0] !== 0 || stored[1] !== 0 || stored[2] !== "") throw new Error(`something readable kept: ${JSON.stringify(stored)}`);

    // The People page: add a viewer (the code shown once), make a token for sam (shown once).
    await page.getByTestId("nav").getByRole("link", { name: "People", exact: true }).click();
    await page.getByTestId("users").waitFor({ timeout: 10000 });
    await page.locator("#new-user").fill("vic");
    await page.locator("#new-role").selectOption("viewer");
    await page.getByRole("button", { name: "Add person" }).click();
    const code = (await page.getByTestId("secret-value").textContent({ timeout: 10000 })) ?? "";
    if (!code.startsWith("rds1_")) throw new Error(`setup code shown: ${JSON.stringify(code)}`);
    await page.getByTestId("user-vic").waitFor();
    await page.screenshot({ path: shotPath("people-users.png"), fullPage: true });
    await page.getByRole("button", { name: "Done" }).click();
    if (await page.getByText(code).count()) throw new Error("the setup code is still shown after Done");
    await page.locator("#tok-user").selectOption("sam");
    await page.locator("#tok-name").fill("nightly");
    await page.getByRole("button", { name: "Create token" }).click();
    const token = (await page.getByTestId("secret-value").textContent({ timeout: 10000 })) ?? "";
    if (!token.startsWith("rdt1_")) throw new Error(`token shown: ${JSON.stringify(token)}`);
    await page.getByRole("button", { name: "Done" }).click();
    await page.getByTestId("tokens").getByText("nightly").waitFor();
    // Ada resends the class's start: the audit log names her.
    await page.goto(`${srv.url}/#/classes/${CLASS}?msg=${started.message_id}`);
    await page.getByTestId("resend-one").click();
    // Sent already (the sandbox is quick): the console asks first.
    await page.getByRole("button", { name: "Send a second copy" }).click({ timeout: 3000 }).catch(() => {});
    await page.getByTestId("resend-notice").waitFor({ timeout: 10000 });
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("Name", { exact: true }).waitFor({ timeout: 10000 });

    // Sam, support: every view, no action.
    await signIn(page, "sam", PASSWORD);
    const nav = (await page.getByTestId("nav").textContent()) ?? "";
    for (const shown of ["Classes", "Messages", "Callbacks", "Audit log"]) {
      if (!nav.includes(shown)) throw new Error(`support's navigation lacks ${shown}: ${nav}`);
    }
    for (const hidden of ["Jobs", "People"]) {
      if (nav.includes(hidden)) throw new Error(`support's navigation shows ${hidden}: ${nav}`);
    }
    await page.getByTestId("nav").getByRole("link", { name: "Classes", exact: true }).click();
    await page.locator('[data-testid="classes"] tbody tr').first().waitFor({ timeout: 10000 }).catch(async (err) => {
      await page.screenshot({ path: shotPath("people-support-failed.png"), fullPage: true });
      throw err;
    });
    if (await page.getByRole("button", { name: "Create class" }).count()) throw new Error("support sees Create class");
    if (await page.getByText("Import bundle").count()) throw new Error("support sees Import bundle");
    await page.screenshot({ path: shotPath("people-support.png"), fullPage: true });
    await page.goto(`${srv.url}/#/classes/${CLASS}?msg=${started.message_id}`);
    await page.getByRole("link", { name: "Alignment" }).waitFor({ timeout: 10000 });
    await page.getByText("Attempts").first().waitFor({ timeout: 10000 }).catch(() => {});
    for (const id of ["resend-one", "bulk-resend", "recover", "end-class"]) {
      if (await page.getByTestId(id).count()) throw new Error(`support sees ${id}`);
    }
    await page.screenshot({ path: shotPath("people-support-message.png"), fullPage: true });
    // The server refuses it anyway: the same resend with sam's cookie is 403.
    const refused = await page.evaluate(async (id) => {
      const res = await fetch(`/v1/admin/messages/${id}/resend`, { method: "POST", body: "{}" });
      return res.status;
    }, started.message_id);
    if (refused !== 403) throw new Error(`support's resend answered ${refused}`);
    // The audit log by person.
    await page.goto(`${srv.url}/#/audit?actor=ada`);
    await page.getByTestId("audit-row").first().waitFor({ timeout: 10000 });
    const who = await page.locator('[data-testid="audit-row"] td:nth-child(2)').allTextContents();
    if (!who.every((w) => w.startsWith("ada"))) throw new Error(`audit by ada shows ${JSON.stringify(who)}`);
    // Sam changes his own password from "Your account" (the name in the header): a wrong
    // current password is refused without signing him out; the change asks first, ends his
    // session, and the new password signs him in.
    await page.getByTestId("who").click();
    await page.getByTestId("change-password").waitFor({ timeout: 10000 });
    const NEW = "a new password for sam";
    await page.getByLabel("Current password").fill("not his password");
    await page.getByLabel("New password (at least 10 characters)").fill(NEW);
    await page.getByLabel("New password again").fill(NEW);
    page.once("dialog", (d) => void d.accept());
    await page.getByRole("button", { name: "Change password" }).click();
    await page.getByText("current: wrong password").waitFor({ timeout: 10000 });
    await page.getByTestId("who").waitFor({ timeout: 2000 });
    await page.screenshot({ path: shotPath("people-account.png"), fullPage: true });
    await page.getByLabel("Current password").fill(PASSWORD);
    page.once("dialog", (d) => void d.accept());
    await page.getByRole("button", { name: "Change password" }).click();
    await page.getByRole("button", { name: "Sign in", exact: true }).waitFor({ timeout: 10000 });
    await signIn(page, "sam", NEW);
    if (pageErrors.length) throw new Error(`errors in the page: ${pageErrors.join("; ")}`);
    log(`screenshots: ${["people-signin", "people-users", "people-support", "people-support-message", "people-account"].map((n) => shotPath(`${n}.png`)).join(", ")}`);
    await browser.close();
    await srv.stopCleanly();
  } finally {
    for (const fn of stops.reverse()) await fn().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}
