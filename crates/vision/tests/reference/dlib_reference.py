"""Reference results from Python dlib for the vision parity tests.

Usage: dlib_reference.py MODELS_DIR OUT_JSON IMAGE...

MODELS_DIR holds dlib's .dat files as the models crate extracts them. For every image
(decoded by Pillow, alpha dropped) it records dlib's CNN detections at upsample 0 (box,
confidence), the 5-point landmarks for each box, the 150x150 face chip (written as a PNG
next to OUT_JSON) and the 128-d descriptor. The 68-point landmarks are recorded too.
"""
import json
import os
import sys
import time

import dlib
import numpy as np
from PIL import Image


def main():
    models, out, images = sys.argv[1], sys.argv[2], sys.argv[3:]
    cnn = dlib.cnn_face_detection_model_v1(os.path.join(models, "mmod_human_face_detector.dat"))
    sp5 = dlib.shape_predictor(os.path.join(models, "shape_predictor_5_face_landmarks.dat"))
    sp68 = dlib.shape_predictor(os.path.join(models, "shape_predictor_68_face_landmarks.dat"))
    rec = dlib.face_recognition_model_v1(os.path.join(models, "dlib_face_recognition_resnet_model_v1.dat"))
    chips_dir = out + ".chips"
    os.makedirs(chips_dir, exist_ok=True)
    result = {"dlib_version": dlib.__version__, "images": []}
    for path in images:
        img = np.asarray(Image.open(path).convert("RGB"))
        t0 = time.perf_counter()
        dets = cnn(img, 0)
        t_detect = time.perf_counter() - t0
        faces = []
        for i, d in enumerate(dets):
            r = d.rect
            shape = sp5(img, r)
            shape68 = sp68(img, r)
            chip = dlib.get_face_chip(img, shape, size=150, padding=0.25)
            chip_name = "%s.%d.png" % (os.path.basename(path), i)
            Image.fromarray(chip).save(os.path.join(chips_dir, chip_name))
            desc = rec.compute_face_descriptor(img, shape)
            faces.append({
                "left": r.left(), "top": r.top(), "right": r.right(), "bottom": r.bottom(),
                "confidence": d.confidence,
                "landmarks": [[p.x, p.y] for p in shape.parts()],
                "landmarks68": [[p.x, p.y] for p in shape68.parts()],
                "chip": chip_name,
                "descriptor": list(desc),
            })
        result["images"].append({
            "image": os.path.basename(path),
            "width": int(img.shape[1]), "height": int(img.shape[0]),
            "detect_seconds": t_detect,
            "faces": faces,
        })
        print("%s: %d faces, %.2fs" % (os.path.basename(path), len(faces), t_detect), file=sys.stderr)
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=1)
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
