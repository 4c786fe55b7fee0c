// A class's ReplayGroup archive on its page: state, messages by kind, holes, how far it
// has read, when the IM forgets what is not yet archived, and "Archive now" with the pass's
// progress. Everything from the group (hole reasons, errors) is shown as text.

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { transport } from "../api/transport";
import { useCan } from "../api/session";
import type { ClassArchive } from "../bindings/ClassArchive";
import { ErrorNote, StatusBadge, Time } from "./common";
import { count } from "../lib/format";

/** "in 6 days", "in 3 h", "2 h ago": how far a deadline is from now. */
export function untilText(deadline: number, now: number): string {
  const ms = deadline - now;
  const abs = Math.abs(ms);
  const unit =
    abs >= 2 * 86_400_000 ? `${Math.round(abs / 86_400_000)} days` : abs >= 3_600_000 ? `${Math.round(abs / 3_600_000)} h` : `${Math.max(1, Math.round(abs / 60_000))} min`;
  return ms >= 0 ? `in ${unit}` : `${unit} ago`;
}

/** Whether a class's deadline is within a day (the alert's window). */
export function deadlineNear(a: Pick<ClassArchive, "deadline_ms"> | { archive_deadline_ms: number | null }, now: number): boolean {
  const d = "deadline_ms" in a ? a.deadline_ms : a.archive_deadline_ms;
  return d !== null && d - now < 86_400_000;
}

export function ArchivePanel({ classId }: { classId: string }) {
  const can = useCan();
  const qc = useQueryClient();
  const q = useQuery({
    queryKey: ["archive", classId],
    queryFn: () => transport().call("class_archive", { classId }),
    refetchInterval: (query) => (query.state.data?.job?.state === "running" ? 1000 : 10_000),
  });
  const now = useMutation({
    mutationFn: () => transport().call("archive_class", { classId }),
    onSettled: () => qc.invalidateQueries({ queryKey: ["archive", classId] }),
  });
  if (q.error) return <ErrorNote title="Could not load the archive" error={q.error} />;
  const a = q.data;
  if (!a) return null;
  const running = a.job?.state === "running";
  const near = deadlineNear(a, Date.now());
  return (
    <section className="card" aria-label="ReplayGroup archive" data-testid="archive-panel">
      <div className="row spread">
        <h2>
          ReplayGroup archive <StatusBadge status={a.state} />
        </h2>
        {can("archive_class") && !a.imported && (
          <button type="button" disabled={running || now.isPending} onClick={() => now.mutate()} data-testid="archive-now">
            {running ? "Archiving…" : "Archive now"}
          </button>
        )}
      </div>
      <p data-testid="archive-summary">
        {count(a.archived)} messages held: {count(a.kinds.ours)} ours, {count(a.kinds.whiteboard)} whiteboard,{" "}
        {count(a.kinds.other)} other · read up to MsgSeq {a.last_seq} · last pass <Time ms={a.last_run_at} />
      </p>
      <p data-testid="archive-deadline" className={near ? "warning" : "hint"}>
        {a.deadline_ms === null
          ? a.imported
            ? "A read-only copy from a bundle: nothing to archive here."
            : "Nothing outstanding: the IM may forget this group; the archive has it."
          : `Messages not yet archived expire in the IM ${untilText(a.deadline_ms, Date.now())}`}
        {a.deadline_ms !== null && (
          <>
            {" "}
            (<Time ms={a.deadline_ms} />)
          </>
        )}
      </p>
      {a.job && (
        <p className="hint" data-testid="archive-job">
          Pass {a.job.job_id} ({a.job.cause}): {a.job.state}, {count(a.job.pages)} {a.job.pages === 1 ? "page" : "pages"}, {count(a.job.fetched)}{" "}
          {a.job.fetched === 1 ? "message" : "messages"} read
          {a.job.error ? ` — ${a.job.error}` : ""}
        </p>
      )}
      {a.error && <p className="warning">Last pass failed: {a.error}</p>}
      {now.error && <ErrorNote title="Could not start archiving" error={now.error} />}
      {a.holes.length > 0 && (
        <table className="plain" data-testid="archive-holes">
          <thead>
            <tr>
              <th className="num">From MsgSeq</th>
              <th className="num">To MsgSeq</th>
              <th>Why no message is held</th>
            </tr>
          </thead>
          <tbody>
            {a.holes.map((h) => (
              <tr key={h.from_seq}>
                <td className="num mono">{h.from_seq}</td>
                <td className="num mono">{h.to_seq}</td>
                <td>{h.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
