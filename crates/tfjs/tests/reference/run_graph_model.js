// Runs a TensorFlow.js graph model with the pure-JavaScript CPU backend of
// `@tensorflow/tfjs` (installed by scripts/tfjs-env) on one input tensor and prints its
// outputs as JSON. The reference side of the parity tests and benchmark.
//
//   node run_graph_model.js MODEL_JSON INPUT_F32 SHAPE OUTPUTS [REPEAT]
//
// MODEL_JSON: a model.json; its weight shards are read from the same directory.
// INPUT_F32: raw little-endian float32 values; SHAPE: comma-separated dims (e.g. 1,128,128,3).
// OUTPUTS: comma-separated output node names (e.g. Identity,Identity_1).
// REPEAT: run this many extra times after the first and report the mean milliseconds.
// Prints {"tfjs": version, "backend", "outputs": [{"name", "shape", "data"}], "ms_per_run"}.
'use strict';
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');

async function main() {
  const [modelJson, inputPath, shapeArg, outputsArg, repeatArg] = process.argv.slice(2);
  if (!outputsArg) throw new Error('usage: run_graph_model.js MODEL_JSON INPUT_F32 SHAPE OUTPUTS [REPEAT]');
  await tf.setBackend('cpu');
  await tf.ready();
  const json = JSON.parse(fs.readFileSync(modelJson, 'utf8'));
  // Weight shards are concatenated in manifest order, as tfjs's own loaders do.
  const weightSpecs = [];
  const buffers = [];
  for (const group of json.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const p of group.paths) buffers.push(fs.readFileSync(path.join(path.dirname(modelJson), p)));
  }
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  const handler = {
    load: async () => ({
      modelTopology: json.modelTopology,
      format: json.format,
      generatedBy: json.generatedBy,
      convertedBy: json.convertedBy,
      signature: json.signature,
      userDefinedMetadata: json.userDefinedMetadata,
      weightSpecs,
      weightData,
    }),
  };
  const model = await tf.loadGraphModel(handler);
  const shape = shapeArg.split(',').map(Number);
  const raw = fs.readFileSync(inputPath);
  const values = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const input = tf.tensor(values, shape, 'float32');
  const names = outputsArg.split(',');
  const run = () => {
    const out = model.execute(input, names);
    return Array.isArray(out) ? out : [out];
  };
  const outs = run();
  const result = {
    tfjs: tf.version.tfjs,
    backend: tf.getBackend(),
    outputs: outs.map((t, i) => ({ name: names[i], shape: t.shape, data: Array.from(t.dataSync()) })),
  };
  outs.forEach((t) => t.dispose());
  const repeat = Number(repeatArg || 0);
  if (repeat > 0) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < repeat; i++) {
      const o = run();
      o.forEach((t) => t.dataSync());
      o.forEach((t) => t.dispose());
    }
    result.ms_per_run = Number(process.hrtime.bigint() - start) / 1e6 / repeat;
  }
  process.stdout.write(JSON.stringify(result));
}

main().catch((e) => {
  process.stderr.write(String((e && e.stack) || e) + '\n');
  process.exit(1);
});
