"""Raw pages of a warehouse on disk: append-only pack files beside it.

Why not a BLOB column: in DuckDB 2.0 the memory a checkpoint of a BLOB column needs grew
with the pages stored, not with the batch since the last checkpoint. Measured on this
machine, 25 pages a transaction and a checkpoint every 16 MB of log: under a 64 MB cap
the checkpoint failed with a FATAL error after ~96 MB of 110 KB pages and ~136 MB of
40 KB pages, whether or not the table had a key, with one thread or two, compressed or
not, with 2048-row row groups; 20 KB pages got through 300 MB but left a 504 MB file.
Here the warehouse holds only a pointer per page, its checkpoints move text and
numbers, and a batch of pages costs one append and one fsync.

Layout: ``<data path>/pages/000000.pack``, ``000001.pack``, ...; each page is one
zstd frame (``compress_page``) appended to the newest pack, and its ``pages``
row records the pack, offset and length. A new pack is begun once the newest passes
``PACK_MAX_BYTES``. Concatenated zstd frames are one zstd stream, so
``zstd -dc 000000.pack`` prints every page in a pack.

Crash safety: a batch's bytes are written and fsynced before the rows that point at
them are committed. A run killed in between leaves bytes no row points at, at the end
of a pack; nothing reads them, and the next batch is appended after them.
A warehouse in memory (``:memory:``) has no file to sit beside: its pages stay inline.
"""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
import zlib
from collections.abc import Sequence
from pathlib import Path

import duckdb
import zstandard

from monitor.exceptions import WarehouseError
from monitor.models import PAGE_ENCODING

__all__ = ["PACK_MAX_BYTES", "ZSTD_LEVEL", "append", "compress_page", "decompress_page", "pages_dir",
           "pages_dir_of", "read", "end_mark", "rewind"]

#: zstd level for stored raw pages. Measured on Zyte's 181 real pages (170 KB mean):
#: zstd 3 keeps 19.7% of the bytes at 0.42 ms a page, as much as zlib 6 (19.7%) at
#: 2.7 ms; on the pipeline benchmark's pages 12.5% at 0.05 ms against zlib 6's 13.4% at
#: 0.33 ms. (zlib 3 was tried before: larger blobs, and a 10k-page import's peak RSS
#: rose by ~10 MB.)
ZSTD_LEVEL = 3

#: A pack is closed once it is this large: packs stay easy to copy, and a full disk
#: costs at most the pack being written.
PACK_MAX_BYTES = 256 * 2**20
_PACK_SUFFIX = ".pack"


_compressors = threading.local()  # a ZstdCompressor must not be shared between threads


def compress_page(raw: bytes) -> bytes:
    """Compress a raw page for storing (encoding ``PAGE_ENCODING``)."""
    compressor = getattr(_compressors, "zstd", None)
    if compressor is None:
        compressor = _compressors.zstd = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
    return compressor.compress(raw)


def decompress_page(blob: bytes, encoding: str = PAGE_ENCODING) -> bytes:
    """Inverse of ``compress_page`` for a ``pages`` row's blob and encoding ('zstd' or the
    older 'zlib'); zstandard.ZstdError / zlib.error on a corrupt blob (a bug, not an input).
    """
    if encoding == "zstd":
        return zstandard.ZstdDecompressor().decompress(blob)
    if encoding == "zlib":
        return zlib.decompress(blob)
    raise ValueError(f"unknown page encoding {encoding!r}")


def pages_dir_of(db_path: Path | str, data_path: Path | str | None = None) -> Path:
    """The pack directory of the local warehouse ``db_path`` (under its data path)."""
    from monitor.storage.lake import locate

    found = locate(db_path, data_path).pages_path
    if found is None:
        raise WarehouseError("a warehouse in memory keeps its pages inline")
    return found


#: Each connection's pack directory, asked once: it is set when the connection opens and
#: never changes, and on a lake even this one-value query costs ~2.4 ms (a batch asks twice).
_pages_dirs: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, Path | None] = weakref.WeakKeyDictionary()


def pages_dir(con: duckdb.DuckDBPyConnection) -> Path | None:
    """The pack directory of the warehouse ``con`` uses (``pages/`` under the lake's data
    path, which every machine that reads or writes reaches); None for one in memory."""
    try:
        return _pages_dirs[con]
    except (KeyError, TypeError):  # TypeError: a stand-in for a connection that cannot be weakly kept
        pass
    row = con.execute("SELECT getvariable('monitor_pages_dir')").fetchall()
    found = Path(row[0][0]) if row and row[0][0] else None
    with contextlib.suppress(TypeError):
        _pages_dirs[con] = found
    return found


def append(directory: Path, blobs: Sequence[bytes]) -> tuple[str, list[int]]:
    """Append ``blobs`` to the newest pack in ``directory``, durably; (pack name, offsets).

    A batch goes into one pack, so a pack can pass PACK_MAX_BYTES by one batch.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
        packs = sorted(p.name for p in directory.glob(f"*{_PACK_SUFFIX}"))
        name = packs[-1] if packs else f"{0:06d}{_PACK_SUFFIX}"
        if packs and (directory / name).stat().st_size >= PACK_MAX_BYTES:
            name = f"{int(name.removesuffix(_PACK_SUFFIX)) + 1:06d}{_PACK_SUFFIX}"
        offsets = []
        with open(directory / name, "ab") as pack:
            # The end of the file, not a stored offset: bytes a killed run left are skipped.
            position = start = pack.seek(0, os.SEEK_END)
            try:
                for blob in blobs:
                    offsets.append(position)
                    position += pack.write(blob)
                pack.flush()
                os.fsync(pack.fileno())
            except OSError:
                # A full disk mid-batch: give back the part of the batch that was written,
                # so no orphan bytes stay in the pack (the batch's rows roll back).
                pack.truncate(start)
                raise
        if name not in packs:
            _fsync_dir(directory)  # the new pack's name must survive a crash too
    except OSError as exc:  # a full disk, a read-only mount: the caller's batch rolls back
        raise WarehouseError(f"Cannot write raw pages to {directory}: {exc}") from exc
    return name, offsets


def end_mark(directory: Path) -> tuple[str, int] | None:
    """Where the packs end now (newest pack, its size), to ``rewind`` to if a batch is not committed."""
    packs = sorted(directory.glob(f"*{_PACK_SUFFIX}")) if directory.is_dir() else []
    return (packs[-1].name, packs[-1].stat().st_size) if packs else None


def rewind(directory: Path, mark: tuple[str, int] | None) -> None:
    """Give back what was appended after ``mark``: a batch whose rows were not committed
    (a full disk at commit) leaves no orphan bytes. Best effort: what stays is unread.
    """
    for pack in sorted(directory.glob(f"*{_PACK_SUFFIX}")) if directory.is_dir() else []:
        try:
            if mark is None or pack.name > mark[0]:
                pack.unlink()
            elif pack.name == mark[0] and pack.stat().st_size > mark[1]:
                os.truncate(pack, mark[1])
        except OSError:
            pass  # bytes no row points at are skipped by the next append (module docstring)


def read(directory: Path, pack: str, offset: int, length: int) -> bytes:
    """The ``length`` bytes at ``offset`` of ``pack``; WarehouseError when they are missing."""
    path = directory / pack
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            blob = f.read(length)
    except OSError as exc:
        raise WarehouseError(f"Cannot read the raw page in {path}: {exc}. The pages/ folder of the "
                             "warehouse's data path holds the raw pages and must be copied with the warehouse.") from exc
    if len(blob) != length:
        raise WarehouseError(f"{path} ends before the raw page at offset {offset} "
                             f"({len(blob)} of {length} bytes): the pack was truncated or replaced.")
    return blob


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
