// A class's recordings: per member each recorder's life (started, slices, files, stopped,
// errors) from TRTC cloud recording, the live-streaming cloud (CSS) or entered by hand,
// the 1004 each file became, the recorders that never produced a file, and the form to
// enter one by hand.

import { useQuery } from "@tanstack/react-query";
import { Link, useParams } from "@tanstack/react-router";
import { useState } from "react";
import { useCan } from "../../api/session";
import { transport } from "../../api/transport";
import { Empty, ErrorNote, Loading, StatusBadge, Time } from "../../components/common";
import { Ident } from "../../components/Ident";
import type { ClassRecordings } from "../../bindings/ClassRecordings";
import type { Recorder } from "../../bindings/Recorder";
import type { RecorderEvent } from "../../bindings/RecorderEvent";
import { duration, isoUtc, rawTime, shortTime } from "../../format/time";
import { ClassHeader } from "../ClassView";
import { HandEntry } from "./HandEntry";
import { byMember, EMPTY_FORM, formFor, mediaLabel, missing, sourceLabel, stageLabel, type EntryForm } from "./model";

function MessageLink({ classId, id }: { classId: string; id: number }) {
  return (
    <Link to="/classes/$classId" params={{ classId }} search={{ msg: String(id) }} data-testid="recording-1004">
      1004 #{id}
    </Link>
  );
}

/** A short local time for the life's cells (a recorder's life spans one class); the raw value on hover. */
function ShortTime({ ms }: { ms: number | null }) {
  return (
    <time className="mono nowrap" title={rawTime(ms)} dateTime={ms ? isoUtc(ms) : undefined}>
      {shortTime(ms)}
    </time>
  );
}

function EventRow({ classId, e, view }: { classId: string; e: RecorderEvent; view: ClassRecordings }) {
  const m = e.message_id === null ? undefined : view.messages[String(e.message_id)];
  return (
    <tr data-testid="recorder-event" data-stage={e.stage}>
      <td>
        <ShortTime ms={e.event_at ?? e.received_at} />
      </td>
      <td>
        <span className={`stage stage-${e.stage}`}>{stageLabel(e.stage)}</span>
      </td>
      <td className="mono nowrap">
        {e.event_type > 0 ? `${e.event_type} ` : ""}
        {e.event_name}
      </td>
      <td className="wide">
        {e.file_start_ms !== null && (
          <span className="nowrap">
            <ShortTime ms={e.file_start_ms} /> – <ShortTime ms={e.file_end_ms} />
          </span>
        )}
        {e.detail && <div className="hint cut">{e.detail}</div>}
      </td>
      <td className="nowrap">
        <StatusBadge status={e.status} />
      </td>
      <td className="nowrap">
        {e.message_id !== null && <MessageLink classId={classId} id={e.message_id} />}
        {m && (
          <>
            {" "}
            <StatusBadge status={m.status} />
          </>
        )}
        {e.callback_id !== null && <div className="hint">callback {e.callback_id}</div>}
      </td>
    </tr>
  );
}

function RecorderCard({
  classId,
  r,
  view,
  onEnter,
}: {
  classId: string;
  r: Recorder;
  view: ClassRecordings;
  /** Absent when the person may not enter files (their role). */
  onEnter?: (r: Recorder) => void;
}) {
  const files = r.ready.filter((e) => e.message_id !== null).length;
  return (
    <section className={`card recorder recorder-${r.media ?? "none"}`} data-testid="recorder" data-source={r.source} data-media={r.media ?? ""}>
      <div className="row spread recorder-head">
        <div>
          <span className={`source source-${r.source}`}>{sourceLabel(r.source)}</span>{" "}
          <span className={`media media-${r.media ?? "none"}`}>{mediaLabel(r.media)}</span>{" "}
          <span className="hint">
            task <Ident value={r.task_id} />
          </span>
        </div>
        <div className="hint">
          started <Time ms={r.started} /> · stopped <Time ms={r.stopped} />
          {r.started !== null && r.stopped !== null && <> ({duration(r.stopped - r.started)})</>} · {r.slices} slice
          {r.slices === 1 ? "" : "s"} · {files} file{files === 1 ? "" : "s"} with a 1004
          {r.errors.length > 0 && <> · {r.errors.length} error{r.errors.length === 1 ? "" : "s"}</>}
        </div>
      </div>
      {r.missing && (
        <div className={`alert${r.missing.due ? " bad" : ""}`} data-testid="recorder-missing">
          <span className="grow">
            {r.missing.due ? "No file: " : "No file yet (not due): "}
            {r.missing.detail}
          </span>
          {onEnter && (
            <button type="button" onClick={() => onEnter(r)} data-testid="enter-for-recorder">
              Enter the file by hand…
            </button>
          )}
        </div>
      )}
      <div className="table-frame">
        <table className="plain life">
          <thead>
            <tr>
              <th>When</th>
              <th>Stage</th>
              <th>Event</th>
              <th>File</th>
              <th>Outcome</th>
              <th>1004</th>
            </tr>
          </thead>
          <tbody>
            {r.events.map((e) => (
              <EventRow key={e.id} classId={classId} e={e} view={view} />
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

export function RecordingsView() {
  const { classId } = useParams({ strict: false }) as { classId: string };
  const q = useQuery({
    queryKey: ["recordings", classId],
    queryFn: () => transport().call("class_recordings", { classId }),
    refetchInterval: 5000,
  });
  // Entering a file sends a 1004: only for a role that may (the server refuses it anyway).
  const mayEnter = useCan()("enter_recording");
  const [form, setForm] = useState<EntryForm | null>(null);
  const [entered, setEntered] = useState<number | null>(null);
  const open = (f: EntryForm) => {
    setEntered(null);
    setForm(f);
    window.scrollTo({ top: 0 });
  };
  const view = q.data;
  const gone = view ? missing(view) : [];
  return (
    <>
      <ClassHeader classId={classId} tab="recordings" />
      <div className="row spread">
        <p className="hint grow" style={{ maxWidth: 720 }}>
          Each recorder of the class — TRTC cloud recording, the live-streaming cloud (CSS), or a file entered by hand —
          with its life and the recording message (1004) each file became.
          {view && (
            <>
              {" "}
              A recorder that started and has no file {duration(view.missing_after_ms)} after it stopped, or after the
              class ended, raises a missing-recording alert.
            </>
          )}
        </p>
        {!form && mayEnter && (
          <button type="button" onClick={() => open(EMPTY_FORM)} data-testid="enter-recording">
            Enter a file by hand…
          </button>
        )}
      </div>
      {entered !== null && (
        <p className="card" data-testid="entered-note">
          Entered: <MessageLink classId={classId} id={entered} /> is on its way to the group.
        </p>
      )}
      {form && (
        <HandEntry
          key={JSON.stringify(form)}
          classId={classId}
          initial={form}
          onCancel={() => setForm(null)}
          onDone={(id) => {
            setForm(null);
            setEntered(id);
          }}
        />
      )}
      {q.error && <ErrorNote error={q.error} onRetry={() => void q.refetch()} />}
      {q.isPending && <Loading what="recordings" />}
      {view && gone.length > 0 && (
        <div className="alerts" data-testid="missing-recordings">
          {gone.map((r) => (
            <div key={`${r.source}|${r.task_id}|${r.uid}|${r.media}`} className={`alert${r.missing?.due ? " bad" : ""}`}>
              <span className="grow">
                {r.missing?.due ? (r.missing.alert_id !== null ? `Alert ${r.missing.alert_id}: ` : "") : "Not due yet: "}
                {r.missing?.detail}
              </span>
              {mayEnter && (
                <button type="button" onClick={() => open(formFor(r))}>
                  Enter the file…
                </button>
              )}
            </div>
          ))}
        </div>
      )}
      {view && view.recorders.length === 0 && <Empty>No recording event for this class yet.</Empty>}
      {view &&
        byMember(view).map((m) => (
          <section key={m.uid ?? ""} className="member-recordings" data-testid="member-recordings">
            <h2>
              {m.uid === null ? "No member named" : <Ident value={m.uid} />}
              {m.recorders.every((r) => r.source === "trtc" && r.media === null) && (
                <span className="hint" style={{ fontWeight: "normal", fontSize: "0.9rem" }}>
                  {" "}
                  — the TRTC task&apos;s own user: no file of the task has named a member yet
                </span>
              )}
            </h2>
            {m.recorders.map((r) => (
              <RecorderCard
                key={`${r.source}|${r.task_id}|${r.media}`}
                classId={classId}
                r={r}
                view={view}
                onEnter={mayEnter ? (x) => open(formFor(x)) : undefined}
              />
            ))}
          </section>
        ))}
    </>
  );
}
