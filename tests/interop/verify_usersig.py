#!/usr/bin/env python3
"""An independent verifier of version-2 UserSigs, written from the public algorithm
(docs/protocol.md section 3) with Python's standard library only.

usage: verify_usersig.py SIG SDKAPPID IDENTIFIER KEY NOW
Prints "ok" and exits 0 when the sig verifies; prints the reason and exits 1 otherwise.
"""
import base64
import hashlib
import hmac
import json
import sys
import zlib


def main():
    sig, sdkappid, identifier, key, now = sys.argv[1:6]
    raw = base64.b64decode(sig.replace("*", "+").replace("-", "/").replace("_", "="))
    doc = json.loads(zlib.decompress(raw).decode("utf-8"))
    if doc.get("TLS.ver") != "2.0":
        return fail("version")
    if int(doc["TLS.sdkappid"]) != int(sdkappid):
        return fail("sdkappid")
    if doc["TLS.identifier"] != identifier:
        return fail("identifier")
    if int(now) > int(doc["TLS.time"]) + int(doc["TLS.expire"]):
        return fail("expired")
    content = (
        "TLS.identifier:%s\nTLS.sdkappid:%s\nTLS.time:%s\nTLS.expire:%s\n"
        % (doc["TLS.identifier"], doc["TLS.sdkappid"], doc["TLS.time"], doc["TLS.expire"])
    )
    if "TLS.userbuf" in doc:
        content += "TLS.userbuf:%s\n" % doc["TLS.userbuf"]
    want = base64.b64encode(
        hmac.new(key.encode("utf-8"), content.encode("utf-8"), hashlib.sha256).digest()
    ).decode()
    if not hmac.compare_digest(want, doc["TLS.sig"]):
        return fail("signature")
    print("ok")
    return 0


def fail(reason):
    print("refused: " + reason)
    return 1


if __name__ == "__main__":
    sys.exit(main())
