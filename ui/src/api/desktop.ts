// The desktop app's own operations (host mode, settings): Tauri commands with no HTTP
// twin, so they exist on the Tauri door only. Errors read like the other operations'
// (`TransportError` from the `{"error","detail"}` body).

import { invoke } from "@tauri-apps/api/core";
import type { ClassSummary } from "../bindings/ClassSummary";
import type { CreateClass } from "../bindings/CreateClass";
import type { CreatedClass } from "../bindings/CreatedClass";
import type { HostStarted } from "../bindings/HostStarted";
import type { HostStatus } from "../bindings/HostStatus";
import type { JoinInfo } from "../bindings/JoinInfo";
import type { Settings } from "../bindings/Settings";
import type { SettingsUpdate } from "../bindings/SettingsUpdate";
import { TransportError, describe, errorBody, errorMessage, isTauri } from "./transport";

async function desktopCall<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
  if (!isTauri()) throw new TransportError("Only in the desktop app", `${cmd} has no HTTP door`);
  try {
    return await invoke<T>(cmd, args);
  } catch (err) {
    const body = errorBody(err);
    if (body) throw new TransportError(errorMessage(body), null, null, body.error);
    throw new TransportError(`The desktop backend did not answer (${cmd})`, describe(err));
  }
}

export const desktop = {
  hostCreateClass: (body: CreateClass) => desktopCall<CreatedClass>("host_create_class", { body }),
  hostListClasses: () => desktopCall<ClassSummary[]>("host_list_classes"),
  hostStartClass: (classId: string) => desktopCall<HostStarted>("host_start_class", { classId }),
  hostEndClass: (classId: string) => desktopCall<number>("host_end_class", { classId }),
  hostStatus: (classId: string) => desktopCall<HostStatus>("host_status", { classId }),
  hostJoinInfo: (classId: string, uid: string | null) => desktopCall<JoinInfo>("host_join_info", { classId, uid }),
  getSettings: () => desktopCall<Settings>("get_settings"),
  saveSettings: (body: SettingsUpdate) => desktopCall<Settings>("save_settings", { body }),
  restartApp: () => desktopCall<void>("restart_app"),
};

/** An SVG document as an `<img>` source: shown as an image, never as markup in the page. */
export function svgDataUrl(svg: string): string {
  return `data:image/svg+xml;base64,${btoa(unescape(encodeURIComponent(svg)))}`;
}
