// Every recording callback by status; refused ones with their reason; unmatched ones with
// "assign to class and user" (a user who is not a member of the class is warned about and
// confirmed first), and assigned ones with "undo" while their 1004 is not sent. The body is
// shown as text: a video_url holding markup is displayed, never run.

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useSearch } from "@tanstack/react-router";
import { useState, type FormEvent } from "react";
import type { CallbackStatus } from "../bindings/CallbackStatus";
import type { RecordingCallbackRecord } from "../bindings/RecordingCallbackRecord";
import { transport } from "../api/transport";
import { Empty, ErrorNote, Loading, StatusBadge, Time } from "../components/common";
import { LoadMore, usePaged } from "../components/Paged";
import { DecodedCallback } from "./callbacks/DecodedCallback";
import { useCan } from "../api/session";

const STATUSES: CallbackStatus[] = [
  "accepted",
  "duplicate",
  "conflict",
  "recorded",
  "ignored",
  "refused",
  "unmatched",
  "assigned",
];

function videoUrl(body: string): string | null {
  try {
    const v = JSON.parse(body) as Record<string, unknown>;
    // TRTC's VOD file: EventInfo.Payload.TencentVod.VideoUrl.
    const info = v.EventInfo as Record<string, unknown> | undefined;
    const vod = (info?.Payload as Record<string, unknown> | undefined)?.TencentVod as Record<string, unknown> | undefined;
    const url = v.video_url ?? (v.data as Record<string, unknown> | undefined)?.video_url ?? vod?.VideoUrl;
    return typeof url === "string" ? url : null;
  } catch {
    return null;
  }
}

/** Why a callback was refused, in words (the stored reason code stays beside it). */
const REFUSALS: Record<string, string> = {
  bad_sign: "the sign did not verify against the callback key",
  expired: "it arrived after its t (expiry) had passed",
  not_json: "the body is not JSON",
  not_an_object: "the body is not a JSON object",
  missing_field: "a required field is missing",
  invalid_field: "a field has an unusable value",
  no_callback_key: "no callback key is configured, so nothing can be verified",
  wrong_app: "its SdkAppId header is not this server's IM app",
  stale: "its CallbackTs is more than 15 minutes old or 5 minutes ahead (a replay, or a clock far off)",
};

function AssignForm({ cb }: { cb: RecordingCallbackRecord }) {
  const qc = useQueryClient();
  const classes = useQuery({ queryKey: ["classes", ""], queryFn: () => transport().listClasses({}) });
  const [classId, setClassId] = useState(cb.class_id ?? "");
  const [uid, setUid] = useState(cb.uid ?? "");
  // Set while the admin is asked about a user who is not a member of the class.
  const [stranger, setStranger] = useState<{ classId: string; uid: string } | null>(null);
  const m = useMutation({
    mutationFn: (notMember: boolean) =>
      transport().assignCallback(cb.id, { class_id: classId, uid, ...(notMember ? { not_a_member: true } : {}) }),
    onSuccess: () => {
      setStranger(null);
      void qc.invalidateQueries({ queryKey: ["callbacks"] });
    },
  });
  const members = useQuery({
    queryKey: ["members", classId],
    enabled: !!classId,
    queryFn: () => transport().classMembers(classId),
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    // The backend refuses a non-member without not_a_member, so the list is only the
    // early warning: a list that failed to load still leads to the backend's refusal.
    if (members.data && !members.data.some((mm) => mm.uid === uid)) {
      setStranger({ classId, uid });
      return;
    }
    m.mutate(false);
  }
  const asking = stranger !== null && stranger.classId === classId && stranger.uid === uid;
  return (
    <form className="row" onSubmit={submit} data-testid="assign-form" aria-label={`Assign callback ${cb.id}`}>
      <label htmlFor={`as-class-${cb.id}`}>Class</label>
      <select id={`as-class-${cb.id}`} value={classId} onChange={(e) => setClassId(e.target.value)} required>
        <option value="">choose…</option>
        {classes.data?.map((c) => (
          <option key={c.class_id} value={c.class_id}>
            {c.class_id}
          </option>
        ))}
      </select>
      <label htmlFor={`as-uid-${cb.id}`}>User</label>
      <input id={`as-uid-${cb.id}`} list={`as-uids-${cb.id}`} value={uid} onChange={(e) => setUid(e.target.value)} required size={12} />
      <datalist id={`as-uids-${cb.id}`}>
        {members.data?.map((mm) => (
          <option key={mm.uid} value={mm.uid} />
        ))}
      </datalist>
      <button type="submit" className="primary" disabled={!classId || !uid || m.isPending || asking}>
        Assign
      </button>
      {asking && (
        <div className="warning-box" role="alertdialog" aria-labelledby={`as-warn-${cb.id}`} data-testid="assign-not-member">
          <p id={`as-warn-${cb.id}`}>
            <strong>
              <span className="mono">{uid}</span> is not a member of class <span className="mono">{classId}</span>
            </strong>{" "}
            (members:{" "}
            {members.data && members.data.length > 0 ? (
              <span className="mono">{members.data.map((mm) => mm.uid).join(", ")}</span>
            ) : (
              "none yet"
            )}
            ). The recording would be announced in the class's group as the video of a user the class does not know; a
            typo usually. You can undo the assignment until its 1004 is sent.
          </p>
          <div className="row">
            <button type="button" className="danger" onClick={() => m.mutate(true)} disabled={m.isPending} data-testid="assign-anyway">
              Assign to {uid} anyway
            </button>
            <button type="button" onClick={() => setStranger(null)} autoFocus>
              Cancel
            </button>
          </div>
        </div>
      )}
      {m.error && <ErrorNote error={m.error} />}
      {m.data && (
        <span data-testid="assigned">
          Assigned; {m.data.message_created ? `message ${m.data.message.id} (1004) queued` : "its 1004 already existed"}.
        </span>
      )}
    </form>
  );
}

/** Undo an admin's assignment: possible until its 1004 reaches the group. */
function UnassignButton({ cb }: { cb: RecordingCallbackRecord }) {
  const qc = useQueryClient();
  const m = useMutation({
    mutationFn: () => transport().unassignCallback(cb.id),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ["callbacks"] });
      void qc.invalidateQueries({ queryKey: ["messages"] });
    },
  });
  return (
    <div className="row">
      <button
        type="button"
        onClick={() => m.mutate()}
        disabled={m.isPending}
        data-testid="unassign"
        title="Back to unmatched, and its 1004 deleted: possible only while the 1004 has not been sent"
      >
        Undo assignment
      </button>
      {m.error && <ErrorNote error={m.error} />}
    </div>
  );
}

export function CallbacksView() {
  const can = useCan();
  const search = useSearch({ strict: false }) as Record<string, string>;
  const status = STATUSES.includes(search.status as CallbackStatus) ? (search.status as CallbackStatus) : null;
  const { q, items } = usePaged(["callbacks", status ?? "all"], (cursor) =>
    transport().listCallbacks({ status: status ? [status] : undefined, cursor, limit: 200 }),
  );
  return (
    <>
      <h1>Recording callbacks</h1>
      <nav className="tabs" aria-label="Callback status">
        <Link to="/callbacks" search={{}} activeProps={{}} className={`tab${status === null ? " active" : ""}`}>
          all
        </Link>
        {STATUSES.map((s) => (
          <Link key={s} to="/callbacks" search={{ status: s }} activeProps={{}} className={`tab${status === s ? " active" : ""}`}>
            {s}
          </Link>
        ))}
      </nav>
      {q.error && <ErrorNote error={q.error} onRetry={() => void q.refetch()} />}
      {q.isPending && <Loading what="callbacks" />}
      {!q.isPending && items.length === 0 && <Empty>No {status ?? ""} callbacks.</Empty>}
      {items.length > 0 && (
        <table className="plain" data-testid="callbacks">
          <thead>
            <tr>
              <th>Received</th>
              <th>Status</th>
              <th>Class · uid</th>
              <th>File</th>
              <th>Video URL</th>
              <th>Why / what next</th>
            </tr>
          </thead>
          <tbody>
            {items.map((cb) => (
              <tr key={cb.id} data-testid="callback-row" data-id={cb.id} data-status={cb.status}>
                <td>
                  <Time ms={cb.received_at} />
                </td>
                <td>
                  <StatusBadge status={cb.status} />
                  <div className="hint" data-testid="callback-source">
                    {cb.source === "trtc" ? "TRTC" : "CSS"}
                  </div>
                </td>
                <td className="mono ident">
                  <div>{cb.class_id ?? "—"}</div>
                  <div>{cb.uid ?? "—"}</div>
                </td>
                <td className="mono" style={{ minWidth: 140 }}>
                  {cb.file_key ?? "—"}
                </td>
                <td className="mono" data-testid="video-url" style={{ minWidth: 180, maxWidth: 300, overflowWrap: "anywhere" }}>
                  {videoUrl(cb.body) ?? "—"}
                </td>
                <td>
                  {cb.reason && (
                    <div>
                      {cb.status === "refused" && REFUSALS[cb.reason] ? `Refused: ${REFUSALS[cb.reason]} ` : ""}
                      {cb.status === "assigned" ? "Matched no class at first (assigned by hand since): " : ""}
                      <span className={cb.status === "refused" ? "mono hint" : undefined}>{cb.reason}</span>
                    </div>
                  )}
                  {cb.message_id !== null && cb.class_id !== null && (
                    <div>
                      Its 1004:{" "}
                      <Link to="/classes/$classId" params={{ classId: cb.class_id }} search={{ msg: String(cb.message_id) }}>
                        message {cb.message_id}
                      </Link>
                    </div>
                  )}
                  {cb.status === "unmatched" && cb.source === "css" && <DecodedCallback cb={cb} />}
                  {cb.status === "unmatched" && can("assign_callback") && <AssignForm cb={cb} />}
                  {cb.status === "assigned" && can("unassign_callback") && <UnassignButton cb={cb} />}
                  <details>
                    <summary>Body as received</summary>
                    <pre className="block">{cb.body}</pre>
                  </details>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <LoadMore hasNext={!!q.hasNextPage} loading={q.isFetchingNextPage} onMore={() => void q.fetchNextPage()} />
    </>
  );
}
