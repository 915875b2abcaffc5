"""`gankit bench losses`: train every (dataset, loss, k, seed) and run the saturation
probes, then write results.json, histories.npz, results.md and the figures."""
from __future__ import annotations

import os
import shlex
import sys
import time
from typing import Optional, Sequence

from ...sweeps import Backend
from .._parallel import how_it_ran
from . import report
from . import results as results_file
from .gradients import gradient_view
from .options import build_parser, resolve
from .probe import failed_probe, probe_one, probe_specs, summarize_probes
from .running import failed_record, run_all, run_one
from .setup import DATASETS, run_specs
from .summary import summarize


def write_outputs(results: dict, out: str, plot: bool) -> None:
    """results.json, results.md and (unless plot is False or matplotlib is missing) the
    figures; the JSON and Markdown list the figures drawn."""
    datasets = results_file.recorded_datasets(results)
    results["figures"] = []
    if plot:
        try:
            from .figures import draw_all
            results["figures"] = draw_all(results, datasets, out)
        except ImportError:
            results["notes"].append('no figures: matplotlib is not installed (pip install "gankit[plot]")')
    results_file.write_json(os.path.join(out, "results.json"), results)
    report.write_markdown(os.path.join(out, "results.md"), results, datasets)


def replot(out: str, plot: bool) -> int:
    path = os.path.join(out, "results.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"--replot: no {path}; run the benchmark first")
    results = results_file.read_json(path)
    results["notes"] = [n for n in results.get("notes", []) if not n.startswith("no figures")]
    write_outputs(results, out, plot)
    print(f"redrew {out}/results.md" + "".join(f", {f['file']}" for f in results["figures"]))
    return 0


def main(argv: Optional[Sequence[str]] = None, prog: str = "gankit bench losses") -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(prog).parse_args(argv)
    try:
        if args.replot:
            return replot(args.out, not args.no_plot)
        cfg = resolve(args)
        specs, probes = run_specs(cfg), probe_specs(cfg)
    except (ValueError, OSError, ImportError) as exc:  # bad options or files, no dask: one line
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    for note in cfg["notes"]:
        print(f"note: {note}", file=sys.stderr)
    budgets = ", ".join(f"{d} {cfg['max_iter'][d]} it" for d in cfg["datasets"])
    print(f"{len(specs)} runs: {budgets}; "
          f"G losses {', '.join(cfg['g_losses'])}; k {', '.join(map(str, cfg['d_steps']))}; "
          f"{cfg['seeds']} seeds; {len(probes)} saturation probes; {how_it_ran(cfg)}",
          file=sys.stderr)
    started = time.perf_counter()
    try:
        done = run_all([(run_one, failed_record, s) for s in specs]
                       + [(probe_one, failed_probe, p) for p in probes], Backend(**cfg["backend"]))
    except OSError as exc:  # --scheduler: no scheduler answering at that address
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    records, probe_records = done[:len(specs)], done[len(specs):]
    results = {
        "benchmark": "losses", "command": " ".join([prog, *map(shlex.quote, argv)]),
        "environment": results_file.environment(), "config": {k: v for k, v in cfg.items() if k != "notes"},
        "notes": list(cfg["notes"]), "duration_seconds": time.perf_counter() - started,
        "datasets": {d: results_file.dataset_info(cfg, d) for d in cfg["datasets"]},
        "gradient_view": gradient_view(), "runs": records,
        "summary": summarize(records, DATASETS),
        "probes": probe_records, "probe_summary": summarize_probes(probe_records),
    }
    results_file.write_histories(os.path.join(args.out, "histories.npz"), records)
    write_outputs(results, args.out, not args.no_plot)
    print(report.markdown(results, results_file.recorded_datasets(results)))
    print(f"wrote {args.out}/results.json, results.md, histories.npz"
          + "".join(f", {f['file']}" for f in results["figures"]), file=sys.stderr)
    failed = sum(r["error"] is not None for r in done)
    if failed:
        print(f"{failed} run(s) failed; their tracebacks are in results.json", file=sys.stderr)
    return 1 if failed else 0

