"""The renlian_sdk package against the Rust SDK.

Run by `cargo test --workspace --test it` (crates/sdk-python/tests/it), which builds and
installs the wheel and writes RENLIAN_SDK_PYTHON_FIXTURE: licences signed by a test
issuer, the exported model directory, the photos and the Rust SDK's answers on them.
"""

import array
import json
import os
import pickle
import threading

import pytest

import renlian_sdk as rl

_FIXTURE_VAR = "RENLIAN_SDK_PYTHON_FIXTURE"
if _FIXTURE_VAR not in os.environ:
    raise RuntimeError(
        f"{_FIXTURE_VAR} is not set: run these tests through "
        "`cargo test --workspace --test it` in crates/sdk-python"
    )
with open(os.environ[_FIXTURE_VAR], encoding="utf-8") as f:
    FIX = json.load(f)
RUST = FIX["rust"]


def read(name):
    with open(FIX["photos"][name], "rb") as f:
        return f.read()


def open_sdk(tmp_path_factory, licence, **identity):
    if not identity:
        identity = {"device_id": FIX["device_id"]}
    return rl.FaceSdk(
        licence=FIX["licences"][licence] if licence in FIX["licences"] else licence,
        trusted_keys=FIX["trusted_keys"],
        model_dir=FIX["model_dir"],
        data_dir=str(tmp_path_factory.mktemp("data")),
        **identity,
    )


@pytest.fixture(scope="module")
def search(tmp_path_factory):
    return open_sdk(tmp_path_factory, "search")


@pytest.fixture(scope="module")
def detect(tmp_path_factory):
    return open_sdk(tmp_path_factory, "detect")


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    return open_sdk(tmp_path_factory, "ir-liveness")


@pytest.fixture(scope="module")
def images(search):
    return {name: search.decode(read(name)) for name in FIX["photos"]}


@pytest.fixture(scope="module")
def extracted(search, images):
    """The largest face of each photo and its descriptor (detection is the slow part:
    each photo is detected once here and the results shared)."""
    return {name: search.extract(img) for name, img in images.items()}


# --- the flow: licence, detect, descriptors, comparison, quality, liveness ---------


def test_the_licence_summary(search):
    info = search.licence()
    assert info.sdk == "search"
    assert info.kind == "device"
    assert info.features == ["detect", "features", "search"]
    assert info.expires is None and info.days_left is None
    assert info.status == "valid"


def test_faces_and_descriptors_equal_the_rust_sdks(search, images, extracted):
    for name, want in RUST["photos"].items():
        face, descriptor = extracted[name]
        assert list(face.box) == want["box"], name
        assert face.confidence == want["confidence"], name
        assert [list(p) for p in face.landmarks] == want["landmarks"], name
        assert (face.left, face.top, face.right, face.bottom) == face.box
        assert face.width == face.right - face.left + 1
        assert len(descriptor) == rl.DESCRIPTOR_LEN == 128
        assert descriptor == want["descriptor"], f"{name}: descriptors differ"
    # detect lists the faces largest first; describing the first gives extract's values.
    img = images["biden.jpg"]
    faces = search.detect(img)
    assert faces
    areas = [f.width * f.height for f in faces]
    assert areas == sorted(areas, reverse=True)
    face, descriptor = extracted["biden.jpg"]
    assert faces[0].box == face.box
    assert search.descriptor(img, faces[0]) == descriptor


def test_same_person_scores_at_least_50_and_others_less(search, extracted):
    d = {name: e[1] for name, e in extracted.items()}
    same = search.compare(d["obama.jpg"], d["obama3.jpg"])
    other = search.compare(d["obama.jpg"], d["biden.jpg"])
    assert same.score >= 50, same
    assert other.score < 50, other
    assert (same.distance, same.score) == (RUST["same"]["distance"], RUST["same"]["score"])
    assert (other.distance, other.score) == (RUST["other"]["distance"], RUST["other"]["score"])
    # score_of_distance is descriptor version 1's table; compare scores version 2, whose
    # score depends on both descriptors of the pair, not on their distance alone.
    assert 0 <= search.score_of_distance(same.distance) <= 100


def test_quality_equals_the_rust_sdks(detect, images, extracted):
    # A face found by another instance is just a box and points: any SDK can use it.
    face = extracted["obama.jpg"][0]
    q = detect.quality(images["obama.jpg"], face)
    assert q.score > 0
    got = {
        "score": q.score,
        "sharpness": q.sharpness,
        "brightness": q.brightness,
        "completeness": q.completeness,
    }
    assert got == RUST["quality"]


def test_liveness_equals_the_rust_sdks(live, images, extracted):
    l = live.liveness(images["obama.jpg"], extracted["obama.jpg"][0])
    assert {"score": l.score, "antispoof": l.antispoof, "liveness": l.liveness} == RUST["liveness"]
    assert l.is_live == (l.score >= rl.LIVENESS_THRESHOLD)


def test_ir_and_depth_liveness_equal_the_rust_sdks(live, tmp_path_factory, images, extracted):
    img, face = images["obama.jpg"], extracted["obama.jpg"][0]
    with open(FIX["ir_frame"], "rb") as f:
        ir = f.read()
    v = live.ir_liveness(img, face, ir)
    assert {"score": v.score, "is_live": v.is_live, "reasons": v.reasons} == RUST["ir"]
    assert 0 <= v.score <= 100 and "iou" in v.measures
    depth_sdk = open_sdk(tmp_path_factory, "3d-liveness")
    flat = array.array("H", [500]) * (img.width * img.height)
    d = depth_sdk.depth_liveness(img, face, flat)
    assert {"score": d.score, "is_live": d.is_live, "reasons": d.reasons} == RUST["depth"]
    assert not d.is_live and d.measures["distance_mm"] == 500
    # The second sensor's frame must have the RGB frame's size.
    with pytest.raises(rl.InvalidArgumentError):
        live.ir_liveness(img, face, ir[:-1])
    with pytest.raises(rl.InvalidArgumentError):
        depth_sdk.depth_liveness(img, face, flat[:-1])
    with pytest.raises(rl.FeatureNotLicensedError):
        live.depth_liveness(img, face, flat)


# --- images: encoded bytes, raw pixels, bytes-like objects --------------------------


def test_raw_pixels_in_any_layout_give_the_same_image(search, images):
    img = images["obama.jpg"]
    w, h = img.width, img.height
    rgb = img.to_rgb_bytes()
    assert len(rgb) == w * h * 3
    bgr = bytearray(len(rgb))
    bgr[0::3], bgr[1::3], bgr[2::3] = rgb[2::3], rgb[1::3], rgb[0::3]
    rgba = bytearray(w * h * 4)
    rgba[0::4], rgba[1::4], rgba[2::4] = rgb[0::3], rgb[1::3], rgb[2::3]
    bgra = bytearray(w * h * 4)
    bgra[0::4], bgra[1::4], bgra[2::4] = rgb[2::3], rgb[1::3], rgb[0::3]
    # Rows padded to a stride of 4 extra bytes.
    padded = b"".join(rgb[y * w * 3 : (y + 1) * w * 3] + b"\0\0\0\0" for y in range(h))
    raws = [
        rl.Image.from_raw(rgb, w, h),
        rl.Image.from_raw(memoryview(bgr), w, h, "bgr"),
        rl.Image.from_raw(rgba, w, h, "rgba"),
        rl.Image.from_raw(bgra, w, h, "BGRA"),
        rl.Image.from_raw(padded, w, h, "rgb", stride=w * 3 + 4),
    ]
    for raw in raws:
        assert (raw.width, raw.height) == (w, h)
        assert raw.to_rgb_bytes() == rgb
    # A raw image runs the same as the decoded one.
    assert search.extract(raws[1])[1] == RUST["photos"]["obama.jpg"]["descriptor"]
    # Encoded bytes in any bytes-like object decode to the same pixels.
    assert search.decode(bytearray(read("obama.jpg"))).to_rgb_bytes() == rgb
    assert search.decode(memoryview(read("obama.jpg"))).to_rgb_bytes() == rgb


def test_grey_pixels_are_spread_to_three_channels():
    img = rl.Image.from_raw(bytes([0, 100, 200, 255]), 2, 2, "gray")
    assert img.to_rgb_bytes() == bytes([0, 0, 0, 100, 100, 100, 200, 200, 200, 255, 255, 255])


# --- the local gallery -------------------------------------------------------------


def test_the_gallery_finds_the_enrolled_person(search, detect, extracted, tmp_path_factory):
    key, export_key = bytes(range(32)), bytes(32)
    d = {name: e[1] for name, e in extracted.items()}
    g = search.gallery(key)
    obama = g.add("obama", d["obama.jpg"], name="Barack")
    biden = g.add("biden", d["biden.jpg"])
    assert obama != biden and g.list() == ["biden", "obama"]
    assert g.person("obama") == [(obama, "Barack", None)] and g.person("nobody") is None
    hits = g.search(d["obama3.jpg"], top_k=2)
    assert [h.person_id for h in hits] == ["obama", "biden"]
    assert hits[0].face_id == obama and hits[0].score >= 50 > hits[1].score
    assert abs(hits[0].score - search.compare(d["obama3.jpg"], d["obama.jpg"]).score) < 0.01
    assert g.stats()["faces"] == 2
    data = g.export(export_key)
    assert g.remove_person("obama") == 1 and g.list() == ["biden"]
    assert g.import_export(data, export_key, replace=True) == (2, 2, 2)
    assert g.list() == ["biden", "obama"]
    with pytest.raises(rl.InvalidArgumentError):
        g.search(d["obama.jpg"][:10])
    with pytest.raises(rl.InvalidArgumentError):
        search.gallery(b"short")
    del g  # one open gallery per data directory
    with pytest.raises(rl.GalleryKeyError) as ex:
        search.gallery(bytes(32))
    check(ex, rl.GalleryKeyError, 10, "GalleryKey")
    # Exporting needs no licence at all: the customer's data is always theirs.
    assert len(rl.export_gallery(search.data_dir, key, export_key)) == len(data)
    with pytest.raises(rl.FeatureNotLicensedError):
        detect.gallery(key).add("obama", d["obama.jpg"])


# --- video tracking ------------------------------------------------------------------


def crop(img, box, grow=2.0):
    """The image cut around a box grown by `grow`, as a raw Image (a small frame keeps
    the detector fast)."""
    l, t, r, b = box
    w, h = r - l + 1, b - t + 1
    x0, y0 = max(0, int(l - w * (grow - 1) / 2)), max(0, int(t - h * (grow - 1) / 2))
    x1, y1 = min(img.width, int(r + w * (grow - 1) / 2)), min(img.height, int(b + h * (grow - 1) / 2))
    rgb, stride = img.to_rgb_bytes(), img.width * 3
    rows = (rgb[y * stride + x0 * 3 : y * stride + x1 * 3] for y in range(y0, y1))
    return rl.Image.from_raw(b"".join(rows), x1 - x0, y1 - y0)


def test_a_tracker_follows_a_face_and_keeps_its_best_shot(detect, search, images, extracted):
    frame = crop(images["obama.jpg"], extracted["obama.jpg"][0].box)
    tracker = detect.tracker()
    results = [tracker.feed(frame, at) for at in (0, 100, 200)]
    for r in results:
        assert len(r.faces) == 1 and r.ended == []
    tracks = {r.faces[0].track for r in results}
    assert len(tracks) == 1, tracks
    track = tracks.pop()
    # Confirmed at the third hit (confirm_hits=3).
    assert [r.faces[0].confirmed for r in results] == [False, False, True]
    face = results[0].faces[0].face
    want = detect.quality(frame, face)
    assert results[0].faces[0].quality.score == want.score
    shot = tracker.best_shot(track)
    assert shot.track == track and shot.at_ms == 0  # equal quality: the earliest frame
    assert shot.face.box == face.box
    assert shot.quality.score == want.score
    assert shot.crop.width <= frame.width and shot.crop.height <= frame.height
    assert shot.face_in_crop.width == face.width
    ended = tracker.finish()
    assert [(e.track, e.reason, e.hits, e.first_ms, e.last_ms) for e in ended] == [
        (track, "finished", 3, 0, 200)]
    assert ended[0].best.face.box == face.box
    assert tracker.best_shot(track) is None
    # The best shot's crop is what recognition needs.
    d = search.descriptor(shot.crop, shot.face_in_crop)
    same = search.compare(d, extracted["obama.jpg"][1])
    assert same.score >= 50, same


def test_a_tracker_refuses_what_it_cannot_do(detect, search):
    with pytest.raises(rl.FeatureNotLicensedError):
        search.tracker()
    with pytest.raises(rl.InvalidArgumentError):
        detect.tracker(iou_threshold=1.5)
    tracker = detect.tracker()
    blank = rl.Image.from_raw(bytes([128]) * (100 * 100 * 3), 100, 100)
    assert tracker.feed(blank, 1000).faces == []
    with pytest.raises(rl.InvalidArgumentError):
        tracker.feed(blank, 500)  # time went backwards


# --- typed exceptions ---------------------------------------------------------------


def test_one_exception_class_per_sdk_error_code():
    codes = [tuple(c) for c in FIX["error_codes"]]
    assert [tuple(c) for c in rl.ERROR_CODES] == codes
    assert sorted(rl.ERRORS_BY_CODE) == [code for code, _ in codes]
    for code, name in codes:
        cls = rl.ERRORS_BY_CODE[code]
        assert cls.__name__ == name + "Error"
        assert issubclass(cls, rl.RenlianError) and cls.code == code
    e = rl.LicenceExpiredError(3, "LicenceExpired", "expired")
    back = pickle.loads(pickle.dumps(e))
    assert (type(back), back.code, back.name, back.message) == (
        rl.LicenceExpiredError, 3, "LicenceExpired", "expired")


def check(excinfo, cls, code, name):
    e = excinfo.value
    assert type(e) is cls, repr(e)
    assert (e.code, e.name) == (code, name), repr(e)
    assert e.message and str(e) == e.message
    return e


def test_a_feature_the_licence_lacks_raises_feature_not_licensed(detect, live, images, extracted):
    img, face = images["obama.jpg"], extracted["obama.jpg"][0]
    with pytest.raises(rl.FeatureNotLicensedError) as ex:
        detect.descriptor(img, face)
    e = check(ex, rl.FeatureNotLicensedError, 5, "FeatureNotLicensed")
    assert "features" in e.message and "face feature extraction" in e.message
    with pytest.raises(rl.FeatureNotLicensedError):
        detect.liveness(img, face)
    with pytest.raises(rl.FeatureNotLicensedError):
        live.compare([0.0] * 128, [0.0] * 128)
    with pytest.raises(rl.FeatureNotLicensedError):
        live.quality(img, face)


def test_an_expired_licence_raises_licence_expired(tmp_path_factory):
    with pytest.raises(rl.LicenceExpiredError) as ex:
        open_sdk(tmp_path_factory, "expired")
    check(ex, rl.LicenceExpiredError, 3, "LicenceExpired")


def test_the_licence_binding_is_checked(tmp_path_factory):
    with pytest.raises(rl.LicenceWrongSubjectError) as ex:
        open_sdk(tmp_path_factory, "other-device")
    check(ex, rl.LicenceWrongSubjectError, 4, "LicenceWrongSubject")
    p = FIX["platform"]
    sdk = open_sdk(
        tmp_path_factory, "platform",
        app_package=p["package"], app_certificate_sha256=p["certificate"])
    assert sdk.licence().kind == "platform"
    with pytest.raises(rl.LicenceWrongSubjectError):
        open_sdk(
            tmp_path_factory, "platform",
            app_package="com.evil.gate", app_certificate_sha256=p["certificate"])


def test_an_altered_licence_or_an_untrusted_key_raises_licence_invalid(tmp_path_factory):
    text = FIX["licences"]["search"]
    body = text.splitlines()
    # Change one character in the middle of the signed payload.
    i = len(body) // 2
    assert not body[i].startswith("-----"), text
    c = body[i][20]
    body[i] = body[i][:20] + ("B" if c != "B" else "C") + body[i][21:]
    with pytest.raises(rl.LicenceInvalidError) as ex:
        open_sdk(tmp_path_factory, "\n".join(body) + "\n")
    check(ex, rl.LicenceInvalidError, 2, "LicenceInvalid")
    with pytest.raises(rl.LicenceInvalidError):
        rl.FaceSdk(
            licence=text,
            trusted_keys=["11" * 32],
            model_dir=FIX["model_dir"],
            data_dir=str(tmp_path_factory.mktemp("data")),
            device_id=FIX["device_id"],
        )


def test_a_bad_image_raises_image_error_and_a_blank_one_no_face(search):
    with pytest.raises(rl.ImageError) as ex:
        search.decode(b"not an image")
    check(ex, rl.ImageError, 7, "Image")
    with pytest.raises(rl.ImageError):
        search.detect(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    assert isinstance(ex.value, ValueError)
    blank = rl.Image.from_raw(bytes([128]) * (200 * 200 * 3), 200, 200)
    assert search.detect(blank) == []
    with pytest.raises(rl.NoFaceError) as ex:
        search.extract(blank)
    check(ex, rl.NoFaceError, 8, "NoFace")


def test_bad_arguments_raise_invalid_argument(search, extracted, tmp_path_factory):
    d = extracted["obama.jpg"][1]
    cases = [
        lambda: search.compare(d[:100], d),
        lambda: rl.Image.from_raw(b"\0" * 10, 4, 4),
        lambda: rl.Image.from_raw(b"\0" * 48, 4, 4, "yuv"),
        lambda: rl.Image.from_raw(b"\0" * 48, 4, 4, "rgb", stride=4),
        lambda: rl.Image.from_raw(b"", 0, 4),
        lambda: rl.activation_request(str(tmp_path_factory.mktemp("a")), "no-such-sdk"),
        lambda: rl.FaceSdk(
            trusted_keys=FIX["trusted_keys"], model_dir=FIX["model_dir"],
            data_dir=str(tmp_path_factory.mktemp("data")), device_id=FIX["device_id"]),
        lambda: open_sdk(tmp_path_factory, "search", device_id="x", app_package="com.a.b"),
        lambda: rl.FaceSdk(
            licence=FIX["licences"]["search"], trusted_keys=["not hex"],
            model_dir=FIX["model_dir"], data_dir=str(tmp_path_factory.mktemp("data")),
            device_id=FIX["device_id"]),
    ]
    for n, case in enumerate(cases):
        with pytest.raises(rl.InvalidArgumentError) as ex:
            case()
        check(ex, rl.InvalidArgumentError, 1, "InvalidArgument")
        assert isinstance(ex.value, ValueError), n
    with pytest.raises(TypeError):
        search.decode("obama.jpg")


# --- activation, threads ------------------------------------------------------------


def test_activation_request_is_made_from_the_data_directory(tmp_path):
    a = rl.activation_request(str(tmp_path), "search", device_id=FIX["device_id"], label="gate 1")
    b = rl.activation_request(str(tmp_path), "search", device_id=FIX["device_id"], label="gate 1")
    assert a == b and a.startswith("-----BEGIN"), a
    assert (tmp_path / "licensing").is_dir()


def test_threads_share_one_sdk_and_get_the_same_answers(search, images):
    want = {name: RUST["photos"][name]["descriptor"] for name in ("obama.jpg", "biden.jpg")}
    got, errors = {}, []

    def work(name):
        try:
            got[name] = search.extract(images[name])[1]
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in want]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert got == want
