// One bulk job's progress, polled until it finishes, then its summary.

import { useQuery } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { useEffect } from "react";
import type { Job } from "../bindings/Job";
import { transport } from "../api/transport";
import { ErrorNote, ProgressBar, StatusBadge, Time } from "./common";
import { count } from "../lib/format";

export function jobSummary(job: Job): string {
  const kind = job.kind === "bulk_resend" ? "Bulk resend" : "Recovery of failed messages";
  if (job.state !== "finished") {
    return `${kind}: ${count(job.done)} sent, ${count(job.failed)} failed of ${count(job.total)} so far`;
  }
  const rest = job.total - job.done - job.failed;
  return `${kind} finished: ${count(job.done)} sent, ${count(job.failed)} failed of ${count(job.total)}${rest > 0 ? `, ${count(rest)} not settled` : ""}`;
}

export function JobProgress({ id, initial, onFinished }: { id: number; initial?: Job; onFinished?: (id: number) => void }) {
  const q = useQuery({
    queryKey: ["job", id],
    queryFn: () => transport().getJob(id),
    initialData: initial,
    refetchInterval: (query) => (query.state.data?.state === "finished" ? false : 700),
  });
  const finished = q.data?.state === "finished";
  useEffect(() => {
    if (finished) onFinished?.(id);
  }, [finished, id, onFinished]);
  if (q.error) return <ErrorNote error={q.error} />;
  const job = q.data;
  if (!job) return null;
  return (
    <div className="card" data-testid="job-progress" data-state={job.state} aria-live="polite">
      <div className="row spread">
        <strong>
          <Link to="/jobs/$jobId" params={{ jobId: String(job.id) }}>
            Job {job.id}
          </Link>{" "}
          <StatusBadge status={job.state} />
        </strong>
        <span className="hint">
          by {job.actor}, started <Time ms={job.created_at} />
        </span>
      </div>
      <ProgressBar done={job.done} failed={job.failed} total={job.total} label={`Job ${job.id} progress`} />
      <p data-testid="job-summary">{jobSummary(job)}</p>
    </div>
  );
}
