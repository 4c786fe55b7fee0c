// One row per recording: both readings of `media_start_time`, how far they disagree, the
// one chosen and why, and where the class's start falls in the video.

import { Ident } from "../../components/Ident";
import { Time } from "../../components/common";
import { duration } from "../../format/time";
import { readingName, sourceName } from "./model";
import type { AlignmentAnswer, RecordingPlacement } from "./types";

/** Fields the engine adds as it explains its choice; older answers lack them. */
type Explained = RecordingPlacement & { reason_text?: string; class_start_position_ms?: number | null };

/** Signed ms as a readable span: "+1 min 5 s" / "−900 ms". */
export function signedSpan(ms: number): string {
  const s = ms < 0 ? "−" : "+";
  return `${s}${duration(Math.abs(ms))}`;
}

/** Where the class start falls in the video: from the engine, else from the 1001's time. */
export function classStartInVideo(a: AlignmentAnswer, r: Explained): number | null {
  if (r.class_start_position_ms !== undefined && r.class_start_position_ms !== null) return r.class_start_position_ms;
  const start = a.events.find((e) => e.event.kind === "class_start" && e.server_ms !== null)?.server_ms;
  return start === undefined || start === null ? null : start - r.start_ms;
}


export function RecordingsTable({ answer }: { answer: AlignmentAnswer }) {
  const rows = answer.recordings as Explained[];
  return (
    <div className="table-scroll">
      <table className="plain recordings-table" data-testid="recordings-table">
        <thead>
          <tr>
            <th>Uid · video</th>
            <th>Placed by</th>
            <th>start_time</th>
            <th>By client clock</th>
            <th>By stream offset</th>
            <th className="num">Readings differ</th>
            <th>Chosen, and why</th>
            <th className="num">Class start in video</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => {
            const at = classStartInVideo(answer, r);
            return (
              <tr key={i} data-testid="recording-row">
                <td>
                  <Ident value={r.uid} />
                  <div className="hint">
                    <Ident value={r.video_id} />
                  </div>
                </td>
                <td data-testid="recording-source" data-source={r.source ?? "unknown"} data-media={r.media ?? ""}>
                  <span className={`source source-${r.source ?? "unknown"}`}>{sourceName(r.source ?? "unknown")}</span>
                  {r.media && (
                    <div>
                      <span className={`media media-${r.media}`}>{r.media === "aux" ? "aux (screen share)" : r.media === "main" ? "main (camera)" : r.media}</span>
                    </div>
                  )}
                </td>
                <td>
                  <Time ms={r.start_time * 1000} />
                  <div className="hint">media_start_time {r.media_start_time.toLocaleString()}</div>
                </td>
                <td>{r.by_client_clock_ms === null ? <span className="hint">no pair</span> : <Time ms={r.by_client_clock_ms} />}</td>
                <td>
                  <Time ms={r.by_stream_offset_ms} />
                </td>
                <td className="num">{r.readings_disagree_ms === null ? "—" : duration(r.readings_disagree_ms)}</td>
                <td data-testid="recording-chosen" className="recording-chosen">
                  <strong>{readingName(r.chosen)}</strong>
                  {r.reason_text ? (
                    <div className="hint reason-clamp" title={r.reason_text}>
                      {r.reason_text}
                    </div>
                  ) : r.client_clock_vs_start_time_ms !== null ? (
                    <div className="hint">client clock vs start_time: {duration(r.client_clock_vs_start_time_ms)}</div>
                  ) : null}
                </td>
                <td className="num" title="class start − the video's time zero">
                  {at === null ? "—" : at < 0 ? `before the video (${signedSpan(at)})` : signedSpan(at)}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
