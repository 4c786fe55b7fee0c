// Host mode: the teacher picks or creates a class, presses Start (1001 + the teacher's
// 1003 on this computer's clock), shares the join info, watches delivery, presses End.

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useNavigate, useSearch } from "@tanstack/react-router";
import { useState, type FormEvent } from "react";
import { desktop, svgDataUrl } from "../../api/desktop";
import type { HostStatus } from "../../bindings/HostStatus";
import type { JoinInfo } from "../../bindings/JoinInfo";
import { ErrorNote, Loading, Time } from "../../components/common";
import "../desktop.css";

function CreateClassForm({ onCreated }: { onCreated: (classId: string) => void }) {
  const [classId, setClassId] = useState("");
  const [groupId, setGroupId] = useState("");
  const [teacher, setTeacher] = useState("");
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
          <input id="hc-teacher" required value={teacher} onChange={(e) => setTeacher(e.target.value)} />
        </div>
        <button type="submit" className="primary" disabled={m.isPending} data-testid="host-create-submit">
          Create
        </button>
      </div>
      {m.error && <ErrorNote error={m.error} />}
    </form>
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

function JoinCard({ join }: { join: JoinInfo }) {
  return (
    <div className="join" data-testid="join-info">
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
  };
  const start = useMutation({ mutationFn: () => desktop.hostStartClass(classId), onSettled: refresh });
  const end = useMutation({ mutationFn: () => desktop.hostEndClass(classId), onSettled: refresh });
  if (status.error) return <ErrorNote error={status.error} onRetry={() => void status.refetch()} />;
  if (!status.data) return <Loading what="the class" />;
  const s = status.data;
  const state = s.class.state;
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
              disabled={start.isPending || state === "started"}
              onClick={() => start.mutate()}
            >
              Start class
            </button>
            <button
              type="button"
              data-testid="host-end"
              disabled={end.isPending || state !== "started"}
              onClick={() => end.mutate()}
            >
              End class
            </button>
          </div>
        </div>
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
        <p className="hint">Students&apos; clients report here. Scan or copy:</p>
        <JoinCard join={s.join} />
      </section>
      <StudentJoin classId={classId} />
    </>
  );
}

export function HostView() {
  const search = useSearch({ strict: false }) as Record<string, string>;
  const navigate = useNavigate();
  const selected = search.class ?? "";
  const [creating, setCreating] = useState(false);
  const classes = useQuery({ queryKey: ["host-classes"], queryFn: () => desktop.hostListClasses(), refetchInterval: 5000 });
  const pick = (classId: string) => {
    setCreating(false);
    void navigate({ to: "/host", search: { class: classId } as never });
  };
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
