// IM error codes in words, and how ReplayDesk handles each (mirrors src/im/errors.rs
// classify_code and the emulator's codes; unknown non-zero codes are retried).

import type { AttemptOutcome } from "../bindings/AttemptOutcome";
import type { ErrorClass } from "../bindings/ErrorClass";

const CODES: Record<number, { words: string; cls: ErrorClass }> = {
  0: { words: "Delivered", cls: "ok" },
  10002: { words: "IM internal error", cls: "retry" },
  10004: { words: "Invalid parameter: the request's shape was refused", cls: "permanent" },
  10006: { words: "Operation frequency limit", cls: "slow_down" },
  10007: { words: "No permission for this operation", cls: "permanent" },
  10010: { words: "The group does not exist", cls: "permanent" },
  10015: { words: "The group was dismissed", cls: "permanent" },
  10016: { words: "Refused by the app's callback", cls: "permanent" },
  10017: { words: "The sender is muted in the group", cls: "permanent" },
  10023: { words: "Per-group message frequency limit", cls: "slow_down" },
  60007: { words: "Request frequency limit", cls: "slow_down" },
  60010: { words: "The UserSig is not the app administrator's", cls: "credentials" },
  60011: { words: "Per-app request frequency limit", cls: "slow_down" },
  70001: { words: "The UserSig expired", cls: "renew_user_sig" },
  70003: { words: "The UserSig is malformed", cls: "credentials" },
  70009: { words: "The UserSig was signed with another key (wrong secret key)", cls: "credentials" },
  70013: { words: "The UserSig was made for another user", cls: "credentials" },
  70014: { words: "The UserSig was made for another app (SDKAppID)", cls: "credentials" },
  80002: { words: "The message body is over 12 KB", cls: "permanent" },
};

export const CLASS_WORDS: Record<ErrorClass, string> = {
  ok: "delivered",
  retry: "transient: retried with back-off",
  slow_down: "rate limited: retried later, more slowly",
  permanent: "the request itself is wrong: retrying cannot help; fix it, then resend by hand",
  renew_user_sig: "a new UserSig is made and the send retried at once",
  credentials: "credentials are wrong: sending pauses for the app and an alert is raised; nothing is dropped",
};

/** The IM error code in words with what ReplayDesk does about it. */
export function imErrorWords(code: number): { words: string; cls: ErrorClass; handling: string } {
  const known = CODES[code];
  if (known) return { ...known, handling: CLASS_WORDS[known.cls] };
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
