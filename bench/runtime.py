"""ONNX Runtime on the graphs and inputs the runtime bench's tract side wrote, and the
report of both (bench/runtime runs it).

  runtime.py serve DIR [--threads 1,2]
      ONNX Runtime sessions (CPU provider, all graph optimisations, `intra_op_num_threads`
      set to each count, one inter-op thread, no spinning) on DIR's detector.onnx and
      descriptor.onnx with DIR's inputs; the tract side starts it and asks for each run
      ("WORKLOAD THREADS" on stdin, the time in ms of one `session.run` back on stdout),
      so ONNX Runtime's runs take turns with tract's.
  runtime.py check DIR
      Compares ONNX Runtime's outputs with tract's (DIR/*-output.f32); writes DIR/ort.json.
  runtime.py report DIR --root R --load-before L --load-after L [--doc FILE]
      Prints the table of tract's and ONNX Runtime's figures with the ratios, and writes
      it into FILE between the bench:runtime markers.
"""

import argparse
import json
import os
import subprocess
import sys
import time

WORKLOADS = {
    # workload: (graph, input file, what it is)
    "detector-net": ("detector.onnx", "detector-input.f32", "MMOD detector, one pass on a 640×480 photo's pyramid canvas"),
    "descriptor-b1": ("descriptor.onnx", "descriptor-b1-input.f32", "ResNet descriptor, 1 chip (150×150)"),
    "descriptor-b8": ("descriptor.onnx", "descriptor-b8-input.f32", "ResNet descriptor, batch of 8 chips"),
}
DESCRIBED = {
    "detect": "MMOD `Detector::detect` of the 640×480 photo (canvas, pass, NMS)",
    **{k: v[2] for k, v in WORKLOADS.items()},
}


def load_1min():
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError):
        return float("nan")


def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def session(rt, path, n):
    options = rt.SessionOptions()
    options.intra_op_num_threads = n
    options.inter_op_num_threads = 1
    options.execution_mode = rt.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = rt.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Its pool's threads would otherwise spin after each run, taking a core from the
    # tract run that follows it.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    s = rt.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    return s, s.get_inputs()[0].name


def inputs(np, directory):
    with open(os.path.join(directory, "tract.json")) as f:
        shapes = {w: c["input"] for w, c in json.load(f)["checks"].items() if "input" in c}
    return {w: np.fromfile(os.path.join(directory, f), dtype="<f4").reshape(shapes[w])
            for w, (_, f, _) in WORKLOADS.items()}


def serve(args):
    """Runs asked for on stdin ("WORKLOAD THREADS"), one time in ms per line on stdout."""
    import numpy as np
    import onnxruntime as rt

    counts = [int(t) for t in args.threads.split(",")]
    # tract.json is written at the end of the tract side's run: the shapes come from
    # the input files' sizes and the graphs' fixed dimensions instead.
    xs = {}
    for w, (graph, f, _) in WORKLOADS.items():
        raw = np.fromfile(os.path.join(args.dir, f), dtype="<f4")
        if w == "detector-net":
            with open(os.path.join(args.dir, "detector-input.shape")) as g:
                shape = [int(v) for v in g.read().split()]
        else:
            shape = [raw.size // (3 * 150 * 150), 3, 150, 150]
        xs[w] = raw.reshape(shape)
    sessions = {(w, n): session(rt, os.path.join(args.dir, WORKLOADS[w][0]), n)
                for w in WORKLOADS for n in counts}
    print("ready", flush=True)
    for line in sys.stdin:
        w, n = line.split()
        s, name = sessions[(w, int(n))]
        t = time.perf_counter()
        s.run(None, {name: xs[w]})
        print(f"{(time.perf_counter() - t) * 1e3:.3f}", flush=True)


def check(args):
    """ONNX Runtime's outputs against tract's, on one thread; writes DIR/ort.json."""
    import numpy as np
    import onnxruntime as rt

    xs = inputs(np, args.dir)
    checks = {}
    for w, (graph, _, _) in WORKLOADS.items():
        s, name = session(rt, os.path.join(args.dir, graph), 1)
        got = s.run(None, {name: xs[w]})[0].astype("<f4").ravel()
        want = np.fromfile(os.path.join(args.dir, w + "-output.f32"), dtype="<f4")
        if got.shape != want.shape:
            sys.exit(f"bench/runtime: {w}: ONNX Runtime's output has {got.size} values, tract's {want.size}")
        checks[w] = {"max_abs_diff_vs_tract": float(np.max(np.abs(got - want))),
                     "max_abs_tract": float(np.max(np.abs(want)))}
        print(f"onnxruntime check {w}: max |ort - tract| = {checks[w]['max_abs_diff_vs_tract']:.3g} "
              f"(outputs up to {checks[w]['max_abs_tract']:.3g})")
    with open(os.path.join(args.dir, "ort.json"), "w") as f:
        json.dump({"version": rt.__version__, "checks": checks}, f, indent=1)


def rev(root):
    try:
        r = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                           capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return r + (" + uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cpu():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


SECTION = """Command: `bench/runtime` (under a minute once built; `--runs N`, `--threads T`,
`--no-ort`). It builds vision's `runtime` bench in release with vision's `multithread`
feature (tract's `multithread-mm`; the first such build rebuilds tract, about 25 minutes
on the shared 2 cores) and runs it: tract, the engine's runtime, on the ONNX graphs the
engine runs (imported from dlib's files by `models`) on one thread and on T threads
(`EngineConfig::inference_threads`); then ONNX Runtime, from its Python wheel in a
virtual environment under `$RENLIAN_CACHE/bench`, on the same graph files and the same
inputs (raw f32 written by the tract side), with `intra_op_num_threads` 1 and T (one
inter-op thread, all graph optimisations, CPU provider, no spinning). The tract side
drives both: it asks ONNX Runtime's Python process for each of its runs, so the
runtimes and thread counts take turns run by run and meet the same load on the shared
machine; each figure is the median of the runs, with the median 1-minute load average
read before them. tract's pass includes copying the input into its tensor
(about 1 ms for the canvas); ONNX Runtime's is one `session.run` on a ready array.
Ratios: the one-thread time over the T-thread time (speed-up), and tract's time over
ONNX Runtime's at equal threads (above 1: ONNX Runtime is faster). The outputs line
compares tract's outputs across thread counts and ONNX Runtime's with tract's."""


def report(args):
    with open(os.path.join(args.dir, "tract.json")) as f:
        tract = json.load(f)
    ort_doc = None
    path = os.path.join(args.dir, "ort.json")
    if os.path.exists(path):
        with open(path) as f:
            ort_doc = json.load(f)
    fig = {(x["workload"], x["runtime"], x["threads"]): x for x in tract["figures"]}
    counts = sorted({k[2] for k in fig})
    workloads = [w for w in ["detector-net", "detect", "descriptor-b1", "descriptor-b8"]
                 if any(k[0] == w for k in fig)]

    def cell(w, runtime, n):
        x = fig.get((w, runtime, n))
        return f"{x['median_ms']:.1f} ms (load {x['load']:.2f})" if x else "n/a"

    def ratio(a, b):
        return f"{a['median_ms'] / b['median_ms']:.2f}" if a and b else "n/a"

    hi = counts[-1]
    lines = [
        f"Revision {rev(args.root)}; {cpu()}, {os.cpu_count()} cores; load average "
        f"{args.load_before} before, {args.load_after} after; ONNX Runtime "
        f"{ort_doc['version'] if ort_doc else 'not run'}.",
        "",
        f"| Workload | tract, 1 thread | tract, {hi} threads | tract speed-up | "
        f"ONNX Runtime, 1 thread | ONNX Runtime, {hi} threads | tract / ONNX Runtime, 1 thread | "
        f"tract / ONNX Runtime, {hi} threads |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for w in workloads:
        t1, tn = fig.get((w, "tract", 1)), fig.get((w, "tract", hi))
        o1, on = fig.get((w, "onnxruntime", 1)), fig.get((w, "onnxruntime", hi))
        lines.append(
            f"| {DESCRIBED.get(w, w)} | {cell(w, 'tract', 1)} | {cell(w, 'tract', hi)} | "
            f"{ratio(t1, tn)} | {cell(w, 'onnxruntime', 1)} | {cell(w, 'onnxruntime', hi)} | "
            f"{ratio(t1, o1)} | {ratio(tn, on)} |"
        )
    checks = []
    for w in workloads:
        t = tract["checks"].get(w, {})
        o = (ort_doc or {}).get("checks", {}).get(w, {})
        if "threads_max_abs_diff" in t:
            checks.append(f"{w}: tract {hi} threads vs 1, max |Δ| {t['threads_max_abs_diff']:.3g}")
        if "threads_equal" in t:
            checks.append(f"{w}: {t['faces']} face(s), boxes at {hi} threads "
                          f"{'equal to' if t['threads_equal'] else 'DIFFERENT from'} 1 thread's")
        if o:
            checks.append(f"{w}: ONNX Runtime vs tract, max |Δ| {o['max_abs_diff_vs_tract']:.3g} "
                          f"(values up to {o['max_abs_tract']:.3g})")
    lines += ["", "Outputs: " + "; ".join(checks) + "."]
    body = "\n".join(lines)
    print()
    print(body)
    if args.doc:
        begin, end = "<!-- bench:runtime:begin -->", "<!-- bench:runtime:end -->"
        block = f"{begin}\n<!-- Written by bench/runtime; do not edit by hand. -->\n{body}\n{end}"
        with open(args.doc) as f:
            page = f.read()
        if begin in page and end in page:
            head, rest = page.split(begin, 1)
            _, tail = rest.split(end, 1)
            page = head + block + tail
        else:
            page = page.rstrip("\n") + "\n\n## Runtime\n\n" + SECTION + "\n\n" + block + "\n"
        with open(args.doc, "w") as f:
            f.write(page)
        print(f"\nupdated {args.doc} ({begin})")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    o = sub.add_parser("serve")
    o.add_argument("dir")
    o.add_argument("--threads", default="1,2")
    c = sub.add_parser("check")
    c.add_argument("dir")
    r = sub.add_parser("report")
    r.add_argument("dir")
    r.add_argument("--root", required=True)
    r.add_argument("--load-before", required=True)
    r.add_argument("--load-after", required=True)
    r.add_argument("--doc")
    args = p.parse_args()
    {"serve": serve, "check": check, "report": report}[args.cmd](args)


if __name__ == "__main__":
    main()
