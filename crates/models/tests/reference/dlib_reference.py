"""Reference outputs from Python dlib for the models crate's parity tests.

Usage: python dlib_reference.py MODELS_DIR CACHE_DIR OUT_DIR

Fetches the face_recognition 1.3.0 source distribution (its tests/test_images) into
CACHE_DIR with pip, then writes into OUT_DIR:
  - chipN.rgb: 150x150 aligned face chips (dlib.get_face_chip), raw RGB bytes, and
    their descriptors from dlib's own ResNet (compute_face_descriptor on the chip);
  - mmodN.rgb: photos rescaled so that a face is about 80 px (one pyramid level), and
    dlib's CNN detections on them (upsample 0), confidence = dlib's raw score;
  - reference.json describing both.
"""
import fcntl, glob, json, os, subprocess, sys, tarfile

import dlib
import numpy as np
from PIL import Image

models, cache, out = sys.argv[1:4]
os.makedirs(cache, exist_ok=True)
os.makedirs(out, exist_ok=True)

images_dir = os.path.join(cache, "test_images")
with open(os.path.join(cache, ".lock"), "w") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    if not os.path.exists(os.path.join(images_dir, ".complete")):
        dl = os.path.join(cache, "dl")
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--disable-pip-version-check", "--no-binary", ":all:",
                        "-d", dl, "face_recognition==1.3.0"], check=True, stdout=sys.stderr)
        [sdist] = glob.glob(os.path.join(dl, "face_recognition-1.3.0.tar.gz"))
        os.makedirs(images_dir, exist_ok=True)
        with tarfile.open(sdist) as tar:
            for m in tar.getmembers():
                parts = m.name.split("/")
                if len(parts) == 4 and parts[1:3] == ["tests", "test_images"] and m.isfile():
                    with open(os.path.join(images_dir, parts[3]), "wb") as f:
                        f.write(tar.extractfile(m).read())
        open(os.path.join(images_dir, ".complete"), "w").close()

hog = dlib.get_frontal_face_detector()
sp5 = dlib.shape_predictor(os.path.join(models, "shape_predictor_5_face_landmarks.dat"))
rec = dlib.face_recognition_model_v1(os.path.join(models, "dlib_face_recognition_resnet_model_v1.dat"))
cnn = dlib.cnn_face_detection_model_v1(os.path.join(models, "mmod_human_face_detector.dat"))

def load(name):
    return np.asarray(Image.open(os.path.join(images_dir, name)).convert("RGB"))

ref = {"chips": [], "mmod": []}

for name in ["obama.jpg", "obama2.jpg", "biden.jpg", "obama3.jpg"]:
    img = load(name)
    for det in hog(img, 1):
        shape = sp5(img, det)
        chip = dlib.get_face_chip(img, shape, size=150, padding=0.25)
        desc = rec.compute_face_descriptor(chip)
        path = "chip%d.rgb" % len(ref["chips"])
        np.ascontiguousarray(chip, dtype=np.uint8).tofile(os.path.join(out, path))
        ref["chips"].append({"image": name, "chip": path, "descriptor": list(desc)})

for name in ["obama.jpg", "biden.jpg", "obama2.jpg"]:
    img = Image.open(os.path.join(images_dir, name)).convert("RGB")
    dets = cnn(np.asarray(img), 0)
    if not dets:
        continue
    widest = max(d.rect.width() for d in dets)
    scale = 80.0 / widest
    small = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                       Image.BILINEAR)
    arr = np.ascontiguousarray(np.asarray(small), dtype=np.uint8)
    found = []
    for d in cnn(arr, 0):
        r = d.rect
        found.append([r.left(), r.top(), r.right(), r.bottom(), d.confidence])
    path = "mmod%d.rgb" % len(ref["mmod"])
    arr.tofile(os.path.join(out, path))
    ref["mmod"].append({"image": name, "file": path, "width": small.width,
                        "height": small.height, "detections": found})

with open(os.path.join(out, "reference.json"), "w") as f:
    json.dump(ref, f)
