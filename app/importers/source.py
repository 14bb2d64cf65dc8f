"""The lines of an import file, plain or gzip, read so that damage is seen, not loaded (SPEC §8.1).

A gzip stream cut short or corrupt, a byte that is not UTF-8 (named by its line),
a line too long to be a CSV row, and a decompressed size beyond the cap (a
"decompression bomb") all raise `DamagedFile` naming the file: the caller rejects
the file whole. Lines are decoded one at a time, so memory never holds the file.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

MAX_DECOMPRESSED_BYTES = 1 << 30  # 1 GiB
MAX_EXPANSION = 200  # decompressed size / compressed size; real CSV downloads compress 5-15×
MAX_LINE_BYTES = 1 << 20  # no CSV row of these tables comes near 1 MiB


class FileRejected(ValueError):
    """The file as a whole cannot be imported (missing, unreadable, wrong header); `code` is the counted reason."""

    code = "bad_file"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        if code:
            self.code = code


class DamagedFile(FileRejected):
    """The file cannot be read whole: nothing of it may be loaded."""

    code = "damaged_file"


def decompressed_cap(compressed_bytes: int) -> int:
    """The larger a gzip may grow: 1 GiB, or 200× its compressed size if that is less."""
    return min(MAX_DECOMPRESSED_BYTES, MAX_EXPANSION * max(compressed_bytes, 1))


class LineSource:
    """Iterate decoded lines ("\\n" kept); `line` is the number of the last line read and
    `ended_cleanly` whether the file's last line had its line terminator."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.line = 0
        self.ended_cleanly = True
        self.gzip = path.suffix == ".gz"
        self._cap = decompressed_cap(path.stat().st_size) if self.gzip else None

    def _damaged(self, reason: str) -> DamagedFile:
        return DamagedFile(f"{self.path}: {reason}; nothing of this file was loaded")

    def _open(self) -> BinaryIO:
        return gzip.open(self.path, "rb") if self.gzip else self.path.open("rb")  # type: ignore[return-value]

    def __iter__(self) -> Iterator[str]:
        size = 0
        with self._open() as handle:
            while True:
                raw = self._next(handle)
                if not raw:
                    return
                self.line += 1
                size += len(raw)
                if self._cap is not None and size > self._cap:
                    raise self._damaged(
                        f"decompresses beyond {self._cap:,} bytes (the cap: 1 GiB or {MAX_EXPANSION}× the "
                        "compressed size); not read further"
                    )
                if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                    raise self._damaged(f"line {self.line} is longer than {MAX_LINE_BYTES:,} bytes")
                self.ended_cleanly = raw.endswith(b"\n")
                yield self._decode(raw)

    def _next(self, handle: BinaryIO) -> bytes:
        try:
            return handle.readline(MAX_LINE_BYTES + 1)
        except EOFError:
            raise self._damaged("the gzip stream ends early (a cut download)") from None
        except (gzip.BadGzipFile, zlib.error) as error:
            raise self._damaged(f"not a valid gzip stream ({error})") from None

    def _decode(self, raw: bytes) -> str:
        if self.line == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]  # the byte-order mark Excel writes
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as error:
            byte = raw[error.start]
            raise self._damaged(
                f"line {self.line}: byte 0x{byte:02x} at column {error.start + 1} is not UTF-8 (save the file as UTF-8)"
            ) from None
