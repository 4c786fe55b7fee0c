// Small pieces every view uses. Everything stored is rendered as React text children,
// never as HTML: markup in a uid or a URL shows as the characters it is.

import type { ReactNode } from "react";
import type { MessageStatus } from "../bindings/MessageStatus";
import { TransportError, describe } from "../api/transport";
import { isoUtc, localTime, rawTime } from "../format/time";

/** A time in local time; the raw stored value on hover. */
export function Time({ ms }: { ms: number | null | undefined }) {
  return (
    <time className="mono nowrap" title={rawTime(ms)} dateTime={ms ? isoUtc(ms) : undefined}>
      {localTime(ms)}
    </time>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`status status-${status}`}>{status}</span>;
}

/** Marks a class imported from a bundle: a read-only record of another ReplayDesk's work. */
export function ImportedBadge({ importedAt }: { importedAt: number | null | undefined }) {
  if (importedAt === null || importedAt === undefined) return null;
  return (
    <span
      className="status status-imported"
      data-testid="imported-badge"
      title={`Imported from a bundle on ${localTime(importedAt)}: a read-only record, never delivered, resent or reconciled here`}
    >
      imported
    </span>
  );
}

export function statusClass(s: MessageStatus): string {
  return `status status-${s}`;
}

/** A readable message for any error from either door. */
export function errorText(err: unknown): { message: string; detail: string | null } {
  if (err instanceof TransportError) return { message: err.message, detail: err.detail };
  return { message: describe(err), detail: null };
}

export function ErrorNote({ error, onRetry, title }: { error: unknown; onRetry?: () => void; title?: string }) {
  const { message, detail } = errorText(error);
  return (
    <div className="card card-error" role="alert">
      {title && <h3>{title}</h3>}
      <p>{message}</p>
      {detail && <p className="hint mono">{detail}</p>}
      {onRetry && (
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

export function ProgressBar({ done, failed, total, label }: { done: number; failed: number; total: number; label: string }) {
  const pDone = total > 0 ? (done / total) * 100 : 0;
  const pFailed = total > 0 ? (failed / total) * 100 : 0;
  return (
    <div
      className="progress"
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={total}
      aria-valuenow={done + failed}
      aria-valuetext={`${done} done, ${failed} failed of ${total}`}
    >
      <span className="progress-done" style={{ width: `${pDone}%` }} />
      <span className="progress-failed" style={{ width: `${pFailed}%` }} />
    </div>
  );
}
