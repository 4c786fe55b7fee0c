import { describe, expect, test } from "vitest";
import { count, percent, prettyJson, typeLabel } from "./format";
import { imErrorWords } from "./imcodes";

describe("formatting", () => {
  test("counts, percents, types and JSON", () => {
    expect(count(100000)).toBe("100,000");
    expect(count(12)).toBe("12");
    expect(percent(1, 4)).toBe(25);
    expect(percent(1, 0)).toBe(0);
    expect(typeLabel("timeline")).toBe("1003 timeline");
    expect(typeLabel("class_start")).toBe("1001 class start");
    expect(prettyJson('{"a":1}')).toBe('{\n  "a": 1\n}');
    expect(prettyJson("<img>")).toBeNull();
  });
});

describe("IM error codes in words", () => {
  test("known codes say what happened and what ReplayDesk does", () => {
    expect(imErrorWords(10010)).toMatchObject({ words: "The group does not exist", cls: "permanent" });
    expect(imErrorWords(70009).handling).toContain("sending pauses");
    expect(imErrorWords(10023).cls).toBe("slow_down");
  });

  test("a refusal's advice agrees with what the code means", () => {
    // 10007 is a refusal (the demo's simulated outage uses it), not a malformed request.
    const noPermission = imErrorWords(10007);
    expect(noPermission.cls).toBe("permanent");
    expect(noPermission.words).toContain("No permission");
    expect(noPermission.handling).not.toContain("request itself is wrong");
    expect(noPermission.handling).toContain("Recover");
    // Only the invalid-parameter code blames the request.
    for (const code of [10007, 10010, 10015, 10016, 10017, 80002]) {
      expect(imErrorWords(code).handling).not.toContain("request itself");
    }
    expect(imErrorWords(10004).handling).toContain("request itself is wrong");
  });

  test("an unknown code is named and retried, as the backend does", () => {
    expect(imErrorWords(99999)).toMatchObject({ words: "Unknown IM error code 99999", cls: "retry" });
  });
});
