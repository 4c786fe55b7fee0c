import { useCallback, useEffect, useState } from "react";
import type { AppInfo } from "../bindings/AppInfo";
import { transport, TransportError } from "./transport";

export type AppInfoState =
  | { status: "loading" }
  | { status: "ready"; info: AppInfo }
  | { status: "error"; message: string; detail: string | null };

/** Loads the instance facts once, with a way to try again after a failure. */
export function useAppInfo(): { state: AppInfoState; reload: () => void } {
  const [state, setState] = useState<AppInfoState>({ status: "loading" });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let cancelled = false;
    setState({ status: "loading" });
    transport()
      .appInfo()
      .then(
        (info) => {
          if (!cancelled) setState({ status: "ready", info });
        },
        (err: unknown) => {
          if (cancelled) return;
          if (err instanceof TransportError) {
            setState({ status: "error", message: err.message, detail: err.detail });
          } else {
            setState({ status: "error", message: String(err), detail: null });
          }
        },
      );
    return () => {
      cancelled = true;
    };
  }, [attempt]);

  const reload = useCallback(() => setAttempt((n) => n + 1), []);
  return { state, reload };
}
