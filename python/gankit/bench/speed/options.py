"""The command-line options of `gankit bench speed`, with the defaults --quick changes."""
from __future__ import annotations

import argparse
from typing import List

from .. import _arguments
from . import __doc__ as _PACKAGE_DOC
from .configs import CONFIGS, DEFAULT_CONFIGS, parse_config_names

FRAMEWORKS = ("gankit", "numpy", "torch", "jax")


def config_names(text: str) -> List[str]:
    """Throughput configurations: comma-separated names, or 'all' (an argparse type)."""
    try:
        return parse_config_names(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gankit bench speed", description=_PACKAGE_DOC.split("\n\nModules:")[0] + "\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="configs:\n" + "\n".join(f"  {c.name:9s} {c.describe()}" + (f" ({c.note})" if c.note else "")
                                         for c in CONFIGS.values()))
    parser.add_argument("--configs", type=config_names, default=None,
                        help="comma-separated config names, or 'all' (default: toy2d,digits,mnist64,mnist256)")
    parser.add_argument("--threads", type=_arguments.positive_ints, default=[1, 2],
                        help="thread counts, comma-separated (default: 1,2)")
    parser.add_argument("--frameworks", type=lambda text: _arguments.names(text, FRAMEWORKS), default=list(FRAMEWORKS),
                        help="comma-separated from gankit,numpy,torch,jax (default: all; "
                             "ones not installed are reported and skipped)")
    parser.add_argument("--seconds", type=float, default=None,
                        help="length of one measurement (default: 1.0; --quick: 0.2)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="measurements per framework and config; the median is reported "
                             "(default: 7; --quick: 3)")
    parser.add_argument("--warmup", type=float, default=None,
                        help="warm-up seconds per framework and config (default: 1.0; --quick: 0.2)")
    parser.add_argument("--quick", action="store_true",
                        help="short measurements: 3 rounds of 0.2 s, 1-1.5 minutes in all on 2 cores")
    parser.add_argument("--precision", default="fp32",
                        help="fp32, bf16 or fp32,bf16. bf16 adds gankit_bf16 (precision='bf16') and "
                             "torch_bf16 (torch.autocast bfloat16) for the frameworks named; it needs a "
                             "CPU with AVX512-BF16 (default: fp32)")
    parser.add_argument("--json", metavar="PATH", help="write every number as JSON")
    parser.add_argument("--markdown", metavar="PATH", help="also write the Markdown report to PATH")
    return parser


def parse_args(argv):
    parser = build_parser()
    args = parser.parse_args(argv)
    quick = args.quick
    args.configs = args.configs or list(DEFAULT_CONFIGS)
    args.seconds = args.seconds if args.seconds is not None else (0.2 if quick else 1.0)
    args.rounds = args.rounds if args.rounds is not None else (3 if quick else 7)
    args.warmup = args.warmup if args.warmup is not None else (0.2 if quick else 1.0)
    args.settle = 0.1 if quick else 0.25  # pause before each measurement (spinning threads)
    args.peak_seconds = 0.2 if quick else 0.5
    if args.seconds <= 0 or args.warmup < 0:
        parser.error(f"--seconds must be > 0 and --warmup >= 0, got {args.seconds} and {args.warmup}")
    if args.rounds < 1:
        parser.error(f"--rounds: expected a positive integer, got {args.rounds}")
    args.frameworks = with_precisions(parser, args.frameworks, args.precision)
    return args


def with_precisions(parser, frameworks: List[str], text: str) -> List[str]:
    """The frameworks to run at the precisions asked for: the fp32 ones as named, then
    gankit_bf16 and torch_bf16 for bf16 (the others have no bf16 variant here)."""
    precisions = [p.strip() for p in text.split(",")]
    if not precisions or any(p not in ("fp32", "bf16") for p in precisions):
        parser.error(f"--precision: expected fp32, bf16 or fp32,bf16, got {text}")
    run = list(frameworks) if "fp32" in precisions else []
    if "bf16" in precisions:
        from gankit.nn import bf16_refusal
        refusal = bf16_refusal("--precision bf16") if "gankit" in frameworks else None
        if refusal:
            parser.error(refusal)
        run += [f"{name}_bf16" for name in ("gankit", "torch") if name in frameworks]
    if not run:
        parser.error(f"--precision {text}: none of --frameworks {','.join(frameworks)} has a bf16 variant "
                     f"(gankit and torch have)")
    return run
