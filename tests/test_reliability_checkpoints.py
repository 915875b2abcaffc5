"""Checkpoints from strangers and checkpoints interrupted by death.

- Fuzz: thousands of files derived from valid checkpoints (a truncation at every byte,
  random bit flips, and crafted headers and bodies with a correct SHA-256 recomputed so
  the parser and the GAN checks, not just the checksum, are exercised) go to GAN.load.
  Each either loads into a GAN that works or raises CheckpointError, quickly and without
  allocating more than a small multiple of the file; nothing else may come out, and no
  file may crash the interpreter (the fuzz runs in a forked child).
- Loading never unpickles or evaluates: the loader's modules do not even import pickle,
  and a pickle or a file that would run code on unpickling is refused.
- SIGKILL: a process saving a different state in a loop is killed at random moments
  many times; every time, GAN.load of the path succeeds and yields one of the states
  that were completely written, and the next save clears the killed writers' temporary
  files.
"""
import hashlib
import json
import os
import pickle
import signal
import struct
import time
import tracemalloc

import numpy as np
import pytest

import gankit as gk
from reliability_support import SCALE, isolated, record_count, scaled, state_of

MAGIC = b"GANKIT\x00\x01"
DATA = gk.datasets.ring(n=256, seed=0)


def trained_gan(opt, seed=0, iterations=3):
    gan = gk.GAN(gk.MLP([2, 6, 2]), gk.MLP([2, 5, 1]), seed=seed, d_optimizer=opt, g_optimizer=opt)
    if iterations:
        gan.fit(DATA, batch_size=16, max_iter=iterations)
    return gan


def valid_files(tmp_path):
    """Checkpoints of every shape the format takes: Adam (2 state arrays), SGD with and
    without momentum (1 and 0), before any fit (no batch RNG, empty history)."""
    gans = [trained_gan(gk.Adam(lr=1e-3)), trained_gan(gk.SGD(lr=1e-2, momentum=0.9), seed=1),
            trained_gan(gk.SGD(lr=1e-2), seed=2), trained_gan(gk.Adam(), seed=3, iterations=0)]
    blobs = []
    for i, gan in enumerate(gans):
        gan.save(tmp_path / f"valid{i}.gk")
        blobs.append((tmp_path / f"valid{i}.gk").read_bytes())
    return blobs


def split(blob):
    """(header dict, data section) of a file in the documented layout."""
    header_length = struct.unpack_from("<Q", blob, 12)[0]
    header = json.loads(blob[20:20 + header_length])
    data_start = -(-(20 + header_length) // 64) * 64
    return header, blob[data_start:-32]


def build(header_bytes, data, version=1):
    """A file in the documented layout around a (possibly crafted) header and data
    section, with a correct SHA-256."""
    body = MAGIC + struct.pack("<IQ", version, len(header_bytes)) + header_bytes
    body += bytes(-len(body) % 64) + data
    return body + hashlib.sha256(body).digest()


# -- the mutations --------------------------------------------------------------------------
def truncations(blob):
    return [blob[:n] for n in range(len(blob))]


def bit_flips(blob, rng, count):
    out = []
    for _ in range(count):
        mutated = bytearray(blob)
        for _ in range(int(rng.integers(1, 4))):
            position = int(rng.integers(0, len(blob)))
            mutated[position] ^= 1 << int(rng.integers(0, 8))
        out.append(bytes(mutated))
    return out


GARBAGE_VALUES = [None, True, -1, 0, 2**31, 2**63, 2**64, -2**63, 10**400, 1e308, 0.5, "", "x" * 300,
                  "float32", [], [2**62, 2**62], [-1], [[]], {}, {"a": 1}, [1, "2"], "\udcff",
                  "ring", "adam", [0, 0, 0, 0], ["1", "2", "3"], [str(2**64)] * 4]


def deep(depth):
    return "[" * depth + "]" * depth


def crafted(blob, rng, count):
    """Files whose header (or data) was changed with intent, checksum recomputed."""
    header, data = split(blob)
    out = []

    def emit(h, d=data, raw=None):
        out.append(build(raw if raw is not None else json.dumps(h).encode(), d))

    # 1. One field of the array table or of meta replaced by garbage.
    paths = [("arrays", i, key) for i in range(len(header["arrays"]))
             for key in ("name", "dtype", "shape", "offset", "nbytes")]
    paths += [("meta", key) for key in header["meta"]]
    paths += [("meta", net, key) for net in ("G", "D") for key in header["meta"]["G"]]
    paths += [("meta", opt, key) for opt in ("d_optimizer", "g_optimizer") for key in header["meta"][opt]]
    if header["meta"]["batch_rng_state"]:
        paths += [("meta", "batch_rng_state", key) for key in header["meta"]["batch_rng_state"]]
    for _ in range(count // 2):
        h = json.loads(json.dumps(header))
        path = paths[int(rng.integers(len(paths)))]
        target = h
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = GARBAGE_VALUES[int(rng.integers(len(GARBAGE_VALUES)))]
        emit(h)
    # 2. Shapes and sizes consistent with each other but not with the network, huge ones.
    for scale in (0, 1, 2, 1000, 2**20, 2**40, 2**61):
        h = json.loads(json.dumps(header))
        entry = h["arrays"][0]
        entry["shape"] = [scale]
        entry["nbytes"] = scale * 4
        emit(h)
        h2 = json.loads(json.dumps(header))
        h2["meta"]["G"]["sizes"] = [2, max(1, scale), 2]
        emit(h2)
    # 3. Raw header text the JSON parser must survive.
    text = json.dumps(header)
    raw_headers = [
        text.replace('"seed": ', '"seed": 1, "seed": ', 1).encode(),       # duplicate key
        text.replace('"version": 1', '"version": NaN', 1).encode(),
        text.replace('"version": 1', '"version": Infinity', 1).encode(),
        text.replace('"version": 1', '"version": 1e999', 1).encode(),
        text.replace('"version": 1', '"version": ' + "9" * 5000, 1).encode(),
        text.encode()[:-1],                                                # unterminated
        text.encode() + b" x",
        b"\xff\xfe" + text.encode(),                                       # not UTF-8
        text.encode("utf-16"),
        b"",
        b"null", b"[]", b'"a string"', b"1",
        ('{"version": 1, "meta": ' + deep(100000) + ', "arrays": []}').encode(),
        ('{"version": 1, "meta": {"kind": "gankit.GAN", "G": ' + deep(900) + '}, "arrays": []}').encode(),
        text.replace('"name": "G.params"', '"name": ' + deep(950), 1).encode(),
        text.replace('"dtype": "float32"', '"dtype": ["float32"]', 1).encode(),
        text.replace('"dtype": "float32"', '"dtype": {"a": 1}', 1).encode(),
        text.replace('"kind": "gankit.GAN"', '"kind": "gankit.GAN", "kind": "x"', 1).encode(),
    ]
    for raw in raw_headers:
        emit(None, raw=raw)
    # 4. Valid headers over crafted array bytes: NaN/Inf parameters, garbage optimizer
    #    state (finite garbage is a valid checkpoint and must load), bool bytes > 1.
    for fill in (np.nan, np.inf, -np.inf, 3e38, 0.0):
        d = bytearray(data)
        params = next(e for e in header["arrays"] if e["name"] == "G.params")
        start = params["offset"]
        d[start:start + params["nbytes"]] = np.full(params["nbytes"] // 4, fill, np.float32).tobytes()
        emit(header, bytes(d))
    for _ in range(count // 4):
        d = bytearray(data)
        for _ in range(int(rng.integers(1, 20))):
            d[int(rng.integers(len(d)))] = int(rng.integers(256))
        emit(header, bytes(d))
    # 5. A newer format version, a foreign magic.
    out.append(build(json.dumps(header).encode(), data, version=2))
    out.append(b"GANKIT\x00\x02" + blob[8:])
    return out


# -- the fuzz ---------------------------------------------------------------------------------
@isolated(timeout=1800)
def test_fuzzed_checkpoints_raise_only_checkpoint_error_quickly_and_without_big_allocations(tmp_path):
    rng = np.random.default_rng(20261125)
    files = []
    for blob in valid_files(tmp_path):
        kinds = {
            "truncated": truncations(blob)[::truncation_stride()],
            "bit-flipped": bit_flips(blob, rng, scaled(600)),
            "crafted": crafted(blob, rng, scaled(800)),
        }
        files += [(kind, f) for kind, group in kinds.items() for f in group]
    path = tmp_path / "fuzzed.gk"
    counts = {"files": 0, "refused": 0, "loaded": 0}
    slowest, biggest = 0.0, 0
    tracemalloc.start()
    for kind, blob in files:
        path.write_bytes(blob)
        tracemalloc.reset_peak()
        start = time.perf_counter()
        try:
            gan = gk.GAN.load(path)
        except gk.CheckpointError:
            counts["refused"] += 1
        except Exception as exc:  # anything else is a bug
            raise AssertionError(f"a {kind} file of {len(blob)} bytes raised {type(exc).__name__}: {exc}; "
                                 f"header starts {blob[20:120]!r}") from exc
        else:
            counts["loaded"] += 1
            check_usable(gan)
        slowest = max(slowest, time.perf_counter() - start)
        biggest = max(biggest, tracemalloc.get_traced_memory()[1] - len(blob))
        counts["files"] += 1
    tracemalloc.stop()
    by_kind = {kind: sum(1 for k, _ in files if k == kind) for kind in ("truncated", "bit-flipped", "crafted")}
    record_count("checkpoint files fuzzed", {**counts, **by_kind, "slowest_load_s": round(slowest, 4),
                                             "peak_allocation_beyond_file_bytes": biggest})
    assert counts["refused"] > 0.9 * counts["files"]
    assert slowest < 5.0, f"a load took {slowest:.2f} s"
    assert biggest < 64 * 2**20, f"a load allocated {biggest / 2**20:.0f} MiB beyond the file"


def truncation_stride() -> int:
    """Every length at full scale; every k-th when GANKIT_RELIABILITY_SCALE < 1."""
    return max(1, int(round(1 / min(1.0, SCALE))))


def check_usable(gan):
    """A file that loads is a GAN: finite parameters of the right shape, and it trains."""
    assert np.all(np.isfinite(gan.G.params)) and np.all(np.isfinite(gan.D.params))
    with np.errstate(all="ignore"):
        gan.d_step(DATA[:4])
        gan.g_step(batch_size=4)
        gan.sample(2)


def test_every_truncation_of_a_trained_gan_is_refused_by_name(tmp_path):
    blob = valid_files(tmp_path)[0]
    path = tmp_path / "t.gk"
    for n in range(0, len(blob), 7):
        path.write_bytes(blob[:n])
        with pytest.raises(gk.CheckpointError, match="truncated|not a gankit file"):
            gk.GAN.load(path)


def test_crafted_architecture_cannot_make_the_loader_allocate(tmp_path):
    """sizes promising a 2**24-wide network but a small params array: refused before any
    network is built (the architecture is compared with the stored array first)."""
    header, data = split(valid_files(tmp_path)[0])
    header["meta"]["G"]["sizes"] = [2, 2**24, 2**24, 2]
    path = tmp_path / "huge.gk"
    path.write_bytes(build(json.dumps(header).encode(), data))
    before = gk._core.allocation_count()
    with pytest.raises(gk.CheckpointError, match="G.params"):
        gk.GAN.load(path)
    assert gk._core.allocation_count() == before


def test_loading_never_unpickles(tmp_path, monkeypatch):
    """A pickle that would run code is refused as not a gankit file, and the loader never
    reaches pickle (or eval/exec) whatever the file says."""
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    evil = tmp_path / "evil.gk"
    evil.write_bytes(pickle.dumps(Exploit()))
    npz = tmp_path / "evil.npz"
    np.savez(npz, a=np.array([Exploit()], dtype=object))

    def forbidden(*args, **kwargs):
        raise AssertionError("the loader tried to unpickle or evaluate")

    for name in ("loads", "load", "Unpickler"):
        monkeypatch.setattr(pickle, name, forbidden)
    import builtins
    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    for path in (evil, npz):
        with pytest.raises(gk.CheckpointError, match="not a gankit file"):
            gk.GAN.load(path)
    gan = trained_gan(gk.Adam())
    gan.save(tmp_path / "ok.gk")
    assert state_of(gk.GAN.load(tmp_path / "ok.gk")) == state_of(gan)
    assert not marker.exists()


def test_the_loader_does_not_import_pickle():
    import gankit.checkpoint
    import gankit.file_format
    for module in (gankit.checkpoint, gankit.file_format):
        source = open(module.__file__).read()
        assert "import pickle" not in source and "eval(" not in source and "exec(" not in source


# -- SIGKILL during save ----------------------------------------------------------------------
def reference_states(count):
    """state_of(gan) after 1..count iterations of the run the killed writer does."""
    gan = trained_gan(gk.Adam(lr=1e-3), seed=7, iterations=0)
    states = {0: None}
    for i in range(1, count + 1):
        gan.fit(DATA, batch_size=16, max_iter=i)
        states[i] = state_of(gan)
    return states


def writer(path, report_fd):
    """The child: one more iteration, save, report the iteration saved; forever.
    A bigger history and more state make each save take longer than the step."""
    gan = trained_gan(gk.Adam(lr=1e-3), seed=7, iterations=0)
    os.write(report_fd, b"ready\n")
    i = 0
    while True:
        i += 1
        gan.fit(DATA, batch_size=16, max_iter=i)
        gan.save(path)
        os.write(report_fd, f"{i}\n".encode())


def kill_a_writer(path, rng):
    """Fork a writer, let it run a random while, SIGKILL it; return the last
    iteration it reported as saved."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            writer(path, write_end)
        finally:
            os._exit(1)
    os.close(write_end)
    reader = os.fdopen(read_end, "rb", buffering=0)
    assert reader.readline() == b"ready\n"
    time.sleep(float(rng.uniform(0.0, 0.03)))
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    reported = [int(line) for line in reader.read().split()]
    reader.close()
    return reported[-1] if reported else 0


@isolated(timeout=1200)
def test_sigkill_during_save_always_leaves_a_loadable_complete_checkpoint(tmp_path):
    rng = np.random.default_rng(7)
    path = tmp_path / "run.gk"
    kills, budget_s = scaled(150, minimum=20), 300.0
    start = time.monotonic()
    survived, seen_in_flight, mid_save = 0, 0, 0
    states = reference_states(200)
    for _ in range(kills):
        if time.monotonic() - start > budget_s:
            break
        before = gk.GAN.load(path).iteration if path.exists() else 0
        reported = kill_a_writer(path, rng)
        if reported == 0 and not path.exists():
            survived += 1
            continue
        gan = gk.GAN.load(path)  # must not raise
        got = gan.iteration
        # The writer restarts from 0 each time; the file holds either the last save it
        # reported, or the one it had finished renaming but not reported, or (killed
        # before its first save) the previous writer's file.
        assert got in (reported, reported + 1) or (reported == 0 and got in (before, 1)), \
            f"loaded iteration {got}, the writer reported {reported}"
        if got > len(states) - 1:
            states.update(reference_states(got + 50))
        assert state_of(gan) == states[got], f"iteration {got} loaded but differs from the state written"
        seen_in_flight += got == reported + 1
        temporaries = [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
        mid_save += bool(temporaries)
        survived += 1
    assert survived >= min(kills, 20)
    # A save by a live process clears what killed writers left behind.
    trained_gan(gk.Adam(lr=1e-3), seed=7, iterations=1).save(path)
    assert [n for n in os.listdir(tmp_path) if n.endswith(".tmp")] == []
    record_count("SIGKILL during save", {"kills_survived": survived, "killed_mid_save": mid_save,
                                         "finished_but_unreported_saves": seen_in_flight})
    assert mid_save > 0, "no kill landed inside a save: the test did not exercise it"


def test_a_live_writers_temporary_file_is_left_alone(tmp_path):
    """Only temporaries of dead processes on this host are removed."""
    from gankit import _atomic
    path = tmp_path / "x.gk"
    live = tmp_path / f".x.gk.{_atomic._HOST}.{os.getppid()}.abc.tmp"
    other_host = tmp_path / ".x.gk.elsewhere.1.abc.tmp"
    unrelated = tmp_path / ".y.gk.whatever.tmp"
    for f in (live, other_host, unrelated):
        f.write_bytes(b"partial")
    trained_gan(gk.Adam()).save(path)
    assert live.exists() and other_host.exists() and unrelated.exists()
