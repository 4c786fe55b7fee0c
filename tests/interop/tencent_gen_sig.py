#!/usr/bin/env python3
"""Makes a UserSig with Tencent's own published generator (PyPI `tls-sig-api-v2`,
module TLSSigAPIv2), installed by scripts/setup.sh into .tools/pydeps.

usage: tencent_gen_sig.py SDKAPPID KEY IDENTIFIER EXPIRE [USERBUF]
"""
import sys

import TLSSigAPIv2

sdkappid, key, identifier, expire = sys.argv[1:5]
api = TLSSigAPIv2.TLSSigAPIv2(int(sdkappid), key)
if len(sys.argv) > 5:
    print(api.gen_sig_with_userbuf(identifier, int(expire), sys.argv[5].encode("utf-8")))
else:
    print(api.gen_sig(identifier, int(expire)))
