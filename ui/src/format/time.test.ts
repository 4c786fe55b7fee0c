import { describe, expect, test } from "vitest";
import { ago, duration, elapsed, isoUtc, localInputValue, localTime, monthDayTime, rawTime, shortTime } from "./time";

// Local times are built with the local Date constructor, so the tests hold in any time zone.
const at = new Date(2026, 10, 24, 18, 3, 7, 120).getTime();

describe("dates and times", () => {
  test("a local time reads year-month-day and a 24-hour clock to the millisecond", () => {
    expect(localTime(at)).toBe("2026-11-24 18:03:07.120");
    expect(localTime(new Date(2026, 0, 2, 3, 4, 5, 6).getTime())).toBe("2026-01-02 03:04:05.006");
    expect(localTime(new Date(2026, 11, 7, 0, 0, 0, 0).getTime())).toBe("2026-12-07 00:00:00.000");
    expect(localTime(null)).toBe("—");
    expect(localTime(undefined)).toBe("—");
    expect(localTime(Number.NaN)).toBe("—");
  });

  test("the hover keeps the raw value and its UTC form, as toISOString writes it", () => {
    const ms = Date.UTC(2026, 10, 24, 18, 3, 7, 120);
    expect(rawTime(ms)).toBe(`${ms} (unix ms) = 2026-11-24T18:03:07.120Z`);
    expect(isoUtc(ms)).toBe(new Date(ms).toISOString());
    expect(isoUtc(Date.UTC(2027, 0, 1, 0, 0, 0, 5))).toBe("2027-01-01T00:00:00.005Z");
    expect(rawTime(null)).toBe("not set");
  });

  test("table cells show today's times without the date, other days' with it", () => {
    expect(shortTime(at, new Date(2026, 10, 24, 23, 59).getTime())).toBe("18:03:07");
    expect(shortTime(at, new Date(2026, 10, 25, 0, 1).getTime())).toBe("11-24 18:03:07");
    expect(shortTime(at, new Date(2027, 10, 24, 12, 0).getTime())).toBe("11-24 18:03:07");
    expect(shortTime(new Date(2026, 10, 24, 0, 5, 9).getTime(), at)).toBe("00:05:09");
    expect(shortTime(null)).toBe("—");
  });

  test("the log across classes shows month, day and time on every row", () => {
    expect(monthDayTime(at)).toBe("11-24 18:03:07");
    expect(monthDayTime(new Date(2026, 0, 2, 3, 4, 5).getTime())).toBe("01-02 03:04:05");
    expect(monthDayTime(null)).toBe("—");
  });

  test("a datetime-local input's value is local time to the minute", () => {
    expect(localInputValue(at)).toBe("2026-11-24T18:03");
    expect(localInputValue(new Date(2026, 0, 2, 3, 4).getTime())).toBe("2026-01-02T03:04");
    expect(localInputValue(null)).toBe("");
  });
});

describe("durations", () => {
  test("a duration picks a readable unit", () => {
    expect(duration(850)).toBe("850 ms");
    expect(duration(0.4)).toBe("0 ms");
    expect(duration(12_345)).toBe("12.3 s");
    expect(duration(4_000)).toBe("4.0 s");
    expect(duration(245_000)).toBe("4 min 05 s");
    expect(duration(-1500)).toBe("−1.5 s");
    expect(duration(7_380_000)).toBe("2 h 03 min");
  });

  test("how long ago: tenths of seconds under a minute, then whole minutes, hours, days", () => {
    const now = at;
    expect(ago(now - 4_700, now)).toBe("4.7 seconds ago");
    expect(ago(now - 1_000, now)).toBe("1 second ago");
    expect(ago(now, now)).toBe("0 seconds ago");
    expect(ago(now + 2_000, now)).toBe("0 seconds ago");
    expect(ago(now - 125_000, now)).toBe("2 minutes ago");
    expect(ago(now - 3 * 3_600_000, now)).toBe("3 hours ago");
    expect(ago(now - 2 * 86_400_000, now)).toBe("2 days ago");
  });

  test("a running class's clock: minutes and seconds, hours once past one", () => {
    expect(elapsed(0)).toBe("0:00");
    expect(elapsed(5_999)).toBe("0:05");
    expect(elapsed(245_000)).toBe("4:05");
    expect(elapsed(3_723_000)).toBe("1:02:03");
  });

  test("a start stamped later than now (clock skew) reads 0:00, never negative", () => {
    expect(elapsed(-1_500)).toBe("0:00");
  });
});
