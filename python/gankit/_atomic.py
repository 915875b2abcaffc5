"""Atomic file replacement: a reader sees the old file or the new one, never a mix,
and a process killed mid-write leaves the old file intact."""
from __future__ import annotations

import contextlib
import os
import stat
import tempfile


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()  # read once: os.umask can only be read by setting it


@contextlib.contextmanager
def atomic_writer(path):
    """Yield a binary file; on a clean exit it is flushed, fsynced and renamed over
    `path`, then the directory is fsynced so the rename itself is durable. On any error
    the temporary file is removed and a previous file at `path` is untouched.

    A new file gets the usual 0o666 & ~umask permissions (not mkstemp's 0600); a
    replaced file keeps its mode. FileNotFoundError if the directory does not exist."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot write {path!r}: directory {directory!r} does not exist")
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mode = 0o666 & ~_UMASK
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            if hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(directory)


def atomic_write_bytes(path, data: bytes) -> None:
    """Write `data` to `path` atomically (see atomic_writer)."""
    with atomic_writer(path) as f:
        f.write(data)


def _fsync_directory(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # not supported here (Windows, some network filesystems)
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
