// The console's pages, in one list. To add a page, add an entry here: the router and the
// navigation are built from this list. `tauriOnly` pages (host, the teacher's classes,
// settings) appear only inside the desktop app, where they are the teacher's pages.

import { lazyRouteComponent, type RouteComponent } from "@tanstack/react-router";
import type { OpName } from "./bindings/operations";
import { AuditView } from "./views/AuditView";
import { CallbacksView } from "./views/CallbacksView";
import { ClassesView } from "./views/ClassesView";
import { ClassView } from "./views/ClassView";
import { JobView, JobsView } from "./views/JobsView";
import { MembersView } from "./views/members/MembersView";
import { MessagesView } from "./views/MessagesView";
import { ReconcileView } from "./views/ReconcileView";
import { RecordingsView } from "./views/recordings/RecordingsView";
import { ReportsView } from "./views/ReportsView";
import { HostView } from "./views/host/HostView";
import { MyClassesView } from "./views/host/MyClassesView";
import { SettingsView } from "./views/settings/SettingsView";
import { UsersView } from "./views/people/UsersView";
import { AccountView } from "./views/account/AccountView";

export interface RouteEntry {
  /** TanStack Router path, `$name` for a parameter. */
  path: string;
  component: RouteComponent;
  /** Shown in the navigation when set. */
  label?: string;
  /** Only inside the desktop app (Tauri). */
  tauriOnly?: boolean;
  /** Only in a browser (people sign in there; the desktop app has none). */
  browserOnly?: boolean;
  /** The operation the page lists with: its navigation entry is hidden from a role below it. */
  needs?: OpName;
}

export const ROUTES: RouteEntry[] = [
  { path: "/", label: "Classes", component: ClassesView },
  { path: "/classes/$classId", component: ClassView },
  { path: "/classes/$classId/members", component: MembersView },
  { path: "/classes/$classId/reports", component: ReportsView },
  { path: "/classes/$classId/recordings", component: RecordingsView },
  // Loaded on first visit: the chart library is most of its weight.
  {
    path: "/classes/$classId/alignment",
    component: lazyRouteComponent(() => import("./views/AlignmentView"), "AlignmentView"),
  },
  { path: "/classes/$classId/reconcile", component: ReconcileView },
  { path: "/messages", label: "Messages", component: MessagesView },
  { path: "/jobs", label: "Jobs", component: JobsView, needs: "list_jobs" },
  { path: "/jobs/$jobId", component: JobView },
  { path: "/callbacks", label: "Callbacks", component: CallbacksView, needs: "list_callbacks" },
  { path: "/audit", label: "Audit log", component: AuditView, needs: "list_audit" },
  { path: "/people", label: "People", component: UsersView, needs: "list_users", browserOnly: true },
  { path: "/account", component: AccountView, browserOnly: true },
  // Desktop-only pages: the teacher's. In the app they make the main navigation and the
  // pages above are one switch away (Shell).
  { path: "/host", label: "Host", tauriOnly: true, component: HostView },
  { path: "/my-classes", label: "My classes", tauriOnly: true, component: MyClassesView },
  { path: "/settings", label: "Settings", tauriOnly: true, component: SettingsView },
];
