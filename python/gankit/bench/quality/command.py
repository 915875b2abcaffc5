"""`gankit bench quality`: train every (dataset, row, seed), keep results.json and
results.md up to date as runs finish, then draw the figures."""
from __future__ import annotations

import os
import shlex
import sys
import time
from typing import List, Optional, Sequence

from ...sweeps import Backend
from .._parallel import how_it_ran
from . import options, paper
from . import report
from . import results as results_file
from .running import run_all
from .setup import run_specs

NO_MATPLOTLIB = 'no figures: matplotlib is not installed (pip install "gankit[plot]")'


def paths(out: str):
    return os.path.join(out, "results.json"), os.path.join(out, "results.md")


def write_tables(results: dict, out: str) -> None:
    json_path, md_path = paths(out)
    results_file.write_json(json_path, results)
    report.write_markdown(md_path, results)


def draw_figures(results: dict, out: str) -> None:
    """The figures into `out`, listed in results; a note instead without matplotlib."""
    results["notes"] = [n for n in results.get("notes", []) if n != NO_MATPLOTLIB]
    results["figures"] = []
    if not results["config"].get("plot", True):
        return
    try:
        from .figures import draw_all
        results["figures"] = draw_all(results, out)
    except ImportError:
        results["notes"].append(NO_MATPLOTLIB)


def replot(out: str, plot: bool) -> int:
    """results.md and the figures again from OUT/results.json (the paper's numbers from
    paper.py, in case they were corrected since)."""
    json_path, _ = paths(out)
    results = results_file.read_json(json_path)
    results["config"]["plot"] = plot
    results["paper"] = paper.as_dict()  # the published numbers as paper.py has them now
    draw_figures(results, out)
    write_tables(results, out)
    print(f"redrew {out}/results.md" + "".join(f", {f['file']}" for f in results["figures"]), file=sys.stderr)
    return 0


def train_all(cfg: dict, command: str) -> int:
    specs = run_specs(cfg["datasets"], cfg["rows"], cfg["seeds"], cfg["eval_samples"], cfg["max_iter"])
    cfg["runs_total"] = len(specs)
    out = cfg["out"]
    os.makedirs(out, exist_ok=True)
    results = results_file.new_results(command, cfg)
    records: List[Optional[dict]] = [None] * len(specs)
    started = time.perf_counter()
    write_tables(results, out)

    def on_record(i: int, record: dict) -> None:
        records[i] = record
        results_file.update_runs(results, records)
        results["duration_seconds"] = time.perf_counter() - started
        write_tables(results, out)

    print(f"{len(specs)} runs ({', '.join(cfg['datasets'])}; {len(cfg['rows'])} rows; {cfg['seeds']} seeds"
          + (f"; {cfg['max_iter']} iterations each" if cfg["max_iter"] else "")
          + f"), {how_it_ran(cfg)}; results in {out}", file=sys.stderr)
    try:
        run_all(specs, Backend(**cfg["backend"]), on_record)
    except KeyboardInterrupt:
        results["status"] = "interrupted"
        write_tables(results, out)
        print(f"interrupted: {len(results['runs'])} finished runs kept in {out}/results.json", file=sys.stderr)
        return 130
    results.update(status="complete", finished=results_file.now(),
                   duration_seconds=time.perf_counter() - started)
    draw_figures(results, out)
    write_tables(results, out)
    print(report.markdown(results))
    print(f"wrote {out}/results.json, results.md" + "".join(f", {f['file']}" for f in results["figures"]),
          file=sys.stderr)
    failed = results_file.failures(results)
    if failed:
        print(f"{len(failed)} run(s) failed; their tracebacks are in results.json", file=sys.stderr)
    return 1 if failed else 0


def main(argv: Optional[Sequence[str]] = None, prog: str = "gankit bench quality") -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = options.parse(argv, prog)
    try:
        if args.replot:
            return replot(args.out, not args.no_plot)
        return train_all(options.config(args), " ".join([prog, *map(shlex.quote, argv)]))
    except (ValueError, OSError, ImportError) as exc:  # a bad recipe, file or scheduler, no dask: one line
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
