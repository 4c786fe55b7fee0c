// One message: its fields, its exact Data (pretty and raw), every attempt with the IM
// error code in words, where it came from (the timeline report or the callback), and a
// resend button. Resending a message already sent puts a second copy in the group, so it
// says so and asks first.

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import type { Attempt } from "../bindings/Attempt";
import type { MessageDetail } from "../bindings/MessageDetail";
import { transport } from "../api/transport";
import { ErrorNote, Loading, StatusBadge, Time } from "./common";
import { JsonData } from "./JsonData";
import { duration } from "../format/time";
import { typeLabel } from "../lib/format";
import { OUTCOME_WORDS, imErrorWords } from "../lib/imcodes";
import { useCan } from "../api/session";

function AttemptRow({ a }: { a: Attempt }) {
  const im = a.im_error_code !== null && a.im_error_code !== 0 ? imErrorWords(a.im_error_code) : null;
  return (
    <li className="attempt" data-testid="attempt">
      <div className="row">
        <StatusBadge status={a.outcome === "sent" || a.outcome === "found_in_history" ? "sent" : a.outcome === "retry" || a.outcome === "slow_down" || a.outcome === "ambiguous" ? "retrying" : "failed"} />
        <Time ms={a.started_at} />
        <span className="hint">
          {a.trigger}, {duration(a.duration_ms)}
          {a.http_status !== null && `, HTTP ${a.http_status}`}
        </span>
      </div>
      <div>{OUTCOME_WORDS[a.outcome] ?? a.outcome}</div>
      {im && (
        <div data-testid="im-error">
          IM error <span className="mono">{a.im_error_code}</span>: {im.words}. {im.handling[0]?.toUpperCase()}
          {im.handling.slice(1)}.
          {a.im_error_info && <span className="hint mono"> ({a.im_error_info})</span>}
        </div>
      )}
      {a.transport_error && <div className="mono hint">No IM answer: {a.transport_error}</div>}
    </li>
  );
}

/** Where the message came from: the backend names a 1003's report and a 1004's callback. */
function Source({ d }: { d: MessageDetail }) {
  const m = d.message;
  if (m.msg_type === "class_start" || m.msg_type === "class_end") {
    return <p>Made from the class {m.msg_type === "class_start" ? "start" : "end"} report of uid <span className="mono">{m.uid}</span>.</p>;
  }
  const src = m.msg_type === "timeline" ? d.source_report : d.source_callback;
  if (!src) return <p className="hint">No source is kept for this message.</p>;
  return (
    <div data-testid="message-source">
      <p>
        {m.msg_type === "timeline" ? "Timeline report" : "Recording callback"} #{src.id}, received <Time ms={src.received_at} />
      </p>
      <JsonData text={src.body} />
    </div>
  );
}

/**
 * `readOnly` (a message of an imported class) leaves out the resend button: the backend
 * refuses to resend a read-only record, so offering it would only lead to an error.
 */
export function MessageDetailPanel({ id, onClose, readOnly = false }: { id: number; onClose: () => void; readOnly?: boolean }) {
  const qc = useQueryClient();
  const q = useQuery({
    queryKey: ["message", id],
    queryFn: () => transport().getMessage(id),
    refetchInterval: (query) => {
      const s = query.state.data?.message.status;
      return s === "sent" || s === "failed" ? false : 1500;
    },
  });
  // The message a resend was for travels with it: the panel stays mounted while another
  // message is opened, and a notice about one must never show on the next.
  const can = useCan();
  const resend = useMutation({
    mutationFn: (v: { id: number; duplicate: boolean }) =>
      transport().resendMessage(v.id, v.duplicate ? { duplicate: true } : undefined),
    onSuccess: (_, v) => {
      setAskingFor(null);
      void qc.invalidateQueries({ queryKey: ["message", v.id] });
      void qc.invalidateQueries({ queryKey: ["messages"] });
    },
  });
  // The question, too, belongs to the message it was asked about.
  const [askingFor, setAskingFor] = useState<number | null>(null);
  const asking = askingFor === id;
  const setAsking = (on: boolean) => setAskingFor(on ? id : null);
  const mine = resend.variables?.id === id;
  useEffect(() => {
    if (!asking) return;
    const onKey = (e: globalThis.KeyboardEvent) => {
      if (e.key === "Escape") setAskingFor(null);
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [asking]);
  const sent = q.data?.message.status === "sent";
  return (
    <aside className="detail-panel" aria-label={`Message ${id}`} data-testid="message-detail">
      <div className="row spread">
        <h2>Message {id}</h2>
        <button type="button" onClick={onClose} aria-label="Close the message detail">
          Close
        </button>
      </div>
      {q.error && <ErrorNote error={q.error} onRetry={() => void q.refetch()} />}
      {q.isPending && <Loading what="the message" />}
      {q.data && (
        <>
          <dl className="facts">
            <dt>Status</dt>
            <dd>
              <StatusBadge status={q.data.message.status} />{" "}
              {readOnly ? (
                <span className="hint" data-testid="read-only-message">
                  read-only record
                </span>
              ) : !can("resend_message") ? null : (
                <button
                  type="button"
                  onClick={() => (sent ? setAsking(true) : resend.mutate({ id, duplicate: false }))}
                  disabled={resend.isPending}
                  data-testid="resend-one"
                  title={sent ? "Already in the group: resending sends a second copy (asks first)" : "Queue it for sending again"}
                >
                  {sent ? "Resend this message…" : "Resend this message"}
                </button>
              )}
            </dd>
            <dt>Type</dt>
            <dd>{typeLabel(q.data.message.msg_type)}</dd>
            <dt>Class</dt>
            <dd className="mono">{q.data.message.class_id}</dd>
            <dt>Group</dt>
            <dd className="mono">{q.data.message.group_id}</dd>
            <dt>uid · seq</dt>
            <dd className="mono">
              {q.data.message.uid} · {q.data.message.seq}
            </dd>
            <dt>Created</dt>
            <dd>
              <Time ms={q.data.message.created_at} />
            </dd>
            <dt>Sent</dt>
            <dd>
              <Time ms={q.data.message.sent_at} />
            </dd>
            <dt>IM MsgSeq</dt>
            <dd className="mono">{q.data.message.im_msg_seq ?? "—"}</dd>
            {q.data.message.next_attempt_at !== null && (
              <>
                <dt>Next attempt</dt>
                <dd>
                  <Time ms={q.data.message.next_attempt_at} />
                </dd>
              </>
            )}
            {q.data.message.last_error && (
              <>
                <dt>Last error</dt>
                <dd className="mono">{q.data.message.last_error}</dd>
              </>
            )}
          </dl>
          {asking && (
            <div className="modal-backdrop" role="presentation">
              <div className="modal" role="dialog" aria-modal="true" aria-labelledby="dup-title" data-testid="duplicate-dialog">
                <h2 id="dup-title">Send a second copy?</h2>
                <p data-testid="duplicate-text">
                  Message {id} is already in the group
                  {q.data.message.im_msg_seq !== null && <> (IM MsgSeq {q.data.message.im_msg_seq})</>}. Resending it puts a second
                  copy with the same seq <span className="mono">{q.data.message.seq}</span> in the group: players may show it twice,
                  and the alignment reports the group as carrying a duplicate seq. It cannot be taken back.
                </p>
                {resend.error && mine && <ErrorNote error={resend.error} />}
                <div className="row">
                  <button
                    type="button"
                    className="danger"
                    onClick={() => resend.mutate({ id, duplicate: true })}
                    disabled={resend.isPending}
                    data-testid="confirm-duplicate"
                  >
                    Send a second copy
                  </button>
                  <button type="button" onClick={() => setAsking(false)} autoFocus data-testid="cancel-duplicate">
                    Cancel
                  </button>
                </div>
              </div>
            </div>
          )}
          {resend.error && mine && !asking && <ErrorNote error={resend.error} />}
          {resend.data && mine && (
            <p data-testid="resend-notice">
              {resend.data.queued ? "Queued for sending again." : "It is being sent right now; nothing to do."}
            </p>
          )}
          <h3>Data</h3>
          <JsonData text={q.data.message.data} testId="message-data" />
          <h3>Attempts ({q.data.attempts.length})</h3>
          {q.data.attempts.length === 0 ? (
            <p className="hint">No attempt yet.</p>
          ) : (
            <ol className="attempts" data-testid="attempts">
              {q.data.attempts.map((a) => (
                <AttemptRow key={a.id} a={a} />
              ))}
            </ol>
          )}
          <h3>Source</h3>
          <Source d={q.data} />
        </>
      )}
    </aside>
  );
}
