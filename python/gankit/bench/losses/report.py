"""results.md: the settings, one section per dataset (the variants' table, early
training, the saturation probe), the figures and any failed runs. Drawn from
results.json only (results.py), so --replot can redo it."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

from ..._atomic import atomic_write_bytes
from .._parallel import how_it_ran
from .setup import DatasetSpec, Metric


def format_value(value: Optional[float], fmt: str) -> str:
    if value is None:
        return "–"
    if fmt == "pct":
        return f"{100 * value:.1f}%"
    return format(value, fmt)


def format_mean_std(stat: dict, fmt: str) -> str:
    """"mean ± std" ("mean" alone for one value, "–" for none)."""
    if stat["mean"] is None:
        return "–"
    if stat["std"] is None:
        return format_value(stat["mean"], fmt)
    if fmt == "pct":
        return f"{100 * stat['mean']:.1f} ± {100 * stat['std']:.1f}%"
    return f"{format(stat['mean'], fmt)} ± {format(stat['std'], fmt)}"


def format_median(value: Optional[float], budget: str, fmt: str) -> str:
    """A censored median: a number, or "> budget" when more than half never reached."""
    return f"> {budget}" if value is None else format(value, fmt)


def _seconds_to(threshold: dict) -> str:
    if threshold["median_seconds"] is None:
        return "> budget"
    cpu = threshold.get("median_cpu_seconds")
    return f"{threshold['median_seconds']:.1f} / {format_value(cpu, '.1f')}"


def format_stop_reasons(reasons: Dict[str, int]) -> str:
    return ", ".join(f"{name} ×{count}" for name, count in sorted(reasons.items()))


def variant_table(rows: Sequence[dict], metrics: Sequence[Metric], max_iter: int) -> List[str]:
    head = ["G loss", "k", *(f"final {m.label} ({m.better} is better)" for m in metrics),
            "reached threshold", "iterations to it (median)", "seconds to it (median, wall / CPU)",
            "training seconds (wall / CPU)", "stop reason"]
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join(["---"] * 2 + ["---:"] * (len(head) - 3) + ["---"]) + "|"]
    for row in rows:
        t = row["threshold"]
        cells = [row["g_loss"], str(row["d_steps"]),
                 *(format_mean_std(row["final"][m.name], m.fmt) for m in metrics),
                 f"{t['reached']}/{t['runs']}",
                 format_median(t["median_iterations"], str(max_iter), ".0f"),
                 _seconds_to(t),
                 format_mean_std(row["train_seconds"], ".1f") + " / "
                 + format_mean_std(row.get("train_cpu_seconds", {"mean": None}), ".1f"),
                 format_stop_reasons(row["stop_reasons"])]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def early_table(rows: Sequence[dict]) -> List[str]:
    first = min((r["early"]["iterations"] for r in rows), default=0)
    lines = [f"| G loss | k | mean D(G(z)), iterations 1–{first} | median generator gradient norm, "
             f"iterations 1–{first} |", "|---|---|---:|---:|"]
    for row in rows:
        lines.append(f"| {row['g_loss']} | {row['d_steps']} | "
                     f"{format_mean_std(row['early']['d_fake_mean'], '.3f')} | "
                     f"{format_mean_std(row['early']['grad_norm_median'], '.3g')} |")
    return lines


def probe_table(rows: Sequence[dict]) -> List[str]:
    lines = ["| D-only steps | D(G(z)) | ‖∇G‖ minimax | ‖∇G‖ non-saturating | ratio minimax / non-sat. |",
             "|---:|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(f"| {row['d_steps']} | {row['d_fake']:.3g} | {row['grad_norm_minimax']:.3g} | "
                     f"{row['grad_norm_non_saturating']:.3g} | {row['ratio']:.3g} |")
    return lines


def dataset_section(name: str, spec: DatasetSpec, rows: Sequence[dict], info: dict,
                    probe_rows: Sequence[dict] = ()) -> List[str]:
    reference = ", ".join(f"{m.label} {format_value(info['reference'].get(m.name), m.fmt)}"
                          for m in spec.metrics)
    lines = [f"### {name}: {spec.note}", "",
             f"{info['max_iter']} iterations per run (generator steps; each after k discriminator "
             f"steps), scored every {info['eval_every']} iterations on {info['eval_count']} samples "
             f"generated from a fixed noise matrix. Threshold: {spec.threshold_text()}. "
             f"Real data scores {reference}.", ""]
    lines += variant_table(rows, spec.metrics, info["max_iter"])
    lines += ["", "Early training (the gradient argument, measured):", ""]
    lines += early_table(rows)
    if probe_rows:
        lines += ["", f"Saturation probe (D trained alone against the initial G, then one generator "
                      f"step per loss from identical weights; geometric means over "
                      f"{probe_rows[0]['seeds']} seeds):", ""]
        lines += probe_table(probe_rows)
    return lines + [""]


def markdown(results: dict, datasets: Dict[str, DatasetSpec]) -> str:
    """results.md: the settings, one section per dataset, the figures, how to read it."""
    cfg, env = results["config"], results["environment"]
    duration = results.get("duration_seconds")
    lines = ["## Generator losses: minimax vs non-saturating", "",
             f"Command: `{results['command']}`  ",
             f"Date: {env['date']}; machine: {env['machine']}; gankit {env['gankit']} "
             f"(kernel {env['build_info'].get('kernel')}), Python {env['python']}, NumPy {env['numpy']}.  ",
             f"{len(results['runs'])} runs and {len(results.get('probes', []))} saturation probes in "
             f"{_minutes(duration)} of wall-clock time, {how_it_ran(cfg)}, one thread each "
             f"(architecture '{cfg['arch']}'); {_minutes(_cpu_total(results))} of CPU time in all.", "",
             f"Each cell: mean ± std over {cfg['seeds']} seeds (0…{cfg['seeds'] - 1}). Seeds pair the "
             "variants: the same seed gives every variant the same data, initial weights and noise "
             "stream. \"iterations/seconds to it\": the first evaluation that meets the threshold, "
             "median over all seeds with a seed that never met it counting as later than any that did "
             "(\"> budget\" when more than half never did). Seconds are training time, scoring excluded: "
             "wall-clock, and the CPU time of the run's process, which a busy machine disturbs less.",
             ""]
    for note in results.get("notes", []):
        lines += [f"Note: {note}", ""]
    for name, info in results["datasets"].items():
        rows = [s for s in results["summary"] if s["dataset"] == name]
        if rows:
            probe_rows = [p for p in results.get("probe_summary", []) if p["dataset"] == name]
            lines += dataset_section(name, datasets[name], rows, info, probe_rows)
    if results.get("figures"):
        lines += ["### Figures", ""]
        lines += [f"- `{fig['file']}`: {fig['caption']}" for fig in results["figures"]]
        lines.append("")
    failed = [r for r in results["runs"] + results.get("probes", []) if r["error"] is not None]
    if failed:
        lines += ["### Failed runs", ""] + [f"- {_label(r)}: {r['error'].strip().splitlines()[-1]}"
                                           for r in failed] + [""]
    return "\n".join(lines)


def write_markdown(path: str, results: dict, datasets: Dict[str, DatasetSpec]) -> None:
    atomic_write_bytes(path, markdown(results, datasets).encode())


def _label(record: dict) -> str:
    s = record["spec"]
    if "g_loss" not in s:
        return f"probe {s['dataset']} seed {s['seed']}"
    return f"{s['dataset']} {s['g_loss']} k={s['d_steps']} seed {s['seed']}"


def _cpu_total(results: dict) -> float:
    return sum(r.get("cpu_seconds") or 0.0 for r in results["runs"] + results.get("probes", []))


def _minutes(seconds: Optional[float]) -> str:
    if seconds is None:
        return "?"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"
