"""results.md: per dataset, the table of this run (mean ± std over seeds) beside PacGAN's
Table 1, the recipes each row used, and the figures. Drawn from results.json only."""
from __future__ import annotations

from typing import List, Optional, Sequence

from ..._atomic import atomic_write_bytes
from .._parallel import how_it_ran
from ..losses.report import format_mean_std, format_stop_reasons, format_value
from .setup import DATASET_NOTES, RECIPE_FIELDS_ADDED

SCORE_COLUMNS = (("modes_captured", ".1f"), ("high_quality_fraction", "pct"), ("reverse_kl", ".2f"))
RECIPE_COLUMNS = ("pack", "ema", "batch_size", "g_hidden", "d_hidden", "g_activation", "d_activation",
                  "noise_dim", "d_steps", "lr", "d_lr_ratio",
                  "beta1", "schedule", "final_lr_ratio", "max_iter", "n")


def _duration(seconds: Optional[float]) -> str:
    if seconds is None:
        return "?"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _iterations(stats: dict) -> str:
    mean = format_value(stats["iterations"]["mean"], ".0f")
    reasons = stats["stop_reasons"]
    return mean if set(reasons) <= {"max_iter"} else f"{mean} ({format_stop_reasons(reasons)})"


def _seconds(stats: dict) -> str:
    return (f"{format_value(stats['train_seconds']['mean'], '.1f')} / "
            f"{format_value(stats['train_cpu_seconds']['mean'], '.1f')}")


def _score_cells(scores: dict) -> List[str]:
    return [format_mean_std(scores[name], fmt) for name, fmt in SCORE_COLUMNS]


def results_table(rows: Sequence[dict], modes_total: int) -> List[str]:
    lines = [f"| row | seeds | modes (of {modes_total}) | high quality | reverse KL | iterations | "
             "train s per run (wall / CPU) |", "|---|---:|---:|---:|---:|---:|---:|"]
    for s in rows:
        failed = f" ({s['failed']} failed)" if s["failed"] else ""
        lines.append(f"| {s['row']} | {len(s['seeds']) - s['failed']}{failed} | "
                     + " | ".join(_score_cells(s["final"])) + f" | {_iterations(s)} | {_seconds(s)} |")
        if s.get("final_raw"):
            lines.append(f"| ↳ {s['row']}, G itself (not averaged) | | "
                         + " | ".join(_score_cells(s["final_raw"])) + " | | |")
    return lines


def _paper_cell(value: Sequence[float], fmt: str, unit: str = "") -> str:
    """As the paper prints it: modes and percentages to 0.1, reverse KL to 0.01."""
    mean, pm = value
    return f"{format(mean, fmt)} ± {format(pm, fmt)}{unit}"


def paper_table(paper: dict, dataset: str) -> List[str]:
    rows = paper["table"].get(dataset, {})
    lines = ["| PacGAN Table 1 row | modes | high quality | reverse KL |", "|---|---:|---:|---:|"]
    for name, scores in rows.items():
        lines.append(f"| {name} | {_paper_cell(scores['modes'], '.1f')} | "
                     f"{_paper_cell(scores['high_quality'], '.1f', '%')} | "
                     f"{_paper_cell(scores['reverse_kl'], '.2f')} |")
    return lines


def _recipe_value(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, (list, tuple)):
        return "×".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def recipe_table(runs: Sequence[dict], dataset: str) -> List[str]:
    """The settings of each row as its runs recorded them (seed 0's, the same for all)."""
    seen = {}
    for r in runs:
        if r["spec"]["dataset"] == dataset:
            seen.setdefault(r["spec"]["row"], r["spec"]["recipe"])
    lines = ["| row | " + " | ".join(RECIPE_COLUMNS) + " | source |",
             "|---|" + "---:|" * len(RECIPE_COLUMNS) + "---|"]
    for row, recipe in seen.items():
        batch, pack = recipe["batch_size"], recipe["pack"]
        cell = str(batch) if pack == 1 else f"{batch} ({batch // pack} packs)"
        recipe = {**RECIPE_FIELDS_ADDED, **recipe}  # older results lack the newer fields
        cells = [cell if c == "batch_size" else _recipe_value(recipe[c]) for c in RECIPE_COLUMNS]
        lines.append(f"| {row} | " + " | ".join(cells) + f" | {recipe['source']} |")
    return lines


def dataset_section(results: dict, dataset: str) -> List[str]:
    rows = [s for s in results["summary"] if s["dataset"] == dataset]
    if not rows:
        return []
    ref, paper = results["reference"][dataset], results["paper"]
    modes_total = ref["modes_total"]
    lines = [f"### {dataset}: {DATASET_NOTES.get(dataset, '')}", "",
             f"Real data ({results['config']['eval_samples']} fresh points) scores "
             f"{ref['modes_captured']}/{modes_total} modes, {100 * ref['high_quality_fraction']:.1f}% "
             f"high quality, reverse KL {ref['reverse_kl']:.3f}.", ""]
    lines += results_table(rows, modes_total)
    lines += ["", f"PacGAN's Table 1 ({paper['statistic']}; {paper['setting']}). Source: {paper['source']}.", ""]
    lines += paper_table(paper, dataset)
    lines += ["", "Recipes (learning rate from lr to lr × final_lr_ratio over the run unless the "
                  "schedule is constant; batch: samples per step, with the packs D judges; the PacGAN rows "
                  "give D the base recipe's batch in packs, as PacGAN's code does):", ""]
    lines += recipe_table(results["runs"], dataset)
    return lines + [""]


def header(results: dict) -> List[str]:
    cfg, env = results["config"], results["environment"]
    done = len(results["runs"])
    partial = "" if results["status"] == "complete" else \
        f" **Partial: {done} of {results['runs_total']} runs finished.**"
    seeds = cfg["seeds"]
    trained = [r for r in results["runs"] if not r.get("same_run_as")]
    cpu_total = sum(r["train_cpu_seconds"] or 0.0 for r in trained)
    shared = done - len(trained)
    shared_note = (f" ({shared} of them the same training as another row's, trained once and "
                   "reported under both)" if shared else "")
    return [
        "## Sample quality: PacGAN's Table 1 with gankit", "",
        f"Command: `{results['command']}`  ",
        f"Started {results['started']}, finished {results['finished'] or '–'}; {done} runs{shared_note} in "
        f"{_duration(results['duration_seconds'])} of wall-clock time, {how_it_ran(cfg)}, one "
        f"thread each; {_duration(cpu_total)} of training CPU time in all.{partial}  ",
        f"gankit {env['gankit']} (kernel {env['build_info'].get('kernel')}), Python {env['python']}, "
        f"NumPy {env['numpy']}; {env['cpu_model']}, {env['logical_cores']} logical cores, {env['platform']}.",
        "",
        f"Each cell: mean ± std over {seeds} seed{'s' if seeds > 1 else ''} (0…{seeds - 1}) of the scores of "
        f"{cfg['eval_samples']} samples generated at the end of training from a fixed noise matrix "
        "(the run's own seed stream, never the GAN's), none filtered. Modes: modes with at least one "
        "high-quality sample; high quality: the share of samples within 3 std of the nearest mode "
        "centre; reverse KL: of the histogram of samples over modes (gankit.metrics.mode_scores). "
        "Rows with generator averaging are scored on the averaged generator; the ↳ line below scores "
        "G itself. The paper's ± is a standard error (std / √10); results.json has ours too (sem)."
        + (f" Iterations overridden to {cfg['max_iter']} for every row (--max-iter)." if cfg["max_iter"] else ""),
        "",
    ]


def markdown(results: dict) -> str:
    lines = header(results)
    for note in results.get("notes", []):
        lines += [f"Note: {note}", ""]
    for dataset in results["config"]["datasets"]:
        lines += dataset_section(results, dataset)
    if results.get("figures"):
        lines += ["### Figures", ""] + [f"- `{f['file']}`: {f['caption']}" for f in results["figures"]] + [""]
    failed = [r for r in results["runs"] if r["error"] is not None]
    if failed:
        lines += ["### Failed runs", ""] + [f"- {r['label']}: {r['error'].strip().splitlines()[-1]}"
                                           for r in failed] + [""]
    return "\n".join(lines)


def write_markdown(path: str, results: dict) -> None:
    atomic_write_bytes(path, markdown(results).encode())
