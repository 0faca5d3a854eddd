"""Atomic file writes: a reader, or a rerun after a kill or a full disk, sees the old file or the new one,
never part of one.

Every file the pipeline writes goes through here. The new content goes to a temporary file in the target's
folder (same file system, so the rename is atomic), is flushed and fsync'ed, replaces the target with
``os.replace``, and the folder is fsync'ed so that the rename itself survives a crash. On any error the
temporary file is removed and the old file is left as it was.

- ``write_bytes`` / ``write_text``: content already in memory (JSON, YAML, CSV text, a serialised checkpoint,
  a rendered figure). The error message then says exactly how much space was needed.
- ``replacing(path)``: a context manager yielding a temporary path, for writers that insist on a path; the
  temporary name keeps the target's suffix, as matplotlib and pandas read the format from it.

A failed write raises ``WriteError`` (an ``OSError``), whose message is one line naming the target;
``NoSpaceError`` when the disk or the quota is full (ENOSPC, EDQUOT), saying how much was needed and how
much is free, e.g. ``no space left on results/train/model.pt: needed about 12.3 MB, 0.4 MB free``. The stage
scripts print it as ``<stage>: error: <message>`` and exit 1.

Torch-free, so the report stages can use it without importing torch.
"""
import contextlib
import errno
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

FULL = (errno.ENOSPC, errno.EDQUOT)


class WriteError(OSError):
    """A file could not be written; the old file, if any, is intact. ``str()`` is one line."""

    def __init__(self, message: str, *, code: int | None = None, path: Path | None = None):
        super().__init__(message)
        self.errno, self.filename = code, None if path is None else str(path)

    def __str__(self) -> str:
        return self.args[0]


class NoSpaceError(WriteError):
    """The disk (or the user's quota) had no room for the file."""


def size_text(size: float) -> str:
    """12_300_000 -> '12.3 MB' (decimal units, as df -H and file managers show them)."""
    if abs(size) < 1000:
        return f'{size:.0f} B'
    for unit in ('kB', 'MB'):
        size /= 1000
        if abs(size) < 1000:
            return f'{size:.1f} {unit}'
    return f'{size / 1000:.1f} GB'


def free_bytes(folder: Path) -> int | None:
    """Bytes an unprivileged writer may still use in ``folder``'s file system (None: cannot tell)."""
    try:
        stats = os.statvfs(folder)
    except OSError:
        return None
    return stats.f_bavail * stats.f_frsize


def _full_cause(error: BaseException) -> OSError | None:
    """The ENOSPC/EDQUOT error in ``error``'s chain (writers such as torch.save wrap it), if any."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in FULL:
            return error
        error = error.__cause__ or error.__context__
    return None


def _as_write_error(error: BaseException, path: Path, *, needed: int | None, written: int) -> BaseException:
    """The one-line error to raise instead of ``error`` (returned unchanged when it is not about the disk)."""
    if isinstance(error, WriteError):
        return error
    full = _full_cause(error)
    if full is not None:
        free = free_bytes(path.parent)
        amount = f'about {size_text(needed)}' if needed is not None else f'more than {size_text(written)}'
        room = 'free space unknown' if free is None else f'{size_text(free)} free'
        what = 'disk quota exceeded writing' if full.errno == errno.EDQUOT else 'no space left on'
        return NoSpaceError(f'{what} {path}: needed {amount}, {room}', code=full.errno, path=path)
    if isinstance(error, OSError) and error.errno is not None:
        reason = error.strerror or os.strerror(error.errno)
        return WriteError(f'cannot write {path}: {reason}', code=error.errno, path=path)
    return error


def _temporary(path: Path) -> Path:
    # Hidden, unique to this process and call, and with the target's suffix (see the module docstring).
    return path.parent / f'.{path.stem}.tmp-{os.getpid()}-{secrets.token_hex(4)}{path.suffix}'


def _sync_file(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (file systems that cannot fsync a folder are skipped)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0))
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError as error:
        if error.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def replacing(path: str | os.PathLike, *, needed: int | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block ends without error, the file written there
    replaces ``path`` atomically. ``needed``: the expected size, for the message when the disk is full."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _as_write_error(error, path, needed=needed, written=0) from error
    temporary = _temporary(path)
    try:
        yield temporary
        _sync_file(temporary)
        os.replace(temporary, path)
        sync_folder(path.parent)
    except BaseException as error:
        written = temporary.stat().st_size if temporary.exists() else 0
        temporary.unlink(missing_ok=True)
        replacement = _as_write_error(error, path, needed=needed, written=written)
        if replacement is error:
            raise
        raise replacement from error


def write_bytes(path: str | os.PathLike, data: bytes | bytearray | memoryview) -> None:
    """Write ``data`` to ``path`` atomically (see the module docstring)."""
    view = memoryview(data)
    with replacing(path, needed=view.nbytes) as temporary:
        # O_EXCL: the name is ours alone; the mode before the umask is open()'s default, unlike mkstemp's 0600.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            while view.nbytes:
                view = view[os.write(descriptor, view):]
        finally:
            os.close(descriptor)


def write_text(path: str | os.PathLike, text: str, *, encoding: str = 'utf-8') -> None:
    """Write ``text`` to ``path`` atomically (see the module docstring)."""
    write_bytes(path, text.encode(encoding))
