// People and their API tokens (admins only; the server refuses everyone else). A setup
// code or a token is shown once, right after it is made, and never again: the server
// keeps only its hash.

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useMe } from "../../api/session";
import { transport } from "../../api/transport";
import type { Role } from "../../bindings/Role";
import type { TokenInfo } from "../../bindings/TokenInfo";
import type { UserInfo } from "../../bindings/UserInfo";
import { Empty, ErrorNote, Loading, Time } from "../../components/common";
import { CopyButton } from "../../components/CopyButton";

const ROLES: Role[] = ["admin", "support", "viewer"];

const ROLE_WORDS: Record<Role, string> = {
  admin: "everything",
  support: "every view, alignment, reconcile, export; no resend, jobs, class changes, credentials, keys or people",
  viewer: "classes, messages and alignment",
};

/** A secret shown once: the setup code or token just made. */
function ShownOnce({ title, value, note, onDone }: { title: string; value: string; note: string; onDone: () => void }) {
  return (
    <div className="card" role="status" data-testid="shown-once">
      <strong>{title}</strong>
      <p className="hint">{note}</p>
      <code className="mono" data-testid="secret-value" style={{ wordBreak: "break-all" }}>
        {value}
      </code>
      <div className="row">
        <CopyButton value={value} label="Copy" testId="copy-secret" />
        <button type="button" onClick={onDone}>
          Done
        </button>
      </div>
    </div>
  );
}

function state(u: UserInfo): string {
  if (u.disabled_at !== null) return "disabled";
  if (u.password_set) return "active";
  return "awaiting setup";
}

function AddUserForm({ onMade }: { onMade: (name: string, code: string) => void }) {
  const qc = useQueryClient();
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("support");
  const add = useMutation({
    mutationFn: () => transport().call("add_user", { body: { name: name.trim(), role } }),
    onSuccess: (made) => {
      setName("");
      onMade(made.user.name, made.setup_code);
      void qc.invalidateQueries({ queryKey: ["users"] });
    },
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    add.mutate();
  }
  return (
    <form className="row" onSubmit={submit} aria-label="Add a person">
      <label htmlFor="new-user">Name</label>
      <input id="new-user" value={name} maxLength={64} onChange={(e) => setName(e.target.value)} />
      <label htmlFor="new-role">Role</label>
      <select id="new-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
        {ROLES.map((r) => (
          <option key={r} value={r}>
            {r}
          </option>
        ))}
      </select>
      <button type="submit" className="primary" disabled={!name.trim() || add.isPending}>
        Add person
      </button>
      {add.error && <ErrorNote error={add.error} />}
    </form>
  );
}

function UserRow({ u, onCode }: { u: UserInfo; onCode: (name: string, code: string) => void }) {
  const qc = useQueryClient();
  // Not offered on one's own row: an admin locking themself out (the CLI can still).
  const me = useMe();
  const self = me?.name === u.name;
  const refresh = () => void qc.invalidateQueries({ queryKey: ["users"] });
  const setRole = useMutation({
    mutationFn: (role: Role) => transport().call("set_user_role", { user: u.name, body: { role } }),
    onSuccess: refresh,
  });
  const disable = useMutation({ mutationFn: () => transport().call("disable_user", { user: u.name }), onSuccess: refresh });
  const reset = useMutation({
    mutationFn: () => transport().call("reset_user_password", { user: u.name }),
    onSuccess: (made) => {
      onCode(made.user.name, made.setup_code);
      refresh();
    },
  });
  const error = setRole.error ?? disable.error ?? reset.error;
  return (
    <tr data-testid={`user-${u.name}`}>
      <td className="mono">{u.name}</td>
      <td>
        <select
          aria-label={`Role of ${u.name}`}
          value={u.role}
          disabled={setRole.isPending}
          onChange={(e) => setRole.mutate(e.target.value as Role)}
          title={ROLE_WORDS[u.role]}
        >
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </td>
      <td>{state(u)}</td>
      <td>
        <Time ms={u.created_at} />
      </td>
      <td className="row">
        <button
          type="button"
          onClick={() => {
            if (window.confirm(`Reset ${u.name}'s password? Their password and sessions end; they set a new one with a setup code.`)) reset.mutate();
          }}
        >
          Reset password…
        </button>
        {u.disabled_at === null && !self && (
          <button
            type="button"
            className="danger"
            onClick={() => {
              if (window.confirm(`Disable ${u.name}? They are signed out everywhere and their API tokens stop working.`)) disable.mutate();
            }}
          >
            Disable…
          </button>
        )}
        {error && <ErrorNote error={error} />}
      </td>
    </tr>
  );
}

function TokenRow({ t }: { t: TokenInfo }) {
  const qc = useQueryClient();
  const revoke = useMutation({
    mutationFn: () => transport().call("revoke_token", { id: t.id }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ["tokens"] }),
  });
  return (
    <tr>
      <td className="mono">{t.user}</td>
      <td className="mono">{t.name}</td>
      <td>{t.role}</td>
      <td>{t.expires_at === null ? "never" : <Time ms={t.expires_at} />}</td>
      <td>{t.last_used_at === null ? "never" : <Time ms={t.last_used_at} />}</td>
      <td>
        {t.revoked_at !== null ? (
          <>
            revoked <Time ms={t.revoked_at} />
          </>
        ) : (
          <button
            type="button"
            className="danger"
            onClick={() => {
              if (window.confirm(`Revoke ${t.user}'s token "${t.name}"? Scripts using it stop working at once.`)) revoke.mutate();
            }}
          >
            Revoke…
          </button>
        )}
        {revoke.error && <ErrorNote error={revoke.error} />}
      </td>
    </tr>
  );
}

function CreateTokenForm({ users, onMade }: { users: UserInfo[]; onMade: (token: string) => void }) {
  const qc = useQueryClient();
  const [user, setUser] = useState("");
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role | "">("");
  const [expires, setExpires] = useState("90d");
  const create = useMutation({
    mutationFn: () =>
      transport().call("create_token", {
        body: { user, name: name.trim(), ...(role ? { role } : {}), ...(expires.trim() ? { expires: expires.trim() } : {}) },
      }),
    onSuccess: (made) => {
      setName("");
      onMade(made.token);
      void qc.invalidateQueries({ queryKey: ["tokens"] });
    },
  });
  const active = users.filter((u) => u.disabled_at === null);
  return (
    <form
      className="row"
      aria-label="Create an API token"
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate();
      }}
    >
      <label htmlFor="tok-user">For</label>
      <select id="tok-user" value={user} onChange={(e) => setUser(e.target.value)}>
        <option value="">(choose a person)</option>
        {active.map((u) => (
          <option key={u.name} value={u.name}>
            {u.name} ({u.role})
          </option>
        ))}
      </select>
      <label htmlFor="tok-name">Name</label>
      <input id="tok-name" value={name} maxLength={64} placeholder="nightly-export" onChange={(e) => setName(e.target.value)} />
      <label htmlFor="tok-role">Role</label>
      <select id="tok-role" value={role} onChange={(e) => setRole(e.target.value as Role | "")}>
        <option value="">the person&apos;s</option>
        {ROLES.map((r) => (
          <option key={r} value={r}>
            {r}
          </option>
        ))}
      </select>
      <label htmlFor="tok-expires">Expires after</label>
      <input id="tok-expires" value={expires} size={6} placeholder="never" onChange={(e) => setExpires(e.target.value)} />
      <button type="submit" disabled={!user || !name.trim() || create.isPending}>
        Create token
      </button>
      {create.error && <ErrorNote error={create.error} />}
    </form>
  );
}

export function UsersView() {
  const users = useQuery({ queryKey: ["users"], queryFn: () => transport().call("list_users") });
  const tokens = useQuery({ queryKey: ["tokens"], queryFn: () => transport().call("list_tokens", { query: {} }) });
  const [code, setCode] = useState<{ name: string; code: string } | null>(null);
  const [token, setToken] = useState<string | null>(null);
  return (
    <>
      <h1>People</h1>
      <p className="lead">
        Everyone who uses this console, by name, with only the rights they need: <strong>admin</strong> (everything),{" "}
        <strong>support</strong> ({ROLE_WORDS.support}), <strong>viewer</strong> ({ROLE_WORDS.viewer}).
      </p>
      {code && (
        <ShownOnce
          title={`Setup code for ${code.name}`}
          value={code.code}
          note="Give it to them (not by e-mail in clear if you can help it): they set their password with it at the sign-in page. It works once, for 72 hours, and is not shown again."
          onDone={() => setCode(null)}
        />
      )}
      <AddUserForm onMade={(name, c) => setCode({ name, code: c })} />
      {users.error && <ErrorNote error={users.error} onRetry={() => void users.refetch()} />}
      {users.isPending && <Loading what="people" />}
      {users.data && users.data.length === 0 && <Empty>No people yet: add one above, or with `replaydesk user add`.</Empty>}
      {users.data && users.data.length > 0 && (
        <table className="plain" data-testid="users">
          <thead>
            <tr>
              <th>Name</th>
              <th>Role</th>
              <th>State</th>
              <th>Added</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {users.data.map((u) => (
              <UserRow key={u.name} u={u} onCode={(name, c) => setCode({ name, code: c })} />
            ))}
          </tbody>
        </table>
      )}
      <h2>API tokens</h2>
      <p className="lead">For scripts: <code>Authorization: Bearer &lt;token&gt;</code>. A token acts for its person with its role, never above theirs.</p>
      {token && (
        <ShownOnce
          title="The new token"
          value={token}
          note="Copy it now: it is shown this once (the server keeps only its hash)."
          onDone={() => setToken(null)}
        />
      )}
      {users.data && <CreateTokenForm users={users.data} onMade={setToken} />}
      {tokens.error && <ErrorNote error={tokens.error} />}
      {tokens.data && tokens.data.length === 0 && <Empty>No API tokens.</Empty>}
      {tokens.data && tokens.data.length > 0 && (
        <table className="plain" data-testid="tokens">
          <thead>
            <tr>
              <th>Person</th>
              <th>Name</th>
              <th>Role</th>
              <th>Expires</th>
              <th>Last used</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {tokens.data.map((t) => (
              <TokenRow key={t.id} t={t} />
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
