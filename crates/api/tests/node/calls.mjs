// Calls a Renlian server through the official Tencent Cloud Node.js SDK
// (tencentcloud-sdk-nodejs: its IAI clients of 2020-03-03 and 2018-03-01), checks
// fields and error codes, and checks every response against the SDK's own TypeScript
// declarations (iai_models.d.ts of the version called): each declared field present,
// of its declared type (number, string, boolean, Array<X>, another interface), null
// only where the declaration says the field may return null, and no undeclared field.
// Prints the billable calls it made per action as JSON on the last line of stdout (the
// Rust test, crates/api/tests/it/sdk_node.rs, compares them with the metering records).
//
// Environment: RENLIAN_NODE_SDK (the folder holding node_modules, from
// scripts/node-sdk-env), RENLIAN_ENDPOINT (host:port, as the SDK's endpoint: the SDK
// signs TC3 for the service named by its first dot-separated label), RENLIAN_SECRET_ID,
// RENLIAN_SECRET_KEY, RENLIAN_PHOTOS (a folder with obama.png, obama2.png, biden.png,
// blank.png, obama640.png, obama_side.png).

import assert from "node:assert/strict";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const ENDPOINT = env("RENLIAN_ENDPOINT");
const SECRET_ID = env("RENLIAN_SECRET_ID");
const SECRET_KEY = env("RENLIAN_SECRET_KEY");
const PHOTOS = env("RENLIAN_PHOTOS");

const sdkRequire = createRequire(path.join(env("RENLIAN_NODE_SDK"), "package.json"));
const tencentcloud = sdkRequire("tencentcloud-sdk-nodejs");
const TencentCloudSDKHttpException = sdkRequire(
  "tencentcloud-sdk-nodejs/tencentcloud/common/exception/tencent_cloud_sdk_exception",
).default;
const SDK_ROOT = path.dirname(sdkRequire.resolve("tencentcloud-sdk-nodejs/package.json"));
const SDK_VERSION = JSON.parse(fs.readFileSync(path.join(SDK_ROOT, "package.json"), "utf8")).version;

// ---------------------------------------------------------------------------------
// The SDK's declarations: `export interface Name { Field?: Type; ... }`, each field
// after a /** ... */ comment that says "注意：此字段可能返回 null" when it may be null.

/** Parses a declared type: primitives, Array<X>, unions (`number | bigint`), names. */
function parseType(text) {
  const t = text.trim();
  const array = /^Array<(.+)>$/.exec(t);
  if (array) return { kind: "array", of: parseType(array[1]) };
  if (t.includes("|")) return { kind: "union", of: t.split("|").map(parseType) };
  if (["number", "string", "boolean", "bigint"].includes(t)) return { kind: t };
  if (/^[A-Z]\w*$/.test(t)) return { kind: "ref", name: t };
  throw new Error(`unknown declared type ${JSON.stringify(text)}`);
}

/** Every interface of a .d.ts file of the SDK's models: name -> Map(field -> decl). */
function parseModels(file) {
  const interfaces = new Map();
  let fields = null;
  let comment = "";
  let inComment = false;
  const lines = fs.readFileSync(file, "utf8").split("\n");
  for (const [i, line] of lines.entries()) {
    const t = line.trim();
    if (inComment) {
      comment += t + "\n";
      if (t.endsWith("*/")) inComment = false;
      continue;
    }
    if (t.startsWith("/**")) {
      comment = t + "\n";
      inComment = !(t.length > 4 && t.endsWith("*/"));
      continue;
    }
    let m;
    if ((m = /^export (?:declare )?interface (\w+) \{$/.exec(t))) {
      fields = new Map();
      interfaces.set(m[1], fields);
    } else if (t === "}" && fields) {
      fields = null;
    } else if (fields && (m = /^(\w+)(\?)?: (.+);$/.exec(t))) {
      fields.set(m[1], {
        type: parseType(m[3]),
        optional: m[2] === "?",
        nullable: comment.includes("可能返回 null"),
      });
    } else if (t !== "") {
      // A form this parser does not know: fail rather than check less than declared.
      throw new Error(`${file}:${i + 1}: unparsed declaration line ${JSON.stringify(line)}`);
    }
    comment = "";
  }
  for (const [name, decl] of interfaces) {
    for (const [field, { type }] of decl) {
      const refs = [];
      const walk = (ty) => (ty.kind === "ref" ? refs.push(ty.name) : ty.of && [ty.of].flat().forEach(walk));
      walk(type);
      for (const r of refs) {
        if (!interfaces.has(r)) throw new Error(`${file}: ${name}.${field} names unknown ${r}`);
      }
    }
  }
  return interfaces;
}

/** Fields that the server answers with null although the SDK does not declare it, and
 * the actions where it does. Each entry is a deliberate choice (docs/api.md), the same
 * field of any other action must hold its declared type:
 * - Candidate.FaceId of the person searches: a person is matched by its fused features,
 *   not one face, so there is no face to name (the API's documentation calls the field
 *   meaningless there); null as PersonName, Gender and PersonGroupInfos are when
 *   NeedPersonInfo is 0. */
const NULL_BESIDES_DECLARED = {
  "Candidate.FaceId": ["SearchPersons", "SearchPersonsReturnsByGroup"],
};

/** Problems of `value` against declared type `type` at `where` (appended to `out`).
 * `ctx.models`: the interfaces; `ctx.request`: checking what we send (fields marked
 * optional may be left out) instead of what came back; `ctx.action`: the action
 * answered. */
function checkValue(ctx, value, type, where, out) {
  switch (type.kind) {
    case "number":
      if (typeof value !== "number" || !Number.isFinite(value)) {
        out.push(`${where}: declared number, got ${JSON.stringify(value)} (${typeof value})`);
      }
      return;
    case "string":
    case "boolean":
    case "bigint":
      if (typeof value !== type.kind) {
        out.push(`${where}: declared ${type.kind}, got ${JSON.stringify(value)} (${typeof value})`);
      }
      return;
    case "union": {
      const tries = type.of.map((t) => {
        const o = [];
        checkValue(ctx, value, t, where, o);
        return o;
      });
      if (!tries.some((o) => o.length === 0)) out.push(...tries.flat());
      return;
    }
    case "array":
      if (!Array.isArray(value)) {
        out.push(`${where}: declared an array, got ${JSON.stringify(value)}`);
        return;
      }
      value.forEach((v, i) => checkValue(ctx, v, type.of, `${where}[${i}]`, out));
      return;
    case "ref":
      checkObject(ctx, value, type.name, where, out);
      return;
    default:
      throw new Error(`unhandled type ${JSON.stringify(type)}`);
  }
}

/** Problems of `obj` against interface `name`: every declared field present (the API
 * answers each, null when it has no value), null only where declared, each of its
 * declared type, nothing undeclared. */
function checkObject(ctx, obj, name, where, out) {
  const decl = ctx.models.get(name);
  if (!decl) throw new Error(`no declared interface ${name}`);
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
    out.push(`${where}: declared ${name}, got ${JSON.stringify(obj)}`);
    return;
  }
  for (const key of Object.keys(obj)) {
    if (!decl.has(key)) out.push(`${where}.${key}: not declared in ${name}`);
  }
  for (const [field, { type, nullable, optional }] of decl) {
    const at = `${where}.${field}`;
    if (!(field in obj)) {
      if (!(ctx.request && optional)) out.push(`${at}: declared in ${name}, missing`);
    } else if (obj[field] === null) {
      const allowed = NULL_BESIDES_DECLARED[`${name}.${field}`]?.includes(ctx.action);
      if (!nullable && !allowed) out.push(`${at}: null, but ${name} does not declare it may be null`);
    } else {
      checkValue(ctx, obj[field], type, at, out);
    }
  }
}

/** Problems of our own request against `<Action>Request`: what we send is declared
 * (so the scenario calls the API as the SDK describes it), required fields included. */
function checkRequest(models, action, params) {
  const out = [];
  checkObject({ models, request: true }, params, `${action}Request`, `${action}Request`, out);
  return out;
}

const MODELS = {
  v20200303: parseModels(path.join(SDK_ROOT, "tencentcloud/services/iai/v20200303/iai_models.d.ts")),
  v20180301: parseModels(path.join(SDK_ROOT, "tencentcloud/services/iai/v20180301/iai_models.d.ts")),
};
// The parser found what the SDK declares (not an empty or truncated file).
for (const [version, models] of Object.entries(MODELS)) {
  assert.ok(models.size > 80, `${version}: ${models.size} interfaces`);
  assert.ok(models.get("FaceInfo")?.get("FaceAttributesInfo")?.type.name === "FaceAttributesInfo", version);
}
assert.ok(MODELS.v20200303.get("Candidate").get("PersonName").nullable);
assert.ok(!MODELS.v20200303.get("Candidate").get("Score").nullable);

// DetectLiveFace has no declaration in this SDK release (dropped from its models); its
// documented response: Score (Float), FaceModelVersion (String), IsLiveness (Boolean).
const DETECT_LIVE_FACE = new Map([
  [
    "DetectLiveFaceResponse",
    new Map([
      ["Score", { type: { kind: "number" }, nullable: false }],
      ["FaceModelVersion", { type: { kind: "string" }, nullable: false }],
      ["IsLiveness", { type: { kind: "boolean" }, nullable: false }],
      ["RequestId", { type: { kind: "string" }, nullable: false }],
    ]),
  ],
]);

// ---------------------------------------------------------------------------------
// Clients and calls.

const BILLABLE = new Set([
  "DetectFace", "CompareFace", "CompareMaskFace", "DetectFaceSimilarity", "VerifyFace",
  "VerifyPerson", "SearchFaces", "SearchFacesReturnsByGroup", "SearchPersons",
  "SearchPersonsReturnsByGroup", "CreatePerson", "CreateFace", "DetectLiveFace",
  "DetectLiveFaceAccurate", "AnalyzeFace", "AnalyzeDenseLandmarks", "DetectFaceAttributes",
]);
const billed = Object.fromEntries([...BILLABLE].sort().map((a) => [a, 0]));

function photo(name) {
  return fs.readFileSync(path.join(PHOTOS, name)).toString("base64");
}

/** An IAI client of the SDK for `version`, over plain HTTP to the test server. */
function client(version, { sign = "TC3-HMAC-SHA256", method = "POST", language } = {}) {
  const Client = tencentcloud.iai[version].Client;
  const profile = {
    signMethod: sign,
    // The SDK joins protocol + endpoint + "/": the protocol carries its "://".
    httpProfile: { endpoint: ENDPOINT, protocol: "http://", reqMethod: method, reqTimeout: 120 },
  };
  if (language) profile.language = language;
  return {
    client: new Client({
      credential: { secretId: SECRET_ID, secretKey: SECRET_KEY },
      region: "ap-guangzhou",
      profile,
    }),
    models: MODELS[version],
    name: `${version} ${sign} ${method}`,
  };
}

const TC3 = client("v20200303");

/** Calls an action through the SDK's typed method; returns [response, null] or
 * [null, error code, message]. The response is checked against its declaration. */
async function call(action, params, via = TC3) {
  const bad = checkRequest(via.models, action, params);
  assert.deepEqual(bad, [], `the scenario's own ${action} request`);
  assert.equal(typeof via.client[action], "function", `${via.name}: no method ${action}`);
  let resp;
  try {
    resp = await via.client[action](params);
  } catch (e) {
    if (!(e instanceof TencentCloudSDKHttpException) || typeof e.code !== "string") {
      // A transport or HTTP-status failure: no API error code to compare.
      throw new Error(`${via.name} ${action}: ${e.stack || e} (httpCode ${e.httpCode})`);
    }
    assert.ok(e.requestId, `${action}: error ${e.code} without RequestId`);
    assert.ok(e.message, `${action}: error ${e.code} without Message`);
    if (e.code === "InvalidParameterValue.NoFaceInPhoto" && BILLABLE.has(action)) billed[action] += 1;
    return [null, e.code, e.message];
  }
  const problems = [];
  checkObject({ models: via.models, action }, resp, `${action}Response`, `${via.name} ${action}`, problems);
  assert.deepEqual(problems, [], `${action}: response against iai_models.d.ts:\n${JSON.stringify(resp)}`);
  if (BILLABLE.has(action)) billed[action] += 1;
  return [resp, null];
}

async function ok(action, params, via = TC3) {
  const [resp, code, message] = await call(action, params, via);
  assert.equal(code, null, `${via.name} ${action}: ${code} (${message})`);
  assert.ok(resp.RequestId, JSON.stringify(resp));
  return resp;
}

async function fails(action, params, expected, via = TC3) {
  const [resp, code, message] = await call(action, params, via);
  assert.equal(code, expected, `${via.name} ${action}: expected ${expected}, got ${code} (${message}) / ${JSON.stringify(resp)}`);
}

const show = (r) => JSON.stringify(r);
const [obama, obama2, biden, blank] = ["obama.png", "obama2.png", "biden.png", "blank.png"].map(photo);

// ---------------------------------------------------------------------------------
// The scenario (as crates/api/tests/sdk/calls.py runs it through the Python SDK).

// Detection and comparison.
let r = await ok("DetectFace", { Image: obama, MaxFaceNum: 2 });
assert.ok(r.FaceInfos.length === 1 && r.FaceInfos[0].Width > 40, show(r));
assert.ok(r.ImageWidth > 0 && r.FaceModelVersion === "3.0", show(r));
await fails("DetectFace", { Image: blank }, "InvalidParameterValue.NoFaceInPhoto");

// A photo on its side without EXIF: no face unless NeedRotateDetection; with it the same
// face, its box in the frame of the photo as sent (obama.png turned 90° clockwise).
const up = r.FaceInfos[0];
const side = photo("obama_side.png");
await fails("DetectFace", { Image: side }, "InvalidParameterValue.NoFaceInPhoto");
const s = await ok("DetectFace", { Image: side, NeedRotateDetection: 1 });
assert.deepEqual([s.ImageWidth, s.ImageHeight], [r.ImageHeight, r.ImageWidth], show(s));
const f = s.FaceInfos[0];
assert.ok(f.X === r.ImageHeight - up.Y - up.Height && f.Y === up.X, show([up, f]));
assert.deepEqual([f.Width, f.Height], [up.Height, up.Width], show([up, f]));

// Attributes and quality: Obama is a man looking at the camera with open eyes; what no
// model estimates comes back as "no valid value".
r = await ok("DetectFace", { Image: obama, NeedFaceAttributes: 1, NeedQualityDetection: 1 });
const a = r.FaceInfos[0].FaceAttributesInfo;
assert.ok(a.Gender >= 50 && a.Gender <= 100 && a.Age >= 15 && a.Age <= 80, show(a));
assert.ok(a.Expression >= 0 && a.Expression <= 100, show(a));
assert.ok([a.Pitch, a.Yaw].every((v) => v >= -30 && v <= 30) && a.Roll >= -180 && a.Roll <= 180, show(a));
assert.ok(a.EyeOpen === true && a.Hat === null && a.Mask === null && a.Hair === null, show(a));
const q = r.FaceInfos[0].FaceQualityInfo;
assert.ok(["Score", "Sharpness", "Brightness"].every((k) => q[k] >= 0 && q[k] <= 100), show(q));
assert.ok(q.Completeness.Eye === 100 && q.Completeness.Mouth === 100, show(q));
r = await ok("DetectFace", { Image: obama });
assert.ok(r.FaceInfos[0].FaceAttributesInfo.Age === 0, show(r));
assert.ok(r.FaceInfos[0].FaceQualityInfo === null, show(r));
r = await ok("DetectFaceAttributes", {
  Image: obama,
  FaceAttributesType: "Age,Gender,Emotion,Headpose,Eye,Smile,Beauty",
});
const d = r.FaceDetailInfos[0].FaceDetailAttributesInfo;
assert.ok(d.Gender.Type === 0 && d.Gender.Probability > 0.5, show(d));
assert.ok(d.Age >= 15 && d.Age <= 65 && d.Emotion.Type >= 0 && d.Emotion.Type <= 6, show(d));
assert.ok(d.Eye.EyeOpen.Type === 0 && d.Beauty === 0 && d.Hat.Style.Probability === 0, show(d));
assert.ok(r.FaceDetailInfos[0].FaceRect.Width > 40, show(r));
await fails("DetectFaceAttributes", { Image: obama, FaceAttributesType: "Age,Wings" }, "InvalidParameterValue");

// Landmarks: IAI's 90 points and the dense shape.
r = await ok("AnalyzeFace", { Image: obama, Mode: 1 });
const shape = r.FaceShapeSet[0];
const parts = ["FaceProfile", "LeftEye", "RightEye", "LeftEyeBrow", "RightEyeBrow", "Mouth", "Nose", "LeftPupil", "RightPupil"];
const counts = Object.fromEntries(parts.map((k) => [k, shape[k].length]));
const total = Object.values(counts).reduce((x, y) => x + y, 0);
assert.ok(total === 90 && counts.FaceProfile === 21 && counts.Mouth === 22, show(counts));
assert.ok(shape.LeftPupil[0].X < shape.RightPupil[0].X, show(shape));
r = await ok("AnalyzeDenseLandmarks", { Image: obama });
assert.ok(r.DenseFaceShapeSet[0].MouthOutside.length > 0, show(r));
const same = (await ok("CompareFace", { ImageA: obama, ImageB: obama2 })).Score;
const other = (await ok("CompareFace", { ImageA: obama, ImageB: biden })).Score;
// Scores carry the calibrated false-accept meaning (docs/calibration/): two photos of
// one man clear 40 (FAR 1e-3); different people stay under 20 (FAR 1e-1).
assert.ok(same >= 40 && other < 20, show([same, other]));
// Refused, unbilled: no masked-face model, no calibration of DetectFaceSimilarity's scale.
await fails("CompareMaskFace", { ImageA: obama, ImageB: obama2 }, "UnsupportedOperation");
await fails("DetectFaceSimilarity", { ImageA: obama, ImageB: obama2 }, "UnsupportedOperation");

// Groups.
await ok("CreateGroup", { GroupName: "staff", GroupId: "g1", GroupExDescriptions: ["desk"], Tag: "t" });
await ok("CreateGroup", { GroupName: "visitors", GroupId: "g2" });
await fails("CreateGroup", { GroupName: "x", GroupId: "bad id!" }, "InvalidParameterValue.GroupIdIllegal");
await fails("CreateGroup", { GroupName: "staff", GroupId: "g3" }, "InvalidParameterValue.GroupNameAlreadyExist");
r = await ok("GetGroupList", {});
assert.ok(r.GroupNum === 2, show(r));
assert.deepEqual(r.GroupInfos.map((g) => g.GroupId), ["g1", "g2"], show(r));
r = await ok("GetGroupInfo", { GroupId: "g1" });
assert.ok(r.GroupName === "staff", show(r));
assert.deepEqual(r.GroupExDescriptions, ["desk"], show(r));
await ok("ModifyGroup", { GroupId: "g1", Tag: "t2" });
await fails("GetGroupInfo", { GroupId: "nope" }, "InvalidParameterValue.GroupIdNotExist");

// Persons and faces.
r = await ok("CreatePerson", {
  GroupId: "g1", PersonId: "p1", PersonName: "Obama", Gender: 1,
  PersonExDescriptionInfos: [{ PersonExDescriptionIndex: 0, PersonExDescription: "A1" }],
  Image: obama,
});
assert.ok(r.FaceId && r.SimilarPersonId === "" && r.FaceRect.Width > 40, show(r));
// The same man again with UniquePersonControl: not created, the similar person named.
r = await ok("CreatePerson", { GroupId: "g1", PersonId: "p9", PersonName: "Again", Image: obama2, UniquePersonControl: 1 });
assert.ok(r.SimilarPersonId === "p1" && r.FaceId === "", show(r));
await fails("GetPersonBaseInfo", { PersonId: "p9" }, "InvalidParameterValue.PersonIdNotExist");
r = await ok("CreatePerson", { GroupId: "g1", PersonId: "p2", PersonName: "Biden", Image: biden, UniquePersonControl: 1 });
assert.ok(r.FaceId && r.SimilarPersonId === "", show(r));
await fails("CreatePerson", { GroupId: "g1", PersonId: "p3", PersonName: "Nobody", Image: blank }, "InvalidParameterValue.NoFaceInPhoto");
await fails("CreatePerson", { GroupId: "g1", PersonId: "p/3", PersonName: "Bad", Image: obama }, "InvalidParameterValue.PersonIdIllegal");
// 30 (FAR 1e-2) takes obama2 and still refuses Biden.
r = await ok("CreateFace", { PersonId: "p1", Images: [obama2, biden], FaceMatchThreshold: 30 });
assert.ok(r.SucFaceNum === 1, show(r));
assert.deepEqual([r.RetCode, r.SucIndexes], [[0, -1604], [0]], show(r));
r = await ok("GetPersonBaseInfo", { PersonId: "p1" });
assert.ok(r.PersonName === "Obama" && r.Gender === 1 && r.FaceIds.length === 2, show(r));
await ok("ModifyPersonBaseInfo", { PersonId: "p1", PersonName: "Barack", Gender: 1 });
await ok("ModifyPersonGroupInfo", {
  GroupId: "g1", PersonId: "p1",
  PersonExDescriptionInfos: [{ PersonExDescriptionIndex: 0, PersonExDescription: "B2" }],
});
r = await ok("GetPersonList", { GroupId: "g1" });
assert.ok(r.PersonNum === 2 && r.FaceNum === 3, show(r));
const byId = Object.fromEntries(r.PersonInfos.map((p) => [p.PersonId, p]));
assert.ok(byId.p1.PersonName === "Barack", show(r));
assert.deepEqual(byId.p1.PersonExDescriptions, ["B2"], show(r));
r = await ok("GetPersonListNum", { GroupId: "g1" });
assert.deepEqual([r.PersonNum, r.FaceNum], [2, 3], show(r));
r = await ok("CopyPerson", { PersonId: "p1", GroupIds: ["g2"] });
assert.ok(r.SucGroupNum === 1, show(r));
assert.deepEqual(r.SucGroupIds, ["g2"], show(r));
r = await ok("GetPersonGroupInfo", { PersonId: "p1" });
assert.ok(r.GroupNum === 2, show(r));
assert.deepEqual(r.PersonGroupInfos.map((g) => g.GroupId).sort(), ["g1", "g2"], show(r));

// Search and verification.
r = await ok("SearchFaces", { GroupIds: ["g1", "g2"], Image: obama2, MaxPersonNum: 2, NeedPersonInfo: 1 });
const top = r.Results[0].Candidates[0];
assert.ok(top.PersonId === "p1" && top.Score >= 40 && top.PersonName === "Barack", show(r));
assert.ok(top.FaceId && r.FaceNum === 5 && r.Results[0].RetCode === 0, show(r));
r = await ok("SearchFaces", { GroupIds: ["g1"], Image: obama2, FaceMatchThreshold: 99.9 });
const c = r.Results[0].Candidates;
assert.ok(c.length === 0 || c[0].Score >= 99.9, show(r));
r = await ok("SearchPersons", { GroupIds: ["g1"], Image: biden, MaxPersonNum: 1 });
assert.deepEqual(r.Results[0].Candidates.map((x) => x.PersonId), ["p2"], show(r));
assert.ok(r.PersonNum === 2 && r.Results[0].Candidates[0].FaceId === null, show(r));
r = await ok("SearchFacesReturnsByGroup", { GroupIds: ["g1", "g2"], Image: obama2, MaxPersonNumPerGroup: 1 });
const groups = r.ResultsReturnsByGroup[0].GroupCandidates;
assert.deepEqual(groups.map((g) => g.GroupId), ["g1", "g2"], show(r));
assert.ok(groups.every((g) => g.Candidates[0].PersonId === "p1"), show(r));
r = await ok("SearchPersonsReturnsByGroup", { GroupIds: ["g1"], Image: biden, MaxPersonNumPerGroup: 2 });
assert.ok(r.ResultsReturnsByGroup[0].GroupCandidates[0].Candidates[0].PersonId === "p2", show(r));
await fails("SearchFaces", { GroupIds: ["nope"], Image: obama2 }, "InvalidParameterValue.GroupIdNotExist");
await fails("SearchFaces", { GroupIds: ["g1"], Image: obama2, MaxPersonNum: 101 }, "InvalidParameterValue.SearchPersonsExceed");
r = await ok("VerifyFace", { PersonId: "p1", Image: obama2 });
assert.ok(r.Score >= 40 && r.IsMatch === r.Score >= 60, show(r));
r = await ok("VerifyFace", { PersonId: "p1", Image: obama });
assert.ok(r.IsMatch && r.Score > 99, show(r));
r = await ok("VerifyPerson", { PersonId: "p1", Image: biden });
assert.ok(!r.IsMatch && r.Score < 20, show(r));

// Upgrade actions: one face model, so nothing to upgrade and no jobs.
await fails("UpgradeGroupFaceModelVersion", { GroupId: "g1", FaceModelVersion: "3.0" }, "FailedOperation.GroupCannotUpgrade");
r = await ok("GetUpgradeGroupFaceModelVersionJobList", {});
assert.ok(r.JobNum === 0, show(r));
assert.deepEqual(r.JobInfos, [], show(r));
await fails("GetUpgradeGroupFaceModelVersionResult", { JobId: "j1" }, "FailedOperation.UpgradeJobIdNotExist");
await fails("RevertGroupFaceModelVersion", { JobId: "j1" }, "FailedOperation.UpgradeJobIdNotExist");

// Static liveness: a 0-100 score; the 320-px photo's face is under the 100×100 Accurate
// asks for.
const big = photo("obama640.png");
r = await ok("DetectLiveFaceAccurate", { Image: big });
assert.ok(r.Score >= 0 && r.Score <= 100 && r.FaceModelVersion === "3.0", show(r));
await fails("DetectLiveFaceAccurate", { Image: obama }, "FailedOperation.FaceSizeTooSmall");
await fails("DetectLiveFaceAccurate", { Image: blank }, "InvalidParameterValue.NoFaceInPhoto");

// TC3 over GET (the SDK signs the query string and an empty body; no images: a GET
// carries its parameters in the URL).
const TC3_GET = client("v20200303", { method: "GET" });
r = await ok("GetPersonList", { GroupId: "g1", Limit: 1 }, TC3_GET);
assert.ok(r.PersonNum === 2 && r.PersonInfos.length === 1, show(r));

// The older signature (v1): form POST with HmacSHA256, GET with HmacSHA1 (and the
// SDK's Language parameter, which v1 signs), then the 2018-03-01 version.
const V1 = client("v20200303", { sign: "HmacSHA256" });
r = await ok("SearchPersons", { GroupIds: ["g1"], Image: obama, MaxPersonNum: 1 }, V1);
assert.ok(r.Results[0].Candidates[0].PersonId === "p1", show(r));
r = await ok("GetPersonList", { GroupId: "g1", Limit: 1 }, V1);
assert.ok(r.PersonNum === 2 && r.PersonInfos.length === 1, show(r));
await fails("GetGroupInfo", { GroupId: "nope" }, "InvalidParameterValue.GroupIdNotExist", V1);
const V1_GET = client("v20200303", { sign: "HmacSHA1", method: "GET", language: "en-US" });
r = await ok("GetPersonBaseInfo", { PersonId: "p2" }, V1_GET);
assert.ok(r.PersonName === "Biden", show(r));
const OLD = client("v20180301");
r = await ok("GetGroupList", { Limit: 1 }, OLD);
assert.ok(r.GroupNum === 2 && r.GroupInfos.length === 1, show(r));
r = await ok("DetectFace", { Image: biden }, OLD);
assert.ok(r.FaceInfos.length === 1, show(r));
r = await ok("SearchFaces", { GroupIds: ["g1"], Image: obama2, MaxPersonNum: 1 }, OLD);
assert.ok(r.Results[0].Candidates[0].PersonId === "p1", show(r));
// DetectLiveFace: no typed method in this SDK release; the client's generic request()
// signs and sends it.
r = await OLD.client.request("DetectLiveFace", { Image: big });
billed.DetectLiveFace += 1;
const live = [];
checkObject({ models: DETECT_LIVE_FACE }, r, "DetectLiveFaceResponse", "DetectLiveFace", live);
assert.deepEqual(live, [], show(r));
assert.ok(r.Score >= 0 && r.Score <= 100 && r.IsLiveness === r.Score >= 40, show(r));
assert.ok(r.FaceModelVersion === "3.0" && r.RequestId, show(r));

// Deletions.
const faceIds = (await ok("GetPersonBaseInfo", { PersonId: "p1" })).FaceIds;
// A list parameter over TC3 GET (flattened as FaceIds.0 by the SDK).
r = await ok("DeleteFace", { PersonId: "p1", FaceIds: [faceIds[1]] }, TC3_GET);
assert.ok(r.SucDeletedNum === 1, show(r));
await ok("DeletePersonFromGroup", { GroupId: "g2", PersonId: "p1" });
await ok("DeletePerson", { PersonId: "p2" });
await ok("DeleteGroup", { GroupId: "g2" });
r = await ok("GetGroupList", {});
assert.ok(r.GroupNum === 1, show(r));

console.error(`tencentcloud-sdk-nodejs ${SDK_VERSION} against ${ENDPOINT}: every check passed`);
console.log(JSON.stringify(billed));
