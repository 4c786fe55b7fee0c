// Why a replay is off: every uid's clock on the shared server-time axis (the 1003 pairs
// with ± uncertainty, clock jumps), recordings as bars (both placements where the two
// readings disagree), class start/end, and the diagnostics in plain words. Clicking a
// diagnostic highlights its messages in the lanes and lists them.

import { useQuery } from "@tanstack/react-query";
import { Link, useNavigate, useParams, useSearch } from "@tanstack/react-router";
import { useMemo } from "react";
import { transport } from "../api/transport";
import { Empty, ErrorNote, Loading } from "../components/common";
import { ClassHeader } from "./ClassView";
import { LanesChart } from "./alignment/LanesChart";
import { OffsetChart } from "./alignment/OffsetChart";
import { PresencePanel } from "./alignment/PresencePanel";
import { RecordingsTable } from "./alignment/RecordingsTable";
import { buildLanes, diagnosticKeys } from "./alignment/model";
import { offsetSeries } from "./alignment/offsets";

export function AlignmentView() {
  const { classId } = useParams({ strict: false }) as { classId: string };
  const search = useSearch({ strict: false }) as Record<string, string>;
  const navigate = useNavigate();
  const picked = search.diag !== undefined && /^\d+$/.test(search.diag) ? Number(search.diag) : null;
  const q = useQuery({
    queryKey: ["alignment", classId],
    queryFn: () => transport().call("class_alignment", { classId }),
  });
  const lanes = useMemo(() => (q.data ? buildLanes(q.data) : null), [q.data]);
  const offsets = useMemo(() => (q.data ? offsetSeries(q.data) : []), [q.data]);
  const diag = picked !== null ? q.data?.diagnostics[picked] : undefined;
  const highlight = useMemo(() => (diag ? diagnosticKeys(diag.messages) : new Set<string>()), [diag]);
  const pick = (i: number | null) =>
    void navigate({ to: ".", search: i === null || i === picked ? {} : { diag: String(i) }, replace: true } as never);
  return (
    <>
      <ClassHeader classId={classId} tab="alignment" />
      {q.isPending && <Loading what="the alignment" />}
      {q.error && <ErrorNote title="Could not align this class" error={q.error} onRetry={() => void q.refetch()} />}
      {q.data && lanes && (
        <>
          <p className={q.data.source === "history" ? "card source-note" : "hint source-note"} data-testid="alignment-source">
            {q.data.source === "history" ? (
              <>
                Read from the IM group&apos;s own history (as the last <Link to="/classes/$classId/reconcile" params={{ classId }}>reconcile</Link>{" "}
                fetched it), not from ReplayDesk&apos;s log: this is what a player of the group sees, including messages
                written by others.
              </>
            ) : (
              <>
                Read from ReplayDesk&apos;s own message log. After <Link to="/classes/$classId/reconcile" params={{ classId }}>a reconcile</Link>, it
                aligns what the IM group actually holds instead.
              </>
            )}
          </p>
          <p className="hint">
            {q.data.message_count} messages read · {lanes.uids.length} users · {q.data.recordings.length} recordings. Circles
            are 1003 pairs with their ± uncertainty; triangles are clock jumps; bars are recordings (a user&apos;s main
            file above, its aux file below in amber; dashed: the other reading where the two disagree); green lines are class start and end. Drag or scroll the chart to zoom.
          </p>
          {lanes.uids.length === 0 ? (
            <Empty>Nothing to align yet: no timeline report or recording for this class.</Empty>
          ) : (
            <LanesChart lanes={lanes} highlight={highlight} />
          )}
          <PresencePanel classId={classId} />
          <h2>Recordings ({q.data.recordings.length})</h2>
          {q.data.recordings.length === 0 ? <Empty>No recording of this class yet.</Empty> : <RecordingsTable answer={q.data} />}
          <h2>Clock offsets over time</h2>
          <p className="hint">
            Each user&apos;s offset (server − client clock) as the change since their first pair: a slope is drift, a step a
            sleep, reboot or clock change (triangle). A 32-bit client clock that wraps past 2^32 ms is unwrapped and marked
            with a pin, not drawn as a step.
          </p>
          {offsets.length === 0 ? <Empty>No timeline pair yet.</Empty> : <OffsetChart series={offsets} />}
          <h2>Diagnostics ({q.data.diagnostics.length})</h2>
          {q.data.diagnostics.length === 0 && <Empty>No problems found.</Empty>}
          <ul className="diag-list" data-testid="diagnostics">
            {q.data.diagnostics.map((d, i) => (
              <li key={i}>
                <button
                  type="button"
                  className="ghost"
                  aria-pressed={picked === i}
                  onClick={() => pick(i)}
                  data-testid="diagnostic"
                  style={{ textAlign: "left", width: "100%" }}
                >
                  <span className={`status status-${d.severity === "error" ? "failed" : d.severity === "warning" ? "retrying" : "pending"}`}>
                    {d.severity}
                  </span>{" "}
                  <span className="mono">{d.code}</span>
                  {d.uid && (
                    <>
                      {" "}
                      · uid <span className="mono">{d.uid}</span>
                    </>
                  )}
                  : {d.message}
                  <div className="hint">{d.explanation}</div>
                </button>
              </li>
            ))}
          </ul>
          {diag && (
            <section className="card" data-testid="diagnostic-messages">
              <h3>Messages of this finding</h3>
              <ul>
                {diag.messages.map((m, i) => (
                  <li key={i}>
                    {m.kind}
                    {m.seq !== null && ` seq ${m.seq}`}
                    {m.im_msg_seq !== null && ` · IM MsgSeq ${m.im_msg_seq}`}
                    {m.log_id !== null && (
                      <>
                        {" · "}
                        <Link to="/classes/$classId" params={{ classId }} search={{ msg: String(m.log_id) }}>
                          message {m.log_id}
                        </Link>
                      </>
                    )}
                  </li>
                ))}
              </ul>
            </section>
          )}
        </>
      )}
    </>
  );
}
