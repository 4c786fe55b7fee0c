import { describe, expect, it } from "vitest";
import { deadlineNear, untilText } from "./ArchivePanel";

describe("archive deadline", () => {
  const now = 1_800_000_000_000;
  it("says how far a deadline is, in days, hours or minutes", () => {
    expect(untilText(now + 7 * 86_400_000, now)).toBe("in 7 days");
    expect(untilText(now + 5 * 3_600_000, now)).toBe("in 5 h");
    expect(untilText(now + 90_000, now)).toBe("in 2 min");
    expect(untilText(now + 10, now)).toBe("in 1 min");
    expect(untilText(now - 3 * 86_400_000, now)).toBe("3 days ago");
  });
  it("is near within a day, and never without a deadline", () => {
    expect(deadlineNear({ deadline_ms: now + 86_399_999 }, now)).toBe(true);
    expect(deadlineNear({ deadline_ms: now + 86_400_000 }, now)).toBe(false);
    expect(deadlineNear({ deadline_ms: now - 1 }, now)).toBe(true);
    expect(deadlineNear({ deadline_ms: null }, now)).toBe(false);
  });
});
