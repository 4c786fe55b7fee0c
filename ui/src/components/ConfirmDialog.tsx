// A confirmation for an action that cannot be undone: it says what will happen and waits
// for a yes. Escape or Cancel closes it; the focus starts on Cancel, so Enter alone never
// confirms a destructive action.

import { useEffect, useRef, type ReactNode } from "react";
import { ErrorNote } from "./common";

export function ConfirmDialog({
  title,
  children,
  confirmLabel,
  onConfirm,
  onCancel,
  busy = false,
  error,
  disabled = false,
  testId = "confirm-dialog",
}: {
  title: string;
  children: ReactNode;
  confirmLabel: string;
  onConfirm: () => void;
  onCancel: () => void;
  busy?: boolean;
  error?: unknown;
  disabled?: boolean;
  testId?: string;
}) {
  const cancel = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    cancel.current?.focus();
    const onKey = (e: globalThis.KeyboardEvent) => {
      if (e.key === "Escape") onCancel();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [onCancel]);
  return (
    <div className="modal-backdrop" role="presentation">
      <div className="modal" role="dialog" aria-modal="true" aria-labelledby={`${testId}-title`} data-testid={testId}>
        <h2 id={`${testId}-title`}>{title}</h2>
        <div data-testid="confirm-text">{children}</div>
        {error != null && <ErrorNote error={error} />}
        <div className="row">
          <button type="button" className="primary" disabled={busy || disabled} onClick={onConfirm} data-testid="confirm-yes">
            {busy ? "Working…" : confirmLabel}
          </button>
          <button type="button" ref={cancel} onClick={onCancel} data-testid="confirm-cancel">
            Cancel
          </button>
        </div>
      </div>
    </div>
  );
}
