"""Run every benchmark, print a table and write the figures as JSON (``scripts/bench``).

    scripts/bench [--quick] [--json FILE]

JSON keys: ``cold`` and ``warm`` (per scenario kind: round trips, requests, 304s),
``baseline`` (the same answers the straightforward way with PyGithub, and how many times
slower), ``scan`` (100 / 1,000 / 5,000 services), ``ack`` and ``rss`` (``serve``),
``imports`` (``shiptrace where --help``), ``targets`` (each target and whether it is met) and
``machine``. ``--quick`` takes fewer runs of each (under 3 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from bench import imports, scan, serve, where

LATENCY = 0.1  # GitHub at 100 ms

# (what, where in the JSON, the limit, how it is checked)
TABLE_KINDS = ("sha", "superseded", "two_environments", "flux_apply_failed")


def targets(out: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def row(what: str, value: float | bool | None, limit: str, met: bool) -> None:
        rows.append({"target": what, "value": value, "limit": limit, "met": bool(met)})

    cold, warm = out["cold"], out["warm"]
    for kind in TABLE_KINDS:
        c = cold[kind]
        row(f"cold {kind}: round trips", c["round_trips"], "<= 3", c["round_trips"] <= 3)
        row(f"cold {kind}: requests", c["requests"], "<= 8", c["requests"] <= 8)
    for kind in ("config_repo", "failed_ci"):
        c = cold[kind]
        row(f"cold {kind}: round trips", c["round_trips"], "<= 3", c["round_trips"] <= 3)
    for kind, w in warm.items():
        row(f"warm {kind}: round trips", w["round_trips"], "<= 1.2", w["round_trips"] <= 1.2)
        row(f"warm {kind}: all 304", w["all_304"], "all", w["all_304"])
    ratio = out["imports"]["where_help_vs_pygithub"]
    row("where --help vs import github", ratio, "<= 1.5", ratio <= 1.5)
    if "requests_5000_vs_1000" in out["scan"]:
        r = out["scan"]["requests_5000_vs_1000"]
        row("scan requests 5,000 vs 1,000 services", r, "<= 1.5", r <= 1.5)
    if "1000" in out["scan"]:
        cpu = out["scan"]["1000"]["cpu_ms_per_service"]
        row("scan CPU per service (1,000), ms", cpu, "<= 0.3", cpu <= 0.3)
    ack = out["ack"]
    row("ack p99, 50 concurrent, ms", ack["p99_ms"], "<= 50", ack["p99_ms"] <= 50)
    row("all 50 answered", ack["all_answered"], "all", ack["all_answered"])
    rss = out["rss"]["after_mb"]
    row("serve RSS after 1,000 answers, MB", rss, "<= 150", rss <= 150)
    return rows


def print_tables(out: dict[str, Any]) -> None:
    results = {
        kind: {
            "title": out["titles"][kind],
            "cold": out["cold"][kind],
            "warm": out["warm"][kind],
            "baseline": out["baseline"][kind],
            "speedup": out["baseline"][kind]["slower_by"],
        }
        for kind in out["cold"]
    }
    print(f"/where, GitHub at {LATENCY * 1000:.0f} ms (round trips = wall / latency)")
    print(where.table(results))
    print()
    print("drift scan (2 clusters)")
    print(
        f"{'services':>8} {'wall s':>7} {'cpu s':>6} {'cpu ms/svc':>10} {'requests':>14} {'peak MB':>8}"
    )
    for s in out["scan"].values():
        if isinstance(s, dict):
            reqs = "/".join(str(v) for v in s["requests_per_cluster"].values())
            print(
                f"{s['services']:>8} {s['wall_s']:>7} {s['cpu_s']:>6} "
                f"{s['cpu_ms_per_service']:>10} {reqs:>14} {s['peak_mb']!s:>8}"
            )
    print()
    a, r, i = out["ack"], out["rss"], out["imports"]
    print(
        f"serve: ack p50 {a['p50_ms']} ms, p99 {a['p99_ms']} ms, {a['answered']}/{a['concurrent']}"
        f" answered; RSS idle {r['idle_mb']} MB, after {r['answers']} answers {r['after_mb']} MB"
    )
    print(
        f"imports: where --help {i['where_help_s']} s, import github {i['pygithub_s']} s "
        f"({i['where_help_vs_pygithub']}x)"
    )
    print()
    for t in out["targets"]:
        mark = "ok  " if t["met"] else "MISS"
        print(f"{mark} {t['target']}: {t['value']} (target {t['limit']})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench")
    parser.add_argument("--quick", action="store_true", help="fewer runs (under 3 minutes)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    runs = 3
    answers = where.run(LATENCY, runs)
    out: dict[str, Any] = {
        "latency_s": LATENCY,
        "titles": {k: v["title"] for k, v in answers.items()},
        "cold": {k: v["cold"] for k, v in answers.items()},
        "warm": {k: v["warm"] for k, v in answers.items()},
        "baseline": {k: {**v["baseline"], "slower_by": v["speedup"]} for k, v in answers.items()},
        "scan": scan.run([100, 1000, 5000], 1 if args.quick else 3),
    }
    out.update(serve.run(answers=1000, size=50))
    out["imports"] = imports.run(3 if args.quick else 5)
    out["machine"] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "quick": args.quick,
        "bench_s": round(time.perf_counter() - started, 1),
    }
    out["targets"] = targets(out)
    print_tables(out)
    print(f"\n{out['machine']['bench_s']} s", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
