"""Times Python dlib on the benchmark images: CNN detection, 5 landmarks, descriptor.

Usage: dlib_bench.py MODELS_DIR IMAGE...   Prints one JSON object on stdout.
"""
import json
import os
import sys
import time

import dlib
import numpy as np
from PIL import Image


def main():
    models, images = sys.argv[1], sys.argv[2:]
    cnn = dlib.cnn_face_detection_model_v1(os.path.join(models, "mmod_human_face_detector.dat"))
    sp5 = dlib.shape_predictor(os.path.join(models, "shape_predictor_5_face_landmarks.dat"))
    rec = dlib.face_recognition_model_v1(os.path.join(models, "dlib_face_recognition_resnet_model_v1.dat"))
    out = []
    for path in images:
        img = np.asarray(Image.open(path).convert("RGB"))
        t0 = time.perf_counter()
        dets = cnn(img, 0)
        t1 = time.perf_counter()
        shapes = [sp5(img, d.rect) for d in dets]
        t2 = time.perf_counter()
        for s in shapes:
            rec.compute_face_descriptor(img, s)
        t3 = time.perf_counter()
        out.append({"image": os.path.basename(path), "faces": len(dets),
                    "detect_ms": (t1 - t0) * 1e3, "landmarks_ms": (t2 - t1) * 1e3,
                    "descriptor_ms": (t3 - t2) * 1e3})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
