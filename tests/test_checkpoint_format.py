"""The checkpoint container: round trips, the documented layout, and that every damaged,
foreign or crafted file raises CheckpointError (never another exception), while saves
are atomic."""
import hashlib
import io
import json
import math
import os
import pickle
import stat
import struct
import zipfile

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

from gankit import file_format
from gankit.file_format import CheckpointError

DTYPES = ["float32", "float64", "int32", "int64", "uint64", "uint8", "bool"]
MAGIC = b"GANKIT\x00\x01"


def example_arrays():
    rng = np.random.default_rng(0)
    return {
        "weights": rng.standard_normal((3, 5)).astype(np.float32),
        "float64": np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 1e-308, np.pi]),
        "int32": np.array([-2**31, 0, 2**31 - 1], dtype=np.int32),
        "int64": np.array([[-2**63, 2**63 - 1]], dtype=np.int64),
        "uint64": np.array([0, 2**64 - 1], dtype=np.uint64),
        "uint8": np.arange(256, dtype=np.uint8).reshape(16, 16),
        "bool": np.array([True, False, True]),
        "scalar": np.array(7, dtype=np.int64),
        "scalar_f": np.array(2.5, dtype=np.float32),
        "empty": np.zeros((0,), dtype=np.float32),
        "empty_2d": np.zeros((3, 0, 2), dtype=np.uint64),
    }


EXAMPLE_META = {"kind": "test", "n": 3, "big": 2**70, "neg": -1, "x": 0.1, "tiny": 5e-324,
                "flag": True, "none": None, "text": "héllo \u2603 \U0001F600 \"quoted\"\n", "é\u2603": "unicode key",
                "nested": {"list": [1, 2.5, [None, False]], "empty": {}}, "order": [3, 1, 2]}


@pytest.fixture
def small_file(tmp_path):
    path = tmp_path / "small.gk"
    file_format.save(path, {"kind": "t", "v": [1, 2.5]},
                    {"a": np.arange(5, dtype=np.float32), "b": np.array([True, False]),
                     "c": np.array(3, dtype=np.int64)})
    return path


def split(blob):
    """An independent reader of the documented layout: (version, header dict, data section)."""
    assert blob[:8] == MAGIC
    version, header_length = struct.unpack_from("<IQ", blob, 8)
    header = json.loads(blob[20:20 + header_length])
    data_start = -(-(20 + header_length) // 64) * 64
    assert blob[-32:] == hashlib.sha256(blob[:-32]).digest()
    return version, header, blob[data_start:-32]


def build(header, data=b"", version=1, magic=MAGIC, header_bytes=None):
    """A file in the documented layout with a correct checksum (a 'crafted' file)."""
    raw = json.dumps(header).encode() if header_bytes is None else header_bytes
    body = magic + struct.pack("<IQ", version, len(raw)) + raw
    body += bytes(-len(body) % 64) + data
    return body + hashlib.sha256(body).digest()


def load_bytes(tmp_path, blob, name="crafted.gk"):
    path = tmp_path / name
    path.write_bytes(blob)
    return file_format.load(path)


# -- round trips ----------------------------------------------------------------------
def test_round_trip_of_every_dtype_and_shape(tmp_path):
    arrays = example_arrays()
    file_format.save(tmp_path / "m.gk", EXAMPLE_META, arrays)
    meta, loaded = file_format.load(tmp_path / "m.gk")
    assert meta == EXAMPLE_META and list(meta) == list(EXAMPLE_META)
    assert math.copysign(1.0, meta["x"]) == 1.0 and meta["tiny"] == 5e-324
    assert list(loaded) == list(arrays)
    for name, array in arrays.items():
        got = loaded[name]
        assert got.dtype == array.dtype and got.shape == array.shape, name
        np.testing.assert_array_equal(got, array)
        assert got.tobytes() == array.tobytes(), name       # bit-exact, NaN and -0.0 included
        assert got.flags.owndata and got.flags.writeable and got.flags.c_contiguous, name


def test_round_trip_without_arrays_and_with_empty_meta(tmp_path):
    file_format.save(tmp_path / "m.gk", {}, {})
    assert file_format.load(tmp_path / "m.gk") == ({}, {})


def test_non_contiguous_big_endian_arrays_and_tuples_are_converted(tmp_path):
    base = np.arange(24, dtype=np.float64).reshape(4, 6)
    arrays = {"t": base.T, "strided": base[::2, ::3], "be": np.arange(5, dtype=">i8"),
              "be_f": np.array([1.5, -2.0], dtype=">f4")}
    file_format.save(str(tmp_path / "m.gk"), {"sizes": (2, 8, 1)}, arrays)
    meta, loaded = file_format.load(str(tmp_path / "m.gk"))
    assert meta == {"sizes": [2, 8, 1]}
    for name, array in arrays.items():
        np.testing.assert_array_equal(loaded[name], array)
        assert loaded[name].dtype.isnative and loaded[name].dtype == array.dtype.newbyteorder("=")


def test_loaded_arrays_are_independent(small_file):
    _, first = file_format.load(small_file)
    first["a"][:] = -1
    _, second = file_format.load(small_file)
    np.testing.assert_array_equal(second["a"], np.arange(5, dtype=np.float32))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20)
arrays_strategy = st.dictionaries(
    st.text(min_size=1, max_size=10),
    st.sampled_from(DTYPES).flatmap(lambda dt: hnp.arrays(np.dtype(dt), hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5))),
    max_size=4)


@given(meta=st.dictionaries(st.text(max_size=10), json_values, max_size=5), arrays=arrays_strategy)
def test_round_trip_property(tmp_path_factory, meta, arrays):
    path = tmp_path_factory.mktemp("rt") / "m.gk"
    file_format.save(path, meta, arrays)
    got_meta, got = file_format.load(path)
    assert got_meta == meta
    assert list(got) == list(arrays)
    for name, array in arrays.items():
        assert got[name].dtype == array.dtype and got[name].shape == array.shape
        assert got[name].tobytes() == array.tobytes()


# -- the documented layout ------------------------------------------------------------
def test_layout_matches_the_documentation(tmp_path):
    arrays = example_arrays()
    file_format.save(tmp_path / "m.gk", {"k": 1}, arrays)
    blob = (tmp_path / "m.gk").read_bytes()
    version, header, data = split(blob)
    assert version == file_format.FORMAT_VERSION == 1 and header["version"] == 1
    assert header["meta"] == {"k": 1}
    header_length = struct.unpack_from("<Q", blob, 12)[0]
    data_start = len(blob) - 32 - len(data)
    assert data_start % 64 == 0 and 0 <= data_start - (20 + header_length) < 64
    assert blob[20 + header_length:data_start] == bytes(data_start - 20 - header_length)
    end = 0
    for entry, (name, array) in zip(header["arrays"], arrays.items()):
        assert entry["name"] == name and entry["dtype"] == array.dtype.name
        assert entry["shape"] == list(array.shape) and entry["nbytes"] == array.nbytes
        assert entry["offset"] % 64 == 0 and entry["offset"] >= end
        assert data[end:entry["offset"]] == bytes(entry["offset"] - end)     # zero padding
        raw = data[entry["offset"]:entry["offset"] + entry["nbytes"]]
        assert raw == array.astype(array.dtype.newbyteorder("<")).tobytes()
        end = entry["offset"] + entry["nbytes"]
    assert end == len(data)


# -- damaged files --------------------------------------------------------------------
def test_every_truncation_is_detected(small_file, tmp_path):
    blob = small_file.read_bytes()
    assert len(blob) < 1000
    for size in range(len(blob)):
        with pytest.raises(CheckpointError, match="crafted.gk"):
            load_bytes(tmp_path, blob[:size])


def test_trailing_bytes_are_detected(small_file, tmp_path):
    blob = small_file.read_bytes()
    for extra in (b"\x00", b"x" * 64, blob):
        with pytest.raises(CheckpointError, match="unexpected bytes"):
            load_bytes(tmp_path, blob + extra)


@given(data=st.data())
def test_any_bit_flip_is_detected(tmp_path_factory, data):
    directory = tmp_path_factory.mktemp("flip")
    path = directory / "m.gk"
    file_format.save(path, {"kind": "t", "lr": 0.001, "sizes": [2, 16, 1]},
                    {"w": np.linspace(-1, 1, 7, dtype=np.float32), "ok": np.array([True, False])})
    blob = bytearray(path.read_bytes())
    flips = data.draw(st.lists(st.tuples(st.integers(0, len(blob) - 1), st.integers(0, 7)),
                               min_size=1, max_size=3, unique_by=lambda f: f[0]))
    for position, bit in flips:
        blob[position] ^= 1 << bit
    with pytest.raises(CheckpointError):
        load_bytes(directory, bytes(blob))


def test_corrupted_array_bytes_fail_the_checksum(small_file, tmp_path):
    blob = bytearray(small_file.read_bytes())
    blob[-40] ^= 0xFF        # inside the data section, before the digest
    with pytest.raises(CheckpointError, match="checksum"):
        load_bytes(tmp_path, bytes(blob))


# -- foreign files --------------------------------------------------------------------
def npz_bytes():
    buffer = io.BytesIO()
    np.savez(buffer, a=np.arange(3))
    return buffer.getvalue()


def zip_bytes():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("meta.json", "{}")
    return buffer.getvalue()


@pytest.mark.parametrize("blob", [
    b"", b"G", b"GANKIT", b"\x00" * 100, b"GANKIT\x00\x02" + bytes(100), b"{\"meta\": {}}",
    npz_bytes(), zip_bytes(), pickle.dumps({"meta": {}, "arrays": {}}), pickle.dumps(np.arange(3)),
], ids=["empty", "1-byte", "magic-prefix", "zeros", "other-magic", "json", "npz", "zip", "pickle", "pickled-array"])
def test_foreign_files_are_refused(tmp_path, blob):
    with pytest.raises(CheckpointError) as info:
        load_bytes(tmp_path, blob)
    assert "crafted.gk" in str(info.value)
    assert "not a gankit file" in str(info.value) or "truncated" in str(info.value)


def test_npz_saved_under_a_gankit_name_is_refused(tmp_path):
    np.savez(tmp_path / "model.npz", w=np.arange(3))
    with pytest.raises(CheckpointError, match="not a gankit file"):
        file_format.load(tmp_path / "model.npz")


def test_a_newer_format_version_is_refused_with_both_versions(tmp_path):
    header = {"version": 2, "meta": {}, "arrays": []}
    with pytest.raises(CheckpointError, match=r"format version 2 .*this gankit reads format version 1"):
        load_bytes(tmp_path, build(header, version=2))
    with pytest.raises(CheckpointError, match="unsupported format version 0"):
        load_bytes(tmp_path, build(header, version=0))


@pytest.mark.parametrize("length", [2**64 - 1, 2**63, 10**9])
def test_a_header_length_beyond_the_file_is_refused_without_allocating(tmp_path, small_file, length):
    blob = bytearray(small_file.read_bytes())
    blob[12:20] = struct.pack("<Q", length)
    with pytest.raises(CheckpointError, match=f"header length {length} does not fit"):
        load_bytes(tmp_path, bytes(blob))


def test_a_header_length_ending_inside_the_digest_is_refused(tmp_path):
    blob = build({"version": 1, "meta": {}, "arrays": []})
    forged = blob[:12] + struct.pack("<Q", len(blob) - 20 - 31) + blob[20:]
    with pytest.raises(CheckpointError, match="does not fit"):
        load_bytes(tmp_path, forged)


# -- crafted files: correct checksum, inconsistent contents ---------------------------
def valid_parts():
    entries = [{"name": "a", "dtype": "float32", "shape": [2, 2], "offset": 0, "nbytes": 16},
               {"name": "b", "dtype": "bool", "shape": [3], "offset": 64, "nbytes": 3}]
    data = np.arange(4, dtype="<f4").tobytes() + bytes(48) + b"\x01\x00\x01"
    return {"version": 1, "meta": {"k": 1}, "arrays": entries}, data


def test_the_crafted_baseline_loads(tmp_path):
    header, data = valid_parts()
    meta, arrays = load_bytes(tmp_path, build(header, data))
    assert meta == {"k": 1}
    np.testing.assert_array_equal(arrays["a"], [[0, 1], [2, 3]])
    np.testing.assert_array_equal(arrays["b"], [True, False, True])


def entry_change(index, **changes):
    def mutate(header, data):
        header["arrays"][index].update(changes)
        return header, data
    return mutate


def header_change(**changes):
    def mutate(header, data):
        header.update(changes)
        return header, data
    return mutate


CRAFTED = {
    "offset past the end": (entry_change(1, offset=1 << 40), "truncated"),
    "negative offset": (entry_change(0, offset=-64), "offset must be"),
    "unaligned offset": (entry_change(1, offset=63), "offset must be a multiple of 64"),
    "overlapping arrays": (entry_change(1, offset=0), "offset must be"),
    "float offset": (entry_change(0, offset=0.0), "offset must be"),
    "nbytes too small": (entry_change(0, nbytes=12), "nbytes must be 16"),
    "huge shape": (entry_change(0, shape=[2**62, 2**62]), "nbytes must be"),
    "huge shape and nbytes": (entry_change(1, shape=[2**40], nbytes=2**40), "truncated"),
    "negative dim": (entry_change(0, shape=[-2, -2]), "shape must be"),
    "bool dim": (entry_change(0, shape=[True, 4]), "shape must be"),
    "too many dims": (entry_change(0, shape=[1] * 33), "shape must be"),
    "shape not a list": (entry_change(0, shape="2x2"), "shape must be"),
    "object dtype": (entry_change(0, dtype="object"), "dtype must be one of"),
    "numpy dtype string": (entry_change(0, dtype="<f4"), "dtype must be one of"),
    "duplicate names": (entry_change(1, name="a"), "names must be distinct"),
    "empty name": (entry_change(0, name=""), "names must be distinct non-empty"),
    "name not a string": (entry_change(0, name=5), "names must be"),
    "missing key": (lambda h, d: (h["arrays"][0].pop("nbytes"), (h, d))[1], "must have the keys"),
    "extra key": (entry_change(0, pickle="cos\nsystem"), "must have the keys"),
    "entry not an object": (lambda h, d: (h["arrays"].__setitem__(0, [1, 2]), (h, d))[1], "entry 0"),
    "bool byte 2": (lambda h, d: (h, d[:-1] + b"\x02"), "bool values must be bytes 0 or 1"),
    "header version differs": (header_change(version=2), "differs from the file's format version"),
    "header version true": (header_change(version=True), "differs"),
    "meta not an object": (header_change(meta=[1, 2]), "meta must be an object"),
    "arrays not a list": (header_change(arrays={"a": 1}), "arrays must be a list"),
    "extra header key": (header_change(code="import os"), "expected the keys"),
    "header is a list": (lambda h, d: ([h], d), "expected the keys"),
}


@pytest.mark.parametrize("name", list(CRAFTED))
def test_crafted_inconsistent_files_are_refused(tmp_path, name):
    mutate, message = CRAFTED[name]
    header, data = mutate(*valid_parts())
    with pytest.raises(CheckpointError, match=message):
        load_bytes(tmp_path, build(header, data))


@pytest.mark.parametrize("raw, message", [
    (b'{"version": 1, "meta": {"x": NaN}, "arrays": []}', "non-finite constant NaN"),
    (b'{"version": 1, "meta": {"x": -Infinity}, "arrays": []}', "non-finite constant"),
    (b'{"version": 1, "meta": {"x": 1e999}, "arrays": []}', "non-finite number"),
    (b'{"version": 1, "meta": {"x": 1, "x": 2}, "arrays": []}', "duplicate key 'x'"),
    (b'{"version": 1, "meta": {}, "arrays": []', "malformed header"),
    (b'\xff\xfe{}', "malformed header"),
    (b'[' * 100_000 + b']' * 100_000, "malformed header"),
    (b"", "malformed header"),
])
def test_malformed_json_headers_are_refused(tmp_path, raw, message):
    with pytest.raises(CheckpointError, match=message):
        load_bytes(tmp_path, build(None, header_bytes=raw))


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        file_format.load(tmp_path / "absent.gk")


# -- save: refused contents -----------------------------------------------------------
def cyclic_meta():
    inner = []
    inner.append(inner)
    return {"loop": inner}


@pytest.mark.parametrize("meta, arrays, error, message", [
    ([1, 2], {}, TypeError, "meta must be a dict, got list"),
    ({"x": {1, 2}}, {}, TypeError, r"meta\['x'\]: expected str, int, float, bool, None, list or dict, got set"),
    ({"x": [1, np.int64(3)]}, {}, TypeError, r"meta\['x'\]\[1\]: .*got int64"),
    ({"x": {"y": float("nan")}}, {}, ValueError, r"meta\['x'\]\['y'\]: expected a finite float, got nan .*store such values in an array"),
    ({"x": float("-inf")}, {}, ValueError, r"meta\['x'\]: expected a finite float, got -inf"),
    ({"x": {3: "a"}}, {}, TypeError, r"meta\['x'\]: keys must be str, got 3"),
    ({"x": b"bytes"}, {}, TypeError, "got bytes"),
    ({"x": ["ok", "\ud800"]}, {}, ValueError, r"meta\['x'\]\[1\]: strings must be valid Unicode"),
    ({"\udfff": 1}, {}, ValueError, "keys must be valid Unicode"),
    ({"x": np.zeros(2)}, {}, TypeError, "got ndarray"),
    (cyclic_meta(), {}, ValueError, "reference cycle"),
    ({}, [np.zeros(2)], TypeError, "arrays must be a dict"),
    ({}, {"a": [1.0, 2.0]}, TypeError, r"arrays\['a'\] must be a numpy array, got list"),
    ({}, {"a": np.array([object()])}, TypeError, r"arrays\['a'\] has dtype object; expected one of float32"),
    ({}, {"a": np.zeros(2, np.float16)}, TypeError, r"arrays\['a'\] has dtype float16"),
    ({}, {"a": np.zeros(2, np.complex64)}, TypeError, "has dtype complex64"),
    ({}, {"a": np.array(["s"])}, TypeError, "has dtype <U1"),
    ({}, {3: np.zeros(2)}, TypeError, "array names must be non-empty str, got 3"),
    ({}, {"": np.zeros(2)}, TypeError, "array names must be non-empty str, got ''"),
    ({}, {"\ud800": np.zeros(2)}, ValueError, "array names must be valid Unicode"),
])
def test_save_refuses_what_it_cannot_store_before_touching_the_disk(tmp_path, meta, arrays, error, message):
    with pytest.raises(error, match=message):
        file_format.save(tmp_path / "m.gk", meta, arrays)
    assert os.listdir(tmp_path) == []


def test_save_into_a_missing_directory_is_a_clear_error(tmp_path):
    target = tmp_path / "no" / "such" / "dir" / "m.gk"
    with pytest.raises(FileNotFoundError, match="directory .*dir' does not exist"):
        file_format.save(target, {}, {})
    assert not (tmp_path / "no").exists()


# -- save: atomicity and permissions --------------------------------------------------
@pytest.mark.parametrize("failing", ["replace", "fsync"])
@pytest.mark.parametrize("existing", [True, False])
def test_a_failed_save_leaves_the_previous_file_and_no_temporary(tmp_path, monkeypatch, failing, existing):
    path = tmp_path / "m.gk"
    if existing:
        file_format.save(path, {"generation": 1}, {"w": np.zeros(3, np.float32)})
    before = path.read_bytes() if existing else None

    def boom(*args, **kwargs):
        raise OSError(f"simulated {failing} failure")

    monkeypatch.setattr(os, failing, boom)
    with pytest.raises(OSError, match=f"simulated {failing} failure"):
        file_format.save(path, {"generation": 2}, {"w": np.ones(1000, np.float32)})
    monkeypatch.undo()
    assert os.listdir(tmp_path) == (["m.gk"] if existing else [])
    if existing:
        assert path.read_bytes() == before
        assert file_format.load(path)[0] == {"generation": 1}


def test_an_interrupted_save_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "m.gk"
    file_format.save(path, {"generation": 1}, {})
    def interrupt(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupt)
    with pytest.raises(KeyboardInterrupt):
        file_format.save(path, {"generation": 2}, {})
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["m.gk"] and file_format.load(path)[0] == {"generation": 1}


def test_save_overwrites_and_leaves_only_the_target(tmp_path):
    path = tmp_path / "m.gk"
    for generation in range(3):
        file_format.save(path, {"generation": generation}, {"w": np.full(generation + 1, generation)})
    assert os.listdir(tmp_path) == ["m.gk"]
    meta, arrays = file_format.load(path)
    assert meta == {"generation": 2} and arrays["w"].tolist() == [2, 2, 2]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_permissions_follow_the_umask_or_the_replaced_file(tmp_path):
    path = tmp_path / "m.gk"
    file_format.save(path, {}, {})
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~umask
    os.chmod(path, 0o600)
    file_format.save(path, {"again": True}, {})
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
