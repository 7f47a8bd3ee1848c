// Runs TensorFlow.js graph models of the analysis pipelines (liveness, facemesh + iris,
// faceres + emotion) on prepared input tensors, in one Node process, with the pure
// JavaScript CPU backend of `@tensorflow/tfjs` (scripts/tfjs-env). The reference side of
// `benches/analysis.rs`: the same crop tensors as ours, timed here.
//
//   node run_analysis.js JOBS_JSON
//
// JOBS_JSON: {"repeat": N, "jobs": [{"model": MODEL_JSON, "input": F32_FILE,
//   "shape": [1,128,128,3], "outputs": [NODE_NAME, ...]}, ...]}; each input file holds
// raw little-endian float32 values. Models are loaded once each. Prints
// {"tfjs", "backend", "jobs": [{"outputs": [[VALUES], ...], "ms_per_run"}]}: every named
// output's values from the first (warm-up) run, and the mean time of N more runs
// (none when N is 0: the parity check alone).
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
    // Every output is computed and read back, as our runtime does.
    const run = () => {
      const out = model.execute(input, job.outputs);
      const list = Array.isArray(out) ? out : [out];
      const data = list.map((t) => t.dataSync());
      list.forEach((t) => t.dispose());
      return data;
    };
    const outputs = run().map((d) => Array.from(d));
    const n = Math.max(0, Number(spec.repeat || 0));
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) run();
    const ms = n > 0 ? Number(process.hrtime.bigint() - start) / 1e6 / n : null;
    input.dispose();
    result.jobs.push({ outputs, ms_per_run: ms });
  }
  process.stdout.write(JSON.stringify(result));
}

main().catch((e) => {
  process.stderr.write(String((e && e.stack) || e) + '\n');
  process.exit(1);
});
