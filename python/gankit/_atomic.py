"""Atomic file replacement: a reader sees the old file or the new one, never a mix,
and a process killed mid-write leaves the old file intact."""
from __future__ import annotations

import contextlib
import os
import socket
import stat
import tempfile


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()  # read once: os.umask can only be read by setting it
# Temporary files are named .NAME.HOST.PID.RANDOM.tmp, so a later save can tell the
# leftovers of a writer that was killed (on this host, pid no longer running) from the
# file of one still writing, and remove only the former.
_HOST = socket.gethostname().replace(os.sep, "_") or "localhost"


@contextlib.contextmanager
def atomic_writer(path):
    """Yield a binary file; on a clean exit it is flushed, fsynced and renamed over
    `path`, then the directory is fsynced so the rename itself is durable. On any error
    the temporary file is removed and a previous file at `path` is untouched.

    A new file gets the usual 0o666 & ~umask permissions (not mkstemp's 0600); a
    replaced file keeps its mode. FileNotFoundError if the directory does not exist.
    After the rename, temporary files left by writers of `path` that were killed are
    removed (see _remove_stale_temporaries)."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot write {path!r}: directory {directory!r} does not exist")
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mode = 0o666 & ~_UMASK
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path) + f"{os.getpid()}.", suffix=".tmp",
                               dir=directory)
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
    _remove_stale_temporaries(path)


def _temp_prefix(path: str) -> str:
    return f".{os.path.basename(path)}.{_HOST}."


def _remove_stale_temporaries(path: str) -> None:
    """Delete the temporary files of earlier writes to `path` whose writer was killed
    mid-write (SIGKILL, power loss): same host, process gone. Another live writer's
    file, or one from another host, is left alone."""
    if os.name != "posix":  # os.kill(pid, 0) probes a process only on POSIX
        return
    directory, prefix = os.path.dirname(os.path.abspath(path)), _temp_prefix(path)
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        pid_text = name[len(prefix):].split(".", 1)[0]
        if pid_text.isdigit() and not _process_exists(int(pid_text)):
            try:
                os.unlink(os.path.join(directory, name))
            except OSError:
                pass


def _process_exists(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, as another user's
        return True
    return True


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
