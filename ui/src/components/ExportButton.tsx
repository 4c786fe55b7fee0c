// "Export": the class as one bundle file (`GET /v1/admin/classes/{id}/export`, the desktop
// app's `export_class`), saved by the browser as `<class>.replaydesk.json`. The bundle
// holds no secrets (the backend leaves them out).

import { useState } from "react";
import { transport } from "../api/transport";
import { errorText } from "./common";
import "./extras.css";

/** A file name for the class's bundle: the class id is `[A-Za-z0-9_.-]`, safe as it is. */
export function bundleFileName(classId: string): string {
  return `${classId}.replaydesk.json`;
}

export function ExportButton({ classId }: { classId: string }) {
  const [state, setState] = useState<{ busy: boolean; error: string | null }>({ busy: false, error: null });
  const run = async () => {
    setState({ busy: true, error: null });
    try {
      const bundle = await transport().call("export_class", { classId });
      const blob = new Blob([JSON.stringify(bundle)], { type: "application/json" });
      const url = URL.createObjectURL(blob);
      const a = document.createElement("a");
      a.href = url;
      a.download = bundleFileName(classId);
      document.body.appendChild(a);
      a.click();
      a.remove();
      // Revoked after the click has handed the blob to the download.
      window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setState({ busy: false, error: null });
    } catch (err) {
      setState({ busy: false, error: errorText(err).message });
    }
  };
  return (
    <span className="export-button">
      <button
        type="button"
        className="ghost"
        onClick={() => void run()}
        disabled={state.busy}
        data-testid="export-class"
        title="Download this class as one bundle (messages, attempts, history, alignment; no secrets), to import elsewhere"
      >
        {state.busy ? "Exporting…" : "Export"}
      </button>
      {state.error && (
        <span className="hint" role="alert">
          {state.error}
        </span>
      )}
    </span>
  );
}
