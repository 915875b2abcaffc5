"""The speed benchmark's Markdown report and the description of the machine it ran on."""
from __future__ import annotations

import os
import platform
import statistics
from typing import List

from .._machine import cpu_identity, cpu_model
from .configs import CONFIGS, LEARNING_RATE

FRAMEWORK_ORDER = ("gankit", "numpy", "torch", "jax", "gankit_bf16", "torch_bf16")
SLOW_BARRIER = 1.5  # a run whose barrier took this many times the run's fastest (barrier_note)


def machine_info() -> dict:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu_model": cpu_model(), "cpu": cpu_identity(), "logical_cpus": os.cpu_count(), "usable_cpus": usable,
            "platform": platform.platform(), "python": platform.python_version()}


def _versions_line(versions: dict) -> str:
    parts = []
    build = versions.get("gankit_build")
    if "gankit" in versions:
        blocking = build.get("gemm_blocking")
        kc = f" kc {blocking['kc']}," if blocking else ""
        detail = (f" ({build.get('compiler')}, {build.get('kernel')} kernel,{kc} "
                  f"OpenMP {'on' if build.get('openmp') else 'off'})") if build else ""
        parts.append(f"gankit {versions['gankit']}{detail}")
    if "numpy" in versions:
        blas = ", ".join(versions.get("blas", []))
        parts.append(f"numpy {versions['numpy']}" + (f" ({blas})" if blas else ""))
    if "torch" in versions:
        parts.append(f"torch {versions['torch']}")
    if "jax" in versions:
        parts.append(f"jax {versions['jax']} / jaxlib {versions.get('jaxlib')}")
    return ", ".join(parts)


def _rate(row) -> str:
    if row is None:
        return "—"
    return f"{row['median_its']:,.0f} ({row['best_its']:,.0f})" if row["median_its"] >= 100 else \
        f"{row['median_its']:,.1f} ({row['best_its']:,.1f})"


def header(report: dict) -> List[str]:
    m, s = report["machine"], report["settings"]
    load = lambda triple: f"{triple[0]:.1f}"  # noqa: E731 - the 1-minute load average
    missing = [f"{name}: {info['status']}" for name, info in report["frameworks"].items()
               if info["status"] != "ok"]
    lines = [
        "## gankit throughput: one GAN training iteration (k=1), iterations/s",
        "",
        f"- Machine: {m['cpu_model']}, {m['logical_cpus']} logical CPUs ({m['usable_cpus']} usable), "
        f"{m['platform']}; 1-minute load average {load(m['load_average_start'])} at the start, "
        f"{load(m['load_average_end'])} at the end (a load above 0 means other jobs shared the cores).",
        f"- Versions: {_versions_line(report['versions'])}; Python {m['python']}.",
        f"- FMA peak: {report['fma_peak_gflops_per_core']:.1f} GFLOP/s per core (float32, "
        f"`gankit._core.fma_peak_gflops`, best of {len(report['fma_peak_measurements'])} "
        f"measurements), × threads.",
        f"- Statistic: median (best) over {s['rounds']} rounds of {s['seconds']:g} s per framework, "
        f"after {s['warmup_seconds']:g} s warm-up; in each round every framework runs in turn "
        f"(order rotated per round), each in its own worker process.",
        f"- Iteration: D step on a fixed random real batch (B rows, uniform in [-1, 1)) and B fakes "
        f"G(z), then G step (non-saturating) on B fresh z; Adam lr {LEARNING_RATE:g}, betas 0.5/0.999 "
        f"on both; same initial weights in every framework.",
        f"- Reproduce: `{report['command']}`",
    ]
    if missing:
        lines.append("- Skipped: " + "; ".join(missing))
    return lines


def summary_table(report: dict) -> List[str]:
    present = [f for f in FRAMEWORK_ORDER if any(r["framework"] == f for r in report["results"])]
    rows = {(r["config"], r["threads"], r["framework"]): r for r in report["results"]}
    ratios = {(c["config"], c["threads"]): c for c in report["comparisons"]}
    lines = ["| config | threads | " + " | ".join(f"{f} it/s" for f in present)
             + " | gankit ÷ max(torch, jax) | gankit % of FMA peak | other jobs (cores) |",
             "|---|---:|" + "---:|" * len(present) + "---:|---:|---:|"]
    for c in report["comparisons"]:
        key = (c["config"], c["threads"])
        cells = [_rate(rows.get((*key, f))) for f in present]
        cmp_ = ratios[key]
        ratio = f"{cmp_['ratio']:.2f} (vs {cmp_['against']})" if cmp_["ratio"] is not None else "n/a"
        ours = rows.get((*key, "gankit"))
        peak = f"{100 * ours['fraction_of_peak']:.0f}%" if ours else "—"
        load = statistics.median(rows[(*key, f)]["other_jobs_cores"] for f in present if (*key, f) in rows)
        lines.append(f"| {key[0]} | {key[1]} | " + " | ".join(cells) + f" | {ratio} | {peak} | {load:.2f} |")
    return lines


def detail_table(report: dict) -> List[str]:
    lines = ["| config | threads | framework | it/s median | it/s best | spread | GFLOP/s | % of peak "
             "| CPU cores busy | idle workers' CPU | other jobs (cores) | barrier µs |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in report["results"]:
        barrier = "—" if r.get("barrier_us") is None else f"{r['barrier_us']:.2f}"
        lines.append(f"| {r['config']} | {r['threads']} | {r['framework']} | {r['median_its']:,.1f} "
                     f"| {r['best_its']:,.1f} | {100 * r['spread']:.0f}% | {r['median_gflops']:.1f} "
                     f"| {100 * r['fraction_of_peak']:.0f}% | {r['cpu_cores_used']:.2f} "
                     f"| {r['idle_workers_cpu_fraction']:.2f} | {r['other_jobs_cores']:.2f} | {barrier} |")
    return lines


def barrier_note(report: dict) -> List[str]:
    """How fast the threads could meet while the multi-threaded rows ran, if measured."""
    barriers = [b for r in report["results"] for b in r.get("barrier_us_per_round", []) if b is not None]
    if not barriers:
        return []
    fastest = min(barriers)
    slow = sum(b > SLOW_BARRIER * fastest for b in barriers)
    return [f"Barrier: one OpenMP barrier between the threads (`gankit._core.barrier_cost_us`), "
            f"measured just before each multi-threaded run: median {statistics.median(barriers):.2f} µs, "
            f"{fastest:.2f}–{max(barriers):.2f} µs; over {SLOW_BARRIER:g}× the fastest before {slow} of "
            f"{len(barriers)} runs. It says how close the host put the threads' cores: on a VM the "
            f"host may move them while the benchmark runs, and every multi-threaded framework's "
            f"figure drops in the slower placement.", ""]


def flops_table(report: dict) -> List[str]:
    lines = ["| config | networks | GFLOP per iteration |", "|---|---|---:|"]
    for name, flops in report["flops"]["per_iteration"].items():
        lines.append(f"| {name} | {CONFIGS[name].describe()} | {flops * 1e-9:.4f} |")
    return lines


def thread_notes(report: dict) -> List[str]:
    lines = []
    for name, info in report["frameworks"].items():
        for threads, setup in sorted(info["thread_setup"].items()):
            lines.append(f"- {name}, {threads} thread(s): {setup}")
    return lines


def markdown_report(report: dict) -> str:
    paired = [c for c in report["comparisons"] if c.get("paired_ratio_median") is not None]
    parts = header(report) + [""] + summary_table(report) + [""]
    parts.append("it/s: median (best) over the rounds. Other jobs: cores that processes other than "
                 "the benchmark's kept busy while it measured (from /proc/stat; median over the "
                 "row's measurements); near 0 on a quiet machine.")
    parts.append("")
    bf16 = [c for c in report["comparisons"] if "bf16_ratio_vs_gankit_fp32" in c]
    if bf16:
        figure = lambda value: "—" if value is None else f"{value:.2f}"  # noqa: E731
        parts.append("bf16 (gankit precision='bf16'; torch under torch.autocast bfloat16; their % of "
                     "peak is of the float32 FMA peak): gankit_bf16 ÷ torch_bf16, ÷ gankit fp32: "
                     + "; ".join(f"{c['config']}/{c['threads']}t {figure(c['bf16_ratio_vs_torch_bf16'])}, "
                                 f"{figure(c['bf16_ratio_vs_gankit_fp32'])}" for c in bf16) + ".")
        parts.append("")
    if paired:
        parts.append("Ratio taken round by round instead (runs of the same round are close in time): "
                     + "; ".join(f"{c['config']}/{c['threads']}t {c['paired_ratio_median']:.2f} "
                                 f"[{c['paired_ratio_min']:.2f}–{c['paired_ratio_max']:.2f}]"
                                 for c in paired) + ".")
        parts.append("")
    parts += ["Per framework. Spread: (max − min) / median over the rounds. CPU cores busy: the "
              "measured worker's CPU time ÷ wall time while timed (below the thread count when other "
              "jobs took the cores). Idle workers' CPU: the most CPU time, in cores, that all the "
              "other workers used while this one was timed (the highest over its rounds) — near "
              "0 means no framework's spinning threads stole cores from another's measurement. "
              "Other jobs: as above, for this framework's measurements.",
              ""] + detail_table(report) + [""] + barrier_note(report)
    parts += ["Minimal matmul FLOPs of one iteration (GFLOP/s above = it/s × these):", ""]
    parts += flops_table(report) + ["", report["flops"]["formula"], "", "Threads:", ""] + thread_notes(report)
    return "\n".join(parts)
