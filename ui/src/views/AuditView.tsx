// Every admin action, newest first.

import { transport } from "../api/transport";
import { Empty, ErrorNote, Loading, Time } from "../components/common";
import { LoadMore, usePaged } from "../components/Paged";

function detailText(d: unknown): string {
  if (d === null || d === undefined) return "";
  if (typeof d === "string") return d;
  return JSON.stringify(d);
}

export function AuditView() {
  const { q, items } = usePaged(["audit"], (cursor) => transport().listAudit({ cursor, limit: 200 }));
  return (
    <>
      <h1>Audit log</h1>
      <p className="lead">Every action taken through the console or the admin API, with who took it.</p>
      {q.error && <ErrorNote error={q.error} onRetry={() => void q.refetch()} />}
      {q.isPending && <Loading what="the audit log" />}
      {!q.isPending && items.length === 0 && <Empty>Nothing has been done yet.</Empty>}
      {items.length > 0 && (
        <table className="plain" data-testid="audit">
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
                <td className="mono ident">{e.actor}</td>
                <td>{e.action}</td>
                <td className="mono">{e.target}</td>
                <td className="mono wide">{detailText(e.detail)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <LoadMore hasNext={!!q.hasNextPage} loading={q.isFetchingNextPage} onMore={() => void q.fetchNextPage()} />
    </>
  );
}
