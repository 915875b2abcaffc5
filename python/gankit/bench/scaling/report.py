"""The scaling benchmark's Markdown report, and the short plain summary printed without
--markdown."""
from __future__ import annotations

from typing import List

from .paper import FORMULAS, LINKS_GBIT_PER_S

DETERMINISM_NOTE = (
    "Gradients are averaged in rank order in float64 (`gankit._core.replica_mean`), never by "
    "MPI's reduction, whose order is unspecified: the mean is the same bits on every rank, in "
    "every run, on any MPI. Up to 2 ranks one Allgather hands every rank the R − 1 other whole "
    "copies; beyond 2 the exchange is an ordered reduce-scatter: an Alltoall gives each rank "
    "every copy of its 1/R slice, it averages them in rank order, an Allgather returns the "
    "averaged slices — 2 (R − 1)/R copies per rank, a ring allreduce's volume (an Allgather "
    "would move R/2 times more, 8× at R = 16). Both average every element the same way, so "
    "they give the same bits (tests/test_distributed.py). This run's layouts have at most "
    "2 ranks, so the measured exchange is the Allgather; the 16-node rows are the "
    "reduce-scatter's, with the Allgather's for comparison.")


def _rate(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def _its(row: dict) -> str:
    return f"{_rate(row['median_its'])} ({_rate(row['best_its'])})"


def _mb(num_bytes: float) -> str:
    return f"{num_bytes / 1e6:,.2f}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.2f}" if seconds < 0.1 else f"{seconds * 1e3:,.0f}"


def header(report: dict) -> List[str]:
    m, b, s = report["machine"], report["build"], report["settings"]
    mpi = report["mpi"]
    mpi_line = (f"{mpi['library']}, mpi4py {mpi['mpi4py']}, launched with `{mpi['mpiexec']}`"
                if mpi["status"] == "ok" and "library" in mpi else
                (f"`{mpi['mpiexec']}`" if mpi["status"] == "ok" else mpi["status"]))
    return [
        "## gankit data-parallel scaling on one machine",
        "",
        f"- Machine: {m['cpu_model']}, {m['logical_cpus']} logical CPUs ({m['usable_cpus']} usable), "
        f"{m['platform']}; load average (1/5/15 min) {'/'.join(f'{v:.2f}' for v in m['load_average_start'])} "
        f"at the start, {'/'.join(f'{v:.2f}' for v in m['load_average_end'])} at the end "
        "(above 0: other jobs shared the cores).",
        f"- gankit {report['gankit_version']} ({b.get('compiler')}, {b.get('kernel')} kernel, OpenMP "
        f"{'on' if b.get('openmp') else 'off'}); float32 FMA peak {report['fma_peak_gflops_per_core']:.1f} "
        "GFLOP/s per core (`gankit._core.fma_peak_gflops`); Python "
        f"{m['python']}.",
        f"- MPI: {mpi_line}.",
        f"- Statistic: median (best) over {s['rounds']} rounds; a measurement is ≥ {s['seconds']:g} s "
        f"(at least {s['min_iterations']} iterations) after {s['warmup_seconds']:g} s of warm-up. Each "
        "round starts every launch in turn — the one-process worker, then `mpiexec -n R` per layout — "
        "in an order rotated each round, each a fresh process with OMP_NUM_THREADS=T.",
        "- Iteration: k=1, the speed benchmark's (`gankit bench speed`): D step on B real rows and B "
        "fakes, G step on B fresh noise rows, Adam on both, same initial weights.",
        f"- Reproduce: `{report['command']}`",
    ]


def split_table(report: dict) -> List[str]:
    rows = report["fused_vs_split"]
    if not rows:
        return []
    threads = rows[0]["threads"]
    lines = [f"### Fused vs split steps: one process, {threads} threads, no communication", "",
             "Fused: `gan.d_step(x)`, `gan.g_step(batch_size=B)` (Adam fused into the backward GEMM; "
             "`fit` in one process). Split: the same with `update=False`, then `apply_update(\"D\"/\"G\")` "
             "— the data-parallel step without its exchange; the same bits.", "",
             "| config | networks | fused it/s | split it/s | split ÷ fused | per round (median) |",
             "|---|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['config']} | {r['networks']} | {_its(r['fused'])} | {_its(r['split'])} "
                     f"| {r['split_over_fused']:.2f} | {r['split_over_fused_paired_median']:.2f} |")
    return lines


def parallel_table(report: dict) -> List[str]:
    cases = report["data_parallel"]
    lines = ["### Data parallel on this machine: R ranks × T threads at the same global batch", ""]
    if report["mpi"]["status"] != "ok":
        return lines + [f"Not measured: {report['mpi']['status']}."]
    lines += ["One process: `fit`'s one-process loop (batch rows drawn, fused steps) with all threads. "
              "R×T: `DataParallel` over `mpiexec -n R`, T threads per rank; each rank takes B/R rows. "
              "In exchange: the share of the wall time in Allgather + `replica_mean` (mean over the ranks; "
              "the busiest rank's in brackets) — it includes waiting there for the slowest rank. "
              "CPU cores busy: all ranks' CPU time ÷ wall time (MPICH's ranks spin while they wait).", "",
              "| config | global batch | run | rows per rank | it/s | samples/s | ÷ one process "
              "| in exchange | CPU cores busy | other jobs (cores) |",
              "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for case in cases:
        base = case["one_process"]
        if base is not None:
            lines.append(f"| {case['config']} | {case['global_batch']} | one process, {base['threads']} threads "
                         f"| {case['global_batch']} | {_its(base)} | {base['samples_per_second']:,.0f} | 1.00 "
                         f"| — | {base['cpu_cores_busy']:.2f} | {base['other_jobs_cores']:.2f} |")
        for row in case["layouts"]:
            if "skipped" in row:
                lines.append(f"| {case['config']} | {case['global_batch']} | {row['layout']} | — | — | — | — "
                             f"| {row['skipped']} | — | — |")
                continue
            ratio = "—" if row["vs_one_process"] is None else f"{row['vs_one_process']:.2f}"
            lines.append(f"| {case['config']} | {case['global_batch']} | {row['layout']} | {row['rows_per_rank']} "
                         f"| {_its(row)} | {row['samples_per_second']:,.0f} | {ratio} "
                         f"| {100 * row['reduction_share']:.0f}% ({100 * row['reduction_share_max_rank']:.0f}%) "
                         f"| {row['cpu_cores_busy']:.2f} | {row['other_jobs_cores']:.2f} |")
    return lines


def _break_even(found) -> str:
    if found is None:
        return "n/a"
    batch = found["global_batch"]
    text = f"≈ {batch:,.0f}"
    return {"at or below": f"≤ {batch:,.0f}", "extrapolated": f"{text} (extrapolated)"}.get(found["how"], text)


def paper_tables(report: dict) -> List[str]:
    nets = report["sixteen_nodes"]
    if not nets:
        return []
    nodes = nets[0]["nodes"]
    threads = report["settings"]["threads_one_process"]
    links = [str(g) for g in LINKS_GBIT_PER_S]
    lines = [f"### On paper: {nodes} nodes (computed, not measured)", "",
             f"Gradient bytes, and network time per iteration at {' and '.join(links)} Gb/s (bandwidth only, "
             "no latency: lower bounds). Reduce-scatter: what the implementation sends beyond 2 ranks; "
             "Allgather: what one Allgather of whole copies would (its exchange up to 2 ranks).", "",
             "| network | P_G | P_D | gradients per iteration, MB | Allgather MB received per rank "
             + "".join(f"| Allgather ms at {g} Gb/s " for g in links)
             + "| reduce-scatter MB per rank " + "".join(f"| reduce-scatter ms at {g} Gb/s " for g in links) + "|",
             "|---|---:|---:|---:|---:|" + "---:|" * (2 * len(links) + 1)]
    for n in nets:
        lk = n["links_gbit_per_s"]
        lines.append(f"| {'/'.join(n['configs'])} ({n['describe']}) | {n['params']['G']:,} | {n['params']['D']:,} "
                     f"| {_mb(n['replica_bytes_per_iteration'])} | {_mb(n['allgather_bytes_per_rank_per_iteration'])} "
                     + "".join(f"| {_ms(lk[g]['allgather_seconds'])} " for g in links)
                     + f"| {_mb(n['reduce_scatter_bytes_per_rank_per_iteration'])} "
                     + "".join(f"| {_ms(lk[g]['reduce_scatter_seconds'])} " for g in links) + "|")
    lines += ["", f"Per-rank compute, measured here: the split step (gradients + update, no exchange) on a "
              f"shard of B/{nodes} rows, {threads} threads standing for one node; and an Allgather's time ÷ "
              "that compute (above 1: the network is the bottleneck even if it overlapped the compute perfectly; "
              "without overlap, as implemented, an iteration takes their sum).", "",
              f"| network | global batch B | rows per rank (B/{nodes}) | compute ms per iteration "
              + "".join(f"| Allgather ÷ compute at {g} Gb/s " for g in links) + "|",
              "|---|---:|---:|---:|" + "---:|" * len(links)]
    for n in nets:
        for b in n["batches"]:
            lines.append(f"| {'/'.join(n['configs'])} | {b['global_batch']:,} | {b['shard_rows']} | {_ms(b['compute_seconds'])} "
                         + "".join(f"| {b['allgather_over_compute'][g]:.2f} " for g in links) + "|")
    lines += ["", "Global batch at which the network time equals the per-rank compute (from the timed shards, "
              "linear between them):", "",
              "| network " + "".join(f"| Allgather, {g} Gb/s " for g in links)
              + "".join(f"| reduce-scatter, {g} Gb/s " for g in links) + "|",
              "|---|" + "---:|" * (2 * len(links))]
    for n in nets:
        lk = n["links_gbit_per_s"]
        lines.append(f"| {'/'.join(n['configs'])} " + "".join(f"| {_break_even(lk[g]['break_even'])} " for g in links)
                     + "".join(f"| {_break_even(lk[g]['break_even_reduce_scatter'])} " for g in links) + "|")
    lines += ["", DETERMINISM_NOTE, "", "Formulas:", ""]
    lines += [f"- {name.replace('_', ' ')}: {text}" for name, text in FORMULAS.items()]
    return lines


def markdown_report(report: dict) -> str:
    parts = header(report) + [""] + split_table(report) + [""] + parallel_table(report) + [""]
    parts += paper_tables(report)
    if report["failures"]:
        parts += ["", "Failed launches (left out of later rounds):", ""]
        parts += [f"- round {f['round']}, {f['unit']}: {f['error']}" for f in report["failures"]]
    return "\n".join(parts)


def plain_summary(report: dict) -> str:
    lines = [f"gankit bench scaling: {report['machine']['cpu_model']}, {report['machine']['usable_cpus']} cores, "
             f"load {report['machine']['load_average_start'][0]:.2f} -> {report['machine']['load_average_end'][0]:.2f}"]
    for r in report["fused_vs_split"]:
        lines.append(f"  {r['config']:9s} fused {_rate(r['fused']['median_its']):>7} it/s, split "
                     f"{_rate(r['split']['median_its']):>7} it/s (split/fused {r['split_over_fused']:.2f})")
    if report["mpi"]["status"] != "ok":
        lines.append(f"  data parallel: {report['mpi']['status']}")
    for case in report["data_parallel"]:
        base = case["one_process"]
        cells = [f"one process {_rate(base['median_its'])}"] if base else []
        cells += [f"{row['layout']} {_rate(row['median_its'])}"
                  + (f" ({row['vs_one_process']:.2f}x)" if row.get("vs_one_process") else "")
                  for row in case["layouts"] if "skipped" not in row]
        if cells:
            lines.append(f"  {case['config']:9s} B={case['global_batch']:<5d} it/s: " + ", ".join(cells))
    return "\n".join(lines)
