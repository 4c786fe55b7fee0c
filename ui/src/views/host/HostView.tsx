// Host mode: the teacher picks or creates a class, presses Start (1001 + the teacher's
// 1003 on this computer's clock), shares the join info, watches delivery, presses End.

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate, useSearch } from "@tanstack/react-router";
import { useEffect, useState, type FormEvent } from "react";
import { desktop, svgDataUrl } from "../../api/desktop";
import { transport } from "../../api/transport";
import type { HostStatus } from "../../bindings/HostStatus";
import type { JoinInfo } from "../../bindings/JoinInfo";
import type { TimelineReportRecord } from "../../bindings/TimelineReportRecord";
import { ErrorNote, Loading, Time } from "../../components/common";
import { Ident } from "../../components/Ident";
import { ago, elapsed } from "../../format/time";
import { hostMemory } from "../../lib/hostMemory";
import "../desktop.css";

function CreateClassForm({ onCreated }: { onCreated: (classId: string) => void }) {
  const [classId, setClassId] = useState("");
  const [groupId, setGroupId] = useState("");
  const [teacher, setTeacher] = useState(() => hostMemory.teacher() ?? "");
  const qc = useQueryClient();
  const m = useMutation({
    mutationFn: () =>
      desktop.hostCreateClass({
        class_id: classId.trim(),
        group_id: (groupId.trim() || classId.trim()),
        teacher_uid: teacher.trim(),
        create_group: true,
        legacy_class_token: false,
        open_enrolment: false,
      }),
    onSuccess: (c) => {
      hostMemory.setTeacher(c.teacher_uid);
      void qc.invalidateQueries({ queryKey: ["host-classes"] });
      onCreated(c.class_id);
    },
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    m.mutate();
  }
  return (
    <form className="card" onSubmit={submit} aria-labelledby="host-create-title" data-testid="host-create">
      <h2 id="host-create-title">New class</h2>
      <div className="row">
        <div className="field">
          <label htmlFor="hc-class">Class id</label>
          <input id="hc-class" required value={classId} onChange={(e) => setClassId(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="hc-group">IM group id (default: the class id)</label>
          <input id="hc-group" value={groupId} onChange={(e) => setGroupId(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="hc-teacher">Your user id (teacher)</label>
          <input
            id="hc-teacher"
            required
            value={teacher}
            onChange={(e) => setTeacher(e.target.value)}
            title="Remembered on this computer for the next class"
          />
        </div>
        <button type="submit" className="primary" disabled={m.isPending} data-testid="host-create-submit">
          Create
        </button>
      </div>
      {m.error && <ErrorNote error={m.error} />}
    </form>
  );
}

const HEALTH_WORDS: Record<string, string> = {
  good: "here",
  uncertain: "here, clock settling",
  jumped: "here, clock jumped",
  away: "away",
};

/** Who is in the class now, from their heartbeats (this app's own among them). */
function LiveMembers({ s, now }: { s: HostStatus; now: number }) {
  return (
    <section className="card" aria-labelledby="live-title" data-testid="host-live-members">
      <h2 id="live-title">
        In class now ({s.members.filter((m) => m.health !== "away").length})
      </h2>
      {s.members.length === 0 ? (
        <p className="hint">No heartbeat yet. Clients that send heartbeats show here as they arrive.</p>
      ) : (
        <ul className="live-members">
          {s.members.map((m) => (
            <li key={m.uid} data-health={m.health}>
              <Ident value={m.uid} /> <span className={`badge health-${m.health}`}>{HEALTH_WORDS[m.health] ?? m.health}</span>{" "}
              <span className="hint">last seen {ago(m.last_seen_at, now)}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Counts({ s }: { s: HostStatus }) {
  const c = s.counts;
  const items: [string, number, string][] = [
    ["sent", c.sent, "sent"],
    ["pending", c.pending + c.sending, "pending"],
    ["retrying", c.retrying, "retrying"],
    ["failed", c.failed, "failed"],
  ];
  return (
    <div className="host-counts" data-testid="host-counts">
      {items.map(([label, n, cls]) => (
        <div key={label} className={`host-count status-${cls}`} data-testid={`count-${label}`} data-count={n}>
          <span className="host-count-n">{n}</span>
          <span className="host-count-label">{label}</span>
        </div>
      ))}
    </div>
  );
}

/** The port of a base URL such as `http://127.0.0.1:8080`, or null. */
function portOf(url: string): string | null {
  const m = url.match(/:(\d+)\/?$/);
  return m?.[1] ?? null;
}

/**
 * What students can and cannot use: a loopback join address is warned about here, where
 * the teacher looks, with this computer's network addresses and the way to listen on them.
 */
function JoinReach({ join }: { join: JoinInfo }) {
  const port = portOf(join.server_url);
  if (!join.reachable) {
    return (
      <div className="join-warning" role="alert" data-testid="join-warning">
        <p>
          <strong>⚠ Students cannot join with this address.</strong> {join.warning}
        </p>
        {join.addresses.length > 0 && (
          <>
            <p className="join-warning-sub">This computer&apos;s addresses on the network:</p>
            <ul className="join-addresses" data-testid="join-addresses">
              {join.addresses.map((a) => (
                <li key={a.url}>
                  <span className="mono">{a.url}</span>
                  {a.interface && <span className="hint"> ({a.interface})</span>}
                </li>
              ))}
            </ul>
          </>
        )}
        <Link
          to="/settings"
          search={{ listen: `0.0.0.0:${port ?? "8080"}` } as never}
          className="button"
          data-testid="join-listen-settings"
        >
          Listen on the network… (Settings)
        </Link>
      </div>
    );
  }
  const others = join.addresses.filter((a) => a.url !== join.server_url);
  if (others.length === 0) return null;
  return (
    <p className="hint" data-testid="join-other-addresses">
      Students on another network may need another of this computer&apos;s addresses:{" "}
      {others.map((a, i) => (
        <span key={a.url}>
          {i > 0 && ", "}
          <span className="mono">{a.url}</span>
          {a.interface && ` (${a.interface})`}
        </span>
      ))}
      .
    </p>
  );
}

function JoinCard({ join }: { join: JoinInfo }) {
  return (
    <div className={join.reachable ? "join" : "join join-unreachable"} data-testid="join-info" data-reachable={join.reachable}>
      <img className="qr" src={svgDataUrl(join.qr_svg)} alt="QR code of the join info" data-testid="join-qr" />
      <div className="grow">
        <pre className="join-text mono" data-testid="join-text">
          {join.text}
        </pre>
        <p className="hint">{join.credential_note}</p>
      </div>
    </div>
  );
}

/**
 * The class's members, each with their last timeline report (from the class's reports, not
 * the member record, whose times also move when a credential is issued), refreshed while
 * the page is open.
 */
function Roster({ classId, now }: { classId: string; now: number }) {
  const members = useQuery({
    queryKey: ["host-members", classId],
    queryFn: () => transport().classMembers(classId),
    refetchInterval: 5000,
  });
  const reports = useQuery({
    queryKey: ["host-reports", classId],
    // Newest first: the first one seen for a uid is its last.
    queryFn: () => transport().classReports(classId, { limit: 1000 }),
    refetchInterval: 5000,
  });
  const lastReport = new Map<string, TimelineReportRecord>();
  for (const r of reports.data?.items ?? []) {
    if (r.uid !== null && !lastReport.has(r.uid)) lastReport.set(r.uid, r);
  }
  return (
    <section className="card" aria-labelledby="roster-title" data-testid="host-roster">
      <h2 id="roster-title">Class members</h2>
      {members.error && <ErrorNote error={members.error} />}
      {reports.error && <ErrorNote error={reports.error} />}
      {members.isPending && <Loading what="the members" />}
      {members.data && members.data.length === 0 && <p className="empty">No members yet.</p>}
      {members.data && members.data.length > 0 && (
        <div className="roster-wrap">
          <table className="plain roster">
            <thead>
              <tr>
                <th scope="col">User id</th>
                <th scope="col">Role</th>
                <th scope="col">Last report</th>
              </tr>
            </thead>
            <tbody>
              {members.data.map((m) => {
                const last = lastReport.get(m.uid);
                return (
                  <tr key={m.uid} data-testid="roster-row">
                    <td className="mono ident" title={m.uid}>
                      {m.uid}
                    </td>
                    <td>{m.role}</td>
                    <td>
                      {last === undefined ? (
                        <span className="hint">{reports.isPending ? "…" : "no report yet"}</span>
                      ) : (
                        <>
                          <Time ms={last.received_at} />{" "}
                          <span className="hint">({ago(last.received_at, now)})</span>
                          {!last.accepted && (
                            <span className="warn-text"> refused{last.refusal_reason ? `: ${last.refusal_reason}` : ""}</span>
                          )}
                        </>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** Ticks once a second while `on`, for clocks on the page. */
function useNow(on: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!on) return undefined;
    const t = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(t);
  }, [on]);
  return now;
}

function StudentJoin({ classId }: { classId: string }) {
  const [uid, setUid] = useState("");
  const m = useMutation({ mutationFn: () => desktop.hostJoinInfo(classId, uid.trim()) });
  return (
    <section className="card" aria-labelledby="student-join-title">
      <h2 id="student-join-title">A student&apos;s join info</h2>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          m.mutate();
        }}
      >
        <div className="field">
          <label htmlFor="sj-uid">Student&apos;s user id</label>
          <input id="sj-uid" required value={uid} onChange={(e) => setUid(e.target.value)} data-testid="student-uid" />
        </div>
        <button type="submit" disabled={m.isPending} data-testid="student-join-submit">
          Make their credential
        </button>
      </form>
      {m.error && <ErrorNote error={m.error} />}
      {m.data && <JoinCard join={m.data} />}
    </section>
  );
}

function HostedClass({ classId }: { classId: string }) {
  const qc = useQueryClient();
  const status = useQuery({
    queryKey: ["host-status", classId],
    queryFn: () => desktop.hostStatus(classId),
    refetchInterval: 1000,
  });
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: ["host-status", classId] });
    void qc.invalidateQueries({ queryKey: ["host-classes"] });
    void qc.invalidateQueries({ queryKey: ["host-reports", classId] });
    void qc.invalidateQueries({ queryKey: ["host-members", classId] });
  };
  const start = useMutation({ mutationFn: () => desktop.hostStartClass(classId), onSettled: refresh });
  const end = useMutation({ mutationFn: () => desktop.hostEndClass(classId), onSettled: refresh });
  // End cannot be undone here (the class cannot start again), so it asks first.
  const [confirmEnd, setConfirmEnd] = useState(false);
  const running = status.data?.class.state === "started";
  const now = useNow(true);
  if (status.error) return <ErrorNote error={status.error} onRetry={() => void status.refetch()} />;
  if (!status.data) return <Loading what="the class" />;
  const s = status.data;
  const state = s.class.state;
  // A class starts once: after End, Start would only be refused (an admin's reopen allows
  // one more start and puts the class back to "created").
  const canStart = state === "created";
  const startedAt = s.class.started_at;
  return (
    <>
      <section className="card" aria-labelledby="hosted-title" data-testid="hosted-class" data-state={state}>
        <div className="row spread">
          <h2 id="hosted-title">
            Class <span className="mono">{s.class.class_id}</span>{" "}
            <span className={`status status-${state}`} data-testid="class-state">
              {state}
            </span>
          </h2>
          <div className="row">
            <button
              type="button"
              className="primary"
              data-testid="host-start"
              disabled={start.isPending || !canStart}
              title={canStart ? "Send the class start and your timeline report" : state === "started" ? "The class is running" : "This class has ended"}
              onClick={() => start.mutate()}
            >
              Start class
            </button>
            <button
              type="button"
              data-testid="host-end"
              disabled={end.isPending || state !== "started" || confirmEnd}
              onClick={() => setConfirmEnd(true)}
            >
              End class
            </button>
          </div>
        </div>
        {confirmEnd && state === "started" && (
          <div className="confirm-end" role="alertdialog" aria-labelledby="confirm-end-text" data-testid="host-end-confirm">
            <p id="confirm-end-text">
              End the class now? This sends the class end (1002) to the group, and the class cannot start again from here.
            </p>
            <div className="row">
              <button
                type="button"
                className="danger"
                data-testid="host-end-confirm-yes"
                disabled={end.isPending}
                onClick={() => {
                  setConfirmEnd(false);
                  end.mutate();
                }}
              >
                End the class
              </button>
              <button type="button" onClick={() => setConfirmEnd(false)}>
                Keep it running
              </button>
            </div>
          </div>
        )}
        <p className="hint">
          Teacher <span className="mono">{s.class.teacher_uid}</span> · group <span className="mono">{s.class.group_id}</span>
          {s.class.started_at !== null && (
            <>
              {" "}
              · started <Time ms={s.class.started_at} />
            </>
          )}
          {s.class.ended_at !== null && (
            <>
              {" "}
              · ended <Time ms={s.class.ended_at} />
            </>
          )}
        </p>
        {startedAt !== null && (
          <p className="host-elapsed" data-testid="host-elapsed">
            {running ? (
              <>
                Running for <strong className="mono">{elapsed(now - startedAt)}</strong>
              </>
            ) : s.class.ended_at !== null ? (
              <>
                Lasted <strong className="mono">{elapsed(s.class.ended_at - startedAt)}</strong>
              </>
            ) : null}
          </p>
        )}
        {state === "ended" && (
          <p className="hint" data-testid="host-ended-note">
            This class has ended, so it cannot start again here. For another lesson, create a new class.
          </p>
        )}
        {start.error && <ErrorNote error={start.error} />}
        {end.error && <ErrorNote error={end.error} />}
        <Counts s={s} />
        <p className="host-last-error" data-testid="last-error">
          {s.last_error ? <span className="warn-text">Last problem: {s.last_error}</span> : "No delivery problems."}
        </p>
        {s.clock_events.length > 0 && (
          <div className="clock-events" role="status" data-testid="clock-events">
            <strong>This computer&apos;s clock changed; your timeline report (1003) was sent again:</strong>
            <ul>
              {s.clock_events.map((e) => (
                <li key={`${e.at_ms}-${e.what}`}>
                  <Time ms={e.at_ms} /> — {e.what}
                  {e.timeline_message_id !== null ? ` (message ${e.timeline_message_id})` : ""}
                  {e.error ? ` — not sent: ${e.error}` : ""}
                </li>
              ))}
            </ul>
          </div>
        )}
      </section>
      <section className="card" aria-labelledby="join-title">
        <h2 id="join-title">Join this class</h2>
        <JoinReach join={s.join} />
        <p className="hint">Students&apos; clients report here. Scan or copy:</p>
        <JoinCard join={s.join} />
      </section>
      <LiveMembers s={s} now={now} />
      <StudentJoin classId={classId} />
      <Roster classId={classId} now={now} />
    </>
  );
}

export function HostView() {
  const search = useSearch({ strict: false }) as Record<string, string>;
  const navigate = useNavigate();
  const selected = search.class ?? "";
  const [creating, setCreating] = useState(search.new === "1");
  const classes = useQuery({ queryKey: ["host-classes"], queryFn: () => desktop.hostListClasses(), refetchInterval: 5000 });
  const pick = (classId: string) => {
    setCreating(false);
    void navigate({ to: "/host", search: { class: classId } as never });
  };
  // Opened with no class chosen: the class last hosted here, if it still exists.
  const last = hostMemory.lastClass();
  const lastExists = !!last && !!classes.data?.some((c) => c.class_id === last);
  useEffect(() => {
    if (!selected && !creating && last && lastExists) void navigate({ to: "/host", search: { class: last } as never, replace: true });
  }, [selected, creating, last, lastExists, navigate]);
  useEffect(() => {
    if (selected) hostMemory.setLastClass(selected);
  }, [selected]);
  return (
    <>
      <h1>Host a class</h1>
      <p className="lead">
        Teach from this computer: Start sends the class start and your timeline report stamped with this computer&apos;s
        clock; End sends the class end.
      </p>
      <div className="row">
        <label htmlFor="host-pick">Class</label>
        <select
          id="host-pick"
          data-testid="host-pick"
          value={selected}
          onChange={(e) => (e.target.value ? pick(e.target.value) : undefined)}
        >
          <option value="">{classes.data?.length ? "Choose a class…" : "No classes yet"}</option>
          {classes.data?.map((c) => (
            <option key={c.class_id} value={c.class_id}>
              {c.class_id} ({c.state})
            </option>
          ))}
        </select>
        <button type="button" onClick={() => setCreating((v) => !v)} data-testid="host-new">
          New class…
        </button>
      </div>
      {classes.error && <ErrorNote error={classes.error} />}
      {creating && <CreateClassForm onCreated={pick} />}
      {selected && <HostedClass classId={selected} />}
    </>
  );
}
