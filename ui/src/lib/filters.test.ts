import { describe, expect, test } from "vitest";
import {
  EMPTY_FILTERS,
  describeFilters,
  filtersFromSearch,
  filtersToQuery,
  filtersToResend,
  filtersToSearch,
  isEmpty,
  toggle,
} from "./filters";
import { parseSearch, stringifySearch } from "../router";

describe("filters and the URL", () => {
  test("a filter survives a round trip through the address bar", () => {
    const f = {
      ...EMPTY_FILTERS,
      statuses: ["failed", "retrying"] as const,
      types: ["timeline"] as const,
      uid: "stu<b>1",
      from: 1_700_000_000_000,
      to: 1_700_000_600_000,
      retried: true,
      q: "a b&c",
    };
    const url = stringifySearch(filtersToSearch({ ...f, statuses: [...f.statuses], types: [...f.types] }));
    const back = filtersFromSearch(parseSearch(url));
    // Statuses come back in the fixed order, whatever order they were clicked in.
    expect(back).toEqual({ ...f, statuses: ["retrying", "failed"], types: ["timeline"] });
  });

  test("unknown statuses, bad numbers and stray keys in a URL are ignored", () => {
    const f = filtersFromSearch(parseSearch("?status=failed,bogus,failed&from=12x&retried=maybe&zzz=1"));
    expect(f).toEqual({ ...EMPTY_FILTERS, statuses: ["failed"] });
  });

  test("an empty filter makes no search params", () => {
    expect(filtersToSearch(EMPTY_FILTERS)).toEqual({});
    expect(stringifySearch(filtersToSearch(EMPTY_FILTERS))).toBe("");
    expect(isEmpty(EMPTY_FILTERS)).toBe(true);
    expect(isEmpty({ ...EMPTY_FILTERS, uid: "x" })).toBe(false);
  });
});

describe("filters to the API", () => {
  const f = { ...EMPTY_FILTERS, statuses: ["failed" as const], uid: "u1", q: "hello", from: 5, class: "other" };

  test("the listing query names the class only across classes", () => {
    expect(filtersToQuery(f, "c1", 9, 200)).toEqual({ status: ["failed"], uid: "u1", from: 5, q: "hello", cursor: 9, limit: 200 });
    expect(filtersToQuery(f, null)).toEqual({ status: ["failed"], uid: "u1", from: 5, q: "hello", class: "other" });
  });

  test("the bulk resend body selects what the listing shows", () => {
    expect(filtersToResend(f, "c1")).toEqual({ class_id: "c1", statuses: ["failed"], uid: "u1", created_from: 5, text: "hello" });
    expect(filtersToResend(f, null).class_id).toBe("other");
    expect(filtersToResend({ ...f, class: "" }, null).all_classes).toBe(true);
  });

  test("the confirmation says the filter in words", () => {
    expect(describeFilters({ ...EMPTY_FILTERS, statuses: ["failed", "retrying"] }, "c1")).toBe(
      "class c1, status failed or retrying",
    );
    expect(describeFilters(EMPTY_FILTERS, null)).toBe("every class");
  });

  test("toggle adds then removes", () => {
    expect(toggle(toggle([] as string[], "a"), "a")).toEqual([]);
    expect(toggle(["a"], "b")).toEqual(["a", "b"]);
  });
});
