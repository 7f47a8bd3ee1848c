// Builds the attribute models' inputs from one photo exactly as the Human library does
// (src/face/facemeshutil.ts cutAndResize, src/face/faceres.ts, src/gear/emotion.ts,
// src/gear/gear.ts), with the pure-JavaScript CPU backend of `@tensorflow/tfjs`
// (installed by scripts/tfjs-env). The reference side of tests/it/attributes.rs.
//
//   node human_attribute_inputs.js RGB_U8 WIDTH HEIGHT X1,Y1,X2,Y2 OUT_DIR
//
// RGB_U8: the photo's raw pixels, 3 bytes each, row by row. X1..Y2: the face square's
// corners in pixels. Writes OUT_DIR/{square,faceres,emotion,gear}.f32 (little-endian
// float32, NHWC without the batch dimension).
'use strict';
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');

async function main() {
  const [rgbPath, wArg, hArg, boxArg, outDir] = process.argv.slice(2);
  if (!outDir) throw new Error('usage: human_attribute_inputs.js RGB_U8 WIDTH HEIGHT X1,Y1,X2,Y2 OUT_DIR');
  await tf.setBackend('cpu');
  await tf.ready();
  const [w, h] = [Number(wArg), Number(hArg)];
  const [x1, y1, x2, y2] = boxArg.split(',').map(Number);
  const raw = fs.readFileSync(rgbPath);
  const image = tf.tensor(new Float32Array(raw), [1, h, w, 3], 'float32');
  // cutAndResize: the box normalised by the image size, 192×192, then / 255.
  const crop = tf.image.cropAndResize(image, [[y1 / h, x1 / w, y2 / h, x2 / w]], [0], [192, 192]);
  const square = tf.div(crop, 255);
  // faceres: resizeBilinear to the model's input, × 255.
  const faceres = tf.mul(tf.image.resizeBilinear(square, [224, 224], false), 255);
  // emotion: resizeBilinear to 64×64, weighted grey, (g − 0.5)·2.
  const small = tf.image.resizeBilinear(square, [64, 64], false);
  const grey = tf.sum(tf.mul(small, tf.tensor1d([0.2989, 0.5870, 0.1140])), 3, true);
  const emotion = tf.mul(tf.sub(grey, 0.5), 2);
  // gear: Human's empirical box of the face, 198×198.
  const gear = tf.image.cropAndResize(square, [[0.0, 0.10, 0.90, 0.90]], [0], [198, 198]);
  for (const [name, t] of Object.entries({ square, faceres, emotion, gear })) {
    const data = await t.data();
    fs.writeFileSync(path.join(outDir, `${name}.f32`), Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
