// Calls a Renlian server through Tencent Cloud's official Go SDK (the IAI clients of
// 2020-03-03 and 2018-03-01), checks fields and error codes, and prints the billable
// calls it made per action as JSON on the last line of stdout (the Rust test,
// crates/api/tests/it/sdk_go.rs, compares them with the metering records).
//
// Every answer is decoded by the SDK into its own typed models when the call returns:
// a number the model declares as an integer (*int64, *uint64) that the server writes as
// a float (3.0) or a negative number where it declares *uint64 fails the call with
// ClientError.ParseJsonError, and so fails this program.
//
// Environment: RENLIAN_ENDPOINT (host:port), RENLIAN_SECRET_ID, RENLIAN_SECRET_KEY,
// RENLIAN_PHOTOS (a folder with obama.png, obama2.png, biden.png, blank.png,
// obama640.png, obama_side.png). Built by scripts/go-env.
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcerr "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
	iai2018 "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/iai/v20180301"
	iai "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/iai/v20200303"
)

const region = "ap-guangzhou"

// The actions the server meters; a call of one that ends in NoFaceInPhoto is metered too.
var billable = map[string]bool{
	"DetectFace": true, "CompareFace": true, "VerifyFace": true, "VerifyPerson": true,
	"SearchFaces": true, "SearchFacesReturnsByGroup": true, "SearchPersons": true,
	"SearchPersonsReturnsByGroup": true, "CreatePerson": true, "CreateFace": true,
	"DetectLiveFace": true, "DetectLiveFaceAccurate": true, "AnalyzeFace": true,
	"AnalyzeDenseLandmarks": true, "DetectFaceAttributes": true,
}

var billed = map[string]int{}

// failAt stops the program with a message naming the line `depth` frames up.
func failAt(depth int, format string, args ...interface{}) {
	_, file, line, _ := runtime.Caller(depth + 1)
	fmt.Fprintf(os.Stderr, "%s:%d: %s\n", filepath.Base(file), line, fmt.Sprintf(format, args...))
	os.Exit(1)
}

func check(cond bool, format string, args ...interface{}) {
	if !cond {
		failAt(1, format, args...)
	}
}

// v is the value of a field the answer must have (nil: the server left it out).
func v[T any](p *T) T {
	if p == nil {
		failAt(1, "a field is missing (nil)")
	}
	return *p
}

type answer interface{ ToJsonString() string }

// actionOf names the action of an SDK response type: *iai.DetectFaceResponse is
// DetectFace.
func actionOf(resp answer) string {
	return strings.TrimSuffix(reflect.TypeOf(resp).Elem().Name(), "Response")
}

// codeOf records a call and returns its error code, "" for a success. Anything but an
// answer of the server's (a transport error) stops the program.
func codeOf(resp answer, err error) string {
	action := actionOf(resp)
	if err == nil {
		if billable[action] {
			billed[action]++
		}
		return ""
	}
	sdkErr, isSdk := err.(*tcerr.TencentCloudSDKError)
	if !isSdk {
		failAt(2, "%s: not an API answer: %v", action, err)
	}
	if sdkErr.Code == "InvalidParameterValue.NoFaceInPhoto" && billable[action] {
		billed[action]++
	}
	return sdkErr.Code
}

// must is a call that succeeds, its answer decoded into the SDK's model with a
// RequestId.
func must[T answer](resp T, err error) T {
	if code := codeOf(resp, err); code != "" {
		failAt(1, "%s: %v", actionOf(resp), err)
	}
	var envelope struct{ Response struct{ RequestId string } }
	if e := json.Unmarshal([]byte(resp.ToJsonString()), &envelope); e != nil || envelope.Response.RequestId == "" {
		failAt(1, "%s: no RequestId in %s", actionOf(resp), resp.ToJsonString())
	}
	return resp
}

// fails is a call that must end in the error `expected`.
func fails[T answer](expected string) func(T, error) {
	return func(resp T, err error) {
		if code := codeOf(resp, err); code != expected {
			failAt(1, "%s: expected %s, got %q (%v)", actionOf(resp), expected, code, err)
		}
	}
}

func photo(name string) *string {
	data, err := os.ReadFile(filepath.Join(os.Getenv("RENLIAN_PHOTOS"), name))
	check(err == nil, "photo %s: %v", name, err)
	return common.StringPtr(base64.StdEncoding.EncodeToString(data))
}

func clientProfile(sign, method string) *profile.ClientProfile {
	p := profile.NewClientProfile()
	p.SignMethod = sign
	p.HttpProfile.Endpoint = os.Getenv("RENLIAN_ENDPOINT")
	p.HttpProfile.Scheme = "HTTP"
	p.HttpProfile.ReqMethod = method
	return p
}

func credential() *common.Credential {
	return common.NewCredential(os.Getenv("RENLIAN_SECRET_ID"), os.Getenv("RENLIAN_SECRET_KEY"))
}

func newClient(sign, method string) *iai.Client {
	c, err := iai.NewClient(credential(), region, clientProfile(sign, method))
	check(err == nil, "client: %v", err)
	return c
}

func str(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func strs(ps []*string) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, str(p))
	}
	return out
}

func same(a []string, b ...string) bool {
	return reflect.DeepEqual(a, b) || (len(a) == 0 && len(b) == 0)
}

func main() {
	c := newClient("TC3-HMAC-SHA256", "POST")
	obama, obama2, biden, blank := photo("obama.png"), photo("obama2.png"), photo("biden.png"), photo("blank.png")

	// Detection and comparison.
	df := iai.NewDetectFaceRequest()
	df.Image, df.MaxFaceNum = obama, common.Uint64Ptr(2)
	r := must(c.DetectFace(df)).Response
	check(len(r.FaceInfos) == 1 && v(r.FaceInfos[0].Width) > 40, "%+v", r.FaceInfos)
	check(v(r.ImageWidth) > 0 && v(r.FaceModelVersion) == "3.0", "%d %s", v(r.ImageWidth), str(r.FaceModelVersion))
	up, upW, upH := r.FaceInfos[0], v(r.ImageWidth), v(r.ImageHeight)
	df = iai.NewDetectFaceRequest()
	df.Image = blank
	fails[*iai.DetectFaceResponse]("InvalidParameterValue.NoFaceInPhoto")(c.DetectFace(df))

	// A photo on its side without EXIF: no face unless NeedRotateDetection; with it the
	// same face, its box in the frame of the photo as sent (turned 90° clockwise).
	side := photo("obama_side.png")
	df = iai.NewDetectFaceRequest()
	df.Image = side
	fails[*iai.DetectFaceResponse]("InvalidParameterValue.NoFaceInPhoto")(c.DetectFace(df))
	df.NeedRotateDetection = common.Uint64Ptr(1)
	s := must(c.DetectFace(df)).Response
	check(v(s.ImageWidth) == upH && v(s.ImageHeight) == upW, "%d×%d", v(s.ImageWidth), v(s.ImageHeight))
	f := s.FaceInfos[0]
	check(v(f.X) == upH-v(up.Y)-v(up.Height) && v(f.Y) == v(up.X), "up %s, side %s", toJSON(up), toJSON(f))
	check(v(f.Width) == v(up.Height) && v(f.Height) == v(up.Width), "up %s, side %s", toJSON(up), toJSON(f))

	// Attributes and quality (docs/attributes.md, docs/quality.md): Obama is a man
	// looking at the camera with open eyes; what no model estimates is "no valid value".
	df = iai.NewDetectFaceRequest()
	df.Image, df.NeedFaceAttributes, df.NeedQualityDetection = obama, common.Uint64Ptr(1), common.Uint64Ptr(1)
	r = must(c.DetectFace(df)).Response
	a := r.FaceInfos[0].FaceAttributesInfo
	check(a != nil, "no FaceAttributesInfo")
	check(v(a.Gender) >= 50 && v(a.Gender) <= 100 && v(a.Age) >= 15 && v(a.Age) <= 80, "%s", toJSON(a))
	check(v(a.Expression) >= 0 && v(a.Expression) <= 100, "%s", toJSON(a))
	check(abs(v(a.Pitch)) <= 30 && abs(v(a.Yaw)) <= 30 && abs(v(a.Roll)) <= 180, "%s", toJSON(a))
	check(v(a.EyeOpen) && a.Hat == nil && a.Mask == nil && a.Hair == nil && !v(a.Glass), "%s", toJSON(a))
	q := r.FaceInfos[0].FaceQualityInfo
	check(q != nil && q.Completeness != nil, "no FaceQualityInfo")
	for _, x := range []*int64{q.Score, q.Sharpness, q.Brightness} {
		check(v(x) >= 0 && v(x) <= 100, "%s", toJSON(q))
	}
	check(v(q.Completeness.Eye) == 100 && v(q.Completeness.Mouth) == 100, "%s", toJSON(q))
	df = iai.NewDetectFaceRequest()
	df.Image = obama
	r = must(c.DetectFace(df)).Response
	check(v(r.FaceInfos[0].FaceAttributesInfo.Age) == 0 && r.FaceInfos[0].FaceQualityInfo == nil, "%s", toJSON(r))

	da := iai.NewDetectFaceAttributesRequest()
	da.Image, da.FaceAttributesType = obama, common.StringPtr("Age,Gender,Emotion,Headpose,Eye,Smile,Beauty")
	dr := must(c.DetectFaceAttributes(da)).Response
	check(v(dr.ImageWidth) == uint64(upW), "%s", toJSON(dr))
	d := dr.FaceDetailInfos[0].FaceDetailAttributesInfo
	check(v(d.Gender.Type) == 0 && v(d.Gender.Probability) > 0.5, "%s", toJSON(d))
	check(v(d.Age) >= 15 && v(d.Age) <= 65 && v(d.Emotion.Type) >= 0 && v(d.Emotion.Type) <= 6, "%s", toJSON(d))
	check(v(d.Eye.EyeOpen.Type) == 0 && v(d.Beauty) == 0 && v(d.Hat.Style.Probability) == 0, "%s", toJSON(d))
	check(abs(v(d.HeadPose.Yaw)) <= 90 && v(d.Smile) >= 0 && v(d.Smile) <= 100, "%s", toJSON(d))
	check(v(dr.FaceDetailInfos[0].FaceRect.Width) > 40, "%s", toJSON(dr))
	da.FaceAttributesType = common.StringPtr("Age,Wings")
	fails[*iai.DetectFaceAttributesResponse]("InvalidParameterValue")(c.DetectFaceAttributes(da))

	// Landmarks: IAI's 90 points and the dense shape.
	af := iai.NewAnalyzeFaceRequest()
	af.Image, af.Mode = obama, common.Uint64Ptr(1)
	ar := must(c.AnalyzeFace(af)).Response
	check(len(ar.FaceShapeSet) == 1 && v(ar.ImageWidth) == uint64(upW), "%d shapes", len(ar.FaceShapeSet))
	sh := ar.FaceShapeSet[0]
	counts := map[string]int{
		"FaceProfile": len(sh.FaceProfile), "LeftEye": len(sh.LeftEye), "RightEye": len(sh.RightEye),
		"LeftEyeBrow": len(sh.LeftEyeBrow), "RightEyeBrow": len(sh.RightEyeBrow), "Mouth": len(sh.Mouth),
		"Nose": len(sh.Nose), "LeftPupil": len(sh.LeftPupil), "RightPupil": len(sh.RightPupil),
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	check(total == 90 && counts["FaceProfile"] == 21 && counts["Mouth"] == 22, "%v", counts)
	check(v(sh.LeftPupil[0].X) < v(sh.RightPupil[0].X), "%s", toJSON(sh))
	dl := iai.NewAnalyzeDenseLandmarksRequest()
	dl.Image = obama
	dlr := must(c.AnalyzeDenseLandmarks(dl)).Response
	dense := dlr.DenseFaceShapeSet[0]
	check(len(dense.MouthOutside) > 0 && v(dense.Width) > 40 && len(dense.Forehead) > 0, "%s", toJSON(dense))

	cf := iai.NewCompareFaceRequest()
	cf.ImageA, cf.ImageB = obama, obama2
	sameScore := v(must(c.CompareFace(cf)).Response.Score)
	cf.ImageB = biden
	otherScore := v(must(c.CompareFace(cf)).Response.Score)
	// Scores carry the calibrated false-accept meaning (docs/calibration/): two photos of
	// one man clear 40 (FAR 1e-3); different people stay under 20 (FAR 1e-1).
	check(sameScore >= 40 && otherScore < 20, "same %v, other %v", sameScore, otherScore)

	// Groups.
	cg := iai.NewCreateGroupRequest()
	cg.GroupName, cg.GroupId, cg.Tag = common.StringPtr("staff"), common.StringPtr("g1"), common.StringPtr("t")
	cg.GroupExDescriptions = common.StringPtrs([]string{"desk"})
	check(v(must(c.CreateGroup(cg)).Response.FaceModelVersion) == "3.0", "CreateGroup")
	cg = iai.NewCreateGroupRequest()
	cg.GroupName, cg.GroupId = common.StringPtr("visitors"), common.StringPtr("g2")
	must(c.CreateGroup(cg))
	cg.GroupName, cg.GroupId = common.StringPtr("x"), common.StringPtr("bad id!")
	fails[*iai.CreateGroupResponse]("InvalidParameterValue.GroupIdIllegal")(c.CreateGroup(cg))
	cg.GroupName, cg.GroupId = common.StringPtr("staff"), common.StringPtr("g3")
	fails[*iai.CreateGroupResponse]("InvalidParameterValue.GroupNameAlreadyExist")(c.CreateGroup(cg))
	gl := must(c.GetGroupList(iai.NewGetGroupListRequest())).Response
	check(v(gl.GroupNum) == 2 && len(gl.GroupInfos) == 2, "%s", toJSON(gl))
	check(str(gl.GroupInfos[0].GroupId) == "g1" && str(gl.GroupInfos[1].GroupId) == "g2", "%s", toJSON(gl))
	check(v(gl.GroupInfos[0].CreationTimestamp) > 1_600_000_000_000, "%s", toJSON(gl))
	check(v(gl.GroupInfos[0].UpdateTimestamp) >= v(gl.GroupInfos[0].CreationTimestamp), "%s", toJSON(gl))
	gi := iai.NewGetGroupInfoRequest()
	gi.GroupId = common.StringPtr("g1")
	g := must(c.GetGroupInfo(gi)).Response
	check(str(g.GroupName) == "staff" && same(strs(g.GroupExDescriptions), "desk"), "%s", toJSON(g))
	check(v(g.CreationTimestamp) == v(gl.GroupInfos[0].CreationTimestamp), "%s", toJSON(g))
	mg := iai.NewModifyGroupRequest()
	mg.GroupId, mg.Tag = common.StringPtr("g1"), common.StringPtr("t2")
	mg.GroupExDescriptionInfos = []*iai.GroupExDescriptionInfo{{
		GroupExDescriptionIndex: common.Uint64Ptr(0), GroupExDescription: common.StringPtr("front desk"),
	}}
	must(c.ModifyGroup(mg))
	g = must(c.GetGroupInfo(gi)).Response
	check(str(g.Tag) == "t2" && same(strs(g.GroupExDescriptions), "front desk"), "%s", toJSON(g))
	gi.GroupId = common.StringPtr("nope")
	fails[*iai.GetGroupInfoResponse]("InvalidParameterValue.GroupIdNotExist")(c.GetGroupInfo(gi))

	// Persons and faces.
	cp := iai.NewCreatePersonRequest()
	cp.GroupId, cp.PersonId, cp.PersonName = common.StringPtr("g1"), common.StringPtr("p1"), common.StringPtr("Obama")
	cp.Gender, cp.Image = common.Int64Ptr(1), obama
	cp.PersonExDescriptionInfos = []*iai.PersonExDescriptionInfo{{
		PersonExDescriptionIndex: common.Uint64Ptr(0), PersonExDescription: common.StringPtr("A1"),
	}}
	pr := must(c.CreatePerson(cp)).Response
	check(str(pr.FaceId) != "" && str(pr.SimilarPersonId) == "" && v(pr.FaceRect.Width) > 40, "%s", toJSON(pr))
	// The same man again with UniquePersonControl: not created, the similar person named.
	cp = iai.NewCreatePersonRequest()
	cp.GroupId, cp.PersonId, cp.PersonName = common.StringPtr("g1"), common.StringPtr("p9"), common.StringPtr("Again")
	cp.Image, cp.UniquePersonControl = obama2, common.Uint64Ptr(1)
	pr = must(c.CreatePerson(cp)).Response
	check(str(pr.SimilarPersonId) == "p1" && str(pr.FaceId) == "", "%s", toJSON(pr))
	pb := iai.NewGetPersonBaseInfoRequest()
	pb.PersonId = common.StringPtr("p9")
	fails[*iai.GetPersonBaseInfoResponse]("InvalidParameterValue.PersonIdNotExist")(c.GetPersonBaseInfo(pb))
	cp.PersonId, cp.PersonName, cp.Image = common.StringPtr("p2"), common.StringPtr("Biden"), biden
	pr = must(c.CreatePerson(cp)).Response
	check(str(pr.FaceId) != "" && str(pr.SimilarPersonId) == "", "%s", toJSON(pr))
	cp = iai.NewCreatePersonRequest()
	cp.GroupId, cp.PersonId, cp.PersonName = common.StringPtr("g1"), common.StringPtr("p3"), common.StringPtr("Nobody")
	cp.Image = blank
	fails[*iai.CreatePersonResponse]("InvalidParameterValue.NoFaceInPhoto")(c.CreatePerson(cp))
	cp.PersonId, cp.PersonName, cp.Image = common.StringPtr("p/3"), common.StringPtr("Bad"), obama
	fails[*iai.CreatePersonResponse]("InvalidParameterValue.PersonIdIllegal")(c.CreatePerson(cp))
	// The default FaceMatchThreshold (60, FAR 1e-5) is beyond what dlib's descriptor
	// gives two photos of one man; 30 (FAR 1e-2) takes obama2 and still refuses Biden.
	cfr := iai.NewCreateFaceRequest()
	cfr.PersonId, cfr.Images, cfr.FaceMatchThreshold = common.StringPtr("p1"), []*string{obama2, biden}, common.Float64Ptr(30)
	fr := must(c.CreateFace(cfr)).Response
	check(v(fr.SucFaceNum) == 1 && len(fr.RetCode) == 2 && v(fr.RetCode[0]) == 0 && v(fr.RetCode[1]) == -1604, "%s", toJSON(fr))
	check(len(fr.SucIndexes) == 1 && v(fr.SucIndexes[0]) == 0 && len(fr.SucFaceIds) == 1, "%s", toJSON(fr))
	check(len(fr.SucFaceRects) == 1 && v(fr.SucFaceRects[0].Width) > 40, "%s", toJSON(fr))
	pb.PersonId = common.StringPtr("p1")
	p := must(c.GetPersonBaseInfo(pb)).Response
	check(str(p.PersonName) == "Obama" && v(p.Gender) == 1 && len(p.FaceIds) == 2, "%s", toJSON(p))
	mp := iai.NewModifyPersonBaseInfoRequest()
	mp.PersonId, mp.PersonName, mp.Gender = common.StringPtr("p1"), common.StringPtr("Barack"), common.Int64Ptr(1)
	must(c.ModifyPersonBaseInfo(mp))
	mpg := iai.NewModifyPersonGroupInfoRequest()
	mpg.GroupId, mpg.PersonId = common.StringPtr("g1"), common.StringPtr("p1")
	mpg.PersonExDescriptionInfos = []*iai.PersonExDescriptionInfo{{
		PersonExDescriptionIndex: common.Uint64Ptr(0), PersonExDescription: common.StringPtr("B2"),
	}}
	must(c.ModifyPersonGroupInfo(mpg))
	pl := iai.NewGetPersonListRequest()
	pl.GroupId = common.StringPtr("g1")
	l := must(c.GetPersonList(pl)).Response
	check(v(l.PersonNum) == 2 && v(l.FaceNum) == 3 && len(l.PersonInfos) == 2, "%s", toJSON(l))
	for _, info := range l.PersonInfos {
		check(v(info.CreationTimestamp) > 1_600_000_000_000, "%s", toJSON(info))
		if str(info.PersonId) == "p1" {
			check(str(info.PersonName) == "Barack" && same(strs(info.PersonExDescriptions), "B2"), "%s", toJSON(info))
			check(v(info.Gender) == 1 && len(info.FaceIds) == 2, "%s", toJSON(info))
		}
	}
	pn := iai.NewGetPersonListNumRequest()
	pn.GroupId = common.StringPtr("g1")
	n := must(c.GetPersonListNum(pn)).Response
	check(v(n.PersonNum) == 2 && v(n.FaceNum) == 3, "%s", toJSON(n))
	cpy := iai.NewCopyPersonRequest()
	cpy.PersonId, cpy.GroupIds = common.StringPtr("p1"), common.StringPtrs([]string{"g2"})
	cr := must(c.CopyPerson(cpy)).Response
	check(v(cr.SucGroupNum) == 1 && same(strs(cr.SucGroupIds), "g2"), "%s", toJSON(cr))
	pg := iai.NewGetPersonGroupInfoRequest()
	pg.PersonId = common.StringPtr("p1")
	pgr := must(c.GetPersonGroupInfo(pg)).Response
	groups := []string{}
	for _, pgi := range pgr.PersonGroupInfos {
		groups = append(groups, str(pgi.GroupId))
	}
	sort.Strings(groups)
	check(v(pgr.GroupNum) == 2 && same(groups, "g1", "g2"), "%s", toJSON(pgr))

	// Search and verification.
	sf := iai.NewSearchFacesRequest()
	sf.GroupIds, sf.Image = common.StringPtrs([]string{"g1", "g2"}), obama2
	sf.MaxPersonNum, sf.NeedPersonInfo = common.Uint64Ptr(2), common.Int64Ptr(1)
	sr := must(c.SearchFaces(sf)).Response
	top := sr.Results[0].Candidates[0]
	check(str(top.PersonId) == "p1" && v(top.Score) >= 40 && str(top.PersonName) == "Barack", "%s", toJSON(sr))
	check(str(top.FaceId) != "" && v(top.Gender) == 1 && v(sr.FaceNum) == 5 && v(sr.Results[0].RetCode) == 0, "%s", toJSON(sr))
	check(v(sr.Results[0].FaceRect.Width) > 40 && len(top.PersonGroupInfos) == 2, "%s", toJSON(sr))
	sf = iai.NewSearchFacesRequest()
	sf.GroupIds, sf.Image, sf.FaceMatchThreshold = common.StringPtrs([]string{"g1"}), obama2, common.Float64Ptr(99.9)
	sr = must(c.SearchFaces(sf)).Response
	cands := sr.Results[0].Candidates
	check(len(cands) == 0 || v(cands[0].Score) >= 99.9, "%s", toJSON(sr))
	sp := iai.NewSearchPersonsRequest()
	sp.GroupIds, sp.Image, sp.MaxPersonNum = common.StringPtrs([]string{"g1"}), biden, common.Uint64Ptr(1)
	spr := must(c.SearchPersons(sp)).Response
	check(len(spr.Results[0].Candidates) == 1 && str(spr.Results[0].Candidates[0].PersonId) == "p2", "%s", toJSON(spr))
	check(v(spr.PersonNum) == 2, "%s", toJSON(spr))
	sfg := iai.NewSearchFacesReturnsByGroupRequest()
	sfg.GroupIds, sfg.Image = common.StringPtrs([]string{"g1", "g2"}), obama2
	sfg.MaxPersonNumPerGroup = common.Uint64Ptr(1)
	sgr := must(c.SearchFacesReturnsByGroup(sfg)).Response
	byGroup := sgr.ResultsReturnsByGroup[0].GroupCandidates
	check(len(byGroup) == 2 && str(byGroup[0].GroupId) == "g1" && str(byGroup[1].GroupId) == "g2", "%s", toJSON(sgr))
	for _, gc := range byGroup {
		check(str(gc.Candidates[0].PersonId) == "p1", "%s", toJSON(sgr))
	}
	check(v(sgr.FaceNum) == 5 && v(sgr.ResultsReturnsByGroup[0].RetCode) == 0, "%s", toJSON(sgr))
	spg := iai.NewSearchPersonsReturnsByGroupRequest()
	spg.GroupIds, spg.Image = common.StringPtrs([]string{"g1"}), biden
	spg.MaxPersonNumPerGroup = common.Uint64Ptr(2)
	spgr := must(c.SearchPersonsReturnsByGroup(spg)).Response
	check(str(spgr.ResultsReturnsByGroup[0].GroupCandidates[0].Candidates[0].PersonId) == "p2", "%s", toJSON(spgr))
	sf = iai.NewSearchFacesRequest()
	sf.GroupIds, sf.Image = common.StringPtrs([]string{"nope"}), obama2
	fails[*iai.SearchFacesResponse]("InvalidParameterValue.GroupIdNotExist")(c.SearchFaces(sf))
	sf.GroupIds, sf.MaxPersonNum = common.StringPtrs([]string{"g1"}), common.Uint64Ptr(101)
	fails[*iai.SearchFacesResponse]("InvalidParameterValue.SearchPersonsExceed")(c.SearchFaces(sf))
	vf := iai.NewVerifyFaceRequest()
	vf.PersonId, vf.Image = common.StringPtr("p1"), obama2
	vr := must(c.VerifyFace(vf)).Response
	check(v(vr.Score) >= 40 && v(vr.IsMatch) == (v(vr.Score) >= 60), "%s", toJSON(vr))
	vf.Image = obama
	vr = must(c.VerifyFace(vf)).Response
	check(v(vr.IsMatch) && v(vr.Score) > 99, "%s", toJSON(vr))
	vp := iai.NewVerifyPersonRequest()
	vp.PersonId, vp.Image = common.StringPtr("p1"), biden
	vpr := must(c.VerifyPerson(vp)).Response
	check(!v(vpr.IsMatch) && v(vpr.Score) < 20, "%s", toJSON(vpr))

	// Upgrade actions: one face model, so nothing to upgrade and no jobs.
	ug := iai.NewUpgradeGroupFaceModelVersionRequest()
	ug.GroupId, ug.FaceModelVersion = common.StringPtr("g1"), common.StringPtr("3.0")
	fails[*iai.UpgradeGroupFaceModelVersionResponse]("FailedOperation.GroupCannotUpgrade")(c.UpgradeGroupFaceModelVersion(ug))
	jl := must(c.GetUpgradeGroupFaceModelVersionJobList(iai.NewGetUpgradeGroupFaceModelVersionJobListRequest())).Response
	check(v(jl.JobNum) == 0 && len(jl.JobInfos) == 0, "%s", toJSON(jl))
	ur := iai.NewGetUpgradeGroupFaceModelVersionResultRequest()
	ur.JobId = common.StringPtr("j1")
	fails[*iai.GetUpgradeGroupFaceModelVersionResultResponse]("FailedOperation.UpgradeJobIdNotExist")(c.GetUpgradeGroupFaceModelVersionResult(ur))
	rv := iai.NewRevertGroupFaceModelVersionRequest()
	rv.JobId = common.StringPtr("j1")
	fails[*iai.RevertGroupFaceModelVersionResponse]("FailedOperation.UpgradeJobIdNotExist")(c.RevertGroupFaceModelVersion(rv))

	// Static liveness: a 0-100 score (docs/liveness.md); the 320-px photo's face is
	// under the 100×100 Accurate asks for.
	big := photo("obama640.png")
	lv := iai.NewDetectLiveFaceAccurateRequest()
	lv.Image = big
	lr := must(c.DetectLiveFaceAccurate(lv)).Response
	check(v(lr.Score) >= 0 && v(lr.Score) <= 100 && str(lr.FaceModelVersion) == "3.0", "%s", toJSON(lr))
	lv.Image = obama
	fails[*iai.DetectLiveFaceAccurateResponse]("FailedOperation.FaceSizeTooSmall")(c.DetectLiveFaceAccurate(lv))
	lv.Image = blank
	fails[*iai.DetectLiveFaceAccurateResponse]("InvalidParameterValue.NoFaceInPhoto")(c.DetectLiveFaceAccurate(lv))

	// TC3 as a GET with the fields in the signed query, the older signature (v1) as a
	// form POST with HmacSHA256 and as a GET with HmacSHA1, and the 2018-03-01 version.
	get := newClient("TC3-HMAC-SHA256", "GET")
	pl = iai.NewGetPersonListRequest()
	pl.GroupId, pl.Limit = common.StringPtr("g1"), common.Uint64Ptr(1)
	l = must(get.GetPersonList(pl)).Response
	check(v(l.PersonNum) == 2 && len(l.PersonInfos) == 1, "%s", toJSON(l))
	v1 := newClient("HmacSHA256", "POST")
	sp = iai.NewSearchPersonsRequest()
	sp.GroupIds, sp.Image, sp.MaxPersonNum = common.StringPtrs([]string{"g1"}), obama, common.Uint64Ptr(1)
	spr = must(v1.SearchPersons(sp)).Response
	check(str(spr.Results[0].Candidates[0].PersonId) == "p1", "%s", toJSON(spr))
	l = must(v1.GetPersonList(pl)).Response
	check(v(l.PersonNum) == 2 && len(l.PersonInfos) == 1, "%s", toJSON(l))
	v1get := newClient("HmacSHA1", "GET")
	pb.PersonId = common.StringPtr("p2")
	check(str(must(v1get.GetPersonBaseInfo(pb)).Response.PersonName) == "Biden", "GetPersonBaseInfo p2")

	old, err := iai2018.NewClient(credential(), region, clientProfile("TC3-HMAC-SHA256", "POST"))
	check(err == nil, "client: %v", err)
	ogl := iai2018.NewGetGroupListRequest()
	ogl.Limit = common.Uint64Ptr(1)
	ogr := must(old.GetGroupList(ogl)).Response
	check(v(ogr.GroupNum) == 2 && len(ogr.GroupInfos) == 1, "%s", toJSON(ogr))
	odf := iai2018.NewDetectFaceRequest()
	odf.Image, odf.NeedFaceAttributes, odf.NeedQualityDetection = biden, common.Uint64Ptr(1), common.Uint64Ptr(1)
	odr := must(old.DetectFace(odf)).Response
	check(len(odr.FaceInfos) == 1 && odr.FaceInfos[0].FaceQualityInfo != nil, "%s", toJSON(odr))
	oaf := iai2018.NewAnalyzeFaceRequest()
	oaf.Image = biden
	check(len(must(old.AnalyzeFace(oaf)).Response.FaceShapeSet) == 1, "AnalyzeFace 2018")
	// DetectLiveFace is not among the SDK's typed models; its common client still signs
	// it.
	common2018 := common.NewCommonClient(credential(), region, clientProfile("TC3-HMAC-SHA256", "POST"))
	live := tchttp.NewCommonRequest("iai", iai2018.APIVersion, "DetectLiveFace")
	check(live.SetActionParameters(map[string]interface{}{"Image": *big}) == nil, "parameters")
	liveResp := tchttp.NewCommonResponse()
	err = common2018.Send(live, liveResp)
	check(err == nil, "DetectLiveFace: %v", err)
	billed["DetectLiveFace"]++
	var dlf struct {
		Response struct {
			Score            *float64
			IsLiveness       *bool
			FaceModelVersion *string
			RequestId        *string
		}
	}
	check(json.Unmarshal(liveResp.GetBody(), &dlf) == nil, "%s", liveResp.GetBody())
	lf := dlf.Response
	check(v(lf.Score) >= 0 && v(lf.Score) <= 100 && v(lf.IsLiveness) == (v(lf.Score) >= 40), "%s", liveResp.GetBody())
	check(str(lf.FaceModelVersion) == "3.0" && str(lf.RequestId) != "", "%s", liveResp.GetBody())

	// Deletions.
	pb.PersonId = common.StringPtr("p1")
	faces := must(c.GetPersonBaseInfo(pb)).Response.FaceIds
	df2 := iai.NewDeleteFaceRequest()
	df2.PersonId, df2.FaceIds = common.StringPtr("p1"), []*string{faces[1]}
	dfr := must(c.DeleteFace(df2)).Response
	check(v(dfr.SucDeletedNum) == 1 && same(strs(dfr.SucFaceIds), str(faces[1])), "%s", toJSON(dfr))
	dg := iai.NewDeletePersonFromGroupRequest()
	dg.GroupId, dg.PersonId = common.StringPtr("g2"), common.StringPtr("p1")
	must(c.DeletePersonFromGroup(dg))
	dp := iai.NewDeletePersonRequest()
	dp.PersonId = common.StringPtr("p2")
	must(c.DeletePerson(dp))
	dgr := iai.NewDeleteGroupRequest()
	dgr.GroupId = common.StringPtr("g2")
	must(c.DeleteGroup(dgr))
	check(v(must(c.GetGroupList(iai.NewGetGroupListRequest())).Response.GroupNum) == 1, "GetGroupList after DeleteGroup")

	out, err := json.Marshal(billed)
	check(err == nil, "%v", err)
	fmt.Println(string(out))
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func toJSON(x interface{}) string {
	out, err := json.Marshal(x)
	if err != nil {
		return fmt.Sprintf("%+v", x)
	}
	return string(out)
}
