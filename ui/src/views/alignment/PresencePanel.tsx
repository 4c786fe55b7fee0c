// Who is in the class now, from their heartbeats: when each member was last seen, how its
// clock is doing (offset, drift, jumps), and the 1003s ReplayDesk sent from tracked
// clocks, with why. Refreshed every few seconds while shown.

import { useQuery } from "@tanstack/react-query";
import { transport } from "../../api/transport";
import type { ClockHealth } from "../../bindings/ClockHealth";
import { Empty, ErrorNote } from "../../components/common";
import { Ident } from "../../components/Ident";
import { ago } from "../../format/time";

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
