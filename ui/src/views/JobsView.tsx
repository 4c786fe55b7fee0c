// Bulk jobs, newest first, with progress bars; a running job can be left and found here.
// Each opens onto the messages it took on, with their status now.

import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useParams } from "@tanstack/react-router";
import { useEffect } from "react";
import { transport } from "../api/transport";
import { Empty, ErrorNote, Loading, ProgressBar, StatusBadge, Time } from "../components/common";
import { jobSummary } from "../components/JobProgress";
import { MessageLog } from "../components/MessageLog";
import { describeFilters, EMPTY_FILTERS, filtersToSearch } from "../lib/filters";
import type { Job } from "../bindings/Job";
import type { MessageFilter } from "../bindings/MessageFilter";

function kindLabel(j: Job): string {
  return j.kind === "bulk_resend" ? "bulk resend" : "recover failed";
}

/** The filter a job ran with, as a link to the message log showing it. */
function FilterLink({ job }: { job: Job }) {
  const f = filterOf(job.filter);
  const cls = job.filter.class_id;
  return cls ? (
    <Link to="/classes/$classId" params={{ classId: cls }} search={filtersToSearch(f)}>
      {describeFilters(f, cls)}
    </Link>
  ) : (
    <Link to="/messages" search={filtersToSearch(f)}>
      {describeFilters(f, null)}
    </Link>
  );
}

function filterOf(f: MessageFilter) {
  return {
    ...EMPTY_FILTERS,
    statuses: f.statuses,
    types: f.types,
    uid: f.uid ?? "",
    from: f.created_from,
    to: f.created_to,
    retried: f.retried,
    q: f.text ?? "",
  };
}

export function JobsView() {
  const jobs = useQuery({
    queryKey: ["jobs"],
    queryFn: () => transport().listJobs({ limit: 100 }),
    refetchInterval: (q) => (q.state.data?.some((j) => j.state !== "finished") ? 1000 : 5000),
  });
  return (
    <>
      <h1>Jobs</h1>
      <p className="lead">Bulk resends and recoveries. A job keeps running when you leave this page; open one to see the messages it took on.</p>
      {jobs.error && <ErrorNote error={jobs.error} onRetry={() => void jobs.refetch()} />}
      {jobs.isPending && <Loading what="jobs" />}
      {jobs.data && jobs.data.length === 0 && <Empty>No jobs yet. Start one from a message log: “Resend all matching…”.</Empty>}
      {jobs.data && jobs.data.length > 0 && (
        <table className="plain" data-testid="jobs">
          <thead>
            <tr>
              <th>Job</th>
              <th>Kind</th>
              <th>State</th>
              <th>Progress</th>
              <th>Summary</th>
              <th>Filter</th>
              <th>By</th>
              <th>Started</th>
              <th>Finished</th>
            </tr>
          </thead>
          <tbody>
            {jobs.data.map((j) => {
              return (
                <tr key={j.id} data-testid="job-row" data-state={j.state}>
                  <td className="num">
                    <Link to="/jobs/$jobId" params={{ jobId: String(j.id) }} aria-label={`Job ${j.id}: its messages`} data-testid="job-open">
                      {j.id}
                    </Link>
                  </td>
                  <td>{kindLabel(j)}</td>
                  <td>
                    <StatusBadge status={j.state} />
                  </td>
                  <td>
                    <ProgressBar done={j.done} failed={j.failed} total={j.total} label={`Job ${j.id}`} />
                  </td>
                  <td>
                    <Link to="/jobs/$jobId" params={{ jobId: String(j.id) }}>
                      {jobSummary(j)}
                    </Link>
                  </td>
                  <td>
                    <FilterLink job={j} />
                  </td>
                  <td className="mono ident">{j.actor}</td>
                  <td>
                    <Time ms={j.created_at} />
                  </td>
                  <td>
                    <Time ms={j.finished_at} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </>
  );
}

/** One job: its progress and filter, and the messages it took on (the message log's
 * table and detail panel, newest first, refreshed while the job runs). */
export function JobView() {
  const { jobId } = useParams({ strict: false }) as { jobId: string };
  const id = /^\d+$/.test(jobId) ? Number(jobId) : null;
  const qc = useQueryClient();
  const job = useQuery({
    queryKey: ["job", id],
    queryFn: () => transport().getJob(id!),
    enabled: id !== null,
    refetchInterval: (q) => (q.state.data && q.state.data.state !== "finished" ? 1000 : false),
  });
  const state = job.data?.state;
  const progress = job.data ? `${job.data.done}/${job.data.failed}` : "";
  // The rows' statuses move with the job's counts: reload them when those change.
  useEffect(() => {
    if (id !== null && progress) void qc.invalidateQueries({ queryKey: ["messages", "job", id] });
  }, [qc, id, progress, state]);
  return (
    <>
      <p className="hint">
        <Link to="/jobs">← Jobs</Link>
      </p>
      <h1>Job {jobId}</h1>
      {id === null && <ErrorNote error={`Not a job id: ${jobId}`} />}
      {job.error && <ErrorNote error={job.error} onRetry={() => void job.refetch()} />}
      {job.isPending && id !== null && <Loading what="the job" />}
      {job.data && (
        <div className="card" data-testid="job-header" data-state={job.data.state}>
          <div className="row spread">
            <strong>
              {kindLabel(job.data)} <StatusBadge status={job.data.state} />
            </strong>
            <span className="hint">
              by <span className="mono ident">{job.data.actor}</span>, started <Time ms={job.data.created_at} />
              {job.data.finished_at !== null && (
                <>
                  , finished <Time ms={job.data.finished_at} />
                </>
              )}
            </span>
          </div>
          <ProgressBar done={job.data.done} failed={job.data.failed} total={job.data.total} label={`Job ${job.data.id} progress`} />
          <p data-testid="job-summary">{jobSummary(job.data)}</p>
          <p className="hint">
            Filter: <FilterLink job={job.data} />
          </p>
        </div>
      )}
      {job.data && (
        <>
          <h2>Messages it took on</h2>
          <MessageLog classId={null} jobId={job.data.id} />
        </>
      )}
    </>
  );
}
