// Runs TensorFlow.js graph models of the analysis pipelines (liveness today; mesh and
// attributes later) on prepared input tensors, in one Node process, with the pure
// JavaScript CPU backend of `@tensorflow/tfjs` (scripts/tfjs-env). The reference side of
// `benches/analysis.rs`: the same crop tensors as ours, timed here.
//
//   node run_analysis.js JOBS_JSON
//
// JOBS_JSON: {"repeat": N, "jobs": [{"model": MODEL_JSON, "input": F32_FILE,
//   "shape": [1,128,128,3], "output": NODE_NAME}, ...]}; each input file holds raw
// little-endian float32 values. Models are loaded once each. Prints
// {"tfjs", "backend", "jobs": [{"first": FIRST_OUTPUT_VALUE, "ms_per_run"}]}, where
// ms_per_run is the mean of N runs after one warm-up run.
'use strict';
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');

async function load(modelJson) {
  const json = JSON.parse(fs.readFileSync(modelJson, 'utf8'));
  const weightSpecs = [];
  const buffers = [];
  for (const group of json.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const p of group.paths) buffers.push(fs.readFileSync(path.join(path.dirname(modelJson), p)));
  }
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  return tf.loadGraphModel({
    load: async () => ({
      modelTopology: json.modelTopology,
      format: json.format,
      generatedBy: json.generatedBy,
      convertedBy: json.convertedBy,
      weightSpecs,
      weightData,
    }),
  });
}

async function main() {
  const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  await tf.setBackend('cpu');
  await tf.ready();
  const models = new Map();
  const result = { tfjs: tf.version.tfjs, backend: tf.getBackend(), jobs: [] };
  for (const job of spec.jobs) {
    if (!models.has(job.model)) models.set(job.model, await load(job.model));
    const model = models.get(job.model);
    const raw = fs.readFileSync(job.input);
    const values = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    const input = tf.tensor(values, job.shape, 'float32');
    const run = () => {
      const out = model.execute(input, job.output);
      const data = out.dataSync();
      out.dispose();
      return data;
    };
    const first = run()[0];
    const n = Math.max(1, Number(spec.repeat || 1));
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) run();
    const ms = Number(process.hrtime.bigint() - start) / 1e6 / n;
    input.dispose();
    result.jobs.push({ first, ms_per_run: ms });
  }
  process.stdout.write(JSON.stringify(result));
}

main().catch((e) => {
  process.stderr.write(String((e && e.stack) || e) + '\n');
  process.exit(1);
});
