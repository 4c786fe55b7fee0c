// A class's IM group history compared with ReplayDesk's log (the reconcile run): start or
// resume it, watch it page through the group, and read what differs. Everything from the
// group (Data, accounts) is shown as text.

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useParams } from "@tanstack/react-router";
import type { ReconcileReport } from "../bindings/ReconcileReport";
import type { ReconcileRun } from "../bindings/ReconcileRun";
import { transport } from "../api/transport";
import { Empty, ErrorNote, Loading, StatusBadge, Time } from "../components/common";
import { count, typeLabel } from "../lib/format";
import { counted, reportSummary, seqCount, seqRun } from "../lib/reconcile";
import { ClassHeader } from "./ClassView";

function MsgLink({ classId, id }: { classId: string; id: number | null }) {
  if (id === null) return <>—</>;
  return (
    <Link to="/classes/$classId" params={{ classId }} search={{ msg: String(id) }}>
      {id}
    </Link>
  );
}

function Report({ classId, r }: { classId: string; r: ReconcileReport }) {
  const clean =
    !r.missing.length && !r.foreign.length && !r.duplicate_seqs.length && !r.data_differs.length && !r.holes.length && !r.unreadable_items;
  return (
    <section aria-label="Reconcile report" data-testid="reconcile-report">
      <p data-testid="reconcile-summary">{reportSummary(r)}</p>
      {clean && <p className="hint">The group holds exactly what the log says was sent.</p>}
      {r.missing.length > 0 && (
        <>
          <h3>Sent, but not in the group ({count(r.missing.length)})</h3>
          <p className="hint">Resend these from the message log if the replay needs them.</p>
          <table className="plain" data-testid="reconcile-missing">
            <thead>
              <tr>
                <th className="num">Message</th>
                <th className="num">seq</th>
                <th>Type</th>
                <th className="num">IM MsgSeq</th>
                <th>Now</th>
              </tr>
            </thead>
            <tbody>
              {r.missing.map((m) => (
                <tr key={m.log_id}>
                  <td className="num mono">
                    <MsgLink classId={classId} id={m.log_id} />
                  </td>
                  <td className="num mono">{m.seq}</td>
                  <td>{m.msg_type === null ? "—" : typeLabel(m.msg_type)}</td>
                  <td className="num mono">{m.im_msg_seq ?? "—"}</td>
                  <td>{m.now_a_hole ? "its place is a hole (recalled or expired)" : "never arrived"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {r.foreign.length > 0 && (
        <>
          <h3>In the group, not written by ReplayDesk ({count(r.foreign.length)})</h3>
          <table className="plain">
            <thead>
              <tr>
                <th>Kind</th>
                <th className="num">IM MsgSeq</th>
                <th className="num">seq</th>
                <th>From account</th>
              </tr>
            </thead>
            <tbody>
              {r.foreign.map((f, i) => (
                <tr key={`${f.message.im_msg_seq ?? "x"}-${i}`}>
                  <td>{f.message.kind}</td>
                  <td className="num mono">{f.message.im_msg_seq ?? "—"}</td>
                  <td className="num mono">{f.message.seq ?? "—"}</td>
                  <td className="mono">{f.from_account}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {r.duplicate_seqs.length > 0 && (
        <>
          <h3>One seq, several group messages ({count(r.duplicate_seqs.length)})</h3>
          <p className="hint">Usually a resend of a message that had already arrived in the group.</p>
          <ul>
            {r.duplicate_seqs.map((d) => (
              <li key={d.seq} className="mono">
                seq {d.seq}: MsgSeq {d.im_msg_seqs.join(", ")}
              </li>
            ))}
          </ul>
        </>
      )}
      {r.data_differs.length > 0 && (
        <>
          <h3>Data differs from the log ({count(r.data_differs.length)})</h3>
          {r.data_differs.map((d) => (
            <div key={d.log_id} className="card">
              <p>
                Message <MsgLink classId={classId} id={d.log_id} /> · seq <span className="mono">{d.seq}</span> · MsgSeq{" "}
                <span className="mono">{d.im_msg_seq}</span>
              </p>
              <h4>Logged</h4>
              <pre className="block">{d.logged}</pre>
              <h4>In the group</h4>
              <pre className="block">{d.in_group}</pre>
            </div>
          ))}
        </>
      )}
      {r.holes.length > 0 && (
        <>
          <h3>Holes ({count(seqCount(r.holes))})</h3>
          <p className="hint">
            Places in the group with no message (recalled, expired, or skipped): MsgSeq{" "}
            <span className="mono">{r.holes.slice(0, 200).map(seqRun).join(", ")}</span>
            {r.holes.length > 200 && ` and ${count(r.holes.length - 200)} more runs`}
          </p>
        </>
      )}
    </section>
  );
}

function RunFacts({ run }: { run: ReconcileRun }) {
  return (
    <dl className="facts" data-testid="reconcile-run" data-state={run.state}>
      <dt>State</dt>
      <dd>
        <StatusBadge status={run.state} />
      </dd>
      <dt>Read so far</dt>
      <dd>
        {counted(run.fetched, "group message", "group messages")} in {counted(run.pages, "page", "pages")}
      </dd>
      <dt>Started</dt>
      <dd>
        <Time ms={run.started_at} /> by <span className="mono">{run.actor}</span>
      </dd>
      <dt>{run.finished_at === null ? "Last progress" : "Finished"}</dt>
      <dd>
        <Time ms={run.finished_at ?? run.updated_at} />
      </dd>
      {run.error && (
        <>
          <dt>Error</dt>
          <dd className="mono">{run.error}</dd>
        </>
      )}
    </dl>
  );
}

export function ReconcileView() {
  const { classId } = useParams({ strict: false }) as { classId: string };
  const qc = useQueryClient();
  const key = ["reconcile", classId];
  const q = useQuery({
    queryKey: key,
    queryFn: () => transport().classReconcile(classId),
    // Polled only while a run is fetching.
    refetchInterval: (query) => (query.state.data?.state === "running" ? 1000 : false),
  });
  const start = useMutation({
    mutationFn: (restart: boolean) => transport().reconcileClass(classId, { restart, pages_per_second: null }),
    onSuccess: (run) => qc.setQueryData(key, run),
  });
  const run = q.data ?? null;
  const running = run?.state === "running";
  return (
    <>
      <ClassHeader classId={classId} tab="reconcile" />
      <p className="hint">
        Reads the class's IM group history page by page (paced, so delivery keeps its share of the IM request limit) and
        compares it with what ReplayDesk logged as sent.
      </p>
      <div className="row" style={{ marginBottom: 12 }}>
        <button type="button" className="primary" disabled={running || start.isPending} onClick={() => start.mutate(false)} data-testid="reconcile-start">
          {run && run.state !== "finished" && !running ? "Resume the comparison" : "Compare with the IM group"}
        </button>
        {run && !running && (
          <button type="button" disabled={start.isPending} onClick={() => start.mutate(true)}>
            Start again from the newest message
          </button>
        )}
      </div>
      {start.error && <ErrorNote title="Could not start the comparison" error={start.error} />}
      {q.error && <ErrorNote error={q.error} onRetry={() => void q.refetch()} />}
      {q.isPending && <Loading what="the last comparison" />}
      {!q.isPending && !q.error && run === null && <Empty>This class has not been compared with its IM group yet.</Empty>}
      {run && <RunFacts run={run} />}
      {run?.report && <Report classId={classId} r={run.report} />}
    </>
  );
}
