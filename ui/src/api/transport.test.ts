import { beforeEach, describe, expect, test } from "vitest";
import { OPERATIONS, TransportError, errorBody, errorMessage, fillPath, queryString } from "./transport";
import { takeTokenFromUrl } from "./auth";

describe("HTTP door", () => {
  test("query objects become the API's query string; lists as comma lists; empties left out", () => {
    expect(queryString({ status: ["failed", "retrying"], uid: "a b", q: "", from: 0, retried: false, type: [] })).toBe(
      "?status=failed%2Cretrying&uid=a+b&from=0&retried=false",
    );
    expect(queryString(undefined)).toBe("");
    expect(queryString({})).toBe("");
  });

  test("path holes are filled and encoded; a missing one is an error, not a wrong URL", () => {
    expect(fillPath(OPERATIONS.class_messages.path, { classId: "c/1 x" })).toBe("/v1/admin/classes/c%2F1%20x/messages");
    expect(fillPath(OPERATIONS.member_credential.path, { classId: "c", uid: "u" })).toBe(
      "/v1/admin/classes/c/members/u/credential",
    );
    expect(() => fillPath(OPERATIONS.get_message.path, {})).toThrow(TransportError);
  });

  test("the generated operation table names each operation's route and role", () => {
    expect(OPERATIONS.bulk_resend).toMatchObject({ method: "POST", path: "/v1/admin/resend", role: "admin" });
    expect(OPERATIONS.create_class).toMatchObject({ method: "POST", path: "/v1/classes", status: 201 });
    expect(OPERATIONS.list_messages.role).toBe("viewer");
    expect(OPERATIONS.set_secret_key.method).toBe("PUT");
    expect(Object.keys(OPERATIONS)).toContain("assign_callback");
  });
});

describe("errors from either door", () => {
  test("the error body becomes a sentence naming the field", () => {
    const b = errorBody({ error: "bad_request", detail: "limit: must be between 1 and 1000" });
    expect(b).toEqual({ error: "bad_request", detail: "limit: must be between 1 and 1000" });
    expect(errorMessage(b!)).toBe("The request was refused: limit: must be between 1 and 1000");
  });

  test("unknown codes are shown in words as they are; non-bodies are not taken for one", () => {
    expect(errorMessage({ error: "some_new_code", detail: null })).toBe("some new code");
    expect(errorBody("boom")).toBeNull();
    expect(errorBody({ message: "x" })).toBeNull();
  });
});

describe("the admin token in the address bar", () => {
  beforeEach(() => undefined);

  test("?token= is taken once and removed, other params and the hash kept", () => {
    const { token, cleaned } = takeTokenFromUrl("http://h:1/?token=s3cret&x=1#/classes/c1?status=failed");
    expect(token).toBe("s3cret");
    expect(cleaned).toBe("http://h:1/?x=1#/classes/c1?status=failed");
    expect(cleaned).not.toContain("s3cret");
  });

  test("a token in the hash route's query is taken too, the route kept", () => {
    const { token, cleaned } = takeTokenFromUrl("http://h:1/#/classes/c1?token=abc&status=failed");
    expect(token).toBe("abc");
    expect(cleaned).toBe("http://h:1/#/classes/c1?status=failed");
    expect(takeTokenFromUrl("http://h:1/#/?token=abc").cleaned).toBe("http://h:1/#/");
  });

  test("a URL without a token is left alone", () => {
    expect(takeTokenFromUrl("http://h:1/#/jobs")).toEqual({ token: null, cleaned: "http://h:1/#/jobs" });
  });
});
