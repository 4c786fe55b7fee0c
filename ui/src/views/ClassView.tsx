import { useQuery } from "@tanstack/react-query";
import { Link, useParams } from "@tanstack/react-router";
import { transport } from "../api/transport";
import { ErrorNote, ImportedBadge, StatusBadge, Time } from "../components/common";
import { MessageLog } from "../components/MessageLog";
import { count } from "../lib/format";

/** The head of a class's pages: its facts and the tabs between them. */
export function ClassHeader({ classId, tab }: { classId: string; tab: "messages" | "reports" | "alignment" | "reconcile" }) {
  const c = useQuery({ queryKey: ["class", classId], queryFn: () => transport().getClass(classId), refetchInterval: 5000 });
  return (
    <>
      <div className="row spread">
        <h1>
          Class <span className="mono">{classId}</span> {c.data && <StatusBadge status={c.data.state} />}{" "}
          {c.data && <ImportedBadge importedAt={c.data.imported_at} />}
        </h1>
        {c.data && (
          <span className="hint">
            teacher <span className="mono">{c.data.teacher_uid}</span> · group <span className="mono">{c.data.group_id}</span> · started{" "}
            <Time ms={c.data.started_at} /> · ended <Time ms={c.data.ended_at} /> · {count(c.data.members)} members ·{" "}
            {count(c.data.counts.total)} messages
          </span>
        )}
      </div>
      {c.error && <ErrorNote title="Could not load the class" error={c.error} />}
      {c.data?.imported_at != null && (
        <p className="hint" data-testid="imported-note">
          Imported from another ReplayDesk&apos;s bundle: a read-only record for inspection. Its messages are never
          delivered, resent or reconciled from here, and it takes no reports.
        </p>
      )}
      <nav className="tabs" aria-label="Class views">
        <Link to="/classes/$classId" params={{ classId }} activeProps={{}} className={`tab${tab === "messages" ? " active" : ""}`}>
          Messages
        </Link>
        <Link to="/classes/$classId/reports" params={{ classId }} activeProps={{}} className={`tab${tab === "reports" ? " active" : ""}`}>
          Timeline reports
        </Link>
        <Link to="/classes/$classId/alignment" params={{ classId }} activeProps={{}} className={`tab${tab === "alignment" ? " active" : ""}`}>
          Alignment
        </Link>
        <Link to="/classes/$classId/reconcile" params={{ classId }} activeProps={{}} className={`tab${tab === "reconcile" ? " active" : ""}`}>
          Reconcile with IM
        </Link>
      </nav>
    </>
  );
}

export function ClassView() {
  const { classId } = useParams({ strict: false }) as { classId: string };
  // The same query as the header's (shared cache): an imported class's log has no bulk actions.
  const c = useQuery({ queryKey: ["class", classId], queryFn: () => transport().getClass(classId), refetchInterval: 5000 });
  return (
    <>
      <ClassHeader classId={classId} tab="messages" />
      <MessageLog classId={classId} readOnly={c.data?.imported_at != null} />
    </>
  );
}
