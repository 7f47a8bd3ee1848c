"""Temporary keys through the official Tencent Cloud Python SDK, as STS credentials are
used: `Credential(secret_id, secret_key, token)`, the token sent as X-TC-Token (TC3) or
the Token parameter (signature v1). Prints the billable calls it made as JSON on the
last line of stdout.

Environment: RENLIAN_ENDPOINT (host:port); RENLIAN_TEMP (id:key:token of a temporary
key valid for minutes); RENLIAN_SHORT (id:key:token of one expiring at RENLIAN_SHORT_END,
Unix seconds); RENLIAN_PERMANENT (id:key of a permanent key); RENLIAN_PHOTO (a PNG).
"""

import base64
import json
import os
import time

from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
    TencentCloudSDKException,
)
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.iai.v20200303 import iai_client, models

ENDPOINT = os.environ["RENLIAN_ENDPOINT"]
billed = {"DetectFace": 0}


def client(cred, sign="TC3-HMAC-SHA256"):
    http = HttpProfile(protocol="http", endpoint=ENDPOINT)
    return iai_client.IaiClient(cred, "ap-guangzhou", ClientProfile(signMethod=sign, httpProfile=http))


def groups(cred, sign="TC3-HMAC-SHA256"):
    """GetGroupList: the response, or the error code."""
    try:
        return client(cred, sign).GetGroupList(models.GetGroupListRequest())
    except TencentCloudSDKException as e:
        return e.get_code()


temp_id, temp_key, temp_token = os.environ["RENLIAN_TEMP"].split(":")
short_id, short_key, short_token = os.environ["RENLIAN_SHORT"].split(":")
perm_id, perm_key = os.environ["RENLIAN_PERMANENT"].split(":")
temp = credential.Credential(temp_id, temp_key, temp_token)

# With its token, over TC3 and both v1 methods, a temporary key works like any other.
for sign in ("TC3-HMAC-SHA256", "HmacSHA256", "HmacSHA1"):
    r = groups(temp, sign)
    assert not isinstance(r, str) and r.GroupNum == 0, (sign, r)

# Its billable calls are the account's.
with open(os.environ["RENLIAN_PHOTO"], "rb") as f:
    req = models.DetectFaceRequest()
    req.Image = base64.b64encode(f.read()).decode()
r = client(temp).DetectFace(req)
billed["DetectFace"] += 1
assert len(r.FaceInfos) == 1, r

# Without its token, with another key's token, or a token with a permanent key: refused.
for sign in ("TC3-HMAC-SHA256", "HmacSHA256"):
    assert groups(credential.Credential(temp_id, temp_key), sign) == "AuthFailure.TokenFailure"
    assert groups(credential.Credential(temp_id, temp_key, short_token), sign) == "AuthFailure.TokenFailure"
    assert groups(credential.Credential(perm_id, perm_key, temp_token), sign) == "AuthFailure.TokenFailure"
# The right token does not stand in for the SecretKey.
assert groups(credential.Credential(temp_id, perm_key, temp_token)) == "AuthFailure.SignatureFailure"
assert not isinstance(groups(credential.Credential(perm_id, perm_key)), str)

# A key that expires works until then, and is gone after.
short = credential.Credential(short_id, short_key, short_token)
end = int(os.environ["RENLIAN_SHORT_END"])
assert time.time() < end - 0.5, "the short key expired before the test reached it"
assert not isinstance(groups(short), str)
time.sleep(max(0.0, end - time.time()) + 0.2)
for sign in ("TC3-HMAC-SHA256", "HmacSHA256"):
    assert groups(short, sign) == "AuthFailure.SecretIdNotFound", sign

print(json.dumps(billed))
