// The teacher's classes: the ones taught by the user id this app remembers (from the New
// class form), each opening on the Host page; every class on this computer one tick away.

import { useQuery } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { useState } from "react";
import { desktop } from "../../api/desktop";
import type { ClassSummary } from "../../bindings/ClassSummary";
import { ErrorNote, Loading, StatusBadge, Time } from "../../components/common";
import { elapsed } from "../../format/time";
import { hostMemory } from "../../lib/hostMemory";
import "../desktop.css";

function Length({ c, now }: { c: ClassSummary; now: number }) {
  if (c.started_at === null) return <span className="hint">not started</span>;
  if (c.ended_at === null) return <span className="mono">{elapsed(now - c.started_at)} so far</span>;
  return <span className="mono">{elapsed(c.ended_at - c.started_at)}</span>;
}

export function MyClassesView() {
  const teacher = hostMemory.teacher();
  const [all, setAll] = useState(teacher === null);
  const classes = useQuery({ queryKey: ["host-classes"], queryFn: () => desktop.hostListClasses(), refetchInterval: 5000 });
  const now = Date.now();
  const shown = (classes.data ?? [])
    .filter((c) => all || c.teacher_uid === teacher)
    .sort((a, b) => b.created_at - a.created_at);
  return (
    <>
      <h1>My classes</h1>
      <p className="lead">
        {teacher ? (
          <>
            Classes taught by <span className="mono">{teacher}</span> (the teacher id last used on this computer). Open one
            to host it.
          </>
        ) : (
          <>Every class on this computer. Create a class on the Host page and the ones you teach are picked out here.</>
        )}
      </p>
      <div className="row">
        {teacher && (
          <label>
            <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} data-testid="my-classes-all" />{" "}
            Every class on this computer
          </label>
        )}
        <Link to="/host" search={{ new: "1" } as never} className="button" data-testid="my-classes-new">
          New class…
        </Link>
      </div>
      {classes.error && <ErrorNote error={classes.error} onRetry={() => void classes.refetch()} />}
      {classes.isPending && <Loading what="the classes" />}
      {classes.data && shown.length === 0 && <p className="empty">No classes yet.</p>}
      {shown.length > 0 && (
        <div className="roster-wrap my-classes">
          <table className="plain" data-testid="my-classes">
            <thead>
              <tr>
                <th scope="col">Class</th>
                <th scope="col">State</th>
                <th scope="col">Started</th>
                <th scope="col">Length</th>
                <th scope="col" className="num">
                  Members
                </th>
                <th scope="col">Messages</th>
                {all && <th scope="col">Teacher</th>}
              </tr>
            </thead>
            <tbody>
              {shown.map((c) => (
                <tr key={c.class_id} data-testid="my-class-row">
                  <td className="mono ident">
                    <Link to="/host" search={{ class: c.class_id } as never} title={`Host ${c.class_id}`}>
                      {c.class_id}
                    </Link>
                  </td>
                  <td>
                    <StatusBadge status={c.state} />
                  </td>
                  <td>
                    <Time ms={c.started_at} />
                  </td>
                  <td>
                    <Length c={c} now={now} />
                  </td>
                  <td className="num">{c.members}</td>
                  <td>
                    {c.counts.sent} sent
                    {c.counts.failed > 0 && <span className="warn-text"> · {c.counts.failed} failed</span>}{" "}
                    <Link to="/classes/$classId" params={{ classId: c.class_id }} className="hint">
                      log
                    </Link>
                  </td>
                  {all && <td className="mono ident">{c.teacher_uid}</td>}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
