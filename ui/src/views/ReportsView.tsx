// A class's raw timeline reports: accepted and refused, with reason, round trip and
// uncertainty.

import { Link, useParams } from "@tanstack/react-router";
import { transport } from "../api/transport";
import { Empty, ErrorNote, Loading, StatusBadge, Time } from "../components/common";
import { LoadMore, usePaged } from "../components/Paged";
import { ClassHeader } from "./ClassView";

export function ReportsView() {
  const { classId } = useParams({ strict: false }) as { classId: string };
  const { q, items } = usePaged(["reports", classId], (cursor) => transport().classReports(classId, { cursor, limit: 200 }));
  return (
    <>
      <ClassHeader classId={classId} tab="reports" />
      {q.error && <ErrorNote error={q.error} onRetry={() => void q.refetch()} />}
      {q.isPending && <Loading what="timeline reports" />}
      {!q.isPending && items.length === 0 && <Empty>No timeline report for this class yet.</Empty>}
      {items.length > 0 && (
        <table className="plain" data-testid="reports">
          <thead>
            <tr>
              <th>Received</th>
              <th>uid</th>
              <th>Outcome</th>
              <th className="num">Client timestamp</th>
              <th className="num">Round trip</th>
              <th>Server time line</th>
              <th className="num">± uncertainty</th>
              <th className="num">Message</th>
              <th>Body</th>
            </tr>
          </thead>
          <tbody>
            {items.map((r) => (
              <tr key={r.id} data-testid="report-row">
                <td>
                  <Time ms={r.received_at} />
                </td>
                <td className="mono ident">{r.uid ?? "—"}</td>
                <td>
                  <StatusBadge status={r.accepted ? "accepted" : "refused"} />
                  {r.refusal_reason && <div className="hint" style={{ maxWidth: 220 }} data-testid="refusal-reason">{r.refusal_reason}</div>}
                </td>
                <td className="num mono">{r.client_timestamp ?? "—"}</td>
                <td className="num">{r.rtt_ms === null ? "—" : `${r.rtt_ms} ms`}</td>
                <td>
                  <Time ms={r.time_line} />
                </td>
                <td className="num">{r.uncertainty_ms === null ? "—" : `± ${r.uncertainty_ms} ms`}</td>
                <td className="num mono">
                  {r.message_id === null ? (
                    "—"
                  ) : (
                    <Link to="/classes/$classId" params={{ classId }} search={{ msg: String(r.message_id) }}>
                      {r.message_id}
                    </Link>
                  )}
                </td>
                <td className="mono" style={{ minWidth: 240, maxWidth: 360, overflowWrap: "anywhere" }}>
                  {r.body}
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
