// Settings: where messages go (IM host, SDKAppID, admin account, secret key), the
// recording callback's key, rate limits and the listen address. Secrets are write-only:
// the form says whether one is set and takes a new one, and never shows it.

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useSearch } from "@tanstack/react-router";
import { useState, type FormEvent } from "react";
import { desktop } from "../../api/desktop";
import type { Settings } from "../../bindings/Settings";
import type { SettingsUpdate } from "../../bindings/SettingsUpdate";
import { ErrorNote, Loading } from "../../components/common";
import "../desktop.css";

const SANDBOX = "";
const CUSTOM = "custom";

function SettingsForm({ current, suggestedListen }: { current: Settings; suggestedListen: string | null }) {
  const qc = useQueryClient();
  const known = current.regional_hosts.some((h) => h.endpoint === current.im_endpoint);
  const [host, setHost] = useState(current.im_endpoint === null ? SANDBOX : known ? current.im_endpoint : CUSTOM);
  const [custom, setCustom] = useState(known ? "" : (current.im_endpoint ?? ""));
  const [sdkappid, setSdkappid] = useState(current.sdkappid === null ? "" : String(current.sdkappid));
  const [admin, setAdmin] = useState(current.im_admin);
  const [secretKey, setSecretKey] = useState("");
  const [clearSecret, setClearSecret] = useState(false);
  const [callbackKey, setCallbackKey] = useState("");
  const [appRate, setAppRate] = useState(String(current.app_rate));
  const [groupRate, setGroupRate] = useState(String(current.group_rate));
  const [listen, setListen] = useState(suggestedListen ?? current.listen);
  const [saved, setSaved] = useState(false);

  const save = useMutation({
    mutationFn: (body: SettingsUpdate) => desktop.saveSettings(body),
    onSuccess: (s) => {
      qc.setQueryData(["settings"], s);
      setSecretKey("");
      setCallbackKey("");
      setClearSecret(false);
      setSaved(true);
    },
  });
  const restart = useMutation({ mutationFn: () => desktop.restartApp() });

  function submit(e: FormEvent) {
    e.preventDefault();
    setSaved(false);
    const endpoint = host === CUSTOM ? custom.trim() : host;
    const num = (v: string) => (v.trim() === "" ? null : Number(v));
    save.mutate({
      im_endpoint: endpoint,
      sdkappid: num(sdkappid),
      im_admin: admin,
      secret_key: clearSecret ? "" : secretKey === "" ? null : secretKey,
      callback_key: callbackKey === "" ? null : callbackKey,
      app_rate: num(appRate),
      group_rate: num(groupRate),
      listen,
    });
  }

  const sandbox = host === SANDBOX;
  return (
    <form className="card" onSubmit={submit} aria-labelledby="settings-title" data-testid="settings-form">
      <h2 id="settings-title">IM service</h2>
      <div className="settings-grid">
        <label htmlFor="s-host">IM host</label>
        <select id="s-host" value={host} onChange={(e) => setHost(e.target.value)} data-testid="s-host">
          <option value={SANDBOX}>Sandbox (built-in emulator; nothing leaves this computer)</option>
          {current.regional_hosts.map((h) => (
            <option key={h.endpoint} value={h.endpoint}>
              {h.region} — {h.endpoint}
            </option>
          ))}
          <option value={CUSTOM}>Other address…</option>
        </select>
        {host === CUSTOM && (
          <>
            <label htmlFor="s-custom">Other IM address</label>
            <input id="s-custom" value={custom} placeholder="https://…" onChange={(e) => setCustom(e.target.value)} />
          </>
        )}
        <label htmlFor="s-sdkappid">SDKAppID</label>
        <input
          id="s-sdkappid"
          inputMode="numeric"
          value={sdkappid}
          disabled={sandbox}
          onChange={(e) => setSdkappid(e.target.value)}
          data-testid="s-sdkappid"
        />
        <label htmlFor="s-admin">Admin account</label>
        <input id="s-admin" value={admin} onChange={(e) => setAdmin(e.target.value)} data-testid="s-admin" />
        <label htmlFor="s-secret">Secret key</label>
        <input
          id="s-secret"
          type="password"
          autoComplete="off"
          value={secretKey}
          disabled={clearSecret}
          placeholder={current.secret_key_set ? "set — type a new one to replace it" : "not set"}
          onChange={(e) => setSecretKey(e.target.value)}
          data-testid="s-secret"
        />
        <p className="hint">
          <span data-testid="s-secret-state">{current.secret_key_set ? "A secret key is set." : "No secret key is set."}</span>{" "}
          Kept in {current.secrets_kept_in}; never shown again.{" "}
          {current.secret_key_set && (
            <label>
              <input type="checkbox" checked={clearSecret} onChange={(e) => setClearSecret(e.target.checked)} /> remove it
            </label>
          )}
        </p>
      </div>

      <h2 className="settings-section">Recording callback</h2>
      <div className="settings-grid">
        <label htmlFor="s-callback">Callback key</label>
        <input
          id="s-callback"
          type="password"
          autoComplete="off"
          value={callbackKey}
          placeholder={current.callback_key_set ? "set — type a new one to replace it" : "not set"}
          onChange={(e) => setCallbackKey(e.target.value)}
          data-testid="s-callback"
        />
        {!current.callback_key_set && (
          <p className="settings-warning" role="status" data-testid="s-callback-warning">
            ⚠ No callback key is set: the streaming cloud&apos;s recording callbacks cannot be verified, so every one is
            refused and no recording reaches its class. Enter the key configured for the callbacks in the cloud&apos;s
            console.
          </p>
        )}
      </div>

      <h2 className="settings-section">Sending and listening</h2>
      <div className="settings-grid">
        <label htmlFor="s-app-rate">Requests per second (whole app; 0 = no limit)</label>
        <input id="s-app-rate" inputMode="decimal" value={appRate} onChange={(e) => setAppRate(e.target.value)} />
        <label htmlFor="s-group-rate">Messages per second per class group (0 = no limit)</label>
        <input id="s-group-rate" inputMode="decimal" value={groupRate} onChange={(e) => setGroupRate(e.target.value)} />
        <label htmlFor="s-listen">Listen address</label>
        <input id="s-listen" value={listen} onChange={(e) => setListen(e.target.value)} data-testid="s-listen" />
        <p className="hint">
          {current.listening_on && current.listening_on !== current.listen && (
            <strong data-testid="s-listening-on">
              Listening now on {current.listening_on} (set by REPLAYDESK_LISTEN, which beats this setting).{" "}
            </strong>
          )}
          127.0.0.1:PORT keeps ReplayDesk on this computer. Students&apos; clients on other computers need this computer&apos;s
          network address (e.g. 0.0.0.0:PORT).
        </p>
        {suggestedListen && suggestedListen !== current.listen && (
          <p className="settings-warning" role="status" data-testid="s-listen-suggested">
            Filled in from the Host page: {suggestedListen} lets students&apos; devices on the network reach ReplayDesk
            (so can anyone else on that network). Save, then Restart now.
          </p>
        )}
        {current.listen_warning && (
          <p className="settings-warning" role="alert" data-testid="s-listen-warning">
            ⚠ {current.listen_warning}
          </p>
        )}
      </div>

      <div className="row" style={{ marginTop: 16 }}>
        <button type="submit" className="primary" disabled={save.isPending} data-testid="s-save">
          Save
        </button>
        <span className="hint mono">{current.config_file}</span>
      </div>
      {save.error && <ErrorNote error={save.error} />}
      {saved && (
        <p className="settings-saved" role="status" data-testid="s-saved">
          Saved. The new settings apply when ReplayDesk restarts.{" "}
          <button type="button" onClick={() => restart.mutate()} disabled={restart.isPending}>
            Restart now
          </button>
        </p>
      )}
      {restart.error && <ErrorNote error={restart.error} />}
    </form>
  );
}

export function SettingsView() {
  const settings = useQuery({ queryKey: ["settings"], queryFn: () => desktop.getSettings() });
  // The Host page's "Listen on the network…" comes with the address to fill in.
  const search = useSearch({ strict: false }) as Record<string, string>;
  const suggestedListen = search.listen?.trim() ? search.listen.trim() : null;
  return (
    <>
      <h1>Settings</h1>
      <p className="lead">Where messages go and how this computer is reached. Secrets are write-only.</p>
      {settings.error && <ErrorNote error={settings.error} onRetry={() => void settings.refetch()} />}
      {settings.isPending && <Loading what="settings" />}
      {settings.data && <SettingsForm current={settings.data} suggestedListen={suggestedListen} />}
    </>
  );
}
