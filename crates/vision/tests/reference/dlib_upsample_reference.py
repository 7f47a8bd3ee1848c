"""dlib's small-face detection, for the parity test of the engine's upsampling mode.

Usage: dlib_upsample_reference.py MODELS_DIR FIXTURES_DIR OUT_JSON

Makes 640x480 frames (mid-grey) each holding one fixture photo scaled so that its face,
as dlib's CNN detector boxes it at upsample 0, is about F pixels wide (F under 80, where
the detector needs upsampling), and keeps one fixture at its own size. The frames are
written as PNG next to OUT_JSON (OUT_JSON.frames/), so the Rust side reads the very
pixels dlib saw. For every frame it records dlib's `cnn_face_detection_model_v1(img, n)`
(box, confidence; n = 1, or 2 for one frame with a face under 40 pixels) and, for each
box, the 5-point landmarks and the 128-d descriptor; and the first frame upsampled once
(`pyramid_up`'s resize, through `dlib.resize_image`).
"""
import json
import os
import sys
import time

import dlib
import numpy as np
from PIL import Image

# (fixture, face width wanted in pixels, left and top of the photo in the frame)
SMALL = [
    ("obama.jpg", 44, (40, 30)),
    ("obama2.jpg", 52, (300, 60)),
    ("biden.jpg", 60, (120, 20)),
    ("astronaut.png", 70, (400, 200)),
]
# Kept at its own size: upsampling must not lose or move large faces.
AS_IS = ["astronaut.png"]
# Faces under 40 pixels need two doublings: dlib's upsample 2.
TWICE = [("obama2.jpg", 30, (200, 150))]


def frame_with(photo, face_width, at, cnn):
    arr = np.asarray(photo)
    dets = cnn(arr, 0)
    if len(dets) == 0:
        raise SystemExit("no face at upsample 0 to scale by")
    width = max(d.rect.width() for d in dets)
    scale = face_width / width
    size = (max(1, round(photo.width * scale)), max(1, round(photo.height * scale)))
    small = photo.resize(size, Image.BILINEAR)
    frame = Image.new("RGB", (640, 480), (128, 128, 128))
    frame.paste(small, at)
    return frame


def main():
    models, fixtures, out = sys.argv[1], sys.argv[2], sys.argv[3]
    cnn = dlib.cnn_face_detection_model_v1(os.path.join(models, "mmod_human_face_detector.dat"))
    sp5 = dlib.shape_predictor(os.path.join(models, "shape_predictor_5_face_landmarks.dat"))
    rec = dlib.face_recognition_model_v1(os.path.join(models, "dlib_face_recognition_resnet_model_v1.dat"))
    frames_dir = out + ".frames"
    os.makedirs(frames_dir, exist_ok=True)
    frames = []
    for name, width, at in SMALL:
        photo = Image.open(os.path.join(fixtures, name)).convert("RGB")
        frames.append(("%s.face%d.png" % (name, width), frame_with(photo, width, at, cnn), 1))
    for name in AS_IS:
        photo = Image.open(os.path.join(fixtures, name)).convert("RGB")
        frames.append((name + ".png", photo, 1))
    for name, width, at in TWICE:
        photo = Image.open(os.path.join(fixtures, name)).convert("RGB")
        frames.append(("%s.face%d.png" % (name, width), frame_with(photo, width, at, cnn), 2))
    result = {"dlib_version": dlib.__version__, "frames": []}
    # pyramid_up is resize_image to (2h + 1) x (2w + 2) with bilinear interpolation;
    # dlib's Python API exposes the resize, so the upsampled pixels can be compared too.
    first_name, first, _ = frames[0]
    up = dlib.resize_image(np.asarray(first), 2 * first.height + 1, 2 * first.width + 2)
    up_name = first_name + ".pyramid_up.png"
    Image.fromarray(up).save(os.path.join(frames_dir, up_name))
    result["pyramid_up"] = {"frame": first_name, "upsampled": up_name}
    for file_name, frame, upsample in frames:
        frame.save(os.path.join(frames_dir, file_name))
        img = np.asarray(frame)
        t0 = time.perf_counter()
        dets = cnn(img, upsample)
        seconds = time.perf_counter() - t0
        faces = []
        for d in dets:
            r = d.rect
            shape = sp5(img, r)
            faces.append({
                "left": r.left(), "top": r.top(), "right": r.right(), "bottom": r.bottom(),
                "confidence": d.confidence,
                "landmarks": [[p.x, p.y] for p in shape.parts()],
                "descriptor": list(rec.compute_face_descriptor(img, shape)),
            })
        result["frames"].append({
            "image": file_name, "upsample": upsample, "detect_seconds": seconds, "faces": faces,
        })
        print("%s: %d faces, %.2fs" % (file_name, len(faces), seconds), file=sys.stderr)
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=1)
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
