#!/usr/bin/env python3
"""Benchmark the reference server beside Orthanc on this machine, in one run; write RESULTS.md.

    python bench/compare_with_orthanc.py                  # the full comparison (about 30 min)
    python bench/compare_with_orthanc.py --quick          # a smoke run (about 3 min)

Each server runs as a private child process on loopback with a fresh data folder (servers.py).
``--rounds`` times, in alternating order, each server gets a fresh start and one
``dicomweb_bench.py`` run of the standard data set; then, for each size in ``--scale``, a fresh
server is preloaded to that many instances and searched (QIDO flatness); finally
``upload_memory.py`` measures the reference server's peak RSS while it stores a large study.
The machine's load average is recorded around every run: figures taken while other work runs
are noisy, which is why both servers are measured in the same run and in alternation.

Output: ``--output`` (Markdown, default bench/RESULTS.md) and ``--json`` (every raw figure).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.servers import RunningServer, orthanc, orthanc_available, peak_rss_mb, reference_server

BENCH = Path(__file__).resolve().parent
Figures = dict[str, Any]
ServerFactory = Callable[[], Any]


def run_bench(server: RunningServer, args: list[str], timeout: float) -> Figures:
    """One dicomweb_bench.py run against ``server``; its JSON plus the server's peak RSS and load."""
    command = [sys.executable, str(BENCH / "dicomweb_bench.py"), "--url", server.url, "--cleanup", "none", *args]
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"dicomweb_bench against {server.name} failed:\n{done.stderr[-3000:]}")
    figures: Figures = json.loads(done.stdout)
    figures["server"] = {"name": server.name, "version": server.version, "peak_rss_mb": round(peak_rss_mb(server.pid))}
    figures["wall_seconds"] = round(time.monotonic() - started, 1)
    figures["load_average_1min"] = {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)}
    return figures


def servers(include_orthanc: bool) -> list[tuple[str, ServerFactory]]:
    found: list[tuple[str, ServerFactory]] = [("reference", reference_server)]
    if include_orthanc:
        found.append(("orthanc", orthanc))
    return found


def standard_runs(
    rounds: int, bench_args: list[str], include_orthanc: bool, timeout: float
) -> dict[str, list[Figures]]:
    results: dict[str, list[Figures]] = {}
    order = servers(include_orthanc)
    for round_number in range(rounds):
        for name, factory in order if round_number % 2 == 0 else list(reversed(order)):
            print(f"round {round_number + 1}/{rounds}: {name}", file=sys.stderr, flush=True)
            with factory() as server:
                results.setdefault(name, []).append(run_bench(server, bench_args, timeout))
    return results


def scale_runs(sizes: list[int], include_orthanc: bool, max_seconds: float, repeat: int) -> dict[str, list[Figures]]:
    results: dict[str, list[Figures]] = {}
    small = ["--studies", "4", "--series", "1", "--instances", "5", "--repeat", str(repeat)]
    for size in sizes:
        for name, factory in servers(include_orthanc):
            print(f"scale {size}: {name}", file=sys.stderr, flush=True)
            args = [*small, "--preload", str(max(0, size - 20)), "--preload-max-seconds", str(max_seconds)]
            with factory() as server:
                figures = run_bench(server, args, timeout=max_seconds + 900)
            figures["scale"] = size
            results.setdefault(name, []).append(figures)
    return results


def memory_run(gigabytes: float) -> Figures:
    print(f"memory: storing {gigabytes} GiB", file=sys.stderr, flush=True)
    command = [sys.executable, str(BENCH / "upload_memory.py"), "--gigabytes", str(gigabytes)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600, check=False)
    if done.returncode != 0:
        return {"error": done.stderr[-2000:]}
    figures: Figures = json.loads(done.stdout)
    return figures


# -- the report ---------------------------------------------------------------------------------


def _get(figures: Figures, path: str) -> float | None:
    value: Any = figures
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return float(value) if isinstance(value, int | float) else None


def median_of(runs: list[Figures], path: str) -> float | None:
    values = [v for run in runs if (v := _get(run, path)) is not None]
    return round(statistics.median(values), 2) if values else None


STANDARD_ROWS = [
    ("STOW, one study per request (instances/s)", "stow_study_per_request.instances_per_s", "higher"),
    ("STOW, one study per request (MB/s)", "stow_study_per_request.mb_per_s", "higher"),
    ("STOW, one instance per request (instances/s)", "stow_instance_per_request.instances_per_s", "higher"),
    ("STOW, one instance per request (MB/s)", "stow_instance_per_request.mb_per_s", "higher"),
    ("QIDO studies by PatientID, median (ms)", "qido.studies_by_patient_id.median_ms", "lower"),
    ("QIDO studies by PatientID, p95 (ms)", "qido.studies_by_patient_id.p95_ms", "lower"),
    ("QIDO studies by name prefix, fuzzy, median (ms)", "qido.studies_by_name_prefix_fuzzy.median_ms", "lower"),
    ("QIDO studies by name prefix, fuzzy, p95 (ms)", "qido.studies_by_name_prefix_fuzzy.p95_ms", "lower"),
    ("QIDO series by Modality, median (ms)", "qido.series_by_modality.median_ms", "lower"),
    ("QIDO series by Modality, p95 (ms)", "qido.series_by_modality.p95_ms", "lower"),
    ("QIDO instances by SOPInstanceUID, median (ms)", "qido.instances_by_uid.median_ms", "lower"),
    ("QIDO instances by SOPInstanceUID, p95 (ms)", "qido.instances_by_uid.p95_ms", "lower"),
    ("Study retrieve (MB/s)", "retrieve_study.mb_per_s", "higher"),
    ("Metadata, median (ms)", "metadata.median_ms", "lower"),
    ("Metadata, p95 (ms)", "metadata.p95_ms", "lower"),
    ("Frame, median (ms)", "frame.median_ms", "lower"),
    ("Frame, p95 (ms)", "frame.p95_ms", "lower"),
    ("Server peak RSS during the run (MB)", "server.peak_rss_mb", "lower"),
]
QIDO_KEYS = ["studies_by_patient_id", "studies_by_name_prefix_fuzzy", "series_by_modality", "instances_by_uid"]


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}"


def _ratio(reference: float | None, other: float | None, better: str) -> str:
    if reference is None or other is None or reference == 0 or other == 0:
        return "n/a"
    # Always "how many times better the reference server is" (>1: better).
    return f"{(reference / other if better == 'higher' else other / reference):.2f}x"


def targets(standard: dict[str, list[Figures]], scale: dict[str, list[Figures]], memory: Figures) -> list[str]:
    """The issue's targets, each with its verdict."""
    ref, orth = standard.get("reference", []), standard.get("orthanc", [])
    lines = []

    def verdict(ok: bool | None) -> str:
        return "not measured" if ok is None else ("met" if ok else "**missed**")

    for label, path in [
        ("STOW instances/s >= 2x Orthanc (one study per request)", "stow_study_per_request.instances_per_s"),
        ("STOW instances/s >= 2x Orthanc (one instance per request)", "stow_instance_per_request.instances_per_s"),
        ("Study retrieve MB/s >= 2x Orthanc", "retrieve_study.mb_per_s"),
    ]:
        r, o = median_of(ref, path), median_of(orth, path)
        ok = None if r is None or o is None else r >= 2 * o
        lines.append(f"| {label} | {_fmt(r)} vs {_fmt(o)} | {verdict(ok)} |")
    for key in QIDO_KEYS:
        path = f"qido.{key}.median_ms"
        r, o = median_of(ref, path), median_of(orth, path)
        ok = None if r is None or o is None else r <= o / 2
        lines.append(f"| QIDO {key} median <= half of Orthanc's | {_fmt(r)} vs {_fmt(o)} ms | {verdict(ok)} |")
    ref_scale = sorted(scale.get("reference", []), key=lambda f: int(f["scale"]))
    if len(ref_scale) >= 2:
        low, high = ref_scale[0], ref_scale[-1]
        for key in QIDO_KEYS:
            a, b = _get(low, f"qido.{key}.median_ms"), _get(high, f"qido.{key}.median_ms")
            # "Nearly flat": at most 1.5x (plus 1 ms of timer noise) over a 50x larger server.
            ok = None if a is None or b is None else b <= 1.5 * a + 1
            sizes = f"{low['scale']} -> {high['scale']}"
            lines.append(f"| QIDO {key} nearly flat {sizes} | {_fmt(a)} -> {_fmt(b)} ms | {verdict(ok)} |")
    peak = memory.get("server_rss_peak_mb")
    ok = None if peak is None else peak < 200
    size = memory.get("request_megabytes", "?")
    lines.append(f"| Peak RSS < 200 MB storing a {size} MB study | {_fmt(peak)} MB | {verdict(ok)} |")
    return lines


def render(report: Figures) -> str:
    standard: dict[str, list[Figures]] = report["standard"]
    scale: dict[str, list[Figures]] = report["scale"]
    memory: Figures = report["memory"]
    ref, orth = standard.get("reference", []), standard.get("orthanc", [])
    versions = {name: runs[0]["server"]["version"] for name, runs in standard.items() if runs}
    runs_all = [run for runs in [*standard.values(), *scale.values()] for run in runs]
    loads = [run["load_average_1min"][when] for run in runs_all for when in ("before", "after")]
    out = [
        "# Benchmark: the reference server beside Orthanc",
        "",
        f"Generated by `bench/compare_with_orthanc.py` on {report['started']} (UTC), {report['machine']}.",
        f"Servers: reference server ({report['python']}), {versions.get('orthanc', 'Orthanc not run')} "
        "with its DICOMweb plugin (Debian package, default storage settings).",
        f"Machine load (1-minute load average around the runs): {min(loads, default=0):g} to "
        f"{max(loads, default=0):g}. {report['note']}",
        "",
        "Reproduce:",
        "",
        "```",
        f"{report['command']}",
        "```",
        "",
        "## Targets (issue 9)",
        "",
        "| Target | Reference vs Orthanc | Verdict |",
        "|---|---|---|",
        *targets(standard, scale, memory),
        "",
        f"## Standard data set: medians over {len(ref)} fresh runs per server, alternating",
        "",
        f"Data per run: `{' '.join(report['bench_args'])}` "
        f"({_fmt(median_of(ref, 'data.instances'))} instances of {_fmt(median_of(ref, 'data.instance_bytes'))} bytes).",
        "",
        "| Figure | Reference | Orthanc | Reference better by |",
        "|---|---|---|---|",
    ]
    for label, path, better in STANDARD_ROWS:
        r, o = median_of(ref, path), median_of(orth, path)
        out.append(f"| {label} | {_fmt(r)} | {_fmt(o)} | {_ratio(r, o, better)} |")
    out += ["", "## QIDO over a growing server (fresh server per size, preloaded with 8x8 instances)", ""]
    headings = " | ".join(f"{k} median / p95 (ms)" for k in QIDO_KEYS)
    out += [f"| Server | Instances | Load (instances/s) | {headings} |"]
    out += ["|---|---|---|" + "---|" * len(QIDO_KEYS)]
    for name, runs in scale.items():
        for run in sorted(runs, key=lambda f: int(f["scale"])):
            pre = run.get("preload", {})
            stored = int(pre.get("instances", 0)) + int(run["data"]["instances"])
            complete = "" if pre.get("complete", True) else " (load stopped at its time budget)"
            cells = [
                f"{_fmt(_get(run, f'qido.{k}.median_ms'))} / {_fmt(_get(run, f'qido.{k}.p95_ms'))}" for k in QIDO_KEYS
            ]
            rate = _fmt(pre.get("instances_per_s"))
            out.append(f"| {name} | {stored}{complete} | {rate} | " + " | ".join(cells) + " |")
    out += ["", "## Memory while storing one large study (reference server, `bench/upload_memory.py`)", ""]
    out += ["```json", json.dumps(memory, indent=1), "```", ""]
    out += ["Raw figures of every run: `bench/results.json`.", ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--studies", type=int, default=20)
    parser.add_argument("--series", type=int, default=2)
    parser.add_argument("--instances", type=int, default=10, help="instances per series")
    parser.add_argument("--rows", type=int, default=64)
    parser.add_argument("--columns", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--scale", default="2000,100000", help="comma-separated server sizes for the QIDO runs")
    parser.add_argument("--scale-max-seconds", type=float, default=900, help="time budget of each preload")
    parser.add_argument("--memory-gigabytes", type=float, default=1.0, help="0 skips the memory run")
    parser.add_argument("--no-orthanc", action="store_true", help="the reference server alone")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1 round, small sizes")
    parser.add_argument("--note", default="", help="a sentence for the report (e.g. what else ran)")
    parser.add_argument("--output", type=Path, default=BENCH / "RESULTS.md")
    parser.add_argument("--json", type=Path, default=BENCH / "results.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.scale, args.memory_gigabytes, args.repeat = 1, "500,2000", 0.1, 20
    include_orthanc = not args.no_orthanc
    if include_orthanc and not orthanc_available():
        raise SystemExit("Orthanc and its DICOMweb plugin are needed (apt-get install orthanc orthanc-dicomweb)")
    bench_args = [
        *("--studies", str(args.studies), "--series", str(args.series), "--instances", str(args.instances)),
        *("--rows", str(args.rows), "--columns", str(args.columns), "--repeat", str(args.repeat)),
    ]
    report: Figures = {
        "started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
        "python": f"Python {platform.python_version()}",
        "command": shlex.join(["python", "bench/compare_with_orthanc.py", *(sys.argv[1:] if argv is None else argv)]),
        "note": args.note,
        "bench_args": bench_args,
    }
    report["standard"] = standard_runs(args.rounds, bench_args, include_orthanc, timeout=1800)
    sizes = [int(size) for size in args.scale.split(",") if size.strip()]
    report["scale"] = scale_runs(sizes, include_orthanc, args.scale_max_seconds, args.repeat)
    report["memory"] = memory_run(args.memory_gigabytes) if args.memory_gigabytes > 0 else {}
    args.json.write_text(json.dumps(report, indent=1) + "\n")
    args.output.write_text(render(report))
    print(f"wrote {args.output} and {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
