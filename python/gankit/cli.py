"""The `gankit` command: train a GAN on a built-in dataset, or sample a saved model.

    gankit train                         # the 8-mode ring, defaults below
    gankit train --dataset grid --g-loss minimax --d-steps 5 --max-iter 30000 --out runs/grid
    gankit sample runs/grid/model.gk -n 10000 --out samples.npy
"""
from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time

import numpy as np

DATASETS = ("ring", "grid", "gaussian_1d", "digits")

# Per-dataset defaults: what `gankit train --dataset NAME` runs without other options.
# The ring's and grid's recipes were chosen with `gankit bench quality` (benchmarks/README.md,
# "Sample quality"): Adam with the learning rate decayed linearly to final_lr_ratio x lr,
# generator averaging (ema) for sampling, and for the ring ReLU networks three layers deep,
# which give it sharp modes.
DEFAULTS = {
    # Batch 512: at 256, two seeds in ten lost one or two modes (benchmarks/README.md,
    # the ring trials); at 512 all ten kept every mode.
    "ring": dict(n=50_000, g_hidden=(128, 128, 128), d_hidden=(128, 128, 128),
                 g_activation="relu", d_activation="relu",
                 noise_dim=2, d_steps=1, max_iter=8_000, batch_size=512, lr=1e-3, d_lr_ratio=1.0,
                 beta1=0.5, schedule="linear", final_lr_ratio=0.0, ema=0.999, pack=1),
    # A sharp generator (ReLU, three layers) against a discriminator that keeps every mode
    # in view (leaky ReLU, two layers), at half the ring's learning rate: at 1e-3 one seed
    # in three lost every mode. Batch 512: at 256 one seed in three collapsed to 22 modes.
    # D learns twice as fast as G (d_lr_ratio; the two time-scale rule of Heusel et al.
    # 2017): at equal rates three runs in eight failed (two drew lines between the modes,
    # 20-30 % high quality; one kept 21 modes), at twice the rate none of ten did, and 30 000
    # iterations rather than 20 000 took those ten from 84-93 % to 91-97 %
    # (benchmarks/README.md, the grid trials).
    "grid": dict(n=50_000, g_hidden=(256, 256, 256), d_hidden=(256, 256),
                 g_activation="relu", d_activation="leaky_relu",
                 noise_dim=2, d_steps=1, max_iter=30_000, batch_size=512, lr=5e-4, d_lr_ratio=2.0,
                 beta1=0.5, schedule="linear", final_lr_ratio=0.0, ema=0.999, pack=1),
    "gaussian_1d": dict(n=50_000, g_hidden=(16,), d_hidden=(32, 32),
                        g_activation="leaky_relu", d_activation="leaky_relu",
                        noise_dim=1, d_steps=5, max_iter=3_000, batch_size=256, lr=1e-3, d_lr_ratio=1.0,
                        beta1=0.5,
                        schedule="constant", final_lr_ratio=0.0, ema=None, pack=1),
    "digits": dict(n=None, g_hidden=(256, 256), d_hidden=(256, 256),
                   g_activation="leaky_relu", d_activation="leaky_relu",
                   noise_dim=32, d_steps=1, max_iter=10_000, batch_size=128, lr=2e-4, d_lr_ratio=1.0,
                   beta1=0.5,
                   schedule="constant", final_lr_ratio=0.0, ema=None, pack=1),
}
ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid")


def default_batch_size(defaults: dict, pack: int) -> int:
    """The samples per step of a recipe whose `batch_size` counts D's inputs, as PacGAN's
    code does (its m noise batches each have batch_size rows): with packing, that many
    packs of `pack` samples, so D judges as many inputs per step whatever the pack.
    `gankit train` without --batch-size and every row of `gankit bench quality` use it."""
    return int(defaults["batch_size"]) * int(pack)
SCHEDULES = ("constant", "linear", "cosine")


# `--arch paper`: the networks of the PacGAN (Lin et al. 2018) and VEEGAN (Srivastava et
# al. 2017) experiments on the 2-D ring and grid mixtures.
PAPER_ARCH = dict(g_hidden=(400, 400, 400, 400), g_activation="relu", g_batch_norm=True,
                  d_hidden=(200, 200, 200), d_activation="maxout", d_pieces=5)
ARCH_DATASETS = ("ring", "grid")


# `gankit bench NAME ...` runs gankit.bench.NAME.main(options); benchmarks/NAME.py does the same.
BENCHMARKS = {name: f"gankit.bench.{name}"
              for name in ("speed", "profile", "gemm", "pack_ema_cost", "losses", "quality", "scaling")}


class CliError(Exception):
    """A problem to report in one line, exit status 1."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gankit", description="Train and sample GANs on the CPU.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = sub.add_parser("train", help="train a GAN on a built-in dataset",
                           description="Train a GAN on a built-in dataset and write the model, "
                                       "history and (with matplotlib) figures to --out.")
    train.add_argument("--dataset", choices=DATASETS, default="ring",
                       help="built-in data: ring (8 Gaussians on a circle), grid (25 Gaussians), "
                            "gaussian_1d (one 1-D Gaussian), digits (8x8 digits, needs scikit-learn). "
                            "Default: ring")
    train.add_argument("--n", type=int, default=None, help="data points to draw (default 50000; digits: all 1797)")
    train.add_argument("--g-loss", choices=("non_saturating", "minimax"), default="non_saturating",
                       help="generator loss: non_saturating (-log D(G(z))) or minimax (log(1 - D(G(z)))). "
                            "Default: non_saturating")
    train.add_argument("--d-steps", type=int, default=None,
                       help="discriminator steps per generator step (k). Default: 5 for gaussian_1d, else 1")
    train.add_argument("--max-iter", type=int, default=None, help="iterations to train (default depends on the dataset)")
    train.add_argument("--batch-size", type=int, default=None,
                       help="samples per step, a multiple of --pack. Default: the dataset's batch of D "
                            "inputs (512 for ring and grid), so with --pack M that many packs: M x 512 "
                            "samples, as in PacGAN's code")
    train.add_argument("--lr", type=float, default=None, help="Adam learning rate of G (and of D, "
                       "unless --d-lr)")
    train.add_argument("--d-lr", type=float, default=None,
                       help="Adam learning rate of D. Default: --lr x the dataset's ratio (2 for grid, "
                            "else 1); its schedule ends at --final-lr x d-lr / lr")
    train.add_argument("--beta1", type=float, default=None, help="Adam beta1. Default: 0.5")
    train.add_argument("--lr-schedule", choices=SCHEDULES, default=None,
                       help="learning-rate schedule of both optimizers over the run: constant, or "
                            "linear / cosine decay from --lr to --final-lr. Default: linear for ring "
                            "and grid, else constant")
    train.add_argument("--final-lr", type=float, default=None,
                       help="the learning rate a linear or cosine schedule ends at. Default: 0")
    train.add_argument("--ema", type=float, default=None,
                       help="generator averaging: decay of the moving average of G's weights that "
                            "sampling uses (0 turns it off). Default: 0.999 for ring and grid, else off")
    train.add_argument("--pack", type=int, default=None,
                       help="PacGAN packing: D judges this many samples at once (an explicit --batch-size "
                            "must be a multiple of it). Default: 1")
    train.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                       help="arithmetic of the dense layers' products: fp32, or bf16 (operands rounded "
                            "to bfloat16, sums in float32; needs a CPU with AVX512-BF16). Default: fp32")
    train.add_argument("--activation", choices=ACTIVATIONS, default=None,
                       help="hidden activation of both default networks (--g-activation and "
                            "--d-activation set one each). Default: relu for ring; grid: relu in G, "
                            "leaky_relu in D; else leaky_relu")
    train.add_argument("--g-activation", choices=ACTIVATIONS, default=None,
                       help="hidden activation of the generator (overrides --activation)")
    train.add_argument("--d-activation", choices=ACTIVATIONS, default=None,
                       help="hidden activation of the discriminator (overrides --activation)")
    train.add_argument("--arch", choices=("default", "paper"), default="default",
                       help="networks: default (leaky-ReLU MLPs sized by --hidden or the dataset) or "
                            "paper: those of the PacGAN/VEEGAN 2-D mixture experiments, G = 4 hidden "
                            "layers of 400 ReLU units with batch norm, D = 3 hidden layers of 200 "
                            "linear-maxout units with 5 pieces (ring and grid only; the optimizer, batch "
                            "size and iterations stay as given or defaulted). Default: default")
    train.add_argument("--hidden", type=str, default=None,
                       help="hidden layer sizes of both networks, comma-separated, e.g. 128,128 "
                            "(--g-hidden and --d-hidden set one each)")
    train.add_argument("--g-hidden", type=str, default=None,
                       help="hidden layer sizes of the generator (overrides --hidden)")
    train.add_argument("--d-hidden", type=str, default=None,
                       help="hidden layer sizes of the discriminator (overrides --hidden)")
    train.add_argument("--noise-dim", type=int, default=None, help="size of the noise z")
    train.add_argument("--noise", choices=("normal", "uniform"), default="normal", help="noise distribution. Default: normal")
    train.add_argument("--min-loss", type=float, default=None,
                       help="stop when the windowed mean of --min-loss-on falls to this value")
    train.add_argument("--min-loss-on", choices=("g_loss", "d_loss"), default="g_loss",
                       help="the loss --min-loss watches. Default: g_loss")
    train.add_argument("--equilibrium-tol", type=float, default=None,
                       help="stop when windowed mean D(x) and D(G(z)) are both within this of 0.5")
    train.add_argument("--window", type=int, default=100, help="window of the stop rules, in iterations. Default: 100")
    train.add_argument("--checkpoint-every", type=int, default=1000,
                       help="write OUT/checkpoint.gk every this many iterations. Default: 1000")
    train.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.gk if it exists")
    train.add_argument("--seed", type=int, default=0, help="seed of data, weights, noise and batches. Default: 0")
    train.add_argument("--threads", type=int, default=None,
                       help="threads of the C++ kernels (default: OMP_NUM_THREADS, else all cores; under "
                            "mpiexec the cores divided among the ranks on each machine)")
    train.add_argument("--check-replicas", type=int, default=0, metavar="N",
                       help="under mpiexec: every N iterations check that all ranks hold the same "
                            "state bits, and fail if not (a debugging aid). Default: 0, off")
    train.add_argument("--out", default=None, help="output folder (default: runs/DATASET)")
    train.add_argument("--no-plot", action="store_true", help="do not draw figures even if matplotlib is installed")
    train.add_argument("--quiet", action="store_true", help="no progress lines")

    sample = sub.add_parser("sample", help="draw samples from a saved model",
                            description="Draw samples from a model written by `gankit train` or GAN.save.")
    sample.add_argument("model", help="a .gk file")
    sample.add_argument("-n", type=int, default=1000, help="number of samples. Default: 1000")
    sample.add_argument("--out", required=True, help="output .npy file (float32, shape (n, features))")
    sample.add_argument("--seed", type=int, default=None, help="seed the noise (default: continue the model's RNG)")

    sub.add_parser("info", help="print build information (compiler, kernel and its cache blocking, caches, OpenMP, threads)")

    bench = sub.add_parser("bench", help="run a benchmark: speed (against NumPy, PyTorch, JAX), profile (time "
                                         "per phase), gemm, pack_ema_cost, losses (minimax vs non-saturating) "
                                         "or quality (PacGAN's Table 1)",
                           description="Run one of gankit's benchmarks; `gankit bench NAME --help` "
                                       "lists its options.", add_help=True)
    bench.add_argument("name", choices=sorted(BENCHMARKS), help="which benchmark")
    bench.add_argument("options", nargs=argparse.REMAINDER, help="options of that benchmark")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            return run_train(args, parser)
        if args.command == "sample":
            return run_sample(args)
        if args.command == "bench":
            import importlib
            return int(importlib.import_module(BENCHMARKS[args.name]).main(args.options) or 0)
        import gankit
        print(json.dumps(gankit.build_info(), indent=2))
        return 0
    except CliError as exc:
        print(f"gankit: error: {exc}", file=sys.stderr)
        return 1
    except (ValueError, TypeError, OSError, ImportError) as exc:
        print(f"gankit: error: {exc}", file=sys.stderr)
        return 1
    except MemoryError as exc:
        print(f"gankit: error: out of memory ({exc or 'allocation failed'})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("gankit: interrupted", file=sys.stderr)
        return 130


def _positive(parser, value, flag):
    if value is not None and value < 1:
        parser.error(f"{flag}: expected a positive integer, got {value}")


def _hidden_sizes(parser, text, option="--hidden"):
    try:
        sizes = tuple(int(s) for s in text.split(","))
    except ValueError:
        parser.error(f"{option}: expected comma-separated positive integers like 128,128, got {text!r}")
    if not sizes or min(sizes) < 1:
        parser.error(f"{option}: expected comma-separated positive integers like 128,128, got {text!r}")
    return sizes


def _network_hidden(parser, args, which, default):
    """Hidden sizes of G or D (`which` "g" or "d"): --g-hidden/--d-hidden, else --hidden,
    else the dataset's default."""
    own = getattr(args, f"{which}_hidden")
    if own is not None:
        return _hidden_sizes(parser, own, f"--{which}-hidden")
    if args.hidden is not None:  # "--hidden ''" is an error, not the default
        return _hidden_sizes(parser, args.hidden)
    return default


def run_train(args, parser) -> int:
    import gankit as gk
    from .distributed import world_communicator
    from .nn import bf16_refusal
    for flag in ("n", "d_steps", "max_iter", "batch_size", "noise_dim", "window", "checkpoint_every",
                 "threads", "pack"):
        _positive(parser, getattr(args, flag), "--" + flag.replace("_", "-"))
    if args.check_replicas < 0:
        parser.error(f"--check-replicas: expected a non-negative integer, got {args.check_replicas}")
    # Started by mpiexec/srun among others: train data-parallel over all of them; rank 0
    # alone prints and writes the outputs.
    comm = world_communicator()
    root = comm is None or comm.Get_rank() == 0
    if comm is None and args.check_replicas:
        parser.error("--check-replicas: only used when started by mpiexec with more than one process")
    defaults = DEFAULTS[args.dataset]
    if args.arch == "paper":
        if args.dataset not in ARCH_DATASETS:
            parser.error(f"--arch paper: the PacGAN/VEEGAN networks are defined for "
                         f"{' and '.join(ARCH_DATASETS)}, got --dataset {args.dataset}")
        for option in ("hidden", "g_hidden", "d_hidden", "activation", "g_activation", "d_activation"):
            if getattr(args, option) is not None:
                parser.error(f"--{option.replace('_', '-')}: not used with --arch paper, which fixes "
                             f"the networks")
    g_hidden = _network_hidden(parser, args, "g", defaults["g_hidden"])
    d_hidden = _network_hidden(parser, args, "d", defaults["d_hidden"])
    d_steps = args.d_steps or defaults["d_steps"]
    noise_dim = args.noise_dim or defaults["noise_dim"]
    max_iter = args.max_iter or defaults["max_iter"]
    lr = args.lr if args.lr is not None else defaults["lr"]
    pack = args.pack or defaults["pack"]
    batch_size = args.batch_size or default_batch_size(defaults, pack)
    ema = args.ema if args.ema is not None else defaults["ema"]
    schedule = args.lr_schedule or defaults["schedule"]
    final_lr = args.final_lr if args.final_lr is not None else lr * defaults["final_lr_ratio"]
    d_lr = args.d_lr if args.d_lr is not None else lr * defaults["d_lr_ratio"]
    for flag, value in (("--lr", lr), ("--d-lr", d_lr)):
        if not (value > 0 and np.isfinite(value)):
            parser.error(f"{flag}: expected a positive learning rate, got {value}")
    if schedule == "constant" and args.final_lr is not None:
        parser.error("--final-lr: only used with --lr-schedule linear or cosine")
    if batch_size % pack:
        parser.error(f"--batch-size: expected a multiple of --pack {pack}, got {batch_size}")
    refusal = bf16_refusal("--precision bf16") if args.precision == "bf16" else None
    if refusal:
        parser.error(refusal)
    if args.threads:
        gk.set_num_threads(args.threads)
    out = args.out or os.path.join("runs", args.dataset)
    if root:
        os.makedirs(out, exist_ok=True)

    data = gk.datasets.load(args.dataset, n=args.n or defaults["n"], seed=args.seed)
    dim = data.shape[1]
    g_activation = args.g_activation or args.activation or defaults["g_activation"]
    d_activation = args.d_activation or args.activation or defaults["d_activation"]
    G, D = _networks(gk, args, noise_dim, dim, g_hidden, d_hidden, pack, g_activation, d_activation)
    beta1 = args.beta1 if args.beta1 is not None else defaults["beta1"]

    def adam(rate, updates):
        if schedule == "constant":
            return gk.Adam(lr=rate, beta1=beta1)
        return gk.Adam(lr=rate, beta1=beta1, schedule=schedule, schedule_steps=updates,
                       final_lr=final_lr * rate / lr)

    # Each network's schedule runs over its own updates: D makes d_steps per iteration.
    gan = gk.GAN(G, D, g_loss=args.g_loss, noise=args.noise, d_optimizer=adam(d_lr, max_iter * d_steps),
                 g_optimizer=adam(lr, max_iter), seed=args.seed, pack=pack, ema=ema or None,
                 precision=args.precision)
    checkpoint = os.path.join(out, "checkpoint.gk")
    resume = checkpoint if args.resume and os.path.exists(checkpoint) else None
    if comm is not None:
        resume = comm.bcast(resume, root=0)  # rank 0's file decides: others may not see it
        gk.distributed.use_threads_per_rank(comm)

    if root and not args.quiet:
        info = gk.build_info()
        arch = (f"arch paper (G {G.sizes} relu + batch norm, D {D.sizes} maxout {D.pieces}), "
                if args.arch == "paper" else "")
        recipe = (f"lr {lr}" + (f" (D {d_lr:g})" if d_lr != lr else "")
                  + (f" {schedule} to {final_lr:g}" if schedule != "constant" else "")
                  + (f", ema {ema}" if ema else "") + (f", pack {pack}" if pack > 1 else ""))
        print(f"gankit {gk.__version__}: {args.dataset} ({len(data)} x {dim}), g_loss={args.g_loss}, "
              f"k={d_steps}, batch {batch_size}" + (f" ({batch_size // pack} packs)" if pack > 1 else "")
              + f", {recipe}, {max_iter} iterations, {arch}"
              + (f"bf16 products ({info['bf16_kernel']}), " if args.precision == "bf16" else "")
              + f"kernel {info['kernel']} (kc {info['gemm_blocking']['kc']}), {info['num_threads']} threads"
              + (f" per rank x {comm.Get_size()} MPI ranks" if comm is not None else "")
              + (f", resuming from {resume}" if resume else ""), file=sys.stderr)
    start = time.perf_counter()
    hist = gan.fit(data, batch_size=batch_size, d_steps=d_steps, max_iter=max_iter,
                   min_loss=args.min_loss, min_loss_on=args.min_loss_on,
                   equilibrium_tol=args.equilibrium_tol, window=args.window,
                   checkpoint=checkpoint, checkpoint_every=args.checkpoint_every,
                   progress=not args.quiet, resume=resume, comm=comm,
                   check_replicas=args.check_replicas)
    elapsed = time.perf_counter() - start
    if not root:
        return 0

    gan.save(os.path.join(out, "model.gk"))
    hist.to_csv(os.path.join(out, "history.csv"))
    samples = gan.sample(2500)
    report = _quality_report(gk, args.dataset, samples, data)
    report.update(stop_reason=hist.stop_reason, iterations=len(hist), seconds=round(elapsed, 2))
    figures = [] if args.no_plot else _draw(gk, hist, samples, data, args.dataset, out)
    with open(os.path.join(out, "report.json"), "w") as f:
        json.dump(report, f, indent=2)

    print(f"\nstop reason: {hist.stop_reason} after {len(hist)} iterations in {elapsed:.1f}s "
          f"({len(hist) / max(elapsed, 1e-9):,.0f} it/s)")
    print("quality: " + report["summary"])
    print(f"wrote {out}/model.gk, history.csv, report.json" + "".join(", " + f for f in figures))
    return 0


def _networks(gk, args, noise_dim, dim, g_hidden, d_hidden, pack, g_activation, d_activation):
    """G and D for `--arch`: the default MLPs or the papers' networks; D's input is a pack
    of `pack` samples."""
    if args.arch == "paper":
        a = PAPER_ARCH
        G = gk.MLP([noise_dim, *a["g_hidden"], dim], activation=a["g_activation"],
                   batch_norm=a["g_batch_norm"])
        D = gk.MLP([dim * pack, *a["d_hidden"], 1], activation=a["d_activation"], pieces=a["d_pieces"])
        return G, D
    out_act = "tanh" if args.dataset == "digits" else None
    G = gk.MLP([noise_dim, *g_hidden, dim], activation=g_activation, output=out_act)
    D = gk.MLP([dim * pack, *d_hidden, 1], activation=d_activation)
    return G, D


def _quality_report(gk, dataset, samples, data) -> dict:
    if dataset in ("ring", "grid"):
        scores = gk.metrics.mode_scores(samples, gk.datasets.mixture(dataset))
        return {"modes_captured": int(scores.modes_captured), "modes_total": int(scores.modes_total),
                "high_quality_fraction": float(scores.high_quality_fraction),
                "reverse_kl": float(scores.reverse_kl),
                "summary": f"{scores.modes_captured}/{scores.modes_total} modes captured, "
                           f"{100 * scores.high_quality_fraction:.1f}% high-quality samples, "
                           f"reverse KL {scores.reverse_kl:.3f} (from 2500 samples)"}
    if dataset == "gaussian_1d":
        mean, std = float(samples.mean()), float(samples.std())
        return {"mean": mean, "std": std, "data_mean": float(data.mean()), "data_std": float(data.std()),
                "summary": f"generated mean {mean:.3f} std {std:.3f} vs data mean "
                           f"{data.mean():.3f} std {data.std():.3f}"}
    rng = np.random.default_rng(0)
    real = data[rng.choice(len(data), size=min(len(data), 1000), replace=False)]
    mmd = float(gk.metrics.mmd2(samples[:len(real)], real))
    acc = float(gk.metrics.nn1_accuracy(samples[:len(real)], real))
    return {"mmd2": mmd, "nn1_accuracy": acc,
            "summary": f"MMD^2 {mmd:.4f}, 1-NN two-sample accuracy {acc:.3f} (0.5 = indistinguishable)"}


def _draw(gk, hist, samples, data, dataset, out) -> list:
    try:
        from .plotting import plot_history, plot_samples
        centers = gk.datasets.mixture(dataset).centers if dataset in ("ring", "grid") else None
        plot_samples(samples, data[:5000], os.path.join(out, "samples.png"),
                     title=f"{dataset}: generated vs data", centers=centers)
        plot_history(hist, os.path.join(out, "losses.png"))
    except ImportError:
        return []
    return ["samples.png", "losses.png"]


def run_sample(args) -> int:
    import gankit as gk
    from ._atomic import atomic_write_bytes
    if args.n < 1:
        raise CliError(f"-n: expected a positive integer, got {args.n}")
    if not os.path.exists(args.model):
        raise CliError(f"{args.model}: no such file")
    gan = gk.GAN.load(args.model)
    if args.seed is not None:
        gan.reseed_noise(args.seed)
    samples = gan.sample(args.n)
    buffer = io.BytesIO()
    np.save(buffer, samples, allow_pickle=False)
    atomic_write_bytes(args.out, buffer.getvalue())
    print(f"wrote {args.n} samples of {samples.shape[1]} features to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
