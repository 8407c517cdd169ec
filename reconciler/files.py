"""Reading and writing the files a user names on the command line, with clear errors.

Every input is read with a size limit (``/dev/zero`` or a runaway file ends in one line saying
how big files may be, not in a killed process or a ``MemoryError``); every output is checked
before anything is read from AWS, so a typo in ``--out`` costs nothing. Files that hold personal
data or digests of it (numbers files, saved plans) are created readable by their owner only.
"""

from __future__ import annotations

import os
from pathlib import Path

from reconciler.cli import UserError

MiB = 1024 * 1024
_CHUNK = MiB
PRIVATE = 0o600


def _why(error: OSError) -> str:
    if isinstance(error, FileNotFoundError):
        return "no such file"
    if isinstance(error, IsADirectoryError):
        return "is a directory, not a file"
    if isinstance(error, PermissionError):
        return "permission denied"
    return error.strerror or type(error).__name__


def read_limited(path: str | os.PathLike[str], limit: int, what: str, hint: str | None = None) -> bytes:
    """The bytes of ``path``, or a :class:`UserError` if it cannot be read or exceeds ``limit``."""
    chunks: list[bytes] = []
    size = 0
    try:
        with open(path, "rb") as stream:
            while size <= limit:
                chunk = stream.read(min(_CHUNK, limit + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
    except FileNotFoundError:
        raise UserError(f"{path}: no such {what}", hint=hint) from None
    except OSError as error:
        raise UserError(f"{path}: cannot read the {what}: {_why(error)}", hint=hint) from None
    if size > limit:
        raise UserError(
            f"{path}: the {what} is larger than {_size(limit)}; refusing to read it",
            hint=hint or f"{what}s may be at most {_size(limit)}",
        )
    return b"".join(chunks)


def _size(limit: int) -> str:
    return f"{limit // MiB} MiB" if limit >= MiB else f"{limit:,} bytes"


def check_writable(path: str | os.PathLike[str], what: str) -> None:
    """Refuse an output path that cannot be written, before any work is done for it."""
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise UserError(f"{target}: is a directory; give a file name for the {what}")
    if not parent.is_dir():
        raise UserError(f"{target}: cannot write the {what}: directory {parent} does not exist",
                        hint="create the directory first, or choose another path")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"{target}: cannot write the {what}: directory {parent} is not writable")
    if target.exists() and not os.access(target, os.W_OK):
        raise UserError(f"{target}: cannot write the {what}: permission denied")


def write_private(path: str | os.PathLike[str], text: str, what: str) -> None:
    """Write ``text`` atomically (temporary file + rename), readable and writable by the owner only."""
    target = Path(path)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, PRIVATE)  # O_CREAT's mode is ignored if the file already existed
        os.replace(temporary, target)  # never a half-written file
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise UserError(f"{target}: cannot write the {what}: {_why(error)}") from None
