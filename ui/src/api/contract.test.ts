// The console's operation table against the desktop app's admin commands: every admin
// #[tauri::command] has an entry of the same name, and where the command's doc names its
// HTTP route, the entry has the same method and path. (The backend's route-parity test
// holds the commands against the HTTP router.)

import { describe, expect, test } from "vitest";
import { OPERATIONS } from "./transport";

// The command sources as text (Vite's raw import, resolved when the test is built).
const SOURCES = import.meta.glob<string>(["../../../src-tauri/src/commands/admin.rs", "../../../src-tauri/src/commands/align.rs"], {
  query: "?raw",
  import: "default",
  eager: true,
});

interface Command {
  name: string;
  route: { method: string; path: string } | null;
}

function commands(): Command[] {
  const out: Command[] = [];
  for (const src of Object.values(SOURCES)) {
    const re = /((?:\/\/\/[^\n]*\n)*)#\[tauri::command\]\s*\npub (?:async )?fn (\w+)/g;
    for (const m of src.matchAll(re)) {
      const doc = m[1] ?? "";
      const r = /`(GET|POST|PUT|DELETE) (\/v1\/[^`\s]+)`/.exec(doc);
      out.push({ name: m[2] ?? "", route: r ? { method: r[1] ?? "", path: r[2] ?? "" } : null });
    }
  }
  return out;
}

describe("the two doors' contract", () => {
  test("every admin command of the desktop app is an operation of the console, with the same route", () => {
    const cmds = commands();
    expect(cmds.length).toBeGreaterThan(15);
    for (const c of cmds) {
      const op = (OPERATIONS as Record<string, { method: string; path: string }>)[c.name];
      expect(op, `no operation for the command ${c.name}`).toBeDefined();
      if (c.route) expect(op, c.name).toEqual(c.route);
    }
  });
});
