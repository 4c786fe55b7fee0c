// How the console reaches the backend. The same bundle runs behind two doors:
// - inside the Tauri desktop shell, where it calls #[tauri::command]s over Tauri IPC;
// - in a browser against `replaydesk serve`, where it calls the HTTP API with the admin token.
// Components use `transport()` and never care which door is behind it.
//
// Every console operation is one entry of `OPERATIONS` (bindings/operations.ts), generated
// from the backend's operation table: its HTTP method and path, the role it needs, and (in
// `Operations`) its arguments and answer. Both doors are built from that table: HTTP calls
// the method and path, the desktop app's one `operation` command takes the name.

import { invoke } from "@tauri-apps/api/core";
import type { Alert } from "../bindings/Alert";
import type { AppInfo } from "../bindings/AppInfo";
import type { AssignCallback } from "../bindings/AssignCallback";
import type { AssignedCallback } from "../bindings/AssignedCallback";
import type { AuditEntry } from "../bindings/AuditEntry";
import type { CallbackQuery } from "../bindings/CallbackQuery";
import type { ClassQuery } from "../bindings/ClassQuery";
import type { ClassSummary } from "../bindings/ClassSummary";
import type { CreateClass } from "../bindings/CreateClass";
import type { CreatedClass } from "../bindings/CreatedClass";
import type { GroupCreated } from "../bindings/GroupCreated";
import type { Job } from "../bindings/Job";
import type { JobsQuery } from "../bindings/JobsQuery";
import type { AddMembers } from "../bindings/AddMembers";
import type { AddedMembers } from "../bindings/AddedMembers";
import type { AuditQuery } from "../bindings/AuditQuery";
import type { IssueCredentials } from "../bindings/IssueCredentials";
import type { JoinSheet } from "../bindings/JoinSheet";
import type { RosterMember } from "../bindings/RosterMember";
import type { MemberCredential } from "../bindings/MemberCredential";
import type { MessageDetail } from "../bindings/MessageDetail";
import type { MessageQuery } from "../bindings/MessageQuery";
import type { Page } from "../bindings/Page";
import type { PageQuery } from "../bindings/PageQuery";
import type { RecordingCallbackRecord } from "../bindings/RecordingCallbackRecord";
import type { RecoverPreview } from "../bindings/RecoverPreview";
import type { RecoverRequest } from "../bindings/RecoverRequest";
import type { ReconcileRequest } from "../bindings/ReconcileRequest";
import type { ReconcileRun } from "../bindings/ReconcileRun";
import type { ResendFilter } from "../bindings/ResendFilter";
import type { ResendPreview } from "../bindings/ResendPreview";
import type { ResendMessageRequest } from "../bindings/ResendMessageRequest";
import type { ResendOutcome } from "../bindings/ResendOutcome";
import type { SandboxFaults } from "../bindings/SandboxFaults";
import type { SecretKeyRequest } from "../bindings/SecretKeyRequest";
import type { StoredMessage } from "../bindings/StoredMessage";
import type { TimelineReportRecord } from "../bindings/TimelineReportRecord";
import type { UnassignedCallback } from "../bindings/UnassignedCallback";
import { OPERATIONS, type OpName, type Operations } from "../bindings/operations";
import { clearToken, getToken } from "./auth";
import { csrfToken, setMe } from "./session";

export { OPERATIONS, type OpName };

/** The arguments of operation `K`: its path parameters (`classId`, `id`, `uid`) and its `query` or `body`. */
export type OpArgs<K extends OpName> = Operations[K]["args"];
/** What operation `K` answers. */
export type OpAnswer<K extends OpName> = Operations[K]["response"];
/** The arguments as `call` takes them: left out when the operation has none that are required. */
type CallArgs<K extends OpName> = Record<string, never> extends OpArgs<K> ? [args?: OpArgs<K>] : [args: OpArgs<K>];

/** Any operation's arguments, as the doors read them. */
interface AnyArgs {
  [param: string]: unknown;
  query?: object;
  body?: unknown;
}

export interface Transport {
  /** Which door this is, for diagnostics. */
  readonly kind: "tauri" | "http";
  /** Version and IM mode of the running backend. */
  appInfo(): Promise<AppInfo>;
  /** Any operation of `OPERATIONS` by name, typed by its generated entry (the methods below call this). */
  call<K extends OpName>(op: K, ...args: CallArgs<K>): Promise<OpAnswer<K>>;

  listClasses(query?: ClassQuery): Promise<ClassSummary[]>;
  getClass(classId: string): Promise<ClassSummary>;
  /** The roster, with each member's credential state (never a credential). */
  classMembers(classId: string): Promise<RosterMember[]>;
  /** Registers uids as students before they report. */
  addMembers(classId: string, body: AddMembers): Promise<AddedMembers>;
  /** Issues a new credential (the old one is refused from then on); shown only in this answer. */
  memberCredential(classId: string, uid: string): Promise<MemberCredential>;
  revokeCredential(classId: string, uid: string): Promise<RosterMember>;
  /** New credentials for the named members (default: every student) as join cards. */
  issueCredentials(classId: string, body: IssueCredentials): Promise<JoinSheet>;
  /** Ends a started class for its teacher (a 1002 stamped by the teacher's newest pair). */
  endClass(classId: string): Promise<ClassSummary>;
  reopenClass(classId: string): Promise<ClassSummary>;
  /** The fix a `group_missing` alert offers: creates the class's IM group. */
  createGroup(classId: string): Promise<GroupCreated>;
  classReports(classId: string, query?: PageQuery): Promise<Page<TimelineReportRecord>>;
  /** Starts (or resumes) comparing the class's IM group history with the log. */
  reconcileClass(classId: string, body?: ReconcileRequest): Promise<ReconcileRun>;
  /** The class's latest reconcile run with its report, `null` before the first. */
  classReconcile(classId: string): Promise<ReconcileRun | null>;
  classMessages(classId: string, query?: MessageQuery): Promise<Page<StoredMessage>>;
  listMessages(query?: MessageQuery): Promise<Page<StoredMessage>>;
  getMessage(id: number): Promise<MessageDetail>;
  /** A message already `sent` needs `{ duplicate: true }` (409 otherwise). */
  resendMessage(id: number, body?: ResendMessageRequest): Promise<ResendOutcome>;
  bulkResend(body: ResendFilter): Promise<Job>;
  previewResend(body: ResendFilter): Promise<ResendPreview>;
  previewRecover(body: RecoverRequest): Promise<RecoverPreview>;
  recover(body: RecoverRequest): Promise<Job>;
  listJobs(query?: JobsQuery): Promise<Job[]>;
  getJob(id: number): Promise<Job>;
  /** The messages a bulk job took on, newest first, with their status now. */
  jobMessages(id: number, query?: PageQuery): Promise<Page<StoredMessage>>;
  listAudit(query?: AuditQuery): Promise<Page<AuditEntry>>;
  listAlerts(): Promise<Alert[]>;
  listCallbacks(query?: CallbackQuery): Promise<Page<RecordingCallbackRecord>>;
  getCallback(id: number): Promise<RecordingCallbackRecord>;
  assignCallback(id: number, body: AssignCallback): Promise<AssignedCallback>;
  /** Undoes an assignment while its 1004 is not sent (409 once it is). */
  unassignCallback(id: number): Promise<UnassignedCallback>;
  setSecretKey(body: SecretKeyRequest): Promise<void>;
  /** Sandbox mode only: the built-in IM emulator's fault knobs (used by `replaydesk demo`). */
  setSandboxFaults(body: SandboxFaults): Promise<SandboxFaults>;
  createClass(body: CreateClass): Promise<CreatedClass>;
  /** Imports a class bundle (from another ReplayDesk's export) as a read-only record. */
  importClass(bundle: unknown): Promise<ClassSummary>;
}

/** A failed backend call, with a message fit to show the user. */
export class TransportError extends Error {
  readonly detail: string | null;
  /** The HTTP status (or null: IPC, or no answer). 401 means: sign in again. */
  readonly status: number | null;
  /** The backend's short error code (`bad_request`, `not_found`, ...) when it sent one. */
  readonly code: string | null;

  constructor(message: string, detail: string | null = null, status: number | null = null, code: string | null = null) {
    super(message);
    this.name = "TransportError";
    this.detail = detail;
    this.status = status;
    this.code = code;
  }

  get unauthorized(): boolean {
    return this.status === 401;
  }
}

/** True when the page runs inside the Tauri webview (Tauri 2 injects this object). */
export function isTauri(): boolean {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
}

export function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === "string") return err;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}

/** The `{"error","detail"}` body both doors give on failure, if `value` is one. */
export function errorBody(value: unknown): { error: string; detail: string | null } | null {
  if (typeof value !== "object" || value === null) return null;
  const v = value as Record<string, unknown>;
  if (typeof v.error !== "string") return null;
  let detail: string | null = null;
  if (typeof v.detail === "string") detail = v.detail || null;
  else if (v.detail !== undefined && v.detail !== null) detail = describe(v.detail);
  return { error: v.error, detail };
}

/** Words for the backend's error codes; unknown codes are shown as they are. */
const ERROR_WORDS: Record<string, string> = {
  bad_request: "The request was refused",
  invalid_request: "The request was refused",
  malformed_json: "The request was not valid JSON",
  payload_too_large: "The request was too large",
  im_error: "The IM service refused or failed",
  unauthorized: "Not signed in, or the credential was not accepted",
  rate_limited: "Too many tries",
  forbidden: "Not allowed",
  not_found: "Not found",
  conflict: "Conflicts with the current state",
  unavailable: "The backend is not available right now",
  internal: "The backend failed",
};

/** A readable message for an error body from either door. */
export function errorMessage(body: { error: string; detail: string | null }): string {
  const words = ERROR_WORDS[body.error] ?? body.error.replace(/_/g, " ");
  return body.detail ? `${words}: ${body.detail}` : words;
}

/** A path parameter's argument name (`class_id` is `classId`, as Tauri names arguments). */
function argName(param: string): string {
  return param.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Fills the `{...}` holes of a path, each value URL-encoded. */
export function fillPath(path: string, args: AnyArgs): string {
  return path.replace(/\{([a-z_]+)\}/g, (_, hole: string) => {
    const v = args[argName(hole)];
    if (v === undefined || v === null || v === "") throw new TransportError(`Missing ${hole} for ${path}`);
    return encodeURIComponent(String(v));
  });
}

/** A query object as an HTTP query string: lists as comma lists, empty values left out. */
export function queryString(query: object | undefined): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) {
      if (v.length) params.set(k, v.map(String).join(","));
    } else {
      params.set(k, String(v));
    }
  }
  const s = params.toString();
  return s ? `?${s}` : "";
}

/** Drops undefined/null/empty fields, so that IPC gets the same fields HTTP would. */
function compact(query: object | undefined): Record<string, unknown> | undefined {
  if (!query) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v) && v.length === 0) continue;
    out[k] = v;
  }
  return out;
}

function isAppInfo(value: unknown): value is AppInfo {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.version === "string" &&
    typeof v.sandbox === "boolean" &&
    (v.im_endpoint === null || typeof v.im_endpoint === "string")
  );
}

function checkAppInfo(value: unknown, source: string): AppInfo {
  if (!isAppInfo(value)) {
    throw new TransportError(`Unexpected answer from ${source}`, describe(value).slice(0, 300));
  }
  return value;
}

/** The typed methods, written once over `call`. */
type RawCall = (op: OpName, args?: AnyArgs) => Promise<unknown>;

function typed(kind: "tauri" | "http", appInfo: () => Promise<AppInfo>, raw: RawCall): Transport {
  const call = (<K extends OpName>(op: K, ...args: CallArgs<K>) => raw(op, args[0] as AnyArgs | undefined) as Promise<OpAnswer<K>>) as Transport["call"];
  return {
    kind,
    appInfo,
    call,
    listClasses: (query) => call("list_classes", { query }),
    getClass: (classId) => call("get_class", { classId }),
    classMembers: (classId) => call("class_members", { classId }),
    memberCredential: (classId, uid) => call("member_credential", { classId, uid }),
    addMembers: (classId, body) => call("add_members", { classId, body }),
    revokeCredential: (classId, uid) => call("revoke_credential", { classId, uid }),
    issueCredentials: (classId, body) => call("issue_credentials", { classId, body }),
    endClass: (classId) => call("end_class", { classId }),
    reopenClass: (classId) => call("reopen_class", { classId }),
    createGroup: (classId) => call("create_group", { classId }),
    classReports: (classId, query) => call("class_reports", { classId, query }),
    reconcileClass: (classId, body) => call("reconcile_class", { classId, body: body ?? ({} as ReconcileRequest) }),
    classReconcile: (classId) => call("class_reconcile", { classId }),
    classMessages: (classId, query) => call("class_messages", { classId, query }),
    listMessages: (query) => call("list_messages", { query }),
    getMessage: (id) => call("get_message", { id }),
    resendMessage: (id, body) => call("resend_message", body ? { id, body } : { id }),
    bulkResend: (body) => call("bulk_resend", { body }),
    previewResend: (body) => call("preview_resend", { body }),
    previewRecover: (body) => call("preview_recover", { body }),
    recover: (body) => call("recover", { body }),
    listJobs: (query) => call("list_jobs", { query }),
    getJob: (id) => call("get_job", { id }),
    jobMessages: (id, query) => call("job_messages", { id, query }),
    listAudit: (query) => call("list_audit", { query }),
    listAlerts: () => call("list_alerts"),
    listCallbacks: (query) => call("list_callbacks", { query }),
    getCallback: (id) => call("get_callback", { id }),
    assignCallback: (id, body) => call("assign_callback", { id, body }),
    unassignCallback: (id) => call("unassign_callback", { id }),
    setSecretKey: (body) => call("set_secret_key", { body }),
    setSandboxFaults: (body) => call("set_sandbox_faults", { body }),
    createClass: (body) => call("create_class", { body }),
    importClass: (bundle) => call("import_class", { body: bundle }),
  };
}

/** Tauri IPC: every operation is the one `operation` command, given the operation's name. */
async function tauriCall(op: OpName, args: AnyArgs = {}): Promise<unknown> {
  const payload: Record<string, unknown> = { name: op };
  for (const param of OPERATIONS[op].params) {
    const v = args[argName(param)];
    if (v !== undefined) payload[argName(param)] = v;
  }
  if (args.query !== undefined) payload.query = compact(args.query) ?? {};
  if (args.body !== undefined) payload.body = args.body;
  try {
    return await invoke<unknown>("operation", payload);
  } catch (err) {
    const body = errorBody(err);
    if (body) throw new TransportError(errorMessage(body), null, null, body.error);
    throw new TransportError(`The desktop backend did not answer (${op})`, describe(err));
  }
}

export const tauriTransport: Transport = typed(
  "tauri",
  async () => {
    let value: unknown;
    try {
      value = await invoke<unknown>("app_info");
    } catch (err) {
      throw new TransportError("The desktop backend did not answer", describe(err));
    }
    return checkAppInfo(value, "the app_info command");
  },
  tauriCall,
);

/** Reads an HTTP error body of the shape `{"error": "...", "detail": "..."}` if it has one. */
async function httpError(res: Response, what: string): Promise<TransportError> {
  const status = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`;
  if (res.status === 401) {
    // The token is wrong or gone, or the session ended: forget both so that the sign-in
    // screen shows.
    clearToken();
    setMe(null);
  }
  try {
    const body = errorBody(await res.json());
    if (body) return new TransportError(errorMessage(body), `${status} from ${what}`, res.status, body.error);
  } catch {
    // Not JSON (e.g. a static file server's 404 page): fall through.
  }
  return new TransportError(`The server answered ${status} for ${what}`, null, res.status);
}

export async function httpRequest(method: string, path: string, body?: unknown, auth = true): Promise<unknown> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (auth) {
    const token = getToken();
    if (token) {
      headers.Authorization = `Bearer ${token}`;
    } else {
      // Signed in with the session cookie (which the browser sends by itself): a request
      // that changes anything carries the session's CSRF token.
      const csrf = csrfToken();
      if (csrf && method !== "GET" && method !== "HEAD") headers["X-ReplayDesk-CSRF"] = csrf;
    }
  }
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const what = `${method} ${path.split("?")[0]}`;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new TransportError(`Could not reach the server (${what})`, describe(err));
  }
  if (!res.ok) throw await httpError(res, what);
  if (res.status === 204) return undefined;
  const text = await res.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new TransportError(`The server's answer to ${what} is not JSON`, "Is this page served by `replaydesk serve`?");
  }
}

async function httpCall(op: OpName, args: AnyArgs = {}): Promise<unknown> {
  const o = OPERATIONS[op];
  const url = fillPath(o.path, args) + queryString(args.query);
  const body = o.method === "GET" ? undefined : (args.body ?? (o.method === "POST" ? {} : undefined));
  return await httpRequest(o.method, url, body);
}

/** HTTP: the JSON API of `replaydesk serve`, on the same origin as the page. */
export const httpTransport: Transport = typed(
  "http",
  async () => checkAppInfo(await httpRequest("GET", "/v1/info", undefined, false), "GET /v1/info"),
  httpCall,
);

let chosen: Transport | null = null;

/** The transport for where this page runs, picked once. */
export function transport(): Transport {
  chosen ??= isTauri() ? tauriTransport : httpTransport;
  return chosen;
}
