import { useQuery } from "@tanstack/react-query";
import type { AppInfo } from "../bindings/AppInfo";
import { transport } from "./transport";

export type AppInfoState =
  | { status: "loading" }
  | { status: "ready"; info: AppInfo }
  | { status: "error"; error: unknown };

/** The instance facts (version, IM mode), with a way to try again after a failure. */
export function useAppInfo(): { state: AppInfoState; reload: () => void } {
  const q = useQuery({ queryKey: ["appInfo"], queryFn: () => transport().appInfo(), staleTime: 60_000 });
  const state: AppInfoState = q.data
    ? { status: "ready", info: q.data }
    : q.error
      ? { status: "error", error: q.error }
      : { status: "loading" };
  return { state, reload: () => void q.refetch() };
}
