import { describe, expect, test } from "vitest";
import { elapsed } from "./hostMemory";

describe("a running class's clock", () => {
  test("minutes and seconds, hours once past one", () => {
    expect(elapsed(0)).toBe("0:00");
    expect(elapsed(5_999)).toBe("0:05");
    expect(elapsed(245_000)).toBe("4:05");
    expect(elapsed(3_723_000)).toBe("1:02:03");
  });

  test("a start stamped later than now (clock skew) reads 0:00, never negative", () => {
    expect(elapsed(-1_500)).toBe("0:00");
  });
});
