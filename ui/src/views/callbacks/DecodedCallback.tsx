// An unmatched callback decoded for the admin who assigns it: the user (`userid` is base64),
// the group, the other `stream_param` fields, the stream id, the recording's times as dates,
// and the classes that could be its own, best first.

import { useQueries, useQuery } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { useMemo } from "react";
import { transport } from "../../api/transport";
import type { RecordingCallbackRecord } from "../../bindings/RecordingCallbackRecord";
import { Ident } from "../../components/Ident";
import { Time } from "../../components/common";
import { decodeCallback, rankClasses, streamUid } from "./decode";

/** Membership is looked up for at most this many classes (those the time or ids point at). */
const MEMBER_LOOKUPS = 10;

export function DecodedCallback({ cb }: { cb: RecordingCallbackRecord }) {
  const d = useMemo(() => decodeCallback(cb.body), [cb.body]);
  const classes = useQuery({ queryKey: ["classes", ""], queryFn: () => transport().listClasses({}) });
  // The classes worth asking for their members: those the callback's time or ids point at.
  const near = useMemo(
    () => (d && classes.data ? rankClasses(d, classes.data, () => undefined).slice(0, MEMBER_LOOKUPS).map((c) => c.classId) : []),
    [d, classes.data],
  );
  const rosters = useQueries({
    queries: near.map((classId) => ({ queryKey: ["members", classId], queryFn: () => transport().classMembers(classId) })),
  });
  const members = new Map(near.map((c, i) => [c, rosters[i]?.data?.map((m) => m.uid)]));
  if (!d) return null;
  const ranked = classes.data ? rankClasses(d, classes.data, (c) => members.get(c)).slice(0, 5) : [];
  const others = d.params.filter((p) => p.key !== "userid" && p.key !== "groupid");
  return (
    <dl className="facts decoded-callback" data-testid="decoded-callback">
      <dt>User</dt>
      <dd data-testid="decoded-uid">
        {d.uid !== null ? <Ident value={d.uid} /> : <span className="hint">no base64 userid in stream_param</span>}
      </dd>
      <dt>Group</dt>
      <dd>{d.groupId !== null ? <Ident value={d.groupId} /> : <span className="hint">none in stream_param</span>}</dd>
      {d.streamId !== null && (
        <>
          <dt>Stream</dt>
          <dd>
            <Ident value={d.streamId} />
          </dd>
        </>
      )}
      <dt>Recorded</dt>
      <dd>
        <Time ms={d.startMs} /> → <Time ms={d.endMs} />
      </dd>
      {others.length > 0 && (
        <>
          <dt>stream_param</dt>
          <dd>
            {others.map((p) => (
              <div key={p.key}>
                <span className="mono">{p.key}</span> = <Ident value={p.value} />
              </div>
            ))}
          </dd>
        </>
      )}
      <dt>Could be</dt>
      <dd data-testid="callback-candidates">
        {ranked.length === 0 ? (
          <span className="hint">no class ran while it recorded, or names its group, room or user</span>
        ) : (
          ranked.map((c) => (
            <div key={c.classId}>
              <Link to="/classes/$classId" params={{ classId: c.classId }} className="ident-trunc mono" title={c.classId}>
                {c.classId}
              </Link>{" "}
              <span className="hint">
                ({c.reasons.join(", ")}
                {d.uid === null && streamUid(d, c.classId) !== null ? `; user ${streamUid(d, c.classId)}` : ""})
              </span>
            </div>
          ))
        )}
      </dd>
    </dl>
  );
}
