"""Calls a Renlian server through the official Tencent Cloud Python SDK (IAI client),
checks fields and error codes, and prints the billable calls it made per action as JSON
on the last line of stdout (the Rust test compares them with the metering records).

Environment: RENLIAN_ENDPOINT (host:port), RENLIAN_SECRET_ID, RENLIAN_SECRET_KEY,
RENLIAN_PHOTOS (a folder with obama.png, obama2.png, biden.png, blank.png, obama640.png,
obama_side.png).
"""

import base64
import json
import os
import sys
from collections import Counter

from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
    TencentCloudSDKException,
)
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.iai.v20180301 import iai_client as iai_2018
from tencentcloud.iai.v20180301 import models as models_2018
from tencentcloud.iai.v20200303 import iai_client as iai_2020
from tencentcloud.iai.v20200303 import models as models_2020

ENDPOINT = os.environ["RENLIAN_ENDPOINT"]
CRED = credential.Credential(
    os.environ["RENLIAN_SECRET_ID"], os.environ["RENLIAN_SECRET_KEY"]
)
PHOTOS = os.environ["RENLIAN_PHOTOS"]
BILLABLE = {
    "DetectFace", "CompareFace", "VerifyFace", "VerifyPerson", "SearchFaces",
    "SearchFacesReturnsByGroup", "SearchPersons", "SearchPersonsReturnsByGroup",
    "CreatePerson", "CreateFace", "DetectLiveFace", "DetectLiveFaceAccurate",
    "AnalyzeFace", "AnalyzeDenseLandmarks", "DetectFaceAttributes",
}
billed = Counter()


def photo(name):
    with open(os.path.join(PHOTOS, name), "rb") as f:
        return base64.b64encode(f.read()).decode()


def client(module, sign="TC3-HMAC-SHA256", method="POST"):
    http = HttpProfile(protocol="http", endpoint=ENDPOINT, reqMethod=method)
    return module.IaiClient(CRED, "ap-guangzhou", ClientProfile(signMethod=sign, httpProfile=http))


TC3 = (client(iai_2020), models_2020)


def call(action, params, via=TC3):
    """Calls an action; returns (response dict, None) or (None, error code)."""
    c, models = via
    req = getattr(models, action + "Request")()
    req.from_json_string(json.dumps(params))
    try:
        resp = json.loads(getattr(c, action)(req).to_json_string())
    except TencentCloudSDKException as e:
        if e.get_code() == "InvalidParameterValue.NoFaceInPhoto" and action in BILLABLE:
            billed[action] += 1
        return None, e.get_code()
    if action in BILLABLE:
        billed[action] += 1
    return resp, None


def ok(action, params, via=TC3):
    resp, code = call(action, params, via)
    assert code is None, f"{action}: {code}"
    assert resp["RequestId"], resp
    return resp


def fails(action, params, expected, via=TC3):
    resp, code = call(action, params, via)
    assert code == expected, f"{action}: expected {expected}, got {code} / {resp}"


obama, obama2, biden, blank = (photo(n) for n in ("obama.png", "obama2.png", "biden.png", "blank.png"))

# Detection and comparison.
r = ok("DetectFace", {"Image": obama, "MaxFaceNum": 2})
assert len(r["FaceInfos"]) == 1 and r["FaceInfos"][0]["Width"] > 40, r
assert r["ImageWidth"] > 0 and r["FaceModelVersion"] == "3.0", r
fails("DetectFace", {"Image": blank}, "InvalidParameterValue.NoFaceInPhoto")

# A photo on its side without EXIF: no face unless NeedRotateDetection; with it the same
# face, its box in the frame of the photo as sent (obama.png turned 90° clockwise).
up = r["FaceInfos"][0]
side = photo("obama_side.png")
fails("DetectFace", {"Image": side}, "InvalidParameterValue.NoFaceInPhoto")
s = ok("DetectFace", {"Image": side, "NeedRotateDetection": 1})
assert (s["ImageWidth"], s["ImageHeight"]) == (r["ImageHeight"], r["ImageWidth"]), s
f = s["FaceInfos"][0]
assert f["X"] == r["ImageHeight"] - up["Y"] - up["Height"] and f["Y"] == up["X"], (up, f)
assert (f["Width"], f["Height"]) == (up["Height"], up["Width"]), (up, f)

# Attributes and quality (docs/attributes.md, docs/quality.md): Obama is a man looking at
# the camera with open eyes; what no model estimates comes back as "no valid value".
r = ok("DetectFace", {"Image": obama, "NeedFaceAttributes": 1, "NeedQualityDetection": 1})
a = r["FaceInfos"][0]["FaceAttributesInfo"]
assert 50 <= a["Gender"] <= 100 and 15 <= a["Age"] <= 80 and 0 <= a["Expression"] <= 100, a
assert all(-30 <= a[k] <= 30 for k in ("Pitch", "Yaw")) and -180 <= a["Roll"] <= 180, a
assert a["EyeOpen"] is True and a["Hat"] is None and a["Mask"] is None and a["Hair"] is None, a
q = r["FaceInfos"][0]["FaceQualityInfo"]
assert all(0 <= q[k] <= 100 for k in ("Score", "Sharpness", "Brightness")), q
assert q["Completeness"]["Eye"] == 100 and q["Completeness"]["Mouth"] == 100, q
r = ok("DetectFace", {"Image": obama})
assert r["FaceInfos"][0]["FaceAttributesInfo"]["Age"] == 0, r
assert r["FaceInfos"][0]["FaceQualityInfo"] is None, r
r = ok("DetectFaceAttributes", {"Image": obama, "FaceAttributesType": "Age,Gender,Emotion,Headpose,Eye,Smile,Beauty"})
d = r["FaceDetailInfos"][0]["FaceDetailAttributesInfo"]
assert d["Gender"]["Type"] == 0 and d["Gender"]["Probability"] > 0.5, d
assert 15 <= d["Age"] <= 65 and 0 <= d["Emotion"]["Type"] <= 6 and d["Eye"]["EyeOpen"]["Type"] == 0, d
assert d["Beauty"] == 0 and d["Hat"]["Style"]["Probability"] == 0, d
assert r["FaceDetailInfos"][0]["FaceRect"]["Width"] > 40, r
fails("DetectFaceAttributes", {"Image": obama, "FaceAttributesType": "Age,Wings"}, "InvalidParameterValue")

# Landmarks: IAI's 90 points and the dense shape.
r = ok("AnalyzeFace", {"Image": obama, "Mode": 1})
shape = r["FaceShapeSet"][0]
counts = {k: len(shape[k]) for k in ("FaceProfile", "LeftEye", "RightEye", "LeftEyeBrow", "RightEyeBrow",
                                     "Mouth", "Nose", "LeftPupil", "RightPupil")}
assert sum(counts.values()) == 90 and counts["FaceProfile"] == 21 and counts["Mouth"] == 22, counts
assert shape["LeftPupil"][0]["X"] < shape["RightPupil"][0]["X"], shape
r = ok("AnalyzeDenseLandmarks", {"Image": obama})
assert len(r["DenseFaceShapeSet"][0]["MouthOutside"]) > 0, r
same = ok("CompareFace", {"ImageA": obama, "ImageB": obama2})["Score"]
other = ok("CompareFace", {"ImageA": obama, "ImageB": biden})["Score"]
# Scores carry the calibrated false-accept meaning (docs/calibration/): two photos of
# one man clear 40 (FAR 1e-3); different people stay under 20 (FAR 1e-1).
assert same >= 40 and other < 20, (same, other)

# Groups.
ok("CreateGroup", {"GroupName": "staff", "GroupId": "g1", "GroupExDescriptions": ["desk"], "Tag": "t"})
ok("CreateGroup", {"GroupName": "visitors", "GroupId": "g2"})
fails("CreateGroup", {"GroupName": "x", "GroupId": "bad id!"}, "InvalidParameterValue.GroupIdIllegal")
fails("CreateGroup", {"GroupName": "staff", "GroupId": "g3"}, "InvalidParameterValue.GroupNameAlreadyExist")
r = ok("GetGroupList", {})
assert r["GroupNum"] == 2 and [g["GroupId"] for g in r["GroupInfos"]] == ["g1", "g2"], r
r = ok("GetGroupInfo", {"GroupId": "g1"})
assert r["GroupName"] == "staff" and r["GroupExDescriptions"] == ["desk"], r
ok("ModifyGroup", {"GroupId": "g1", "Tag": "t2"})
fails("GetGroupInfo", {"GroupId": "nope"}, "InvalidParameterValue.GroupIdNotExist")

# Persons and faces.
r = ok("CreatePerson", {"GroupId": "g1", "PersonId": "p1", "PersonName": "Obama", "Gender": 1,
                        "PersonExDescriptionInfos": [{"PersonExDescriptionIndex": 0, "PersonExDescription": "A1"}],
                        "Image": obama})
assert r["FaceId"] and r["SimilarPersonId"] == "" and r["FaceRect"]["Width"] > 40, r
# The same man again with UniquePersonControl: not created, the similar person named.
r = ok("CreatePerson", {"GroupId": "g1", "PersonId": "p9", "PersonName": "Again", "Image": obama2,
                        "UniquePersonControl": 1})
assert r["SimilarPersonId"] == "p1" and r["FaceId"] == "", r
fails("GetPersonBaseInfo", {"PersonId": "p9"}, "InvalidParameterValue.PersonIdNotExist")
r = ok("CreatePerson", {"GroupId": "g1", "PersonId": "p2", "PersonName": "Biden", "Image": biden,
                        "UniquePersonControl": 1})
assert r["FaceId"] and r["SimilarPersonId"] == "", r
fails("CreatePerson", {"GroupId": "g1", "PersonId": "p3", "PersonName": "Nobody", "Image": blank},
      "InvalidParameterValue.NoFaceInPhoto")
fails("CreatePerson", {"GroupId": "g1", "PersonId": "p/3", "PersonName": "Bad", "Image": obama},
      "InvalidParameterValue.PersonIdIllegal")
# The default FaceMatchThreshold (60, FAR 1e-5) is beyond what dlib's descriptor gives two
# photos of one man; 30 (FAR 1e-2) takes obama2 and still refuses Biden.
r = ok("CreateFace", {"PersonId": "p1", "Images": [obama2, biden], "FaceMatchThreshold": 30})
assert r["SucFaceNum"] == 1 and r["RetCode"] == [0, -1604] and r["SucIndexes"] == [0], r
r = ok("GetPersonBaseInfo", {"PersonId": "p1"})
assert r["PersonName"] == "Obama" and r["Gender"] == 1 and len(r["FaceIds"]) == 2, r
ok("ModifyPersonBaseInfo", {"PersonId": "p1", "PersonName": "Barack", "Gender": 1})
ok("ModifyPersonGroupInfo", {"GroupId": "g1", "PersonId": "p1",
                             "PersonExDescriptionInfos": [{"PersonExDescriptionIndex": 0, "PersonExDescription": "B2"}]})
r = ok("GetPersonList", {"GroupId": "g1"})
assert r["PersonNum"] == 2 and r["FaceNum"] == 3, r
names = {p["PersonId"]: p for p in r["PersonInfos"]}
assert names["p1"]["PersonName"] == "Barack" and names["p1"]["PersonExDescriptions"] == ["B2"], r
r = ok("GetPersonListNum", {"GroupId": "g1"})
assert (r["PersonNum"], r["FaceNum"]) == (2, 3), r
r = ok("CopyPerson", {"PersonId": "p1", "GroupIds": ["g2"]})
assert r["SucGroupNum"] == 1 and r["SucGroupIds"] == ["g2"], r
r = ok("GetPersonGroupInfo", {"PersonId": "p1"})
assert r["GroupNum"] == 2 and sorted(g["GroupId"] for g in r["PersonGroupInfos"]) == ["g1", "g2"], r

# Search and verification.
r = ok("SearchFaces", {"GroupIds": ["g1", "g2"], "Image": obama2, "MaxPersonNum": 2, "NeedPersonInfo": 1})
top = r["Results"][0]["Candidates"][0]
assert top["PersonId"] == "p1" and top["Score"] >= 40 and top["PersonName"] == "Barack", r
assert top["FaceId"] and r["FaceNum"] == 5 and r["Results"][0]["RetCode"] == 0, r
r = ok("SearchFaces", {"GroupIds": ["g1"], "Image": obama2, "FaceMatchThreshold": 99.9})
assert r["Results"][0]["Candidates"] == [] or r["Results"][0]["Candidates"][0]["Score"] >= 99.9, r
r = ok("SearchPersons", {"GroupIds": ["g1"], "Image": biden, "MaxPersonNum": 1})
assert [c["PersonId"] for c in r["Results"][0]["Candidates"]] == ["p2"] and r["PersonNum"] == 2, r
r = ok("SearchFacesReturnsByGroup", {"GroupIds": ["g1", "g2"], "Image": obama2, "MaxPersonNumPerGroup": 1})
groups = r["ResultsReturnsByGroup"][0]["GroupCandidates"]
assert [g["GroupId"] for g in groups] == ["g1", "g2"], r
assert all(g["Candidates"][0]["PersonId"] == "p1" for g in groups), r
r = ok("SearchPersonsReturnsByGroup", {"GroupIds": ["g1"], "Image": biden, "MaxPersonNumPerGroup": 2})
assert r["ResultsReturnsByGroup"][0]["GroupCandidates"][0]["Candidates"][0]["PersonId"] == "p2", r
fails("SearchFaces", {"GroupIds": ["nope"], "Image": obama2}, "InvalidParameterValue.GroupIdNotExist")
fails("SearchFaces", {"GroupIds": ["g1"], "Image": obama2, "MaxPersonNum": 101},
      "InvalidParameterValue.SearchPersonsExceed")
r = ok("VerifyFace", {"PersonId": "p1", "Image": obama2})
assert r["Score"] >= 40 and r["IsMatch"] == (r["Score"] >= 60), r
r = ok("VerifyFace", {"PersonId": "p1", "Image": obama})
assert r["IsMatch"] and r["Score"] > 99, r
r = ok("VerifyPerson", {"PersonId": "p1", "Image": biden})
assert not r["IsMatch"] and r["Score"] < 20, r

# Upgrade actions: one face model, so nothing to upgrade and no jobs.
fails("UpgradeGroupFaceModelVersion", {"GroupId": "g1", "FaceModelVersion": "3.0"},
      "FailedOperation.GroupCannotUpgrade")
r = ok("GetUpgradeGroupFaceModelVersionJobList", {})
assert r["JobNum"] == 0 and r["JobInfos"] == [], r
fails("GetUpgradeGroupFaceModelVersionResult", {"JobId": "j1"}, "FailedOperation.UpgradeJobIdNotExist")

# Static liveness: a 0-100 score (docs/liveness.md); the 320-px photo's face is under the
# 100×100 Accurate asks for.
big = photo("obama640.png")
r = ok("DetectLiveFaceAccurate", {"Image": big})
assert 0 <= r["Score"] <= 100 and r["FaceModelVersion"] == "3.0", r
fails("DetectLiveFaceAccurate", {"Image": obama}, "FailedOperation.FaceSizeTooSmall")
fails("DetectLiveFaceAccurate", {"Image": blank}, "InvalidParameterValue.NoFaceInPhoto")

# The older signature (v1), form POST with HmacSHA256 and GET with HmacSHA1, and the
# 2018-03-01 version.
V1 = (client(iai_2020, sign="HmacSHA256"), models_2020)
r = ok("SearchPersons", {"GroupIds": ["g1"], "Image": obama, "MaxPersonNum": 1}, via=V1)
assert r["Results"][0]["Candidates"][0]["PersonId"] == "p1", r
r = ok("GetPersonList", {"GroupId": "g1", "Limit": 1}, via=V1)
assert r["PersonNum"] == 2 and len(r["PersonInfos"]) == 1, r
V1_GET = (client(iai_2020, sign="HmacSHA1", method="GET"), models_2020)
r = ok("GetPersonBaseInfo", {"PersonId": "p2"}, via=V1_GET)
assert r["PersonName"] == "Biden", r
OLD = (client(iai_2018), models_2018)
r = ok("GetGroupList", {"Limit": 1}, via=OLD)
assert r["GroupNum"] == 2 and len(r["GroupInfos"]) == 1, r
r = ok("DetectFace", {"Image": biden}, via=OLD)
assert len(r["FaceInfos"]) == 1, r
# DetectLiveFace is gone from the SDK's typed models; its generic JSON call still signs it.
r = OLD[0].call_json("DetectLiveFace", {"Image": big})["Response"]
billed["DetectLiveFace"] += 1
assert 0 <= r["Score"] <= 100 and r["IsLiveness"] == (r["Score"] >= 40), r
assert r["FaceModelVersion"] == "3.0" and r["RequestId"], r

# Deletions.
r = ok("DeleteFace", {"PersonId": "p1", "FaceIds": [ok("GetPersonBaseInfo", {"PersonId": "p1"})["FaceIds"][1]]})
assert r["SucDeletedNum"] == 1, r
ok("DeletePersonFromGroup", {"GroupId": "g2", "PersonId": "p1"})
ok("DeletePerson", {"PersonId": "p2"})
ok("DeleteGroup", {"GroupId": "g2"})
r = ok("GetGroupList", {})
assert r["GroupNum"] == 1, r

print(json.dumps(dict(billed)))
