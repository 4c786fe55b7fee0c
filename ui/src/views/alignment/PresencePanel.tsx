// Who is in the class now, from their heartbeats: when each member was last seen, how its
// clock is doing (offset, drift, jumps), and the 1003s ReplayDesk sent from tracked
// clocks, with why. Refreshed every few seconds while shown.

import { useQuery } from "@tanstack/react-query";
import { transport } from "../../api/transport";
import type { ClassPresence } from "../../bindings/ClassPresence";
import type { ClockHealth } from "../../bindings/ClockHealth";
import { Empty, ErrorNote } from "../../components/common";
import { Ident } from "../../components/Ident";
import { ago, shortTime } from "../../format/time";

const HEALTH: Record<ClockHealth, string> = {
  good: "tracked",
  uncertain: "settling",
  jumped: "jumped, tracked again",
  away: "away",
};

const REASON: Record<string, string> = {
  jump: "its clock jumped",
  drift: "its clock drifted",
  first: "it never reported a timeline",
};

function signed(v: number | null, unit: string): string {
  if (v === null) return "–";
  return `${v > 0 ? "+" : ""}${v.toLocaleString()} ${unit}`;
}

// The console's one clock format (24-hour, as everywhere else), not the browser's locale.
const clock = (ms: number): string => shortTime(ms);

// Each member's spans of continuous presence as bars over the class's time so far (from
// the first heartbeat anyone sent to now, or to the last one once the class has ended).
function PresenceSpans({ p }: { p: ClassPresence }) {
  const spans = p.members.flatMap((m) => m.spans);
  if (spans.length === 0) return null;
  const from = Math.min(...spans.map((s) => s.from_ms));
  const until = p.ended_by === null ? Math.max(p.now_ms, ...spans.map((s) => s.until_ms)) : Math.max(...spans.map((s) => s.until_ms));
  const width = Math.max(until - from, 1);
  const pct = (t: number) => `${(((t - from) / width) * 100).toFixed(2)}%`;
  return (
    <div data-testid="presence-spans" style={{ margin: "0.75rem 0" }}>
      <h3>
        Presence over the class ({clock(from)} – {clock(until)})
      </h3>
      {p.members.map((m) => (
        <div key={m.uid} style={{ display: "flex", alignItems: "center", gap: "0.5rem", margin: "2px 0" }}>
          <div style={{ width: "10rem", overflow: "hidden", textOverflow: "ellipsis", whiteSpace: "nowrap" }}>
            <Ident value={m.uid} />
          </div>
          <div
            data-testid="presence-track"
            data-uid={m.uid}
            style={{ position: "relative", flex: 1, height: "14px", background: "rgba(127,127,127,0.15)", borderRadius: "3px" }}
          >
            {m.spans.map((s) => (
              <div
                key={s.from_ms}
                data-testid="presence-span"
                title={`${clock(s.from_ms)} – ${clock(s.until_ms)} (${Math.round((s.until_ms - s.from_ms) / 1000)} s)`}
                style={{
                  position: "absolute",
                  top: 0,
                  bottom: 0,
                  left: pct(s.from_ms),
                  width: `max(2px, calc(${pct(s.until_ms)} - ${pct(s.from_ms)}))`,
                  background: m.health === "away" ? "#8a8f98" : "#2f9e44",
                  borderRadius: "3px",
                }}
              />
            ))}
          </div>
          <div className="hint" style={{ width: "5rem", textAlign: "right" }}>
            {m.spans.length} span{m.spans.length === 1 ? "" : "s"}
          </div>
        </div>
      ))}
      <p className="hint">A silence of more than {Math.round(AWAY_MS / 1000)} s ends a span.</p>
    </div>
  );
}

// The service's `AWAY_AFTER_MS`: no heartbeat for this long and a member is away, its span ended.
const AWAY_MS = 15000;

export function PresencePanel({ classId }: { classId: string }) {
  const q = useQuery({
    queryKey: ["presence", classId],
    queryFn: () => transport().call("class_presence", { classId }),
    refetchInterval: 3000,
  });
  if (q.error) return <ErrorNote title="Could not load who is here" error={q.error} />;
  if (!q.data) return null;
  const p = q.data;
  return (
    <section data-testid="presence">
      <h2>Who is here ({p.members.filter((m) => m.health !== "away").length} of {p.members.length} seen)</h2>
      {p.ended_by === "silence" && (
        <p className="card" data-testid="ended-by-silence">
          ReplayDesk ended this class: nobody sent a heartbeat for{" "}
          {p.silence_end_ms === null ? "the configured time" : `${Math.round(p.silence_end_ms / 60000)} min`}. Its 1002 is
          stamped with the teacher&apos;s clock at the last moment anyone was seen. An admin can reopen it.
        </p>
      )}
      {p.members.length === 0 ? (
        <Empty>No member has sent a heartbeat (clients that only report their timeline do not show here).</Empty>
      ) : (
        <table className="plain">
          <thead>
            <tr>
              <th>member</th>
              <th>clock</th>
              <th>last seen</th>
              <th className="num">offset (server − client)</th>
              <th className="num">drift</th>
              <th className="num">runs</th>
              <th className="num">heartbeats</th>
            </tr>
          </thead>
          <tbody>
            {p.members.map((m) => (
              <tr key={m.uid} data-health={m.health}>
                <td>
                  <Ident value={m.uid} />
                </td>
                <td>
                  <span className={`badge health-${m.health}`}>{HEALTH[m.health]}</span>
                </td>
                <td>{ago(m.last_seen_at, p.now_ms)}</td>
                <td className="num">
                  {signed(m.offset_ms, "ms")}
                  {m.uncertainty_ms !== null && <span className="hint"> ± {m.uncertainty_ms} ms</span>}
                </td>
                <td className="num">{m.drift_ppm === null ? "–" : `${m.drift_ppm.toFixed(1)} ppm`}</td>
                <td className="num">{m.clock_run + 1}</td>
                <td className="num">{m.heartbeats.toLocaleString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <PresenceSpans p={p} />
      <h3>1003s ReplayDesk sent from tracked clocks ({p.reanchors.length})</h3>
      {p.reanchors.length === 0 ? (
        <Empty>None yet.</Empty>
      ) : (
        <table className="plain" data-testid="reanchors">
          <thead>
            <tr>
              <th>when</th>
              <th>member</th>
              <th>why</th>
              <th className="num">moved</th>
              <th className="num">message</th>
            </tr>
          </thead>
          <tbody>
            {p.reanchors.map((r) => (
              <tr key={`${r.uid}-${r.created_at}-${r.message_id}`}>
                <td>{ago(r.created_at, p.now_ms)}</td>
                <td>
                  <Ident value={r.uid} />
                </td>
                <td>{REASON[r.reason] ?? r.reason}</td>
                <td className="num">{signed(r.moved_ms, "ms")}</td>
                <td className="num">{r.message_id ?? "–"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
