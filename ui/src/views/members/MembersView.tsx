// A class's members: register the roster before anyone reports, issue or revoke a
// member's report credential, and print a join sheet for the whole class. A credential is
// shown once, in the answer that issued it, and kept only in this page's memory until it
// is dismissed or the page is left: the backend keeps no copy and never lists one.

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useParams } from "@tanstack/react-router";
import { useCallback, useEffect, useState } from "react";
import { transport } from "../../api/transport";
import type { JoinCard } from "../../bindings/JoinCard";
import type { JoinSheet } from "../../bindings/JoinSheet";
import type { RosterMember } from "../../bindings/RosterMember";
import type { TimelineReportRecord } from "../../bindings/TimelineReportRecord";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { CopyButton } from "../../components/CopyButton";
import { Ident } from "../../components/Ident";
import { Empty, ErrorNote, Loading, Time } from "../../components/common";
import "../../components/extras.css";
import { count } from "../../lib/format";
import { RecordingSources } from "./RecordingSources";
import { ClassHeader } from "../ClassView";
import { useCan } from "../../api/session";

/** The backend's bounds (service::auth): at most this many uids at once, each 1–128 characters. */
const MAX_UIDS = 1000;
const MAX_UID_CHARS = 128;

/** One uid a line (or comma-separated), trimmed, blanks and repeats dropped. */
export function parseUids(text: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of text.split(/[\n,]/)) {
    const u = raw.trim();
    if (u !== "" && !seen.has(u)) {
      seen.add(u);
      out.push(u);
    }
  }
  return out;
}

/** What the roster input is wrong about, before it is sent (the backend checks again). */
export function uidsProblem(uids: string[]): string | null {
  if (uids.length > MAX_UIDS) return `At most ${count(MAX_UIDS)} uids at once (${count(uids.length)} given).`;
  const long = uids.find((u) => [...u].length > MAX_UID_CHARS);
  if (long !== undefined) return `A uid is longer than ${MAX_UID_CHARS} characters: ${long.slice(0, 40)}…`;
  return null;
}

/** Where students' clients would report: this page's origin, unless that is loopback. */
function defaultServerUrl(): string {
  return transport().kind === "http" ? window.location.origin : "";
}

/** A loopback address is this device itself to every student's device. */
export function isLoopbackUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
    return host === "localhost" || host === "::1" || /^127\./.test(host) || host === "0.0.0.0";
  } catch {
    return false;
  }
}

function svgDataUrl(svg: string): string {
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}

function credentialState(m: RosterMember): string {
  if (m.credential.revoked_at !== null) return "revoked";
  if (m.credential.issued_at !== null) return `issued (generation ${m.credential.generation})`;
  return m.role === "teacher" ? "from class creation" : "not issued";
}

type Ask =
  | { kind: "issue"; member: RosterMember }
  | { kind: "revoke"; member: RosterMember }
  | { kind: "sheet"; students: number };

function ServerUrlField({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  return (
    <>
      <label htmlFor="server-url" className="hint">
        Server URL printed for students (where their clients report)
      </label>
      <input
        id="server-url"
        type="url"
        maxLength={200}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        placeholder="http://192.168.1.20:8080"
        style={{ width: "100%" }}
        data-testid="server-url"
      />
      {isLoopbackUrl(value) && (
        <p className="warn-note" data-testid="loopback-warning">
          {value} is this machine itself to every student&apos;s device: their clients could not reach it. Enter this
          server&apos;s address on the classroom network instead (e.g. http://192.168.1.20:8080).
        </p>
      )}
      {value === "" && <p className="hint">Without a URL the cards carry the class, uid and credential only.</p>}
    </>
  );
}

function Card({ card, classId }: { card: JoinCard; classId: string }) {
  return (
    <article className="join-card" data-testid="join-card">
      <h3 title={card.uid}>{card.uid}</h3>
      <p className="hint">
        class <Ident value={classId} />
      </p>
      <img className="qr" src={svgDataUrl(card.qr_svg)} alt={`QR code of ${card.uid}'s join info`} />
      <code className="credential-text" data-testid="card-credential">
        {card.credential}
      </code>
      <div className="row no-print">
        <CopyButton value={card.credential} label="Copy credential" />
        <CopyButton value={card.text} label="Copy join text" />
      </div>
    </article>
  );
}

/** Credentials just issued: the only time they are shown. */
function Issued({ sheet, onDone }: { sheet: JoinSheet; onDone: () => void }) {
  const single = sheet.cards.length === 1 ? sheet.cards[0] : undefined;
  useEffect(() => {
    const cls = "printing-join-sheet";
    document.body.classList.add(cls);
    return () => document.body.classList.remove(cls);
  }, []);
  return (
    <section className="card issued-card print-area" data-testid={single ? "issued-credential" : "join-sheet"}>
      <div className="row spread no-print">
        <h2>
          {single ? (
            <>
              New credential for <Ident value={single.uid} />
            </>
          ) : (
            `Join sheet: ${count(sheet.cards.length)} students`
          )}
        </h2>
        <div className="row">
          <button type="button" onClick={() => window.print()} data-testid="print-sheet">
            Print
          </button>
          <button type="button" className="primary" onClick={onDone} data-testid="issued-done">
            Done, hide {single ? "it" : "them"}
          </button>
        </div>
      </div>
      <p className="hint no-print">
        Shown only now: ReplayDesk keeps no copy and will not show {single ? "it" : "them"} again. Hand{" "}
        {single ? "it" : "each card"} over, or print; if one is lost, issue a new one (the lost one then stops working).
        {sheet.server_url ? (
          <>
            {" "}
            Students&apos; clients report to <span className="mono">{sheet.server_url}</span>.
          </>
        ) : null}
      </p>
      {sheet.cards.length === 0 ? (
        <Empty>The class has no students yet: add the roster first.</Empty>
      ) : (
        <div className="join-sheet-cards">
          {sheet.cards.map((c) => (
            <Card key={c.uid} card={c} classId={sheet.class_id} />
          ))}
        </div>
      )}
    </section>
  );
}

export function MembersView() {
  const { classId } = useParams({ strict: false }) as { classId: string };
  const qc = useQueryClient();
  const members = useQuery({
    queryKey: ["members", classId],
    queryFn: () => transport().classMembers(classId),
    refetchInterval: 5000,
  });
  const cls = useQuery({ queryKey: ["class", classId], queryFn: () => transport().getClass(classId), refetchInterval: 5000 });
  // Each member's last timeline report, from the class's reports (newest first: the first
  // seen for a uid is its last); the member record's times also move on registration.
  const reports = useQuery({
    queryKey: ["member-reports", classId],
    queryFn: () => transport().classReports(classId, { limit: 1000 }),
    refetchInterval: 5000,
  });
  const lastReport = new Map<string, TimelineReportRecord>();
  for (const r of reports.data?.items ?? []) {
    if (r.uid !== null && !lastReport.has(r.uid)) lastReport.set(r.uid, r);
  }
  // An imported class is a record; and registering, issuing and revoking are an admin's
  // (hidden from other roles, refused by the server anyway).
  const can = useCan();
  const readOnly = cls.data?.imported_at != null || !can("member_credential");
  const [text, setText] = useState("");
  const [ask, setAsk] = useState<Ask | null>(null);
  const [serverUrl, setServerUrl] = useState(defaultServerUrl);
  const [issued, setIssued] = useState<JoinSheet | null>(null);
  const uids = parseUids(text);
  const problem = uidsProblem(uids);
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: ["members", classId] });
    void qc.invalidateQueries({ queryKey: ["class", classId] });
    void qc.invalidateQueries({ queryKey: ["audit"] });
  };
  const add = useMutation({
    mutationFn: () => transport().addMembers(classId, { uids }),
    onSuccess: () => {
      setText("");
      refresh();
    },
  });
  const issue = useMutation({
    mutationFn: (who: string[] | null) =>
      transport().issueCredentials(classId, {
        ...(who ? { uids: who } : {}),
        ...(serverUrl.trim() ? { server_url: serverUrl.trim() } : {}),
      }),
    onSuccess: (sheet) => {
      setIssued(sheet);
      setAsk(null);
      refresh();
    },
  });
  const revoke = useMutation({
    mutationFn: (uid: string) => transport().revokeCredential(classId, uid),
    onSuccess: () => {
      setAsk(null);
      refresh();
    },
  });
  const close = useCallback(() => {
    setAsk(null);
    issue.reset();
    revoke.reset();
  }, [issue, revoke]);
  const students = (members.data ?? []).filter((m) => m.role === "student").length;
  return (
    <>
      <ClassHeader classId={classId} tab="members" />
      {issued && <Issued sheet={issued} onDone={() => setIssued(null)} />}
      {!readOnly && (
        <section className="card no-print">
          <h2>Register students</h2>
          <p className="hint">
            One uid a line (or separated by commas), up to {count(MAX_UIDS)} at once. They become students of this class
            before they report; members already here are left as they are.
          </p>
          <textarea
            className="roster-input mono"
            aria-label="Uids to register"
            value={text}
            onChange={(e) => setText(e.target.value)}
            placeholder={"student_wang\nstudent_zhao"}
            data-testid="roster-input"
          />
          {problem && <p className="warn-note">{problem}</p>}
          <div className="row">
            <button
              type="button"
              className="primary"
              disabled={uids.length === 0 || problem !== null || add.isPending}
              onClick={() => add.mutate()}
              data-testid="roster-add"
            >
              Add {uids.length > 0 ? count(uids.length) : ""} to the roster
            </button>
            {add.data && (
              <span className="hint" data-testid="roster-added" aria-live="polite">
                Added {count(add.data.added.length)}
                {add.data.existing.length > 0 && `, ${count(add.data.existing.length)} already members`}.
              </span>
            )}
          </div>
          {add.error && <ErrorNote error={add.error} />}
        </section>
      )}
      <div className="row spread no-print">
        <h2>Roster ({count(members.data?.length ?? 0)})</h2>
        {!readOnly && (
          <button
            type="button"
            disabled={students === 0}
            onClick={() => setAsk({ kind: "sheet", students })}
            data-testid="join-sheet-button"
            title={students === 0 ? "Register students first" : "New credentials for every student, as printable cards"}
          >
            Join sheet for all students…
          </button>
        )}
      </div>
      {members.isPending && <Loading what="the members" />}
      {members.error && <ErrorNote error={members.error} onRetry={() => void members.refetch()} />}
      {members.data && members.data.length > 0 && (
        <div className="no-print">
          <table className="plain roster-table" data-testid="roster">
            <colgroup>
              <col style={{ width: "28%" }} />
              <col style={{ width: "10%" }} />
              <col style={{ width: "22%" }} />
              <col style={{ width: "18%" }} />
              <col style={{ width: "22%" }} />
            </colgroup>
            <thead>
              <tr>
                <th>Uid</th>
                <th>Role</th>
                <th>Credential</th>
                <th>Last report</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {members.data.map((m) => (
                <tr key={m.uid} data-testid="roster-row" data-uid={m.uid}>
                  <td>
                    <Ident value={m.uid} />
                  </td>
                  <td>{m.role}</td>
                  <td data-testid="credential-state">
                    {credentialState(m)}
                    {m.credential.revoked_at !== null && (
                      <div className="hint">
                        <Time ms={m.credential.revoked_at} />
                      </div>
                    )}
                    {m.credential.revoked_at === null && m.credential.issued_at !== null && (
                      <div className="hint">
                        <Time ms={m.credential.issued_at} />
                      </div>
                    )}
                  </td>
                  <td data-testid="last-report">
                    {(() => {
                      const r = lastReport.get(m.uid);
                      if (!r) return <span className="hint">no report yet</span>;
                      return (
                        <>
                          <Time ms={r.received_at} />
                          {!r.accepted && <div className="hint">refused: {r.refusal_reason ?? "?"}</div>}
                        </>
                      );
                    })()}
                  </td>
                  <td>
                    {!readOnly && (
                      <div className="row">
                        <button type="button" onClick={() => setAsk({ kind: "issue", member: m })} data-testid="issue-credential">
                          {m.credential.issued_at === null ? "Issue credential…" : "Issue new…"}
                        </button>
                        {m.credential.revoked_at === null && (
                          <button type="button" className="ghost" onClick={() => setAsk({ kind: "revoke", member: m })} data-testid="revoke-credential">
                            Revoke…
                          </button>
                        )}
                      </div>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {ask?.kind === "issue" && (
        <ConfirmDialog
          title="Issue a credential"
          confirmLabel="Issue and show it"
          onConfirm={() => issue.mutate([ask.member.uid])}
          onCancel={close}
          busy={issue.isPending}
          error={issue.error}
        >
          <p>
            Issue a new report credential for <Ident value={ask.member.uid} />? Any credential this member holds now stops
            working at once{ask.member.role === "teacher" ? " (the teacher's from class creation too)" : ""}. The new one
            is shown once, here.
          </p>
          <ServerUrlField value={serverUrl} onChange={setServerUrl} />
        </ConfirmDialog>
      )}
      {ask?.kind === "revoke" && (
        <ConfirmDialog
          title="Revoke a credential"
          confirmLabel="Revoke"
          onConfirm={() => revoke.mutate(ask.member.uid)}
          onCancel={close}
          busy={revoke.isPending}
          error={revoke.error}
        >
          <p>
            Revoke the report credential of <Ident value={ask.member.uid} />? Their reports are refused from now on, until
            you issue a new credential. This cannot be undone.
          </p>
        </ConfirmDialog>
      )}
      {ask?.kind === "sheet" && (
        <ConfirmDialog
          title="Join sheet for the whole class"
          confirmLabel={`Issue ${count(ask.students)} credentials`}
          onConfirm={() => issue.mutate(null)}
          onCancel={close}
          busy={issue.isPending}
          error={issue.error}
        >
          <p>
            Issue new credentials for all {count(ask.students)} students of this class and show them as printable cards?
            Every credential they hold now stops working at once; the new ones are shown only on this sheet.
          </p>
          <ServerUrlField value={serverUrl} onChange={setServerUrl} />
        </ConfirmDialog>
      )}
      <RecordingSources classId={classId} roomId={cls.data?.room_id ?? null} readOnly={readOnly} />
    </>
  );
}
