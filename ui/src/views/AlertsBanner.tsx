// What needs a person, at the top of the classes page, each linking to where it is fixed:
// the backend's open alerts (credentials refused: sending paused; a class's IM group
// missing, with "Create the group"), callbacks that matched no class, and failed messages.

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { useState, type FormEvent } from "react";
import { transport } from "../api/transport";
import { ErrorNote, Time } from "../components/common";
import { count } from "../lib/format";
import { useCan } from "../api/session";

/** The backend's alert kind for refused credentials (`delivery::CREDENTIALS_ALERT`). */
const CREDENTIALS_ALERT = "im_credentials";
/** A class's IM group is missing (`delivery::GROUP_MISSING_ALERT`); fixed by create_group. */
const GROUP_MISSING_ALERT = "group_missing";
/** Recording callbacks are being refused (`service::CALLBACKS_REFUSED_ALERT`). */
const CALLBACKS_REFUSED_ALERT = "callbacks_refused";
/** A recorder started and produced no file (`service::RECORDING_MISSING_ALERT`); fixed in the class's Recordings view. */
const RECORDING_MISSING_ALERT = "recording_missing";

function SecretKeyForm() {
  const qc = useQueryClient();
  const [key, setKey] = useState("");
  const m = useMutation({
    mutationFn: (secret_key: string) => transport().setSecretKey({ secret_key }),
    onSuccess: () => {
      setKey("");
      void qc.invalidateQueries();
    },
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    if (key.trim()) m.mutate(key.trim());
  }
  return (
    <form className="row" onSubmit={submit}>
      <label htmlFor="secret-key">New IM secret key</label>
      <input id="secret-key" type="password" autoComplete="off" value={key} onChange={(e) => setKey(e.target.value)} />
      <button type="submit" disabled={!key.trim() || m.isPending}>
        Save and resume sending
      </button>
      {m.isSuccess && <span>Saved; sending resumes.</span>}
      {m.error && <ErrorNote error={m.error} />}
    </form>
  );
}

function CreateGroupButton({ classId }: { classId: string }) {
  const qc = useQueryClient();
  const m = useMutation({
    mutationFn: () => transport().createGroup(classId),
    onSuccess: () => void qc.invalidateQueries(),
  });
  return (
    <span className="row">
      <button type="button" onClick={() => m.mutate()} disabled={m.isPending} data-testid="create-group">
        Create the group
      </button>
      {m.data && (
        <span>
          Group {m.data.group_id} {m.data.group_created ? "created" : "exists"}
          {m.data.job ? "; the messages that failed are being sent again." : "."}
        </span>
      )}
      {m.error && <ErrorNote error={m.error} />}
    </span>
  );
}

function alertTitle(kind: string, classId: string | null): string {
  if (kind === CREDENTIALS_ALERT) return "Sending paused: IM credentials refused";
  if (kind === GROUP_MISSING_ALERT) return `Class ${classId ?? "?"}: its IM group does not exist`;
  if (kind === CALLBACKS_REFUSED_ALERT) return "Recording callbacks refused: recordings are being lost";
  if (kind === RECORDING_MISSING_ALERT) return `Class ${classId ?? "?"}: a recording never arrived`;
  return kind;
}

export function AlertsBanner({ failed }: { failed: number }) {
  // A viewer sees no alerts or callbacks (support's views): not asked for at all.
  const can = useCan();
  const alerts = useQuery({
    queryKey: ["alerts"],
    queryFn: () => transport().listAlerts(),
    refetchInterval: 5000,
    enabled: can("list_alerts"),
  });
  const unmatched = useQuery({
    enabled: can("list_callbacks"),
    queryKey: ["callbacks", "unmatched-count"],
    queryFn: () => transport().listCallbacks({ status: ["unmatched"], limit: 100 }),
    refetchInterval: 10000,
  });
  const nUnmatched = unmatched.data?.items.length ?? 0;
  return (
    <section className="alerts" aria-label="Alerts" data-testid="alerts">
      {alerts.error && <ErrorNote title="Could not load the alerts" error={alerts.error} />}
      {alerts.data?.map((a) => (
        <div key={a.id} className="alert bad" role="alert">
          <div className="grow">
            <strong>{alertTitle(a.kind, a.class_id)}</strong> <span>{a.detail}</span> <Time ms={a.raised_at} />
            {a.kind === CREDENTIALS_ALERT && can("set_secret_key") && <SecretKeyForm />}
            {a.kind === GROUP_MISSING_ALERT && a.class_id && can("create_group") && <CreateGroupButton classId={a.class_id} />}
            {a.kind === RECORDING_MISSING_ALERT && a.class_id && (
              <div>
                <Link to="/classes/$classId/recordings" params={{ classId: a.class_id }} data-testid="alert-recordings">
                  Open the class&apos;s recordings (enter the file by hand)
                </Link>
              </div>
            )}
            {a.kind === CALLBACKS_REFUSED_ALERT && (
              <div>
                <Link to="/callbacks" search={{ status: "refused" }}>
                  See the refused callbacks
                </Link>
              </div>
            )}
          </div>
        </div>
      ))}
      {nUnmatched > 0 && (
        <div className="alert">
          <span className="grow">
            {nUnmatched >= 100 ? "100 or more" : count(nUnmatched)} recording callback
            {nUnmatched === 1 ? " matched no class and waits" : "s matched no class and wait"} to be assigned.
          </span>
          <Link to="/callbacks" search={{ status: "unmatched" }}>
            Assign them
          </Link>
        </div>
      )}
      {failed > 0 && (
        <div className="alert bad">
          <span className="grow">
            {count(failed)} message{failed === 1 ? "" : "s"} failed and will not be retried by themselves.
          </span>
          <Link to="/messages" search={{ status: "failed" }}>
            Review and resend
          </Link>
        </div>
      )}
    </section>
  );
}
