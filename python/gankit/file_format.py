"""The on-disk container of gankit models and checkpoints: JSON metadata plus raw arrays.

Safe: loading parses JSON and copies raw little-endian numbers; nothing is unpickled or
evaluated. Versioned: a file from a newer gankit is refused with a clear message.
Self-checking: a SHA-256 of the whole file catches corruption and truncation, and every
length and offset is checked against the file size before it is used.

Layout (all integers little-endian):

    offset 0   magic            8 bytes  MAGIC
    offset 8   format version   uint32   FORMAT_VERSION
    offset 12  header length    uint64   H
    offset 20  header           H bytes  UTF-8 JSON (ASCII in practice):
               {"version": 1, "meta": {...},
                "arrays": [{"name", "dtype", "shape", "offset", "nbytes"}, ...]}
    then       zero padding up to the next multiple of 64: the data section starts there
    then       each array's raw little-endian C-order bytes at data start + "offset"
               (offsets are multiples of 64, ascending, zero padding between arrays)
    last       32 bytes         SHA-256 of every byte before it

dtype is one of the names in DTYPES; shape is a list of integers ([] for a 0-d array);
nbytes = prod(shape) * itemsize. The file ends right after the last array's bytes and the
digest. Writes are atomic: a reader sees the previous file or the new one, never a mix.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import stat
import struct
from typing import Dict, List, Mapping, Tuple

import numpy as np

from ._atomic import atomic_writer
from ._validation import brief

MAGIC = b"GANKIT\x00\x01"
FORMAT_VERSION = 1
ALIGNMENT = 64
DTYPES = {
    "float32": np.dtype("<f4"), "float64": np.dtype("<f8"),
    "int32": np.dtype("<i4"), "int64": np.dtype("<i8"), "uint64": np.dtype("<u8"),
    "uint8": np.dtype("u1"), "bool": np.dtype("?"),
}
MAX_NDIM = 32

_PREFIX = struct.Struct("<8sIQ")  # magic, format version, header length
_DIGEST_SIZE = hashlib.sha256().digest_size
_ENTRY_KEYS = {"name", "dtype", "shape", "offset", "nbytes"}


class CheckpointError(ValueError):
    """The file is not a readable gankit file: not a gankit file at all, truncated,
    corrupted (checksum), written by a newer gankit (format version), or with a malformed
    header or array table. The message names the path and the problem."""


def _align(n: int) -> int:
    return -(-n // ALIGNMENT) * ALIGNMENT


# -- save -----------------------------------------------------------------------------
def _is_unicode(text: str) -> bool:
    """False for str holding lone surrogates, which JSON cannot round-trip."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_meta(value, where: str, open_containers: set) -> None:
    """Raise TypeError/ValueError (naming the key path) unless `value` is JSON data that
    round-trips exactly: str, int, finite float, bool, None, list/tuple, dict with str keys."""
    if value is None or isinstance(value, (bool, int)):
        return
    if isinstance(value, str):
        if not _is_unicode(value):
            raise ValueError(f"{where}: strings must be valid Unicode (no lone surrogates), got {value!r:.60}")
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}: expected a finite float, got {value} (JSON has no NaN or "
                             f"Inf; store such values in an array)")
        return
    if not isinstance(value, (list, tuple, dict)):
        raise TypeError(f"{where}: expected str, int, float, bool, None, list or dict, "
                        f"got {type(value).__name__} ({value!r:.60})")
    if id(value) in open_containers:
        raise ValueError(f"{where}: the metadata contains a reference cycle")
    open_containers.add(id(value))
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where}: keys must be str, got {key!r} ({type(key).__name__})")
            if not _is_unicode(key):
                raise ValueError(f"{where}: keys must be valid Unicode (no lone surrogates), got {key!r:.60}")
            _check_meta(item, f"{where}[{key!r}]", open_containers)
    else:
        for i, item in enumerate(value):
            _check_meta(item, f"{where}[{i}]", open_containers)
    open_containers.discard(id(value))


def _dtype_name(dtype: np.dtype):
    for name, stored in DTYPES.items():
        if dtype == stored or dtype == stored.newbyteorder(">"):
            return name
    return None


def _layout(arrays) -> Tuple[List[dict], List[np.ndarray]]:
    """The header entries and the little-endian contiguous arrays to write."""
    if not isinstance(arrays, Mapping):
        raise TypeError(f"checkpoint.save: arrays must be a dict of name -> numpy array, "
                        f"got {type(arrays).__name__}")
    entries, blobs, offset = [], [], 0
    for name, array in arrays.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"checkpoint.save: array names must be non-empty str, got {name!r}")
        if not _is_unicode(name):
            raise ValueError(f"checkpoint.save: array names must be valid Unicode (no lone "
                             f"surrogates), got {name!r:.60}")
        if not isinstance(array, np.ndarray):
            raise TypeError(f"checkpoint.save: arrays[{name!r}] must be a numpy array, "
                            f"got {type(array).__name__}")
        dtype = _dtype_name(array.dtype)
        if dtype is None:
            raise TypeError(f"checkpoint.save: arrays[{name!r}] has dtype {array.dtype}; expected "
                            f"one of {', '.join(DTYPES)}")
        blob = np.ascontiguousarray(array, dtype=DTYPES[dtype])
        entries.append({"name": name, "dtype": dtype, "shape": list(array.shape),
                        "offset": offset, "nbytes": blob.nbytes})
        blobs.append(blob)
        offset = _align(offset + blob.nbytes)
    return entries, blobs


def save(path, meta: dict, arrays: Dict[str, np.ndarray]) -> None:
    """Write `meta` and `arrays` to `path` in the gankit container format, atomically.

    meta: a dict of JSON data (str, int, finite float, bool, None, list, dict with str
    keys; tuples are stored as lists; strings must be valid Unicode). NaN or Inf cannot be
    stored in meta (JSON has none): keep such values in arrays.
    arrays: name (non-empty str) -> numpy array of dtype float32, float64, int32, int64,
    uint64, uint8 or bool (any shape, including 0-d and empty; big-endian or
    non-contiguous arrays are converted).

    The file is written to a temporary file in the target's directory, fsynced and
    renamed over `path`; on any error the temporary file is removed and a previous file
    at `path` is left untouched. A new file gets the usual 0o666 & ~umask permissions,
    a replaced file keeps its mode.

    Raises TypeError or ValueError (before touching the disk) for metadata or arrays
    that cannot be stored, naming the key or array; FileNotFoundError if the directory
    of `path` does not exist (it is not created); OSError for I/O failures.
    """
    path = os.fspath(path)
    if not isinstance(meta, dict):
        raise TypeError(f"checkpoint.save: meta must be a dict, got {type(meta).__name__}")
    _check_meta(meta, "checkpoint.save: meta", set())
    entries, blobs = _layout(arrays)
    header = json.dumps({"version": FORMAT_VERSION, "meta": meta, "arrays": entries},
                        ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")

    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"checkpoint.save: cannot write {path!r}: directory "
                                f"{directory!r} does not exist")
    with atomic_writer(path) as f:
        digest = hashlib.sha256()

        def write(data) -> None:
            f.write(data)
            digest.update(data)

        write(_PREFIX.pack(MAGIC, FORMAT_VERSION, len(header)))
        write(header)
        write(bytes(_align(_PREFIX.size + len(header)) - _PREFIX.size - len(header)))
        position = 0
        for entry, blob in zip(entries, blobs):
            write(bytes(entry["offset"] - position))
            write(blob.reshape(-1).view(np.uint8).data)
            position = entry["offset"] + entry["nbytes"]
        f.write(digest.digest())


# -- load -----------------------------------------------------------------------------
def _unique_keys(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {brief(key)}")
        result[key] = value
    return result


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"non-finite number {text}")
    return value


def _reject_constant(name: str):
    raise ValueError(f"non-finite constant {name}")


def _parse_header(raw: bytes, fail) -> dict:
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique_keys,
                            parse_float=_finite_float, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError too
        fail(f"malformed header: {exc}")
    if not isinstance(header, dict) or set(header) != {"version", "meta", "arrays"}:
        keys = sorted(header) if isinstance(header, dict) else type(header).__name__
        fail(f"malformed header: expected the keys ['arrays', 'meta', 'version'], got {keys}")
    if not _is_int(header["version"]) or header["version"] != FORMAT_VERSION:
        fail(f"malformed header: its version {brief(header['version'])} differs from the "
             f"file's format version {FORMAT_VERSION}")
    if not isinstance(header["meta"], dict):
        fail(f"malformed header: meta must be an object, got {type(header['meta']).__name__}")
    if not isinstance(header["arrays"], list):
        fail(f"malformed header: arrays must be a list, got {type(header['arrays']).__name__}")
    return header


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_entries(entries: list, fail) -> int:
    """Check the array table; return the length of the data section it describes."""
    names, end = set(), 0
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or set(entry) != _ENTRY_KEYS:
            fail(f"malformed array table: entry {i} must have the keys {sorted(_ENTRY_KEYS)}, got {brief(entry)}")
        name, dtype, shape, offset, nbytes = (entry[k] for k in ("name", "dtype", "shape", "offset", "nbytes"))
        label = f"array {i} ({brief(name)})"
        if not isinstance(name, str) or not name or name in names:
            fail(f"malformed array table: {label}: names must be distinct non-empty strings")
        names.add(name)
        if not isinstance(dtype, str) or dtype not in DTYPES:
            fail(f"malformed array table: {label}: dtype must be one of {', '.join(DTYPES)}, got {brief(dtype)}")
        if (not isinstance(shape, list) or len(shape) > MAX_NDIM
                or not all(_is_int(d) and d >= 0 for d in shape)):
            fail(f"malformed array table: {label}: shape must be a list of at most {MAX_NDIM} "
                 f"integers >= 0, got {brief(shape)}")
        if not _is_int(offset) or offset < end or offset % ALIGNMENT:
            fail(f"malformed array table: {label}: offset must be a multiple of {ALIGNMENT} at or "
                 f"after the previous array's end {end}, got {brief(offset)}")
        expected = math.prod(shape) * DTYPES[dtype].itemsize
        if not _is_int(nbytes) or nbytes != expected:
            fail(f"malformed array table: {label}: nbytes must be {expected} for shape {shape} "
                 f"and dtype {dtype}, got {brief(nbytes)}")
        end = offset + nbytes
    return end


def _array(data: bytes, start: int, entry: dict, fail) -> np.ndarray:
    """An owned, writable, native-endian copy of one stored array."""
    stored = DTYPES[entry["dtype"]]
    count = math.prod(entry["shape"])
    if count == 0:
        return np.empty(entry["shape"], dtype=stored.newbyteorder("="))
    if entry["dtype"] == "bool" and np.frombuffer(data, np.uint8, count, start).max() > 1:
        fail(f"array {entry['name']!r}: bool values must be bytes 0 or 1")
    values = np.frombuffer(data, stored, count, start).reshape(entry["shape"])
    return values.astype(stored.newbyteorder("="), copy=True)


def _read_file(path, fail) -> bytes:
    """The file's bytes, or only its first bytes when they are not the magic (so a large
    foreign file is not read whole). A FIFO or device is refused without reading from
    it: opening does not block (O_NONBLOCK) and only regular files are read."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = "a directory" if stat.S_ISDIR(mode) else "a pipe, socket or device"
            fail(f"not a regular file ({kind})")
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with f:
        head = f.read(len(MAGIC))
        return head + f.read() if head == MAGIC else head


def load(path) -> Tuple[dict, Dict[str, np.ndarray]]:
    """Read a file written by save: returns (meta, arrays), meta as the dict that was
    saved (tuples come back as lists) and arrays as name -> independent, writable,
    native-endian numpy arrays with the saved dtypes and shapes, in the saved order.

    Every check happens before an array is built: magic, format version, the header
    length against the file size, the JSON header, each array's dtype/shape/offset/nbytes
    against the file size, then the SHA-256. Raises FileNotFoundError if `path` does not
    exist (other OSErrors if it cannot be read), and CheckpointError for any content that
    is not a valid gankit file of a format this version reads, and for a path that is
    not a regular file (a directory, FIFO or device is never read from).
    """
    path = os.fspath(path)

    def fail(problem: str):
        raise CheckpointError(f"{path}: {problem}")

    data = _read_file(path, fail)

    size = len(data)
    if data[:len(MAGIC)] != MAGIC:
        if size < len(MAGIC) and MAGIC.startswith(data):
            fail(f"truncated: only {size} bytes")
        fail(f"not a gankit file (it does not start with the gankit magic bytes {MAGIC!r})")
    if size < _PREFIX.size + _DIGEST_SIZE:
        fail(f"truncated: only {size} bytes, less than the smallest gankit file "
             f"({_PREFIX.size + _DIGEST_SIZE} bytes)")
    _, version, header_length = _PREFIX.unpack_from(data)
    if version > FORMAT_VERSION:
        fail(f"written in format version {version} by a newer gankit; this gankit reads format "
             f"version {FORMAT_VERSION} (upgrade gankit to read it)")
    if version != FORMAT_VERSION:
        fail(f"unsupported format version {version}; this gankit reads format version {FORMAT_VERSION}")
    if header_length > size - _PREFIX.size - _DIGEST_SIZE:
        fail(f"truncated or corrupted: the header length {header_length} does not fit in "
             f"the {size}-byte file")

    header = _parse_header(data[_PREFIX.size:_PREFIX.size + header_length], fail)
    data_start = _align(_PREFIX.size + header_length)
    expected_size = data_start + _check_entries(header["arrays"], fail) + _DIGEST_SIZE
    if size < expected_size:
        fail(f"truncated: the header describes {expected_size} bytes, the file has {size}")
    if size > expected_size:
        fail(f"corrupted: {size - expected_size} unexpected bytes after the {expected_size} "
             f"bytes the header describes")
    if hashlib.sha256(memoryview(data)[:-_DIGEST_SIZE]).digest() != data[-_DIGEST_SIZE:]:
        fail("corrupted: the SHA-256 checksum does not match the contents")

    arrays = {entry["name"]: _array(data, data_start + entry["offset"], entry, fail)
              for entry in header["arrays"]}
    return header["meta"], arrays
