// Entering a recording file by hand: the 1004's own fields and units, and a confirmation
// that says what will be sent where before anything is.

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { transport } from "../../api/transport";
import { Time } from "../../components/common";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { Ident } from "../../components/Ident";
import type { EnterRecording } from "../../bindings/EnterRecording";
import { mediaLabel, toRequest, type EntryForm } from "./model";

function Field({
  label,
  hint,
  children,
}: {
  label: string;
  hint?: string;
  children: React.ReactNode;
}) {
  return (
    <label className="field entry-field">
      <span>{label}</span>
      {children}
      {hint && <span className="hint">{hint}</span>}
    </label>
  );
}

/** The seconds typed, as a local time (the 1004 takes unix seconds). */
function SecondsAsTime({ text }: { text: string }) {
  if (!/^\s*\d+\s*$/.test(text)) return null;
  return <Time ms={Number(text) * 1000} />;
}

export function HandEntry({
  classId,
  initial,
  onDone,
  onCancel,
}: {
  classId: string;
  initial: EntryForm;
  onDone: (messageId: number) => void;
  onCancel: () => void;
}) {
  const [f, setF] = useState<EntryForm>(initial);
  const [problem, setProblem] = useState<string | null>(null);
  const [asking, setAsking] = useState<EnterRecording | null>(null);
  const qc = useQueryClient();
  const klass = useQuery({ queryKey: ["class", classId], queryFn: () => transport().getClass(classId) });
  const members = useQuery({ queryKey: ["members", classId], queryFn: () => transport().classMembers(classId) });
  const enter = useMutation({
    mutationFn: (body: EnterRecording) => transport().call("enter_recording", { classId, body }),
    onSuccess: (r) => {
      setAsking(null);
      void qc.invalidateQueries({ queryKey: ["recordings", classId] });
      void qc.invalidateQueries({ queryKey: ["class", classId] });
      onDone(r.message.id);
    },
  });
  const set = (k: keyof EntryForm) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) =>
    setF({ ...f, [k]: e.target.value });
  const review = (e: React.FormEvent) => {
    e.preventDefault();
    const r = toRequest(f);
    if (!r.ok) {
      setProblem(r.problem);
      return;
    }
    setProblem(null);
    enter.reset();
    setAsking(r.body);
  };
  const listId = `members-${classId}`;
  return (
    <form className="card entry-form" onSubmit={review} data-testid="hand-entry">
      <h3>Enter a recording file by hand</h3>
      <p className="hint">
        For a recording the cloud never announced: the fields of the recording message (1004) in its own units. It
        goes through the checks a callback&apos;s file does and becomes the same 1004.
      </p>
      <div className="entry-grid">
        <Field label="uid" hint="the member the video shows">
          <input value={f.uid} onChange={set("uid")} list={listId} maxLength={128} data-testid="entry-uid" required />
          <datalist id={listId}>
            {members.data?.map((m) => <option key={m.uid} value={m.uid} />)}
          </datalist>
        </Field>
        <Field label="type">
          <select value={f.media} onChange={set("media")} data-testid="entry-type">
            <option value="main">main (camera)</option>
            <option value="aux">aux (screen share)</option>
            <option value="">not given</option>
          </select>
        </Field>
        <Field label="video_id" hint="the file's id (VOD FileId)">
          <input value={f.video_id} onChange={set("video_id")} maxLength={256} data-testid="entry-video-id" required />
        </Field>
        <Field label="video_url" hint="http:// or https://">
          <input value={f.video_url} onChange={set("video_url")} type="url" data-testid="entry-video-url" required />
        </Field>
        <Field label="start_time (unix s)">
          <input value={f.start_time} onChange={set("start_time")} inputMode="numeric" data-testid="entry-start" required />
          <SecondsAsTime text={f.start_time} />
        </Field>
        <Field label="end_time (unix s)">
          <input value={f.end_time} onChange={set("end_time")} inputMode="numeric" data-testid="entry-end" required />
          <SecondsAsTime text={f.end_time} />
        </Field>
        <Field label="duration (s)" hint="empty: end − start">
          <input value={f.duration} onChange={set("duration")} inputMode="numeric" data-testid="entry-duration" />
        </Field>
        <Field label="file_size (bytes)" hint="empty: 0">
          <input value={f.file_size} onChange={set("file_size")} inputMode="numeric" data-testid="entry-size" />
        </Field>
        <Field label="task_id" hint="the recorder it stands for (from the alert)">
          <input value={f.task_id} onChange={set("task_id")} maxLength={256} data-testid="entry-task" />
        </Field>
      </div>
      {problem && (
        <p className="card card-error" role="alert" data-testid="entry-problem">
          {problem}
        </p>
      )}
      <div className="row">
        <button type="submit" className="primary" data-testid="entry-review">
          Review and send…
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
      {asking && (
        <ConfirmDialog
          title="Send a recording message"
          confirmLabel="Send the 1004"
          onConfirm={() => enter.mutate(asking)}
          onCancel={() => setAsking(null)}
          busy={enter.isPending}
          error={enter.error}
          testId="entry-confirm"
        >
          <p>
            Send a recording message (1004) for <Ident value={asking.uid} /> to the IM group{" "}
            {klass.data ? <Ident value={klass.data.group_id} /> : "of the class"} of class <Ident value={classId} />:
            video <Ident value={asking.video_id} /> ({mediaLabel(asking.type ?? null)}), from{" "}
            <Time ms={asking.start_time * 1000} /> to <Time ms={asking.end_time * 1000} />
            {" "}({asking.duration ?? asking.end_time - asking.start_time} s), playing at
          </p>
          <p className="mono" style={{ overflowWrap: "anywhere" }}>
            {asking.video_url}
          </p>
          <p>
            It is sent like any other message and cannot be taken back; a replay then shows this video. It is kept in
            the recorder life as entered by hand and in the audit log
            {asking.task_id ? (
              <>
                , and clears the missing-recording alert of task <Ident value={asking.task_id} />
              </>
            ) : (
              <>, and clears the member&apos;s missing-recording alerts</>
            )}
            .
          </p>
        </ConfirmDialog>
      )}
    </form>
  );
}
