"""FAISS on the files `face-index`'s `index` benchmark wrote, and the report of both.

    search.py faiss DIR [--no-hnsw]     FAISS flat, IVF-Flat, IVF-SQ8 + exact refine and
                                         HNSW on DIR/base.f32 and DIR/queries.f32;
                                         writes DIR/faiss.json
    search.py report DIR --doc FILE --load-before "…" --load-after "…"
                                         prints ours against FAISS with ratios and
                                         rewrites FILE's section between
                                         <!-- bench:NAME:begin --> and <!-- bench:NAME:end -->

Run by bench/search, which builds our side in release and installs a pinned faiss-cpu
into a virtual environment under the cache. Each FAISS index is built on all cores and
searched one query at a time on one thread, like ours; recall is top-1 agreement with
our exact scan (DIR/ours.json). Each approximate FAISS index is run at increasing
search effort until its recall reaches ours, and reported at that point.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone


def load(dir_):
    import numpy as np

    with open(os.path.join(dir_, "ours.json")) as f:
        ours = json.load(f)
    d = ours["dim"]
    base = np.fromfile(os.path.join(dir_, "base.f32"), dtype="<f4").reshape(-1, d)
    queries = np.fromfile(os.path.join(dir_, "queries.f32"), dtype="<f4").reshape(-1, d)
    assert base.shape[0] == ours["n"] and queries.shape[0] == ours["queries"]
    return ours, base, queries


def timed_search(index, queries, truth, members):
    """One query at a time; top-1 per query; latency percentiles and recall."""
    import numpy as np

    times = []
    got = []
    for q in queries:
        t = time.perf_counter()
        _, ids = index.search(q[None, :], 1)
        times.append(time.perf_counter() - t)
        got.append(int(ids[0, 0]))
    times = np.sort(np.array(times) * 1e3)

    def at(p):
        return float(times[int(round((len(times) - 1) * p))])

    same = [g == t for g, t in zip(got, truth)]
    return {
        "p50_ms": at(0.5),
        "p99_ms": at(0.99),
        "mean_ms": float(times.mean()),
        "recall": sum(same) / len(same),
        "recall_members": sum(same[:members]) / max(members, 1),
        "recall_strangers": sum(same[members:]) / max(len(same) - members, 1),
    }


def sweep(index, set_effort, efforts, queries, truth, members, target):
    """Search at increasing effort until recall reaches `target`; returns the first
    point that does (or the last one tried) and every point tried."""
    tried = []
    for e in efforts:
        set_effort(e)
        r = timed_search(index, queries, truth, members)
        r["effort"] = e
        tried.append(r)
        print(f"  effort {e}: recall {r['recall']:.4f} p50 {r['p50_ms']:.3f} ms p99 {r['p99_ms']:.3f} ms", flush=True)
        if r["recall"] >= target:
            break
    return tried[-1], tried


def run_faiss(dir_, hnsw):
    import faiss

    ours, base, queries = load(dir_)
    n, d = base.shape
    truth = [t if t is not None else -1 for t in ours["truth"]]
    members = ours["members"]
    target = ours["ivf"]["recall"]
    build_threads = os.cpu_count() or 1
    out = {
        "faiss_version": faiss.__version__,
        "faiss_options": faiss.get_compile_options(),
        "target_recall": target,
        "build_threads": build_threads,
    }

    def build(make, train_sample=None):
        faiss.omp_set_num_threads(build_threads)
        t = time.perf_counter()
        index = make()
        if train_sample is not None:
            index.train(train_sample)
        index.add(base)
        build_s = time.perf_counter() - t
        faiss.omp_set_num_threads(1)
        # The index's own bytes (what serialising it writes: vectors or codes, ids,
        # centroids, graph links); resident-set growth is blurred by memory the
        # previous index freed.
        size = faiss.serialize_index(index).nbytes
        return index, build_s, size / n

    print(f"FAISS {faiss.__version__} ({faiss.get_compile_options()}), {n} x {d}", flush=True)
    index, build_s, bpf = build(lambda: faiss.IndexFlatL2(d))
    r = timed_search(index, queries, truth, members)
    out["flat"] = dict(r, build_s=build_s, bytes_per_face=bpf)
    print(f"flat: p50 {r['p50_ms']:.3f} ms p99 {r['p99_ms']:.3f} ms recall {r['recall']:.4f}", flush=True)
    del index

    nlist = ours["ivf"]["lists"]
    # FAISS wants at least 39 training points per centroid; 64 per list, at most all.
    sample = base[:: max(1, n // (64 * nlist))][: 64 * nlist]
    fractions = [0.02, 0.04, 0.06, 0.08, 0.10, 0.12, 0.15, 0.20, 0.25, 0.30, 0.40, 0.50]
    nprobes = sorted({max(1, min(nlist, round(nlist * f))) for f in fractions})

    def ivf_flat():
        return faiss.IndexIVFFlat(faiss.IndexFlatL2(d), d, nlist)

    print(f"IVF-Flat, {nlist} lists:", flush=True)
    index, build_s, bpf = build(ivf_flat, sample)

    def set_nprobe(p):
        index.nprobe = p

    best, tried = sweep(index, set_nprobe, nprobes, queries, truth, members, target)
    out["ivf_flat"] = dict(best, build_s=build_s, bytes_per_face=bpf, lists=nlist, tried=tried)
    del index

    # The same family as ours: 8-bit codes scanned, then the same number of candidates
    # re-ranked with exact distances.
    k_factor = 1 + ours["ivf"]["rerank"]

    def ivf_sq8():
        ivf = faiss.IndexIVFScalarQuantizer(
            faiss.IndexFlatL2(d), d, nlist, faiss.ScalarQuantizer.QT_8bit
        )
        refine = faiss.IndexRefineFlat(ivf)
        refine.k_factor = k_factor
        return refine

    print(f"IVF-SQ8 + refine (k_factor {k_factor}), {nlist} lists:", flush=True)
    index, build_s, bpf = build(ivf_sq8, sample)
    inner = faiss.downcast_index(index.base_index)

    def set_nprobe_sq(p):
        inner.nprobe = p

    best, tried = sweep(index, set_nprobe_sq, nprobes, queries, truth, members, target)
    out["ivf_sq8"] = dict(best, build_s=build_s, bytes_per_face=bpf, lists=nlist, tried=tried)
    del index, inner

    if hnsw:
        print("HNSW32 (efConstruction 40):", flush=True)
        index, build_s, bpf = build(lambda: faiss.IndexHNSWFlat(d, 32))

        def set_ef(e):
            index.hnsw.efSearch = e

        best, tried = sweep(index, set_ef, [16, 32, 64, 128, 256, 512, 1024], queries, truth, members, target)
        out["hnsw"] = dict(best, build_s=build_s, bytes_per_face=bpf, tried=tried)
        del index

    with open(os.path.join(dir_, "faiss.json"), "w") as f:
        json.dump(out, f, indent=1)


def fmt_ms(x):
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def ratio(a, b):
    return f"{a / b:.2f}" if b > 0 else "n/a"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def git_rev(root):
    try:
        rev = subprocess.run(
            ["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain"], capture_output=True, text=True).stdout
        return rev + ("+changes" if dirty.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def report(dir_, doc, load_before, load_after, root, revision=None):
    with open(os.path.join(dir_, "ours.json")) as f:
        ours = json.load(f)
    fpath = os.path.join(dir_, "faiss.json")
    fa = None
    if os.path.exists(fpath):
        with open(fpath) as f:
            fa = json.load(f)
    n = ours["n"]
    ivf = ours["ivf"]
    mem = ours["memory"]
    upd = ours["updates"]
    ours_ivf_bpf = mem["descriptor_bytes_per_face"] + mem["ivf_bytes_per_face"]
    name = "search" if n == 1_000_000 else f"search-{n}"

    def recall_cell(r, rm, rs):
        return f"{r:.4f} ({rm:.4f} / {rs:.4f})"

    lines = []
    lines.append(
        f"{n:,} synthetic faces (one per identity), {ours['queries']} queries "
        f"({ours['members']} new photos of enrolled identities, {ours['queries'] - ours['members']} strangers), "
        f"128-d f32, squared L2, k = 1. Searches: one query at a time on one thread; builds on "
        f"{ours['threads_build']} threads. Recall: top-1 agreement with our exact scan "
        f"(enrolled / strangers)."
    )
    lines.append("")
    lines.append(
        f"Machine: {cpu_model()}, nproc {os.cpu_count()}; load average (1, 5, 15 min) "
        f"before the run {load_before}, after it {load_after}. Run "
        f"{datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}, revision {revision or git_rev(root)}"
        + (f", FAISS {fa['faiss_version']} ({fa['faiss_options'].strip()})." if fa else ", FAISS not run.")
    )
    lines.append("")
    lines.append("| Index | Build | Memory per face | p50 ms | p99 ms | Top-1 recall | Ours ÷ FAISS p50 / p99 |")
    lines.append("|---|---|---|---|---|---|---|")
    ex = ours["exact"]
    lines.append(
        f"| ours exact scan | none | {mem['descriptor_bytes_per_face']:.0f} B "
        f"| {fmt_ms(ex['p50_ms'])} | {fmt_ms(ex['p99_ms'])} | 1 (reference) "
        + (f"| {ratio(ex['p50_ms'], fa['flat']['p50_ms'])} / {ratio(ex['p99_ms'], fa['flat']['p99_ms'])} vs flat |" if fa else "| |")
    )
    if fa:
        f = fa["flat"]
        lines.append(
            f"| FAISS IndexFlatL2 | {f['build_s']:.1f} s | {f['bytes_per_face']:.0f} B | {fmt_ms(f['p50_ms'])} "
            f"| {fmt_ms(f['p99_ms'])} | {recall_cell(f['recall'], f['recall_members'], f['recall_strangers'])} | |"
        )
    k1 = ivf["k1"]
    lines.append(
        f"| **ours IVF-SQ8 + exact re-rank** ({ivf['lists']} lists, {ivf['probes']} probed, "
        f"{1 + ivf['rerank']} re-ranked) | {ivf['build_s']:.1f} s | {ours_ivf_bpf:.0f} B "
        f"({mem['descriptor_bytes_per_face']:.0f} f32 + {mem['ivf_bytes_per_face']:.0f} IVF) "
        f"| **{fmt_ms(k1['p50_ms'])}** | **{fmt_ms(k1['p99_ms'])}** "
        f"| {recall_cell(ivf['recall'], ivf['recall_members'], ivf['recall_strangers'])} | |"
    )
    if fa:
        for key, label, effort in [
            ("ivf_flat", "FAISS IVF-Flat", "nprobe"),
            ("ivf_sq8", "FAISS IVF-SQ8 + IndexRefineFlat", "nprobe"),
            ("hnsw", "FAISS HNSW32", "efSearch"),
        ]:
            if key not in fa:
                continue
            r = fa[key]
            lists = f"{r['lists']} lists, " if "lists" in r else ""
            reached = "" if r["recall"] >= fa["target_recall"] else " (did not reach ours)"
            lines.append(
                f"| {label} ({lists}{effort} {r['effort']}){reached} | {r['build_s']:.1f} s | {r['bytes_per_face']:.0f} B "
                f"| {fmt_ms(r['p50_ms'])} | {fmt_ms(r['p99_ms'])} "
                f"| {recall_cell(r['recall'], r['recall_members'], r['recall_strangers'])} "
                f"| {ratio(k1['p50_ms'], r['p50_ms'])} / {ratio(k1['p99_ms'], r['p99_ms'])} |"
            )
    lines.append("")
    k25 = ivf["k25"]
    lines.append(
        f"Ours with k = 25 (what a search asks of a group for MaxPersonNum 5): p50 {fmt_ms(k25['p50_ms'])} ms, "
        f"p99 {fmt_ms(k25['p99_ms'])} ms, top-1 recall {ivf['recall_k25']:.4f}. Within distance 0.6 "
        f"(dlib's same-person line): top-1 recall {ivf['recall_within']:.4f} over {ivf['matches_within']} exact matches. "
        f"Updates on the built index: insert p50 {upd['insert']['p50_ms'] * 1e3:.0f} µs, p99 "
        f"{upd['insert']['p99_ms'] * 1e3:.0f} µs ({upd['found_at_once']}/{upd['count']} new faces found by the next "
        f"search); delete p50 {upd['delete']['p50_ms'] * 1e3:.1f} µs (a tombstone). Memory is the structures' own bytes (FAISS: the size of the serialised index); "
        f"resident-set growth: {mem['rss_load_bytes_per_face']:.0f} B/face loading the descriptors, "
        f"{mem['rss_build_bytes_per_face']:.0f} B/face building the inverted file."
    )
    if ivf.get("sweep"):
        lines.append("")
        lines.append("Other operating points of our index (same build):")
        lines.append("")
        lines.append("| Probed lists | p50 ms | p99 ms | Top-1 recall |")
        lines.append("|---|---|---|---|")
        for s in ivf["sweep"]:
            lines.append(
                f"| {s['probes']} ({s['probe_fraction']:g} of lists) | {fmt_ms(s['latency']['p50_ms'])} "
                f"| {fmt_ms(s['latency']['p99_ms'])} | {s['recall']:.4f} |"
            )
    body = "\n".join(lines)
    print(body)

    if doc:
        begin = f"<!-- bench:{name}:begin -->"
        end = f"<!-- bench:{name}:end -->"
        block = f"{begin}\n<!-- Written by bench/search; do not edit by hand. -->\n{body}\n{end}"
        text = open(doc).read() if os.path.exists(doc) else "# Performance\n"
        if begin in text and end in text:
            head, rest = text.split(begin, 1)
            _, tail = rest.split(end, 1)
            text = head + block + tail
        else:
            text = text.rstrip("\n") + f"\n\n## Search ({n:,} faces)\n\n" + block + "\n"
        with open(doc, "w") as f:
            f.write(text)
        print(f"\nupdated {doc} ({begin})")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("faiss")
    f.add_argument("dir")
    f.add_argument("--no-hnsw", action="store_true")
    r = sub.add_parser("report")
    r.add_argument("dir")
    r.add_argument("--doc")
    r.add_argument("--root", default=".")
    r.add_argument("--load-before", default="?")
    r.add_argument("--load-after", default="?")
    r.add_argument("--revision", help="the revision the figures were measured at (default: HEAD)")
    a = p.parse_args()
    if a.cmd == "faiss":
        run_faiss(a.dir, not a.no_hnsw)
    else:
        report(a.dir, a.doc, a.load_before, a.load_after, a.root, a.revision)


if __name__ == "__main__":
    sys.exit(main())
