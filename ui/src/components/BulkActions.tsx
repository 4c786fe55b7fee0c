// The message log's bulk actions: resend everything matching the filter (counted first,
// then confirmed with that count) and recover everything failed since a time.

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import type { Job } from "../bindings/Job";
import { transport } from "../api/transport";
import { describeFilters, filtersToResend, isEmpty, localInputToMs, type Filters } from "../lib/filters";
import { localTime } from "../format/time";
import { count } from "../lib/format";
import { ErrorNote } from "./common";

/** The server states the count a bulk resend would take (and refuses one not confirmed
 * with that count). */
async function countMatching(f: Filters, classId: string | null): Promise<number> {
  const preview = await transport().previewResend(filtersToResend(f, classId));
  return preview.count;
}

type Confirm = { phase: "counting"; n: number } | { phase: "ready"; n: number } | { phase: "error"; error: unknown };

/** "Recover failed since": counted by the backend's preview, then confirmed with that count. */
type RecoverAsk = { phase: "counting"; since_ms: number } | { phase: "ready"; since_ms: number; n: number } | { phase: "error"; error: unknown };

export function BulkActions({ f, classId, onJob }: { f: Filters; classId: string | null; onJob: (j: Job) => void }) {
  const qc = useQueryClient();
  const [confirm, setConfirm] = useState<Confirm | null>(null);
  const [since, setSince] = useState("");
  const bulk = useMutation({
    mutationFn: (n: number) => transport().bulkResend({ ...filtersToResend(f, classId), confirm_count: n }),
    onSuccess: (job) => {
      setConfirm(null);
      onJob(job);
      void qc.invalidateQueries({ queryKey: ["jobs"] });
    },
  });
  const [recoverAsk, setRecoverAsk] = useState<RecoverAsk | null>(null);
  const recover = useMutation({
    mutationFn: (v: { since_ms: number; n: number }) =>
      transport().recover({ since_ms: v.since_ms, confirm_count: v.n, ...(classId ? { class_id: classId } : {}) }),
    onSuccess: (job) => {
      setRecoverAsk(null);
      onJob(job);
      void qc.invalidateQueries({ queryKey: ["jobs"] });
    },
  });
  async function askRecover(since_ms: number) {
    recover.reset();
    setRecoverAsk({ phase: "counting", since_ms });
    try {
      const p = await transport().previewRecover(classId ? { since_ms, class_id: classId } : { since_ms });
      setRecoverAsk({ phase: "ready", since_ms, n: p.count });
    } catch (error) {
      setRecoverAsk({ phase: "error", error });
    }
  }
  const recoverReady = recoverAsk?.phase === "ready";
  const recoverButton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (recoverReady) recoverButton.current?.focus();
  }, [recoverReady]);
  const recoverOpen = recoverAsk !== null;
  useEffect(() => {
    if (!recoverOpen) return;
    const onKey = (e: globalThis.KeyboardEvent) => {
      if (e.key === "Escape") setRecoverAsk(null);
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [recoverOpen]);
  async function ask() {
    setConfirm({ phase: "counting", n: 0 });
    try {
      const n = await countMatching(f, classId);
      setConfirm({ phase: "ready", n });
    } catch (error) {
      setConfirm({ phase: "error", error });
    }
  }
  // Once counted, the focus goes to the resend button (Enter confirms, Escape cancels).
  const confirmButton = useRef<HTMLButtonElement>(null);
  const ready = confirm?.phase === "ready";
  useEffect(() => {
    if (ready) confirmButton.current?.focus();
  }, [ready]);
  // Escape closes the confirmation wherever the focus is.
  const open = confirm !== null;
  useEffect(() => {
    if (!open) return;
    const onKey = (e: globalThis.KeyboardEvent) => {
      if (e.key === "Escape") setConfirm(null);
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [open]);
  const empty = isEmpty(f) && !classId;
  const sinceMs = localInputToMs(since);
  return (
    <div className="row">
      <button
        type="button"
        onClick={() => void ask()}
        disabled={empty}
        title={empty ? "Narrow the filter first (e.g. status failed)" : "Resend every message this filter matches, not only the loaded rows"}
        data-testid="bulk-resend"
      >
        Resend all matching…
      </button>
      <label htmlFor="recover-since">Failed since</label>
      <input id="recover-since" type="datetime-local" value={since} onChange={(e) => setSince(e.target.value)} />
      <button
        type="button"
        disabled={sinceMs === null || recover.isPending || recoverOpen}
        onClick={() => sinceMs !== null && void askRecover(sinceMs)}
        data-testid="recover"
        title="Counts the failed messages first, then asks"
      >
        Recover failed since…
      </button>
      {recoverAsk && (
        <div className="modal-backdrop" role="presentation">
          <div className="modal" role="dialog" aria-modal="true" aria-labelledby="recover-title" data-testid="recover-dialog">
            <h2 id="recover-title">Recover failed messages</h2>
            {recoverAsk.phase === "counting" && <p aria-live="polite">Counting the failed messages…</p>}
            {recoverAsk.phase === "error" && <ErrorNote error={recoverAsk.error} />}
            {recoverAsk.phase === "ready" && (
              <p data-testid="recover-text">
                {recoverAsk.n === 0
                  ? `No message ${classId ? `of class ${classId} ` : ""}failed since ${localTime(recoverAsk.since_ms)}.`
                  : `Send again ${count(recoverAsk.n)} message${recoverAsk.n === 1 ? "" : "s"} ${classId ? `of class ${classId} ` : "of every class "}that failed since ${localTime(recoverAsk.since_ms)}? They go to their groups as a background job.`}
              </p>
            )}
            {recover.error && <ErrorNote error={recover.error} />}
            <div className="row">
              <button
                type="button"
                className="primary"
                ref={recoverButton}
                disabled={recoverAsk.phase !== "ready" || recoverAsk.n === 0 || recover.isPending}
                onClick={() => recoverAsk.phase === "ready" && recover.mutate({ since_ms: recoverAsk.since_ms, n: recoverAsk.n })}
                data-testid="confirm-recover"
              >
                {recoverAsk.phase === "ready" ? `Recover ${count(recoverAsk.n)}` : "Recover"}
              </button>
              <button type="button" onClick={() => setRecoverAsk(null)} autoFocus={recoverAsk.phase !== "ready"}>
                Cancel
              </button>
            </div>
          </div>
        </div>
      )}
      {confirm && (
        <div className="modal-backdrop" role="presentation">
          <div className="modal" role="dialog" aria-modal="true" aria-labelledby="confirm-title" data-testid="confirm-dialog">
            <h2 id="confirm-title">Resend messages</h2>
            {confirm.phase === "counting" && <p aria-live="polite">Counting the matching messages… {count(confirm.n)} so far</p>}
            {confirm.phase === "error" && <ErrorNote error={confirm.error} />}
            {confirm.phase === "ready" && (
              <p data-testid="confirm-text">
                {confirm.n === 0
                  ? `No message matches ${describeFilters(f, classId)}.`
                  : `Resend ${count(confirm.n)} message${confirm.n === 1 ? "" : "s"} matching ${describeFilters(f, classId)}?`}
              </p>
            )}
            {bulk.error && <ErrorNote error={bulk.error} />}
            <div className="row">
              <button
                type="button"
                className="primary"
                ref={confirmButton}
                disabled={confirm.phase !== "ready" || confirm.n === 0 || bulk.isPending}
                onClick={() => confirm.phase === "ready" && bulk.mutate(confirm.n)}
                data-testid="confirm-resend"
              >
                {confirm.phase === "ready" ? `Resend ${count(confirm.n)}` : "Resend"}
              </button>
              <button type="button" onClick={() => setConfirm(null)} autoFocus={confirm.phase !== "ready"}>
                Cancel
              </button>
            </div>
          </div>
        </div>
      )}
    </div>
  );
}
