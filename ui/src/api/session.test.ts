import { describe, expect, it } from "vitest";
import type { Me } from "../bindings/Me";
import { allowed, roleAllows } from "./session";

const who = (role: Me["role"]): Me => ({ name: "p", role, door: "console", csrf_token: "c", session_expires_at: 1 });

describe("roles in the console", () => {
  it("each role may do what those below it may", () => {
    expect(roleAllows("admin", "support")).toBe(true);
    expect(roleAllows("support", "viewer")).toBe(true);
    expect(roleAllows("support", "admin")).toBe(false);
    expect(roleAllows("viewer", "support")).toBe(false);
  });

  it("follows each operation's declared role", () => {
    expect(allowed(who("support"), "export_class")).toBe(true);
    expect(allowed(who("support"), "resend_message")).toBe(false);
    expect(allowed(who("support"), "create_class")).toBe(false);
    expect(allowed(who("viewer"), "class_alignment")).toBe(true);
    expect(allowed(who("viewer"), "list_audit")).toBe(false);
    expect(allowed(who("admin"), "add_user")).toBe(true);
  });

  it("allows everything in the desktop app (no one signed in)", () => {
    expect(allowed(null, "set_secret_key")).toBe(true);
  });
});
