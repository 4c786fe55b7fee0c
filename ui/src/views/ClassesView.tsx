// Every class with teacher, group, state, start/end and per-status counts; search; the
// alerts; creating a class.

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate, useSearch } from "@tanstack/react-router";
import { useState, type FormEvent } from "react";
import type { CreatedClass } from "../bindings/CreatedClass";
import type { StatusCounts } from "../bindings/StatusCounts";
import { transport } from "../api/transport";
import { useAppInfo } from "../api/useAppInfo";
import { Empty, ErrorNote, ImportedBadge, Loading, StatusBadge, Time } from "../components/common";
import { deadlineNear, untilText } from "../components/ArchivePanel";
import type { ClassQuery } from "../bindings/ClassQuery";
import { count } from "../lib/format";
import { STATUSES } from "../lib/filters";
import { AlertsBanner } from "./AlertsBanner";
import { useCan } from "../api/session";

function Counts({ counts, classId }: { counts: StatusCounts; classId: string }) {
  return (
    <div className="counts">
      {STATUSES.filter((s) => counts[s] > 0).map((s) => (
        <Link
          key={s}
          to="/classes/$classId"
          params={{ classId }}
          search={{ status: s }}
          className={`count-chip status-${s}`}
          title={`Show the ${s} messages of ${classId}`}
        >
          {s} {count(counts[s])}
        </Link>
      ))}
      {counts.total === 0 && <span className="hint">no messages</span>}
    </div>
  );
}

function CreateClassForm({ onClose }: { onClose: () => void }) {
  const qc = useQueryClient();
  const [classId, setClassId] = useState("");
  const [groupId, setGroupId] = useState("");
  const [teacher, setTeacher] = useState("");
  const [createGroup, setCreateGroup] = useState(true);
  const [created, setCreated] = useState<CreatedClass | null>(null);
  const m = useMutation({
    mutationFn: () =>
      transport().createClass({ class_id: classId.trim(), group_id: groupId.trim(), teacher_uid: teacher.trim(), create_group: createGroup, legacy_class_token: false, open_enrolment: false }),
    onSuccess: (c) => {
      setCreated(c);
      void qc.invalidateQueries({ queryKey: ["classes"] });
    },
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    m.mutate();
  }
  if (created) {
    return (
      <section className="card" aria-labelledby="created-title" data-testid="created-class">
        <h2 id="created-title">Class {created.class_id} created</h2>
        <p>
          {created.group_created ? "The IM group was created." : "The IM group was not created here (not asked, or it existed)."}
        </p>
        <p>
          The teacher&apos;s report credential (speaks for <span className="mono">{created.teacher_uid}</span> only):{" "}
          <code data-testid="teacher-credential">{created.teacher_credential}</code>
        </p>
        <button type="button" onClick={onClose}>
          Done
        </button>
      </section>
    );
  }
  return (
    <form className="card" onSubmit={submit} aria-labelledby="create-title">
      <h2 id="create-title">Create a class</h2>
      <div className="row">
        <div className="field">
          <label htmlFor="cc-class">Class id</label>
          <input id="cc-class" required value={classId} onChange={(e) => setClassId(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="cc-group">IM group id</label>
          <input id="cc-group" required value={groupId} onChange={(e) => setGroupId(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="cc-teacher">Teacher uid</label>
          <input id="cc-teacher" required value={teacher} onChange={(e) => setTeacher(e.target.value)} />
        </div>
        <label className="chip">
          <input type="checkbox" checked={createGroup} onChange={(e) => setCreateGroup(e.target.checked)} />
          Create the IM group
        </label>
        <button type="submit" className="primary" disabled={m.isPending}>
          Create
        </button>
        <button type="button" onClick={onClose}>
          Cancel
        </button>
      </div>
      {m.error && <ErrorNote error={m.error} />}
    </form>
  );
}

/**
 * "Import bundle": a class bundle file (from `replaydesk export` or another console's
 * export) is read here and posted; the imported class then opens.
 */
function ImportBundle() {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [readError, setReadError] = useState<string | null>(null);
  const m = useMutation({
    mutationFn: (bundle: unknown) => transport().importClass(bundle),
    onSuccess: (c) => {
      void qc.invalidateQueries({ queryKey: ["classes"] });
      void navigate({ to: "/classes/$classId", params: { classId: c.class_id } });
    },
  });
  async function picked(file: File | undefined) {
    setReadError(null);
    m.reset();
    if (!file) return;
    let bundle: unknown;
    try {
      bundle = JSON.parse(await file.text());
    } catch (err) {
      setReadError(`${file.name} is not a class bundle: it is not valid JSON (${err instanceof Error ? err.message : String(err)})`);
      return;
    }
    m.mutate(bundle);
  }
  return (
    <>
      <label className={`button${m.isPending ? " disabled" : ""}`} title="Import a class bundle (replaydesk export) as a read-only record">
        {m.isPending ? "Importing…" : "Import bundle"}
        <input
          type="file"
          accept="application/json,.json"
          data-testid="import-bundle"
          className="visually-hidden"
          disabled={m.isPending}
          onChange={(e) => {
            void picked(e.target.files?.[0]);
            e.target.value = "";
          }}
        />
      </label>
      {(readError || m.error) && (
        <div className="import-error" data-testid="import-error">
          {readError ? <ErrorNote title="Could not import" error={readError} /> : <ErrorNote title="Could not import" error={m.error} />}
        </div>
      )}
    </>
  );
}

/**
 * In a browser against a sandbox server, how to fill it with demo data to look around
 * (`replaydesk demo` talks to the server over HTTP; the token is not repeated here).
 */
function DemoHint() {
  const { state } = useAppInfo();
  if (transport().kind !== "http" || state.status !== "ready" || !state.info.sandbox) return null;
  return (
    <p className="hint" data-testid="demo-hint">
      To look around first, fill this sandbox with demo data (two classes, timeline reports from three clients,
      recording callbacks, some failures):{" "}
      <code className="mono">replaydesk demo --url {window.location.origin} --token &lt;admin token&gt;</code>
    </p>
  );
}

export function ClassesView() {
  const can = useCan();
  const search = useSearch({ strict: false }) as Record<string, string>;
  const navigate = useNavigate();
  const q = search.q ?? "";
  const archive = search.archive ?? "";
  const due = search.due === "1";
  const [creating, setCreating] = useState(false);
  const setSearch = (next: Record<string, string>) => {
    const merged: Record<string, string> = { q, archive, due: due ? "1" : "", ...next };
    const clean = Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== ""));
    void navigate({ to: "/", search: clean, replace: true });
  };
  const classes = useQuery({
    queryKey: ["classes", q, archive, due],
    queryFn: () => {
      const query: ClassQuery = {};
      if (q) query.q = q;
      if (archive) query.archive_state = archive;
      // Deadlines within a day: the archive_deadline alert's window.
      if (due) query.deadline_before = Date.now() + 86_400_000;
      return transport().listClasses(query);
    },
    refetchInterval: 5000,
    placeholderData: (prev) => prev,
  });
  const failed = classes.data?.reduce((n, c) => n + c.counts.failed, 0) ?? 0;
  return (
    <>
      <AlertsBanner failed={q ? 0 : failed} />
      <div className="row spread">
        <h1>Classes</h1>
        <div className="row">
          <label htmlFor="class-search">Search</label>
          <input
            id="class-search"
            type="search"
            placeholder="class, group or teacher"
            value={q}
            onChange={(e) => setSearch({ q: e.target.value })}
          />
          <label htmlFor="class-archive">Archive</label>
          <select id="class-archive" data-testid="archive-filter" value={archive} onChange={(e) => setSearch({ archive: e.target.value })}>
            <option value="">any</option>
            <option value="pending">pending</option>
            <option value="complete">complete</option>
            <option value="partial">partial</option>
            <option value="failed">failed</option>
          </select>
          <label>
            <input type="checkbox" data-testid="deadline-filter" checked={due} onChange={(e) => setSearch({ due: e.target.checked ? "1" : "" })} />{" "}
            deadline within a day
          </label>
          {can("create_class") && (
            <button type="button" className="primary" onClick={() => setCreating(true)} disabled={creating}>
              Create class
            </button>
          )}
          {can("import_class") && <ImportBundle />}
        </div>
      </div>
      {creating && <CreateClassForm onClose={() => setCreating(false)} />}
      {classes.error && <ErrorNote title="Could not load the classes" error={classes.error} onRetry={() => void classes.refetch()} />}
      {classes.isPending && <Loading what="classes" />}
      {classes.data && classes.data.length === 0 && (
        <Empty>
          {q || archive || due
            ? `No class matches${q ? ` "${q}"` : ""}${archive ? ` with its archive ${archive}` : ""}${due ? " with an archive deadline within a day" : ""}.`
            : "No classes yet. Create one above; classroom clients then report to it with its members' credentials."}
        </Empty>
      )}
      {classes.data && classes.data.length === 0 && !q && !archive && !due && <DemoHint />}
      {classes.data && classes.data.length > 0 && (
        <table className="plain" data-testid="classes">
          <thead>
            <tr>
              <th>Class</th>
              <th>Teacher</th>
              <th>Group</th>
              <th>State</th>
              <th>Started</th>
              <th>Ended</th>
              <th className="num">Members</th>
              <th>Messages by status</th>
              <th className="num">Total</th>
              <th>Archive</th>
            </tr>
          </thead>
          <tbody>
            {classes.data.map((c) => (
              <tr key={c.class_id}>
                <td>
                  <Link to="/classes/$classId" params={{ classId: c.class_id }} className="mono">
                    {c.class_id}
                  </Link>{" "}
                  <ImportedBadge importedAt={c.imported_at} />
                </td>
                <td className="mono ident">{c.teacher_uid}</td>
                <td className="mono ident">{c.group_id}</td>
                <td>
                  <StatusBadge status={c.state} />
                </td>
                <td>
                  <Time ms={c.started_at} />
                </td>
                <td>
                  <Time ms={c.ended_at} />
                </td>
                <td className="num">{count(c.members)}</td>
                <td>
                  <Counts counts={c.counts} classId={c.class_id} />
                </td>
                <td className="num">{count(c.counts.total)}</td>
                <td data-testid="class-archive">
                  <StatusBadge status={c.archive_state} />
                  {c.archive_deadline_ms !== null && (
                    <span className={deadlineNear(c, Date.now()) ? "warning" : "hint"}>
                      {" "}
                      expires {untilText(c.archive_deadline_ms, Date.now())}
                    </span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
