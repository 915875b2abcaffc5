"""On paper, not measured: what data-parallel training over NODES machines would send,
how long that takes on a 10 or 100 Gb/s link, and at what global batch the network time
equals (so could hide behind) the per-rank compute measured on this machine.

Bandwidth only: latency, the switch and MPI's own overheads are left out, so the network
times are lower bounds. One iteration is k=1: D's gradients are exchanged once (its
step) and G's once (its step), float32 each, so a replica's gradients per iteration are
4 (P_D + P_G) bytes.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

from ..speed.configs import CONFIGS

NODES = 16
LINKS_GBIT_PER_S = (10, 100)
# Global batches the arithmetic is given at (the shards, batch / NODES rows, are timed).
PAPER_GLOBAL_BATCHES = (64, 256, 1024, 4096, 16384)
QUICK_PAPER_GLOBAL_BATCHES = (64, 1024)
FLOAT32_BYTES = 4

FORMULAS = {
    "gradient_bytes": "4 × num_params per network; per iteration (k=1) D once and G once: "
                      "4 (P_D + P_G) bytes per replica",
    "allgather": "Allgather (the implementation's exchange up to 2 ranks): every rank receives the "
                 "other R − 1 ranks' whole copies, (R − 1) × 4 (P_D + P_G) bytes per rank per "
                 "iteration (and, in a ring, sends as much)",
    "allreduce": "ring allreduce (reduce-scatter + allgather), for comparison: "
                 "2 (R − 1) / R × 4 (P_D + P_G) bytes per rank",
    "ordered_reduce_scatter": "ordered reduce-scatter (the implementation's exchange beyond 2 ranks): "
                              "an Alltoall hands each rank the R "
                              "pieces of its 1/R slice ((R − 1)/R of a copy received), it sums them "
                              "in rank order, an Allgather returns the averaged slices ((R − 1)/R "
                              "again): 2 (R − 1) / R × 4 (P_D + P_G) bytes per rank, as an allreduce",
    "network_seconds": "bytes × 8 / (link Gb/s × 10⁹), bandwidth only",
    "break_even": "the global batch B at which the per-rank compute time of a B / 16-row shard "
                  "(measured here, interpolated between the timed shards) equals the network time",
}


def mlp_params(sizes: Sequence[int]) -> int:
    """Weights and biases of a dense MLP with these layer sizes."""
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def shard_rows_for(global_batch: int, nodes: int) -> int:
    return max(1, global_batch // nodes)


def network_seconds(num_bytes: float, gbit_per_s: float) -> float:
    return num_bytes * 8 / (gbit_per_s * 1e9)


def crossing_rows(points: Sequence[tuple], target: float) -> Optional[dict]:
    """The shard rows b at which compute time t(b) reaches `target` seconds, from the
    measured (b, t) points, linear between neighbours; past the largest, along the last
    segment's slope (marked extrapolated); at or below the smallest: that one (marked).
    None with fewer than two points or a last slope that does not rise."""
    points = sorted(points)
    if len(points) < 2:
        return None
    if target <= points[0][1]:
        return {"rows": points[0][0], "how": "at or below"}
    for (b0, t0), (b1, t1) in zip(points, points[1:]):
        if t0 <= target <= t1 and t1 > t0:
            return {"rows": b0 + (target - t0) * (b1 - b0) / (t1 - t0), "how": "interpolated"}
    (b0, t0), (b1, t1) = points[-2], points[-1]
    if t1 <= t0:
        return None
    return {"rows": b1 + (target - t1) * (b1 - b0) / (t1 - t0), "how": "extrapolated"}


def sixteen_nodes(network: str, shard_seconds: Dict[int, float], global_batches: Sequence[int],
                  nodes: int = NODES) -> dict:
    """The arithmetic for `network` (a config name) over `nodes` ranks; shard_seconds
    maps shard rows to the measured seconds per iteration of the split step (compute
    without exchange, all threads of this machine standing for one node)."""
    config = CONFIGS[network]
    params = {"G": mlp_params(config.g_sizes), "D": mlp_params(config.d_sizes)}
    replica_bytes = FLOAT32_BYTES * (params["G"] + params["D"])
    allgather_bytes = (nodes - 1) * replica_bytes
    reduce_scatter_bytes = 2 * (nodes - 1) / nodes * replica_bytes
    links = {}
    for gbit in LINKS_GBIT_PER_S:
        allgather_s = network_seconds(allgather_bytes, gbit)
        points = [(rows, s) for rows, s in shard_seconds.items()]
        links[str(gbit)] = {
            "allgather_seconds": allgather_s,
            "reduce_scatter_seconds": network_seconds(reduce_scatter_bytes, gbit),
            "break_even": _break_even(points, allgather_s, nodes),
            "break_even_reduce_scatter": _break_even(points, network_seconds(reduce_scatter_bytes, gbit), nodes),
        }
    batches: List[dict] = []
    for batch in global_batches:
        rows = shard_rows_for(batch, nodes)
        if rows in shard_seconds:
            compute = shard_seconds[rows]
            batches.append({"global_batch": batch, "shard_rows": rows, "compute_seconds": compute,
                            "allgather_over_compute": {g: links[g]["allgather_seconds"] / compute for g in links}})
    return {"network": network, "describe": config.describe().rsplit(", batch", 1)[0], "nodes": nodes,
            "params": params, "gradient_bytes": {k: FLOAT32_BYTES * v for k, v in params.items()},
            "replica_bytes_per_iteration": replica_bytes,
            "allgather_bytes_per_rank_per_iteration": allgather_bytes,
            "reduce_scatter_bytes_per_rank_per_iteration": reduce_scatter_bytes,
            "links_gbit_per_s": links, "batches": batches}


def _break_even(points, seconds: float, nodes: int) -> Optional[dict]:
    found = crossing_rows(points, seconds)
    if found is None:
        return None
    return {"global_batch": found["rows"] * nodes, "shard_rows": found["rows"], "how": found["how"]}
