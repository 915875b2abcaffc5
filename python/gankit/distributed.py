"""Data-parallel training over MPI (mpi4py): one process per shard of every batch.

    from mpi4py import MPI
    hist = gan.fit(X, batch_size=1024, max_iter=20_000, comm=MPI.COMM_WORLD)

    mpiexec -n 4 gankit train --dataset grid --batch-size 1024 --out runs/grid

batch_size is the global batch; with R ranks each draws batch_size / R of its rows.
Every rank holds the whole GAN, and the same one: fit starts from rank 0's state
(broadcast), and afterwards every rank makes the same update, so the replicas never
drift apart. Per step:

1. the global batch's row indices come from the GAN's batch RNG, identical on every
   rank; rank r takes its slice [r b, (r + 1) b), b = batch_size / R;
2. its noise rows are GAN.noise_shard(r b, b): rows of a global noise matrix defined row
   by row, so every rank draws only its own rows and the whole batch's noise does not
   depend on R;
3. the C++ step runs forward and backward on the shard (update=False), leaving the
   gradients in the network's one flat gradient buffer;
4. the buffers are exchanged (no copy per layer) and averaged in rank order in float64
   (gankit._core.replica_mean): never MPI's reduction, whose order is unspecified, so
   the result is the same bits on every rank, in every run, at any thread count and on
   any MPI. Up to ALLGATHER_MAX_RANKS ranks, one Allgather hands every rank all the
   copies; beyond, an ordered reduce-scatter: an Alltoall hands each rank every copy of
   its 1/R slice of the buffer, it averages them, and an Allgather returns the averaged
   slices. Every element is averaged the same way in both, so they give the same bits;
   the second moves 2 (R - 1) / R copies per rank instead of R - 1;
5. every rank applies the same optimizer update (apply_update).

So a run with R ranks is bitwise reproducible, and differs from one process with the
same global batch only by the rounding of that mean (benchmarks/README.md, "Scaling",
measures how far). Batch norm (per-shard batch statistics) and dropout (masks indexed
by local row, so repeated across ranks) are refused rather than silently changed.

Failure: an exception on one rank inside the training loop would leave the others
waiting in a collective forever, so fit prints it with the rank and calls
comm.Abort(1): the whole job ends with an error, and the last checkpoint (written
atomically by rank 0) survives. A killed rank ends the job through mpiexec.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import sys
import time
import traceback
from typing import Callable

import numpy as np

from . import _core

# Environment variables by which MPI launchers announce a job's size.
LAUNCHER_SIZE_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MV2_COMM_WORLD_SIZE",
                           "MPI_LOCALNRANKS", "SLURM_STEP_NUM_TASKS")


def launched_size() -> int:
    """The number of processes an MPI launcher (mpiexec, mpirun, srun) started this one
    among, from its environment; 1 when none did."""
    for name in LAUNCHER_SIZE_VARIABLES:
        value = os.environ.get(name, "")
        if value.isdigit() and int(value) > 1:
            return int(value)
    return 1


def world_communicator():
    """MPI.COMM_WORLD when this process was started by an MPI launcher among others, else
    None. Refuses (ImportError) a launch of several processes without mpi4py, which would
    otherwise train N independent copies that overwrite each other's output, and
    (RuntimeError) an mpi4py whose MPI does not see the launcher's job."""
    size = launched_size()
    if size == 1:
        return None
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise ImportError(f"started as one of {size} MPI processes, but mpi4py is not installed: "
                          "pip install 'gankit[mpi]' (without it the processes would each train "
                          "alone and overwrite each other's output)") from exc
    comm = MPI.COMM_WORLD
    if comm.Get_size() != size:
        raise RuntimeError(f"the MPI launcher started {size} processes, but mpi4py's MPI sees "
                           f"{comm.Get_size()}: mpi4py was built for another MPI than the mpiexec "
                           "that started this (use the mpiexec of the same installation)")
    return comm


def threads_per_rank(comm) -> int:
    """Threads for this rank so that the ranks on this machine never oversubscribe its
    cores: see threads_from_affinities. Collective over comm."""
    from mpi4py import MPI
    local = comm.Split_type(MPI.COMM_TYPE_SHARED)
    try:
        mine = frozenset(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
            else frozenset(range(os.cpu_count() or 1))
        return threads_from_affinities(mine, local.allgather(mine))
    finally:
        local.Free()


def threads_from_affinities(mine: frozenset, local: list) -> int:
    """The cores this rank may run on (`mine`), divided among the ranks on the same
    machine that may run on them too (`local`: every local rank's set, this one's
    included): all of them when the launcher bound each rank to its own cores, a 1/R
    share when R ranks share the same cores; at least 1."""
    sharing = sum(1 for cores in local if cores & mine)
    return max(1, len(mine) // max(1, sharing))


def use_threads_per_rank(comm) -> None:
    """Apply threads_per_rank(comm) as the default thread count: unless OMP_NUM_THREADS
    is set or gankit.set_num_threads was called, which are the user's choice. Collective."""
    import gankit
    per_rank = threads_per_rank(comm)
    if "OMP_NUM_THREADS" not in os.environ and not gankit._threads_set_by_caller:
        _core.set_num_threads(min(gankit.get_num_threads(), per_rank))


def require_data_parallel(gan, batch_size: int, ranks: int) -> int:
    """Check that `gan` can train data-parallel over `ranks` processes with this global
    batch; returns the rows per rank."""
    for name, net in (("G", gan.G), ("D", gan.D)):
        if net.batch_norm:
            raise ValueError(f"{name}: batch normalisation is not supported in data-parallel training "
                             "(each rank would normalise its shard by its own statistics); build "
                             f"{name} without batch_norm or train in one process")
        if net.dropout > 0:
            raise ValueError(f"{name}: dropout is not supported in data-parallel training (its masks "
                             "are indexed by local row and would repeat across ranks); build "
                             f"{name} with dropout=0 or train in one process")
    unit = ranks * gan.pack
    if batch_size % unit:
        raise ValueError(f"batch_size: expected a multiple of ranks x pack = {ranks} x {gan.pack} = {unit} "
                         f"(every rank takes an equal shard of whole packs), got {batch_size}")
    return batch_size // ranks


# The most ranks for which one Allgather of whole copies is the exchange: at 2 it moves as
# much as the reduce-scatter's two collectives, beyond it moves (R - 1) / (2 (R - 1) / R)
# = R / 2 times more.
ALLGATHER_MAX_RANKS = 2


def slices(n: int, parts: int):
    """(counts, offsets) of n elements split into `parts` contiguous slices, the first
    n % parts one longer."""
    counts = [n // parts + (1 if r < n % parts else 0) for r in range(parts)]
    offsets = [sum(counts[:r]) for r in range(parts)]
    return counts, offsets


class DataParallel:
    """fit's steps over the ranks of `comm` (see the module docstring); training.fit
    drives it through the same methods as its single-process steps."""

    def __init__(self, comm, gan, data: np.ndarray, batch_size: int,
                 check_replicas: int = 0):
        self.comm, self.gan, self.data = comm, gan, data
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self.is_root = self.rank == 0
        self.shard_rows = require_data_parallel(gan, batch_size, self.size)
        self.first_row = self.rank * self.shard_rows
        self.check_replicas = check_replicas
        # One receive buffer per network, allocated once: row r holds rank r's gradients
        # (Allgather) or rank r's copy of this rank's slice (reduce-scatter).
        self.exchange = "allgather" if self.size <= ALLGATHER_MAX_RANKS else "reduce_scatter"
        self._slices = {name: slices(net.num_params, self.size) for name, net in (("G", gan.G), ("D", gan.D))}
        self._gathered = {name: np.empty((self.size, self._received_columns(name, net)), np.float32)
                          for name, net in (("G", gan.G), ("D", gan.D))}
        self._values = np.empty((self.size, 5), np.float64)
        self.seconds_in_reduction = 0.0

    # -- agreement -------------------------------------------------------------------
    def on_root(self, work: Callable):
        """work() on rank 0 only, its result or exception given to every rank: an error
        there (a missing checkpoint, a full disk) is raised on all ranks alike instead of
        leaving the others waiting."""
        if not self.is_root:
            ok, value = self.comm.bcast(None, root=0)
            if not ok:
                raise value
            return value
        try:
            result = work()
        except Exception as exc:
            self.comm.bcast((False, _sendable(exc)), root=0)
            raise  # here with its own traceback
        self.comm.bcast((True, result), root=0)
        return result

    def start(self) -> None:
        """Check every rank built the same GAN, then give all of them rank 0's state
        (parameters, optimizer, RNGs, history), so the replicas start equal."""
        configs = self.comm.allgather(self.gan.config())
        for rank, config in enumerate(configs):
            if config != configs[0]:
                differing = sorted(k for k in config if config.get(k) != configs[0].get(k))
                raise ValueError(f"comm: rank {rank}'s GAN differs from rank 0's in {', '.join(differing)}; "
                                 "every rank must build the same GAN (same networks, losses, seed)")
        use_threads_per_rank(self.comm)
        state = self.comm.bcast(self.gan.state_dict() if self.is_root else None, root=0)
        if not self.is_root:
            self.gan.load_state_dict(state)
        self.gan.batch_rng  # noqa: B018 - created now, from the state just loaded

    def any(self, flag: bool) -> bool:
        """True on every rank when `flag` is True on any (callbacks may differ)."""
        return any(self.comm.allgather(bool(flag)))

    def replicas_agree(self) -> bool:
        """Whether every rank's parameters, optimizer state and RNG states are the same
        bits (a digest of each rank's state, compared)."""
        digest = hashlib.blake2b(digest_size=16)
        for key, value in sorted(self.gan.state_dict(history=False).items()):
            digest.update(key.encode())
            digest.update(np.ascontiguousarray(value).tobytes() if isinstance(value, np.ndarray)
                          else repr(value).encode())
        digests = self.comm.allgather(digest.digest())
        return all(d == digests[0] for d in digests)

    # -- the steps -----------------------------------------------------------------------
    def d_step(self, rows: np.ndarray):
        shard = rows[self.first_row:self.first_row + self.shard_rows]
        z = self.gan.noise_shard(self.first_row, self.shard_rows)
        step = self.gan.d_step(self.data[shard], z, update=False)
        self._average_gradients("D", self.gan.D)
        self.gan.apply_update("D")
        return step.d_loss, step.d_real, step.d_fake

    def g_step(self, batch_size: int) -> float:
        # batch_size is the global batch, already split into shard_rows per rank.
        z = self.gan.noise_shard(self.first_row, self.shard_rows)
        step = self.gan.g_step(z, update=False)
        self._average_gradients("G", self.gan.G)
        self.gan.apply_update("G")
        return step.g_loss

    def _received_columns(self, name: str, net) -> int:
        if self.exchange == "allgather":
            return net.num_params
        counts, _ = self._slices[name]
        return counts[self.rank]

    def _average_gradients(self, name: str, net) -> None:
        if self.size == 1:
            return  # the mean of one copy is that copy, bit for bit (replica_mean.h)
        start = time.perf_counter()
        gathered, grads = self._gathered[name], net.grads
        if self.exchange == "allgather":
            self.comm.Allgather(grads, gathered)
            _core.replica_mean(gathered, grads)
        else:
            self._ordered_reduce_scatter(name, grads, gathered)
        self.seconds_in_reduction += time.perf_counter() - start

    def _ordered_reduce_scatter(self, name: str, grads: np.ndarray, gathered: np.ndarray) -> None:
        from mpi4py import MPI
        counts, offsets = self._slices[name]
        mine, size = counts[self.rank], self.size
        # Rank j receives every rank's copy of slice j, row i of its buffer from rank i.
        self.comm.Alltoallv([grads, (counts, offsets), MPI.FLOAT],
                            [gathered, ([mine] * size, [i * mine for i in range(size)]), MPI.FLOAT])
        if mine:
            start = offsets[self.rank]
            _core.replica_mean(gathered, grads[start:start + mine])
        self.comm.Allgatherv(MPI.IN_PLACE, [grads, (counts, offsets), MPI.FLOAT])

    def iteration_values(self, values):
        """The iteration's (d_loss, g_loss, d_real, d_fake, time) as every rank records it:
        the losses and D outputs averaged over the ranks in rank order (each is a mean
        over an equal shard, so this is the global batch's mean), rank 0's time."""
        local = np.asarray(values, np.float64)
        self.comm.Allgather(local, self._values)
        mean = self._values[:, :4].sum(axis=0) / self.size  # rows added in rank order
        return (*(float(v) for v in mean), float(self._values[0, 4]))

    def after_iteration(self, iteration: int) -> None:
        if self.check_replicas and iteration % self.check_replicas == 0 and not self.replicas_agree():
            raise RuntimeError(f"check_replicas: the ranks' GAN states differ after iteration {iteration} "
                               "(a rank computed different gradients or updates)")

    def abort(self, exc: BaseException) -> None:
        """End the whole job: print the error with this rank's number, then MPI_Abort."""
        print(f"gankit: rank {self.rank} of {self.size}: training failed, aborting the MPI job:\n"
              + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
              file=sys.stderr, flush=True)
        self.comm.Abort(1)


def _sendable(exc: Exception) -> Exception:
    """exc, if it survives pickling (bcast pickles it); else a RuntimeError with its text."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001 - any failure to round-trip means: send the text
        return RuntimeError(f"on rank 0: {type(exc).__name__}: {exc}")


class LocalSteps:
    """fit's steps in one process: the fused C++ steps, no communication."""

    is_root = True
    seconds_in_reduction = 0.0

    def __init__(self, gan, data: np.ndarray):
        self.gan, self.data = gan, data

    def on_root(self, work: Callable):
        return work()

    def start(self) -> None:
        pass

    def any(self, flag: bool) -> bool:
        return bool(flag)

    def d_step(self, rows: np.ndarray):
        step = self.gan.d_step(self.data[rows])
        return step.d_loss, step.d_real, step.d_fake

    def g_step(self, batch_size: int) -> float:
        return self.gan.g_step(batch_size=batch_size).g_loss

    def iteration_values(self, values):
        return tuple(values)

    def after_iteration(self, iteration: int) -> None:
        pass

    def abort(self, exc: BaseException) -> None:
        pass  # nothing to end: the exception propagates to the caller


def fit(gan, X, *, comm, **options):
    """GAN.fit(X, comm=comm, **options): data-parallel training over `comm`'s ranks."""
    return gan.fit(X, comm=comm, **options)
