// Bulk jobs, newest first, with progress bars; a running job can be left and found here.

import { useQuery } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { transport } from "../api/transport";
import { Empty, ErrorNote, Loading, ProgressBar, StatusBadge, Time } from "../components/common";
import { jobSummary } from "../components/JobProgress";
import { describeFilters, EMPTY_FILTERS, filtersToSearch } from "../lib/filters";
import type { MessageFilter } from "../bindings/MessageFilter";

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
      <p className="lead">Bulk resends and recoveries. A job keeps running when you leave this page.</p>
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
              const f = filterOf(j.filter);
              const cls = j.filter.class_id;
              return (
                <tr key={j.id} data-testid="job-row" data-state={j.state}>
                  <td className="num">{j.id}</td>
                  <td>{j.kind === "bulk_resend" ? "bulk resend" : "recover failed"}</td>
                  <td>
                    <StatusBadge status={j.state} />
                  </td>
                  <td>
                    <ProgressBar done={j.done} failed={j.failed} total={j.total} label={`Job ${j.id}`} />
                  </td>
                  <td>{jobSummary(j)}</td>
                  <td>
                    {cls ? (
                      <Link to="/classes/$classId" params={{ classId: cls }} search={filtersToSearch(f)}>
                        {describeFilters(f, cls)}
                      </Link>
                    ) : (
                      <Link to="/messages" search={filtersToSearch(f)}>
                        {describeFilters(f, null)}
                      </Link>
                    )}
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
