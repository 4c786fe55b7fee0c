// IM error codes in words, and how ReplayDesk handles each (mirrors crates/replaydesk-im/src/errors.rs
// classify_code and the emulator's codes; unknown non-zero codes are retried).

import type { AttemptOutcome } from "../bindings/AttemptOutcome";
import type { ErrorClass } from "../bindings/ErrorClass";

/**
 * `advice` replaces the class's generic handling where the code says more: a refusal that
 * is not retried has a different cure for each code, and "the request is wrong" is only
 * true of some of them.
 */
const CODES: Record<number, { words: string; cls: ErrorClass; advice?: string }> = {
  0: { words: "Delivered", cls: "ok" },
  10002: { words: "IM internal error", cls: "retry" },
  10004: {
    words: "Invalid parameter: the request's shape was refused",
    cls: "permanent",
    advice: "the request itself is wrong: sending it again as it is cannot help; fix it, then resend by hand",
  },
  10006: { words: "Operation frequency limit", cls: "slow_down" },
  10007: {
    words: "No permission: the IM refused this operation",
    cls: "permanent",
    advice:
      "not retried by itself: the IM refuses the same send until the permission changes. Check that the IM admin account is the app's administrator and that the group allows it (in sandbox mode the emulator was told to refuse, as in the demo's simulated outage); once sends are accepted again, resend by hand or use Recover",
  },
  10010: {
    words: "The group does not exist",
    cls: "permanent",
    advice: "not retried by itself: create the class's IM group (the Classes page offers it), then resend",
  },
  10015: {
    words: "The group was dismissed",
    cls: "permanent",
    advice: "not retried by itself: the group is gone; create it again, then resend",
  },
  10016: {
    words: "Refused by the app's callback",
    cls: "permanent",
    advice: "not retried by itself: the IM app's own callback refused the message; check its rules, then resend",
  },
  10017: {
    words: "The sender is muted in the group",
    cls: "permanent",
    advice: "not retried by itself: unmute the sender in the group, then resend",
  },
  10023: { words: "Per-group message frequency limit", cls: "slow_down" },
  60007: { words: "Request frequency limit", cls: "slow_down" },
  60010: { words: "The UserSig is not the app administrator's", cls: "credentials" },
  60011: { words: "Per-app request frequency limit", cls: "slow_down" },
  70001: { words: "The UserSig expired", cls: "renew_user_sig" },
  70003: { words: "The UserSig is malformed", cls: "credentials" },
  70009: { words: "The UserSig was signed with another key (wrong secret key)", cls: "credentials" },
  70013: { words: "The UserSig was made for another user", cls: "credentials" },
  70014: { words: "The UserSig was made for another app (SDKAppID)", cls: "credentials" },
  80002: {
    words: "The message body is over 12 KB",
    cls: "permanent",
    advice: "not retried by itself: the IM takes no message this large, so it cannot be sent as it is",
  },
};

export const CLASS_WORDS: Record<ErrorClass, string> = {
  ok: "delivered",
  retry: "transient: retried with back-off",
  slow_down: "rate limited: retried later, more slowly",
  permanent: "not retried by itself: the IM refuses the same send until the cause is fixed; then resend by hand or use Recover",
  renew_user_sig: "a new UserSig is made and the send retried at once",
  credentials: "credentials are wrong: sending pauses for the app and an alert is raised; nothing is dropped",
};

/** The IM error code in words with what ReplayDesk does about it and what to do next. */
export function imErrorWords(code: number): { words: string; cls: ErrorClass; handling: string } {
  const known = CODES[code];
  if (known) return { words: known.words, cls: known.cls, handling: known.advice ?? CLASS_WORDS[known.cls] };
  return { words: `Unknown IM error code ${code}`, cls: "retry", handling: CLASS_WORDS.retry };
}

export const OUTCOME_WORDS: Record<AttemptOutcome, string> = {
  sent: "sent",
  retry: "failed, will retry",
  slow_down: "rate limited, will retry later",
  permanent: "failed for good",
  credentials: "credentials refused; sending paused",
  ambiguous: "no clear answer; checked against the group's history",
  found_in_history: "found already delivered in the group's history",
  interrupted: "interrupted (shutdown or crash) and resumed later",
};
