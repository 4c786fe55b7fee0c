#!/usr/bin/env python3
"""Writes the fuzz targets' seed inputs into fuzz/seeds/<target>/ from tests/fixtures plus
hand-written cases of every accepted form.
Run from anywhere; safe to run again."""
import base64, hashlib, hmac, json, os, zlib

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "tests", "fixtures")
OUT = os.path.join(HERE, "seeds")


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def fixture(name):
    with open(os.path.join(FIX, name), "rb") as f:
        return f.read()


# protocol_reader: the history answer, each Data text, and the lenient number forms.
history = fixture("replaygroup_history_room42.json")
write("protocol_reader", "history_room42.json", history)
reference = fixture("replaygroup_history_reference_server.json")
write("protocol_reader", "history_reference_server.json", reference)
msgs = json.loads(history)["RspMsgList"] + json.loads(reference)["RspMsgList"]
for i, m in enumerate(msgs):
    for e in m.get("MsgBody", []):
        data = e.get("MsgContent", {}).get("Data")
        if data:
            write("protocol_reader", f"data_{i}.json", data)
write("protocol_reader", "timeline_float.json",
      '{"type":1003,"seq":"91224013","timestamp":1.795339200123e12,"time_line":1795339200123.0,"value":{"uid":"s1","x":[1,2.5]}}')
write("protocol_reader", "start_extra.json",
      '{"type":"1001","seq":10000,"timestamp":4294967295,"value":{"uid":42},"ext":{"a":null}}')

# recording_callback: both fixtures and each stream id form.
mp4 = fixture("recording_callback_mp4.json")
legacy = fixture("recording_callback_legacy.json")
write("recording_callback", "mp4.json", mp4)
write("recording_callback", "legacy.json", legacy)
cb = json.loads(mp4)
v = dict(cb, stream_param="groupid=replay_room&userid=NDNfYV9i", stream_id="1_room_43_a_b_aux")
write("recording_callback", "param_underscores.json", json.dumps(v))
v = dict(cb, stream_param="bizid=1", stream_id="1400000001_room_43_x_main", t="0017")
del v["channel_id"]
write("recording_callback", "stream_id_ambiguous.json", json.dumps(v))
v = {"event_type": "100", "t": 1795343411.0, "sign": "X", "channel_id": "1_r_u_main_main",
     "stream_param": "?GroupId=g&USERID=dV9tYWlu+&x", "file_size": "12", "start_time": 1}
write("recording_callback", "channel_lenient.json", json.dumps(v))
h = hashlib.md5(b"room_43_a_b_main").hexdigest().upper()
write("recording_callback", "legacy_upper.json",
      json.dumps({"event_type": 100, "t": 1, "sign": "", "stream_id": "8899_" + h, "video_id": "v"}))

# usersig: sigs as the vendor's generator makes them, and made-sig inputs.
KEY = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"


def sig(ident, app, t, expire, userbuf=None):
    content = f"TLS.identifier:{ident}\nTLS.sdkappid:{app}\nTLS.time:{t}\nTLS.expire:{expire}\n"
    doc = {"TLS.ver": "2.0", "TLS.identifier": ident, "TLS.sdkappid": app,
           "TLS.expire": expire, "TLS.time": t}
    if userbuf is not None:
        b = base64.b64encode(userbuf).decode()
        content += f"TLS.userbuf:{b}\n"
        doc["TLS.userbuf"] = b
    doc["TLS.sig"] = base64.b64encode(
        hmac.new(KEY.encode(), content.encode(), hashlib.sha256).digest()).decode()
    raw = base64.b64encode(zlib.compress(json.dumps(doc, separators=(",", ":")).encode())).decode()
    return raw.translate(str.maketrans("+/=", "*-_"))


write("usersig", "admin.sig", sig("administrator", 1400000000, 1795339200, 15552000))
write("usersig", "admin_userbuf.sig", sig("administrator", 1400000000, 1795339200, 86400, b"\x00buf"))
write("usersig", "made.bin", (1795339200).to_bytes(8, "little") + (86400).to_bytes(8, "little")
      + bytes([13]) + b"administratorbuf")

# config_loader: the documented example (docs/configuration.md), every key, and the environment.
toml = open(os.path.join(HERE, "..", "docs", "configuration.md")).read().split("```toml\n", 1)[1].split("```", 1)[0]
write("config_loader", "readme.toml", toml)
write("config_loader", "all_keys.toml", """listen = "127.0.0.1:0"
db = "a.db"
admin_token = "0123456789abcdef0123"
callback_key = "replaydesk-fixture-callback-key"
callback_skew_secs = 60
max_body_bytes = 65536
ui_dir = "ui/dist"
shutdown_grace_secs = 15
[im]
endpoint = "http://127.0.0.1:9/"
sdkappid = 1400000000
admin = "administrator"
secret_key = "k"
[delivery]
app_rate = 190.5
group_rate = 35
concurrency = 8
retry_schedule = "1s,2s,4s"
lease = "30s"
""")
env = b"".join(bytes([i]) + val + b"\n" for i, val in enumerate([
    b"0.0.0.0:8080", b"x.db", b"a-long-admin-token-1234", b"cbkey", b"https://im.example",
    b"1400000000", b"administrator", b"imsecret", b"30", b"1024", b"ui", b"5", b"100", b"20",
    b"4", b"1s,5s", b"45s"]))
write("config_loader", "env_only.bin", b"\x00" + env)
write("config_loader", "file_and_env.bin", b'listen = "127.0.0.1:1"\n[delivery]\nconcurrency = 2\n\x00' + env)

# endpoint_bodies: the selector byte (see the target) and a body or query string.
bodies = [
    (0, '{"uid":"s1","timestamp":1795339200123,"rtt_ms":42.5}'),
    (0, '{"uid":"s1","timestamp":4294967295.0}'),
    (1, '{"uid":"teacher_li","timestamp":0}'),
    (2, '{"class_id":"room42","group_id":"replay_room42","teacher_uid":"teacher_li","create_group":"true","legacy_class_token":false,"open_enrolment":null}'),
    (3, '{"class_id":"room42","statuses":["failed","sent"],"types":[1003,"timeline"],"uid":"s1","created_from":"1","created_to":2,"updated_from":null,"retried":"false","text":"x"}'),
    (4, '{"since_ms":"1795339200000","class_id":"room42"}'),
    (5, '{"secret_key":"5bd2850fff3ecb11d7c805251c51ee46"}'),
    (6, '{"class_id":"room42","uid":"student_wang"}'),
    (7, 'status=failed&status=sent&types=1003&uid=s1&class=room42&from=1&to=2&updated_from=3&retried=true&q=a%20b&cursor=10&limit=50'),
    (8, 'status=unmatched&cursor=1&limit=20'),
    (9, 'cursor=5&limit=100'),
    (10, 'limit=3'),
    (11, 'q=room'),
]
for i, (which, body) in enumerate(bodies):
    write("endpoint_bodies", f"{i:02}_{which}", bytes([which]) + body.encode())

# trtc_callback: the 311 fixture as received (tabs, its exact bytes), the documented 301 and
# 305 examples, each file-bearing shape (307 slice, 310 list of names and objects), RoomId as
# a number, numbers as strings, page recording and an unknown type.
write("trtc_callback", "vod_commit_311.json", fixture("trtc_311_vod_commit.json"))
write("trtc_callback", "recorder_started_301.json",
      '{"EventGroupId": 3,"EventType": 301,"CallbackTs": 1774425607091,"EventInfo": {"RoomId": "1280586498","EventTs": 1774425607,"UserId": "callkit_1500099430_record_1280586498","TaskId": "-nHuqHlU7islZCDCjMne7HY2TJoU1NbbDkHjVoK-yqHu8ZWQndibQJtEhvB6ShqolkmNmnxz7AE.","Payload": {"Status": 0},"EventMsTs": 1774425607077}}')
write("trtc_callback", "upload_finished_305.json",
      '{\n\t"EventGroupId": 3,\n\t"EventType": 305,\n\t"CallbackTs": 1752580150082,\n\t"EventInfo": {\n\t\t"RoomId": "635055",\n\t\t"EventTs": 1752580150,\n\t\t"EventMsTs": 1752580150081,\n\t\t"UserId": "user1",\n\t\t"TaskId": "-m9-bVVU7id***K-m928oZWQndiborbEWH3zY-lIXlprc-gQvQE",\n\t\t"Payload": {\n\t\t\t"Status": 0\n\t\t}\n\t}\n}')
write("trtc_callback", "first_slice_307.json", json.dumps({
    "EventGroupId": 3, "EventType": 307, "CallbackTs": 1795339200500,
    "EventInfo": {"RoomId": 42, "EventTs": "1795339200", "UserId": "rec", "TaskId": "t1",
                  "Payload": {"FileName": "t1_teacher_li_main.m3u8", "UserId": "teacher_li",
                              "TrackType": "audio_video", "BeginTimeStamp": 1795339200400}}}))
write("trtc_callback", "mp4_stopped_310.json", json.dumps({
    "EventGroupId": 3, "EventType": 310, "CallbackTs": "1795339300000",
    "EventInfo": {"RoomId": "42", "UserId": "rec", "TaskId": "t1",
                  "Payload": {"Status": 0, "FileList": [
                      {"FileName": "a.mp4", "UserId": "teacher_li", "MediaId": "aux",
                       "StartTimeStamp": 1, "EndTimeStamp": 2000},
                      "b.mp4", {"FileName": "a.mp4", "UserId": "teacher_li"}]}}}))
write("trtc_callback", "page_recording_8.json", json.dumps({
    "EventGroupId": 8, "EventType": 301, "CallbackTs": 1,
    "EventInfo": {"RoomId": "r", "TaskId": "p", "Payload": {"Status": 0}}}))
write("trtc_callback", "unknown_type_failed.json", json.dumps({
    "EventGroupId": 3, "EventType": 399, "CallbackTs": 1,
    "EventInfo": {"RoomId": None, "Payload": {"Status": 1, "Errmsg": "x"}}}))
