// Where a class's recordings come from when they carry no stream_param (issue 22): its
// TRTC room (recordings from TRTC cloud recording, and CSS streams named
// <sdkappid>_<room>_<uid>_main|aux, find the class by it) and the stream ids registered
// for its users (any other stream name). Listed, added and removed here; every change is
// audited by the server.

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { transport } from "../../api/transport";
import { Empty, ErrorNote, Time } from "../../components/common";
import { Ident } from "../../components/Ident";

export function RecordingSources({ classId, roomId, readOnly }: { classId: string; roomId: string | null; readOnly: boolean }) {
  const qc = useQueryClient();
  const streams = useQuery({
    queryKey: ["streams", classId],
    queryFn: () => transport().call("class_streams", { classId }),
  });
  const [room, setRoom] = useState("");
  const [streamId, setStreamId] = useState("");
  const [uid, setUid] = useState("");
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: ["class", classId] });
    void qc.invalidateQueries({ queryKey: ["streams", classId] });
    void qc.invalidateQueries({ queryKey: ["audit"] });
  };
  const setRoomId = useMutation({
    mutationFn: (value: string | null) => transport().call("update_class", { classId, body: { room_id: value } }),
    onSuccess: () => {
      setRoom("");
      refresh();
    },
  });
  const add = useMutation({
    mutationFn: () => transport().call("add_class_stream", { classId, body: { stream_id: streamId.trim(), uid: uid.trim() } }),
    onSuccess: () => {
      setStreamId("");
      setUid("");
      refresh();
    },
  });
  const remove = useMutation({
    mutationFn: (id: string) => transport().call("remove_class_stream", { classId, streamId: id }),
    onSuccess: refresh,
  });
  function submitRoom(e: FormEvent) {
    e.preventDefault();
    if (room.trim()) setRoomId.mutate(room.trim());
  }
  function submitStream(e: FormEvent) {
    e.preventDefault();
    if (streamId.trim() && uid.trim()) add.mutate();
  }
  return (
    <section className="card" data-testid="recording-sources">
      <h2>Recording sources</h2>
      <p className="hint">
        Recordings without a <code>stream_param</code> find this class by its TRTC room (TRTC cloud recording, and
        streams named <code>&lt;sdkappid&gt;_&lt;room&gt;_&lt;uid&gt;_main</code>) or by a stream id registered below
        for one of its users. Without a room, the class id is taken as the room.
      </p>
      <p data-testid="room-id">
        TRTC room: {roomId ? <Ident value={roomId} /> : <span className="hint">none (the class id)</span>}
      </p>
      {!readOnly && (
        <form className="row" onSubmit={submitRoom}>
          <label>
            Room id{" "}
            <input value={room} onChange={(e) => setRoom(e.target.value)} placeholder="e.g. 8123" data-testid="room-input" />
          </label>
          <button type="submit" disabled={!room.trim() || setRoomId.isPending} data-testid="room-set">
            Set room
          </button>
          {roomId && (
            <button type="button" onClick={() => setRoomId.mutate(null)} disabled={setRoomId.isPending} data-testid="room-clear">
              Clear room
            </button>
          )}
        </form>
      )}
      {setRoomId.error && <ErrorNote title="Could not set the room" error={setRoomId.error} />}
      <h3>Registered stream ids</h3>
      {streams.error && <ErrorNote title="Could not load the streams" error={streams.error} />}
      {streams.data && streams.data.length === 0 && <Empty>No stream ids registered.</Empty>}
      {streams.data && streams.data.length > 0 && (
        <table className="plain" data-testid="streams">
          <thead>
            <tr>
              <th>Stream id</th>
              <th>User</th>
              <th>Registered</th>
              {!readOnly && <th />}
            </tr>
          </thead>
          <tbody>
            {streams.data.map((s) => (
              <tr key={s.stream_id} data-testid="stream-row">
                <td>
                  <Ident value={s.stream_id} />
                </td>
                <td>
                  <Ident value={s.uid} />
                </td>
                <td>
                  <Time ms={s.created_at} />
                </td>
                {!readOnly && (
                  <td>
                    <button type="button" onClick={() => remove.mutate(s.stream_id)} disabled={remove.isPending} data-testid="stream-remove">
                      Remove
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {remove.error && <ErrorNote title="Could not remove the stream id" error={remove.error} />}
      {!readOnly && (
        <form className="row" onSubmit={submitStream}>
          <label>
            Stream id <input value={streamId} onChange={(e) => setStreamId(e.target.value)} data-testid="stream-input" />
          </label>
          <label>
            User <input value={uid} onChange={(e) => setUid(e.target.value)} data-testid="stream-uid" />
          </label>
          <button type="submit" disabled={!streamId.trim() || !uid.trim() || add.isPending} data-testid="stream-add">
            Register
          </button>
        </form>
      )}
      {add.error && <ErrorNote title="Could not register the stream id" error={add.error} />}
    </section>
  );
}
