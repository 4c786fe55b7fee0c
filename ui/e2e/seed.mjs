// Seeding a real `replaydesk serve` through its HTTP API (no back doors): classes, member
// credentials, timeline reports, signed recording callbacks; and the IM emulator's fault
// knobs (`PUT /control/faults`).

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "./lib.mjs";

/** One JSON call; throws with the answer on an unexpected status. */
export async function api(base, method, urlPath, { token, body, expect } = {}) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(`${base}${urlPath}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  const ok = expect ? expect.includes(res.status) : res.ok;
  if (!ok) throw new Error(`${method} ${urlPath} answered ${res.status}: ${text.slice(0, 300)}`);
  return json;
}

export async function createClass(base, admin, { classId, groupId, teacher }) {
  return api(base, "POST", "/v1/classes", {
    token: admin,
    body: { class_id: classId, group_id: groupId, teacher_uid: teacher, create_group: true },
  });
}

export async function memberCredential(base, admin, classId, uid) {
  const c = await api(base, "POST", `/v1/admin/classes/${encodeURIComponent(classId)}/members/${encodeURIComponent(uid)}/credential`, {
    token: admin,
  });
  return c.credential;
}

export async function reportTimeline(base, credential, classId, uid, timestamp, rttMs = 40) {
  return api(base, "POST", `/v1/classes/${encodeURIComponent(classId)}/timeline`, {
    token: credential,
    body: { uid, timestamp, rtt_ms: rttMs },
  });
}

/** The recording callback fixture with its stream mapped to `classId`/`uid` (or to nothing). */
export function recordingCallback(callbackKey, { fileId, streamId, streamParam, videoUrl }) {
  const v = JSON.parse(readFileSync(path.join(ROOT, "tests/fixtures/recording_callback_mp4.json"), "utf8"));
  const t = Math.floor(Date.now() / 1000) + 600;
  v.file_id = fileId;
  v.record_file_id = fileId;
  v.stream_id = streamId;
  v.channel_id = streamId;
  v.stream_param = streamParam;
  if (videoUrl !== undefined) v.video_url = videoUrl;
  v.t = t;
  v.sign = createHash("md5").update(`${callbackKey}${t}`).digest("hex");
  return v;
}

export async function postCallback(base, body) {
  return api(base, "POST", "/v1/callbacks/recording", { body, expect: [200, 400, 401, 413, 422] });
}

export async function setFaults(emulatorBase, faults) {
  return api(emulatorBase, "PUT", "/control/faults", { body: faults });
}
