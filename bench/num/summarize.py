#!/usr/bin/env python3
"""Reads bench_num --benchmark_format=json (file or stdin) and prints, per operation, the torq and
boost ns/op and the speed-up (boost time / torq time); where a "prev" peer exists (the previous torq
division), also its ns/op and the speed-up over it. Output is JSON, one object per operation."""
import json
import sys

data = json.load(open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin)
# With --benchmark_repetitions use the median aggregate, otherwise the single iteration run.
have_median = any(b.get("aggregate_name") == "median" for b in data["benchmarks"])
times = {}
for b in data["benchmarks"]:
    if have_median:
        if b.get("aggregate_name") != "median":
            continue
        name = b["run_name"].removeprefix("BM_")
    elif b.get("run_type", "iteration") != "iteration":
        continue
    else:
        name = b["name"].removeprefix("BM_")
    op, _, peer = name.rpartition("_")
    times.setdefault(op, {})[peer] = b["real_time"]  # ns (default time unit)
rows = []
for op, t in times.items():
    if "torq" in t and "boost" in t:
        row = {"op": op, "torq_ns": round(t["torq"], 2), "boost_ns": round(t["boost"], 2),
               "speedup_vs_boost": round(t["boost"] / t["torq"], 2)}
        if "prev" in t:
            row["prev_ns"] = round(t["prev"], 2)
            row["speedup_vs_prev"] = round(t["prev"] / t["torq"], 2)
        rows.append(row)
print(json.dumps({"context": data.get("context", {}).get("host_name", ""), "results": rows}, indent=1))
