"""Seeded benchmark archives: ``big.zip``, ``many.zip`` and (for the memory figure) ``big3.zip``.

Archives are written once into a data directory and reused while their recipe (sizes, seed,
deflate level, generator version) is unchanged; a ``manifest.json`` next to them records the
recipe and what the harness needs to know about each member (offsets, sizes, CRC-32).

The CSV-like text is a sensor log: increasing timestamps, a few hundred sensor ids, a handful of
sites and states, and random readings.  At zlib level 1 it deflates about 3:1 (the text mix of
:mod:`fastzips3.testing.bigzip` gives only about 2.4:1 at level 1).  Like ``bigzip``, a pool of
a few MiB of lines is generated once and emitted from rotating offsets, so gigabytes are
written at deflate speed; the pool is far larger than deflate's 32 KiB window, so the
repetition does not help the compressor.
"""

from __future__ import annotations

import json
import random
import struct
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.readers import read_exactly
from fastzips3.testing.bigzip import random_chunks, rewrite_end_as_zip64

__all__ = [
    "DataSet",
    "MemberInfo",
    "Recipe",
    "ensure_data",
    "expected_random_crc",
    "expected_seek_crc",
    "random_positions",
    "sensor_csv_chunks",
]

MiB = 1 << 20
_CHUNK = MiB
_GENERATOR_VERSION = 3

#: Member names inside the archives.
CSV_MEMBER = "data/sensors.csv"
BLOB_MEMBER = "data/blob.bin"
CSV3_MEMBER = "data/sensors3.csv"
BLOB3_MEMBER = "data/blob3.bin"


@dataclass(frozen=True)
class Recipe:
    """What to generate.

    Attributes:
        member_size: Uncompressed size of each large member of ``big.zip``.
        member3_size: Uncompressed size of each large member of ``big3.zip``.
        many_entries: Number of entries of ``many.zip``.
        level: zlib level of the deflate members.
        seed: Seed of all generated content.
    """

    member_size: int
    member3_size: int
    many_entries: int
    level: int = 1
    seed: int = 2026


@dataclass(frozen=True)
class MemberInfo:
    """Where one member lies in its archive and what it must read back as."""

    name: str
    method: int
    file_size: int
    compress_size: int
    crc: int
    header_offset: int
    data_offset: int

    @property
    def ratio(self) -> float:
        """Compression ratio (uncompressed / compressed)."""
        return self.file_size / max(1, self.compress_size)


@dataclass(frozen=True)
class ArchiveInfo:
    """One generated archive."""

    key: str
    path: str
    size: int
    entries: int
    members: dict[str, MemberInfo]
    seconds: float


@dataclass(frozen=True)
class DataSet:
    """The generated archives of one recipe."""

    recipe: Recipe
    directory: Path
    archives: dict[str, ArchiveInfo]

    def archive(self, key: str) -> ArchiveInfo:
        """The archive called ``key`` (``big.zip``, ``many.zip`` or ``big3.zip``)."""
        return self.archives[key]


def sensor_csv_chunks(seed: int, size: int) -> Iterator[bytes]:
    """``size`` bytes of sensor-log CSV that deflates about 3:1 at level 1, in 1 MiB chunks."""
    rng = random.Random(seed)
    sensors = [f"sensor-{i:04d}" for i in range(200)]
    sites = ["berlin", "paris", "london", "madrid", "rome", "oslo", "vienna", "prague"]
    states = ["OK", "OK", "OK", "OK", "WARN", "ERR"]
    stamp = 1_750_000_000
    lines = []
    for i in range(120_000):
        stamp += rng.randrange(1, 4)
        when = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(stamp))
        lines.append(
            f"{i},{when}Z,{rng.choice(sensors)},{rng.choice(sites)},{rng.choice(states)},"
            f"{rng.gauss(20, 5):.2f},{rng.randrange(990, 1030)},{rng.random():.6f}\n"
        )
    pool = "".join(lines).encode()
    span = max(1, len(pool) - _CHUNK)
    done = 0
    counter = 0
    while done < size:
        n = min(_CHUNK, size - done)
        start = (counter * 7919 * 64) % span
        piece = pool[start : start + n]
        if len(piece) < n:
            piece = (piece + pool)[:n]
        yield piece
        done += n
        counter += 1


@dataclass(frozen=True)
class _Spec:
    name: str
    chunks: Callable[[], Iterator[bytes]]
    size: int
    method: int


def _write_zip(path: Path, specs: Sequence[_Spec], level: int) -> None:
    """Write ``specs`` with zipfile, ZIP64 headers everywhere, then ZIP64 end records."""
    tmp = path.with_suffix(path.suffix + ".part")
    with zipfile.ZipFile(tmp, "w", allowZip64=True) as zf:
        for spec in specs:
            info = zipfile.ZipInfo(spec.name, date_time=(2025, 6, 1, 12, 0, 0))
            info.compress_type = spec.method
            info.file_size = spec.size
            if spec.method == zipfile.ZIP_DEFLATED:
                attr = "compress_level" if hasattr(info, "compress_level") else "_compresslevel"
                setattr(info, attr, level)
            with zf.open(info, "w", force_zip64=True) as out:
                for chunk in spec.chunks():
                    out.write(chunk)
    rewrite_end_as_zip64(tmp)
    tmp.replace(path)


def _write_many(path: Path, entries: int, seed: int) -> None:
    """An archive of ``entries`` small stored members in 100 directories."""
    rng = random.Random(seed)
    tmp = path.with_suffix(path.suffix + ".part")
    per_dir = max(1, entries // 100)
    with zipfile.ZipFile(tmp, "w", allowZip64=True) as zf:
        for i in range(entries):
            info = zipfile.ZipInfo(
                f"part-{i // per_dir:03d}/record-{i:06d}.json", date_time=(2025, 6, 1, 12, 0, 0)
            )
            body = f'{{"id": {i}, "value": {rng.random():.6f}, "tag": "t{rng.randrange(99)}"}}\n'
            zf.writestr(info, body.encode())
    tmp.replace(path)


def _member_infos(path: Path, names: Sequence[str]) -> tuple[int, dict[str, MemberInfo]]:
    """Entry count and the layout of ``names`` (data offset read from the local header)."""
    with zipfile.ZipFile(path) as zf, path.open("rb") as raw:
        infos = zf.infolist()
        out: dict[str, MemberInfo] = {}
        for name in names:
            info = zf.getinfo(name)
            raw.seek(info.header_offset)
            header = raw.read(30)
            if header[:4] != b"PK\x03\x04":
                raise RuntimeError(f"no local header for {name} at {info.header_offset}")
            name_len, extra_len = struct.unpack_from("<HH", header, 26)
            out[name] = MemberInfo(
                name=name,
                method=info.compress_type,
                file_size=info.file_size,
                compress_size=info.compress_size,
                crc=info.CRC,
                header_offset=info.header_offset,
                data_offset=info.header_offset + 30 + name_len + extra_len,
            )
        return len(infos), out


def _archive_specs(recipe: Recipe) -> dict[str, tuple[list[_Spec], list[str]]]:
    seed = recipe.seed

    def csv(s: int, size: int) -> Callable[[], Iterator[bytes]]:
        return lambda: sensor_csv_chunks(s, size)

    def rnd(s: int, size: int) -> Callable[[], Iterator[bytes]]:
        return lambda: random_chunks(s, size)

    stored, deflated = zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED
    size, size3 = recipe.member_size, recipe.member3_size
    big = [
        _Spec("README.txt", csv(seed + 1, 2000), 2000, stored),
        _Spec(CSV_MEMBER, csv(seed + 2, size), size, deflated),
        _Spec(BLOB_MEMBER, rnd(seed + 3, size), size, stored),
        _Spec("data/labels.csv", csv(seed + 4, 256 * 1024), 256 * 1024, deflated),
    ]
    big3 = [
        _Spec(BLOB3_MEMBER, rnd(seed + 5, size3), size3, stored),
        _Spec(CSV3_MEMBER, csv(seed + 6, size3), size3, deflated),
    ]
    return {
        "big.zip": (big, [CSV_MEMBER, BLOB_MEMBER]),
        "big3.zip": (big3, [CSV3_MEMBER, BLOB3_MEMBER]),
    }


def ensure_data(
    directory: Path,
    recipe: Recipe,
    *,
    want_big3: bool,
    log: Callable[[str], None] = print,
) -> DataSet:
    """Generate (or reuse) the archives of ``recipe`` in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest_path = directory / "manifest.json"
    recipe_key = {**asdict(recipe), "generator": _GENERATOR_VERSION}
    cached: dict[str, ArchiveInfo] = {}
    if manifest_path.exists():
        try:
            manifest = json.loads(manifest_path.read_text())
            if manifest.get("recipe") == recipe_key:
                for key, raw in manifest.get("archives", {}).items():
                    members = {k: MemberInfo(**v) for k, v in raw.pop("members").items()}
                    cached[key] = ArchiveInfo(members=members, **raw)
        except (ValueError, TypeError, KeyError):
            cached = {}
    archives: dict[str, ArchiveInfo] = {}
    specs = _archive_specs(recipe)
    wanted = ["big.zip", "many.zip"] + (["big3.zip"] if want_big3 else [])
    for key in wanted:
        path = directory / key
        info = cached.get(key)
        if info is not None and path.exists() and path.stat().st_size == info.size:
            archives[key] = info
            continue
        log(f"generating {path} ...")
        t0 = time.perf_counter()
        if key == "many.zip":
            _write_many(path, recipe.many_entries, recipe.seed + 7)
            names: list[str] = []
        else:
            member_specs, names = specs[key]
            _write_zip(path, member_specs, recipe.level)
        seconds = time.perf_counter() - t0
        entries, members = _member_infos(path, names)
        archives[key] = ArchiveInfo(
            key=key,
            path=str(path),
            size=path.stat().st_size,
            entries=entries,
            members=members,
            seconds=seconds,
        )
        log(f"  {key}: {path.stat().st_size / 1e6:,.1f} MB, {entries} entries, {seconds:.1f} s")
        # Save after each archive, so an interrupted run keeps what it made.
        all_archives = {**cached, **archives}
        _save_manifest(manifest_path, recipe_key, all_archives)
    _save_manifest(manifest_path, recipe_key, {**cached, **archives})
    return DataSet(recipe, directory, archives)


def _save_manifest(
    path: Path, recipe_key: dict[str, object], archives: dict[str, ArchiveInfo]
) -> None:
    payload = {
        "recipe": recipe_key,
        "archives": {key: asdict(info) for key, info in archives.items()},
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=1))
    tmp.replace(path)


def random_positions(seed: int, count: int, span: int, size: int) -> list[int]:
    """``count`` seeded offsets at which ``size`` bytes fit inside ``span`` bytes."""
    rng = random.Random(seed)
    return [rng.randrange(0, max(1, span - size)) for _ in range(count)]


def expected_random_crc(path: Path, data_offset: int, positions: Sequence[int], size: int) -> int:
    """CRC-32 of the concatenated ``size``-byte reads at ``positions`` of a stored member."""
    crc = 0
    with path.open("rb") as f:
        for pos in positions:
            f.seek(data_offset + pos)
            crc = zlib.crc32(f.read(size), crc)
    return crc


def expected_seek_crc(path: Path, member: str, offset: int, size: int) -> int:
    """CRC-32 of ``size`` bytes at ``offset`` of ``member``, read with stdlib zipfile."""
    with zipfile.ZipFile(path) as zf, zf.open(member) as f:
        f.seek(offset)
        data = read_exactly(f, size)
    if len(data) != size:
        raise RuntimeError(f"{member} has fewer than {offset + size} bytes")
    return zlib.crc32(data)
