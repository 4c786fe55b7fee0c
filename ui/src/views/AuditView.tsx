// Every admin action, newest first, with who took it and through which door, narrowed by
// action, target and person (kept in the URL:
// `#/audit?action=issue_credential&target=member:c1:&actor=ada`). Each target links to what it names.

import { Link, useNavigate, useSearch } from "@tanstack/react-router";
import { useEffect, useState } from "react";
import { transport } from "../api/transport";
import { Ident } from "../components/Ident";
import { Empty, ErrorNote, Loading, Time } from "../components/common";
import { LoadMore, usePaged } from "../components/Paged";

/** The actions the backend audits (the filter takes any text; these are offered). */
export const AUDIT_ACTIONS = [
  "create_class",
  "reopen_class",
  "end_class",
  "create_group",
  "add_members",
  "issue_credential",
  "revoke_credential",
  "resend",
  "bulk_resend",
  "recover_failed",
  "assign_callback",
  "reconcile",
  "import_class",
  "update_im_secret_key",
  "set_sandbox_faults",
  "user_add",
  "user_set_role",
  "user_disable",
  "user_reset_password",
  "password_set",
  "token_create",
  "token_revoke",
];
/** The backend's bounds on the filters (`GET /v1/admin/audit`). */
const MAX_ACTION_CHARS = 64;
const MAX_TARGET_CHARS = 200;

function detailText(d: unknown): string {
  if (d === null || d === undefined) return "";
  if (typeof d === "string") return d;
  return JSON.stringify(d);
}

/** Where an audit target points in the console, if anywhere. */
export type TargetLink =
  | { to: "/classes/$classId"; params: { classId: string } }
  | { to: "/classes/$classId/members"; params: { classId: string } }
  | { to: "/classes/$classId/reconcile"; params: { classId: string } }
  | { to: "/messages"; search: { msg: string } }
  | { to: "/jobs" }
  | { to: "/callbacks" };

export function targetLink(action: string, target: string): TargetLink | null {
  const [kind, ...rest] = target.split(":");
  const value = rest.join(":");
  switch (kind) {
    case "class":
      return value ? { to: "/classes/$classId", params: { classId: value } } : null;
    case "member": {
      // `member:<class_id>:<uid>`: a class id holds no `:`.
      const classId = value.split(":")[0];
      return classId ? { to: "/classes/$classId/members", params: { classId } } : null;
    }
    case "message":
      return /^\d+$/.test(value) ? { to: "/messages", search: { msg: value } } : null;
    case "job":
      return { to: "/jobs" };
    case "callback":
      return { to: "/callbacks" };
    default:
      // `reconcile` names its class bare.
      return action === "reconcile" && rest.length === 0 && target ? { to: "/classes/$classId/reconcile", params: { classId: target } } : null;
  }
}

function Target({ action, target }: { action: string; target: string }) {
  const link = targetLink(action, target);
  if (!link) return <Ident value={target} />;
  return (
    <Link {...(link as { to: string })} className="ident-trunc mono" title={target} data-testid="audit-target">
      {target}
    </Link>
  );
}

export function AuditView() {
  const search = useSearch({ strict: false }) as Record<string, string>;
  const navigate = useNavigate();
  const action = (search.action ?? "").slice(0, MAX_ACTION_CHARS);
  const target = (search.target ?? "").slice(0, MAX_TARGET_CHARS);
  const actor = (search.actor ?? "").slice(0, 128);
  // The target field is typed into: the URL (and the query) follows a moment later.
  const [targetInput, setTargetInput] = useState(target);
  useEffect(() => setTargetInput(target), [target]);
  useEffect(() => {
    if (targetInput === target) return;
    const t = window.setTimeout(() => setFilter({ target: targetInput }), 300);
    return () => window.clearTimeout(t);
  });
  const setFilter = (next: { action?: string; target?: string; actor?: string }) => {
    const merged = { action, target, actor, ...next };
    const out: Record<string, string> = {};
    if (merged.action) out.action = merged.action;
    if (merged.target) out.target = merged.target;
    if (merged.actor) out.actor = merged.actor;
    void navigate({ to: "/audit", search: out as never, replace: true });
  };
  const { q, items } = usePaged(["audit", action, target, actor], (cursor) =>
    transport().listAudit({
      cursor,
      limit: 200,
      ...(action ? { action } : {}),
      ...(target ? { target } : {}),
      ...(actor ? { actor } : {}),
    }),
  );
  const filtered = action !== "" || target !== "" || actor !== "";
  return (
    <>
      <h1>Audit log</h1>
      <p className="lead">Every action taken through the console or the admin API, with who took it.</p>
      <div className="row filters" data-testid="audit-filters">
        <label htmlFor="audit-action">Action</label>
        <select id="audit-action" value={action} onChange={(e) => setFilter({ action: e.target.value })} data-testid="audit-action">
          <option value="">any</option>
          {[...new Set([...AUDIT_ACTIONS, ...(action ? [action] : [])])].map((a) => (
            <option key={a} value={a}>
              {a}
            </option>
          ))}
        </select>
        <label htmlFor="audit-target">Target starts with</label>
        <input
          id="audit-target"
          type="search"
          maxLength={MAX_TARGET_CHARS}
          value={targetInput}
          onChange={(e) => setTargetInput(e.target.value)}
          placeholder="class:room42, member:room42:, message:17"
          title={`Up to ${MAX_TARGET_CHARS} characters`}
          data-testid="audit-target-filter"
        />
        {actor && (
          <span className="hint" data-testid="audit-actor-filter">
            by <Ident value={actor} />
          </span>
        )}
        {filtered && (
          <button type="button" className="ghost" onClick={() => setFilter({ action: "", target: "", actor: "" })}>
            Clear
          </button>
        )}
      </div>
      {q.error && <ErrorNote error={q.error} onRetry={() => void q.refetch()} />}
      {q.isPending && <Loading what="the audit log" />}
      {!q.isPending && items.length === 0 && <Empty>{filtered ? "Nothing matches this filter." : "Nothing has been done yet."}</Empty>}
      {items.length > 0 && (
        <table className="plain audit-table" data-testid="audit">
          <thead>
            <tr>
              <th>When</th>
              <th>Who</th>
              <th>Action</th>
              <th>Target</th>
              <th>Detail</th>
            </tr>
          </thead>
          <tbody>
            {items.map((e) => (
              <tr key={e.id} data-testid="audit-row">
                <td>
                  <Time ms={e.at} />
                </td>
                <td>
                  <button type="button" className="linkish" onClick={() => setFilter({ actor: e.actor })} title="Only this person's actions">
                    {e.actor}
                  </button>
                  {e.door && (
                    <div className="hint" data-testid="audit-door">
                      {e.door.replace(/_/g, " ")}
                      {e.token_name ? ` “${e.token_name}”` : ""}
                    </div>
                  )}
                </td>
                <td>
                  <button type="button" className="linkish" onClick={() => setFilter({ action: e.action })} title="Only this action">
                    {e.action}
                  </button>
                </td>
                <td>
                  <Target action={e.action} target={e.target} />
                </td>
                <td className="mono wide audit-detail">{detailText(e.detail)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <LoadMore hasNext={!!q.hasNextPage} loading={q.isFetchingNextPage} onMore={() => void q.fetchNextPage()} />
    </>
  );
}
