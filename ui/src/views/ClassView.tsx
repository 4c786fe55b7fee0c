import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useParams } from "@tanstack/react-router";
import { transport } from "../api/transport";
import { ErrorNote, ImportedBadge, StatusBadge, Time } from "../components/common";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { ArchivePanel } from "../components/ArchivePanel";
import { ExportButton } from "../components/ExportButton";
import { Ident } from "../components/Ident";
import { MessageLog } from "../components/MessageLog";
import { count } from "../lib/format";
import { useCan } from "../api/session";

/** Ends a started class for its teacher, after saying what that does. */
function EndClassButton({ classId, teacher }: { classId: string; teacher: string }) {
  const [asking, setAsking] = useState(false);
  const qc = useQueryClient();
  const end = useMutation({
    mutationFn: () => transport().endClass(classId),
    onSuccess: () => {
      setAsking(false);
      void qc.invalidateQueries({ queryKey: ["class", classId] });
    },
  });
  return (
    <>
      <button type="button" onClick={() => setAsking(true)} data-testid="end-class">
        End class…
      </button>
      {asking && (
        <ConfirmDialog
          title="End the class"
          confirmLabel="End class"
          onConfirm={() => end.mutate()}
          onCancel={() => {
            setAsking(false);
            end.reset();
          }}
          busy={end.isPending}
          error={end.error}
          testId="end-class-dialog"
        >
          <p>
            End class <Ident value={classId} /> now, for its teacher <Ident value={teacher} />? ReplayDesk sends the
            class-end message (1002) to the class&apos;s IM group at once, stamped with the teacher&apos;s clock by their
            latest timeline report. A replay ends there; the message cannot be taken back (an ended class can only be
            reopened for one more start and end).
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}

/** The head of a class's pages: its facts and the tabs between them. */
export function ClassHeader({
  classId,
  tab,
}: {
  classId: string;
  tab: "messages" | "members" | "reports" | "recordings" | "alignment" | "reconcile";
}) {
  const c = useQuery({ queryKey: ["class", classId], queryFn: () => transport().getClass(classId), refetchInterval: 5000 });
  const can = useCan();
  return (
    <>
      <div className="row spread">
        <h1>
          Class <Ident value={classId} /> {c.data && <StatusBadge status={c.data.state} />}{" "}
          {c.data && <ImportedBadge importedAt={c.data.imported_at} />}
        </h1>
        {c.data && (
          <span className="hint">
            teacher <Ident value={c.data.teacher_uid} /> · group <Ident value={c.data.group_id} /> · started{" "}
            <Time ms={c.data.started_at} /> · ended <Time ms={c.data.ended_at} /> · {count(c.data.members)} members ·{" "}
            {count(c.data.counts.total)} messages
          </span>
        )}
      </div>
      {c.data?.state === "started" && c.data.imported_at == null && can("end_class") && (
        <div className="row no-print">
          <EndClassButton classId={classId} teacher={c.data.teacher_uid} />
        </div>
      )}
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
        {can("class_members") && (
          <Link to="/classes/$classId/members" params={{ classId }} activeProps={{}} className={`tab${tab === "members" ? " active" : ""}`}>
            Members
          </Link>
        )}
        {can("class_reports") && (
          <Link to="/classes/$classId/reports" params={{ classId }} activeProps={{}} className={`tab${tab === "reports" ? " active" : ""}`}>
            Timeline reports
          </Link>
        )}
        {can("class_recordings") && (
          <Link to="/classes/$classId/recordings" params={{ classId }} activeProps={{}} className={`tab${tab === "recordings" ? " active" : ""}`}>
            Recordings
          </Link>
        )}
        <Link to="/classes/$classId/alignment" params={{ classId }} activeProps={{}} className={`tab${tab === "alignment" ? " active" : ""}`}>
          Alignment
        </Link>
        {can("class_reconcile") && (
          <Link to="/classes/$classId/reconcile" params={{ classId }} activeProps={{}} className={`tab${tab === "reconcile" ? " active" : ""}`}>
            Reconcile with IM
          </Link>
        )}
        {can("export_class") && <ExportButton classId={classId} />}
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
      <ArchivePanel classId={classId} />
      <MessageLog classId={classId} readOnly={c.data?.imported_at != null} />
    </>
  );
}
