"""The genome-wide run: read, harmonise, compute in chunks (locally or on Dask), write.

Robustness: each finished chunk's results are written to ``<out>.parts/`` (Arrow IPC)
under a temporary name, synced to disk and renamed into place (atomic on POSIX), next to a manifest
of the run's inputs and options. ``resume=True`` recomputes only the chunks that are
not there (after a crash or ``kill -9``) and refuses a manifest that does not match.
The final Parquet file is written one row group per chunk, in order, while later
chunks compute (finished chunks of an earlier run are read back from their files),
under a temporary name renamed at the end, so no half-written file ever carries the
final name.

Memory: the inputs are read whole, but only the columns the run uses (~55 B per
input row: position, effect and SE, frequency, allele and chromosome codes, rsid), of
which effect, SE and frequency (24 B per input row) stay for the whole run;
harmonising adds ~16 B per input row while it runs (each kept row's key, allele ids
and row number), and keeps the variant index, ``M × k × 4`` bytes (``× 8`` past 2³¹
rows in a study), and ~40 B per variant for the variant table. The aligned values
exist only per chunk: results stream through a few chunks at a time (at most two per
thread wait to be written), of which the summary keeps ~33 B per variant (position,
z, -log10 p, n_studies) and the 20,000 best rows per chunk. TSV output is gathered
whole before it is written. 2.5M variants × 5 studies peak at ~1.7 GB (Parquet output).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from isal import isal_zlib

from .._atomic import temp_name, write_text_atomic
from .._options import TAU2_METHODS, TESTS, check_option
from .._results import Result, Summary, jsonable
from ..errors import InputError
from ..tables import note
from .compute import (
    METHODS,
    SSF_ORDER,
    ChunkSpec,
    compute_chunk,
    left_out_groups,
    restored_chunk,
    stored_chunk,
)
from .harmonise import DROP_REASONS, Harmonised, harmonise
from .inputs import (
    FILTER_FIELDS,
    apply_filters,
    estimate_overlap,
    parse_filter,
    sample_sizes,
    samplesize_inputs,
)
from .io import CANONICAL, read_sumstats

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["GwasRun", "run_gwas"]

_CHI2_MEDIAN = 0.4549364231195724  # median of χ²₁
#: What the run reads of each input, by scheme (the inverse-variance scheme does not use
#: p-values; imputation quality is read only for a filter).
_FIELDS = {"stderr": tuple(c for c in CANONICAL if c not in ("p_value", "neg_log_10_p_value", "info")),
           "samplesize": tuple(c for c in CANONICAL if c != "info")}
SCHEMES = ("stderr", "samplesize")
#: Methods the sample-size scheme has: its z-scores carry no effect size.
_SAMPLESIZE_METHODS = ("fe", "z2")


def lambda_gc(z: np.ndarray) -> float:
    """Genomic-control λ = median(z²) / 0.4549364 over the finite z.

    The median of z² is taken from the middle |z| (one copy and one partial sort of it, not
    three whole-array temporaries): the same value as ``np.median(z * z)``.
    """
    az = np.abs(z)
    az[~np.isfinite(az)] = np.inf
    n = int(np.isfinite(az).sum())
    if n == 0:
        return float("nan")
    lo, hi = (n - 1) // 2, n // 2
    az.partition([lo, hi])
    a, b = az[lo], az[hi]
    return float((a * a + b * b) / 2.0 / _CHI2_MEDIAN if lo != hi else a * a / _CHI2_MEDIAN)


@dataclass(frozen=True, repr=False)
class GwasRun(Result):
    """What a run produced: the output path, the run summary, the timings.

    ``details`` is the run summary as written to ``<out>.summary.json`` (studies, methods,
    options, per-study counts of kept and dropped rows, λ_GC, top loci). ``timings``
    (seconds): ``read``, ``harmonise``, ``compute`` (which includes writing the Parquet row
    groups: they are written while later chunks compute), ``write`` (what is left after the
    last chunk: closing the file, or all of it for TSV, Dask and genomic-control runs) and
    ``total``; the summary and plots come after.

    Parameters
    ----------
    out : pathlib.Path
        The per-variant output (Parquet or TSV).
    details : dict
        The run summary.
    timings : dict
        Seconds per stage.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from betameta.gwas import run_gwas
    >>> from betameta.gwas.synthetic import generate
    >>> work = Path(tempfile.mkdtemp())
    >>> truth = generate(work, k=3, m=2000, seed=1)
    >>> run = run_gwas(truth.paths, work / "meta.parquet", methods=("fe", "re"), progress=False,
    ...                plots=False)
    >>> run.out.name, sorted(run.timings)
    ('meta.parquet', ['compute', 'harmonise', 'read', 'total', 'write'])
    """

    out: Path
    details: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def _parquet(self) -> bool:
        return self.out.name.lower().endswith((".parquet", ".pq"))

    def to_frame(self, columns: list[str] | None = None) -> pd.DataFrame:
        """Return the per-variant results as written (Parquet or TSV).

        Parameters
        ----------
        columns : list of str or None
            The columns to read (those of them the output has); all when ``None``.

        Returns
        -------
        pandas.DataFrame
            One row per variant, in chromosome and position order.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from betameta.gwas import run_gwas
        >>> from betameta.gwas.synthetic import generate
        >>> work = Path(tempfile.mkdtemp())
        >>> truth = generate(work, k=3, m=2000, seed=1)
        >>> run = run_gwas(truth.paths, work / "meta.parquet", methods=("fe", "re"), progress=False,
        ...                plots=False)
        >>> run.to_frame(["p_value", "re_p_value", "not_a_column"]).shape
        (2000, 2)
        """
        if columns is not None:
            names = (pq.read_schema(self.out).names if self._parquet
                     else pd.read_csv(self.out, sep="\t", nrows=0).columns)
            columns = [c for c in columns if c in names]
        if self._parquet:
            return pq.read_table(self.out, columns=columns).to_pandas()
        return pd.read_csv(self.out, sep="\t", usecols=columns)

    def to_dict(self) -> dict[str, Any]:
        """Return the run summary (``details``) with the output path, JSON-ready.

        Returns
        -------
        dict
            ``out`` and the fields of ``details`` (studies, methods, options, counts, λ_GC, top
            loci).

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from betameta.gwas import run_gwas
        >>> from betameta.gwas.synthetic import generate
        >>> work = Path(tempfile.mkdtemp())
        >>> truth = generate(work, k=3, m=2000, seed=1)
        >>> run = run_gwas(truth.paths, work / "meta.parquet", methods=("fe", "re"), progress=False,
        ...                plots=False)
        >>> d = run.to_dict()
        >>> d["methods"], d["variants_out"]
        (['fe', 're'], 2000)
        """
        return jsonable({"out": str(self.out), **self.details})

    def summary(self) -> Summary:
        """Return the per-study counts, with the run summary as text.

        Returns
        -------
        Summary
            One row per study (``rows`` read, ``kept``, ``dropped``, ``lambda_gc`` of its
            input); the text is the run summary as written to ``<out>.summary.txt``, the notes
            its warnings.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from betameta.gwas import run_gwas
        >>> from betameta.gwas.synthetic import generate
        >>> work = Path(tempfile.mkdtemp())
        >>> truth = generate(work, k=3, m=2000, seed=1)
        >>> run = run_gwas(truth.paths, work / "meta.parquet", methods=("fe", "re"), progress=False,
        ...                plots=False)
        >>> run.summary().to_frame()[["study", "rows", "kept"]].values.tolist()
        [['S1', 1908, 1893], ['S2', 1925, 1910], ['S3', 1893, 1878]]
        """
        d = self.details
        table = pd.DataFrame([{"study": name, "rows": c["rows"], "kept": c["kept"],
                               "dropped": sum(c["dropped"].values()),
                               "lambda_gc": d["lambda_gc_inputs"][name]}
                              for name, c in d["per_study"].items()])
        text = summary_text(d)
        return Summary(text.splitlines()[0], table, tuple(d.get("warnings", ())), text=text)

    def __repr__(self) -> str:
        d = self.details
        return (f"GwasRun(out={self.out.name!r}, studies={len(d['studies'])}, "
                f"variants={d['variants_out']:,}, methods={','.join(d['methods'])})")

    def plot_manhattan(self, ax: Axes | None = None) -> Axes:
        """Draw the Manhattan plot of the fixed-effect −log10 p.

        Parameters
        ----------
        ax : matplotlib.axes.Axes or None
            Where to draw; a new figure when ``None``.

        Returns
        -------
        matplotlib.axes.Axes
            The axes drawn on.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from betameta.gwas import run_gwas
        >>> from betameta.gwas.synthetic import generate
        >>> work = Path(tempfile.mkdtemp())
        >>> truth = generate(work, k=3, m=2000, seed=1)
        >>> run = run_gwas(truth.paths, work / "meta.parquet", methods=("fe", "re"), progress=False,
        ...                plots=False)
        >>> run.plot_manhattan().get_xlabel()
        'chromosome'
        """
        from .plots import manhattan

        return manhattan(self.to_frame(["chromosome", "base_pair_location", "neg_log_10_p_value"]),
                         ax=ax)

    def plot_qq(self, ax: Axes | None = None) -> Axes:
        """Draw the QQ plot of the fixed-effect −log10 p, with the result's λ_GC.

        Parameters
        ----------
        ax : matplotlib.axes.Axes or None
            Where to draw; a new figure when ``None``.

        Returns
        -------
        matplotlib.axes.Axes
            The axes drawn on.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from betameta.gwas import run_gwas
        >>> from betameta.gwas.synthetic import generate
        >>> work = Path(tempfile.mkdtemp())
        >>> truth = generate(work, k=3, m=2000, seed=1)
        >>> run = run_gwas(truth.paths, work / "meta.parquet", methods=("fe", "re"), progress=False,
        ...                plots=False)
        >>> run.plot_qq().get_xlabel()
        'expected -log10 p'
        """
        from .plots import qq

        return qq(self.to_frame(["neg_log_10_p_value"]), lam=self.details["lambda_gc"], ax=ax)


def p_text(neg_log10_p: np.ndarray) -> np.ndarray:
    """Decimal p-values written from -log10 p, exact below the double range (``3.2e-1200``)."""
    x = np.asarray(neg_log10_p, dtype=float)
    exponent = np.ceil(x)
    mantissa = 10.0 ** (exponent - x)  # in [1, 10)
    return np.array([f"{m:.6g}e-{int(e)}" for m, e in zip(mantissa, exponent, strict=True)],
                    dtype=object)


def _write_text(df: pd.DataFrame, path: Path) -> None:
    """TSV (gzip by suffix) written atomically.

    P-values that underflow a double are written exactly from -log10 p.
    """
    df = df.copy()
    for p_col, lg_col in (("p_value", "neg_log_10_p_value"), ("re_p_value", "re_neg_log_10_p_value"),
                          ("z2_p_value", "z2_neg_log_10_p_value"),
                          ("re2_p_value", "re2_neg_log_10_p_value"),
                          ("be_p_value", "be_neg_log_10_p_value"),
                          ("asset_p_value", "asset_neg_log_10_p_value")):
        if p_col in df and lg_col in df and (df[p_col] == 0).any():
            zero = (df[p_col] == 0).to_numpy()
            col = df[p_col].astype(object)
            col[zero] = p_text(df.loc[zero, lg_col].to_numpy())
            df[p_col] = col
    if "n" in df:  # GWAS-SSF's n is an integer: whole sample sizes written as such
        n = df["n"].to_numpy(dtype=float)
        finite = np.isfinite(n)
        if np.all(n[finite] == np.round(n[finite])):
            df["n"] = pd.array(np.where(finite, n, 0).astype(np.int64), dtype="Int64")
            df.loc[~finite, "n"] = pd.NA
    tmp = temp_name(path)
    df.to_csv(tmp, sep="\t", index=False, na_rep="#NA",
              compression="gzip" if path.name.lower().endswith(".gz") else None)
    os.replace(tmp, path)


#: Chunk files hold the results only (the variant columns come from harmonising again),
#: less the columns derived from the others and the inputs (:func:`.compute.stored_chunk`).
_CHUNK_FORMAT = 3


def _part(parts: Path, i: int) -> Path:
    return parts / f"chunk-{i:06d}.arrow"


def _settle(fd: int) -> None:
    """Put what was written to ``fd`` on disk and out of the page cache.

    On disk before a chunk is renamed into place, so a finished chunk survives a crash of
    the machine, not only of the process. Out of the cache because nothing reads these
    bytes again soon, and the pages come back free for the next chunk: fresh memory is
    slow to touch on virtual machines (on this one, writing the chunk files and the
    output through the cache cost ~1.5 CPU-s more in page faults).
    """
    os.fdatasync(fd)
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)


def _write_part(table, path: Path) -> None:
    """One chunk's results as an Arrow IPC file, written under a temporary name.

    Settled (:func:`_settle`) and renamed: nearly a memory copy to write, memory-mapped when read.
    """
    tmp = temp_name(path)
    with pa.OSFile(str(tmp), "wb") as sink:
        with pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        _settle(sink.fileno())
    os.replace(tmp, path)
    _kill_hook.written()


class _KillHook:
    """For the resume tests.

    With ``BETAMETA_KILL_AFTER_CHUNKS=N`` in the environment the process kills itself (SIGKILL, as ``kill
    -9`` does) as soon as N chunk files are in place, so a run is interrupted at a known point. Off
    otherwise (one dictionary lookup per chunk).
    """

    def __init__(self) -> None:
        self.count, self.lock = 0, threading.Lock()

    def written(self) -> None:
        limit = os.environ.get("BETAMETA_KILL_AFTER_CHUNKS")
        if limit is None:
            return
        with self.lock:
            self.count += 1
            if self.count >= int(limit):
                os.kill(os.getpid(), signal.SIGKILL)


_kill_hook = _KillHook()


def _read_part(parts: Path, i: int, inputs: tuple):
    """Chunk ``i``'s full results.

    Its file (memory-mapped) and its ``inputs`` (beta, SE, frequency) for the columns the file leaves out.
    """
    return restored_chunk(pa.ipc.open_file(pa.memory_map(str(_part(parts, i)))).read_all(), *inputs)


def _compute_stored(beta: np.ndarray, se: np.ndarray, eaf: np.ndarray, spec: ChunkSpec):
    """Return a Dask task: one chunk's results as its chunk file holds them."""
    return stored_chunk(compute_chunk(beta, se, eaf, spec))


#: Result columns of doubles that are often exactly 0 (truncated at 0) or repeat: worth compressing.
_ZERO_HEAVY = ("het_i2", "tau2_dl", "het_df", "z2_df")


class _Output:
    """The final file, fed the chunks' results in order.

    Each chunk's results are joined to its variant columns in GWAS-SSF order. Parquet is
    streamed one row group per chunk under a temporary name, renamed when complete (text
    output is gathered and written at the end, with exact decimals for underflowing p).
    What the summary and plots need is kept on the side: position, z, -log10 p and
    n_studies of every variant, and every column of each chunk's 20,000 smallest p (the
    candidates for top loci).
    """

    _LIGHT = ("chromosome", "base_pair_location", "z", "neg_log_10_p_value", "n_studies")

    def __init__(self, path: Path, variants):
        self.path, self.variants = path, variants
        # Results are never null (NaN is a value), nor are variant columns without nulls:
        # declared so, Parquet stores no definition levels for them (this halved the
        # writing time). Only variant columns taken from the inputs (rsid) may hold nulls.
        self.nullable = {c for c in variants.column_names if variants.column(c).null_count}
        self.tmp = temp_name(path)
        self.text = path.name.lower().endswith((".tsv", ".tsv.gz", ".txt", ".txt.gz"))
        self.writer = self.sink = self.settling = None
        self.syncer = ThreadPoolExecutor(max_workers=1)
        self.tables: list = []
        self.light: list = []
        self.top: list = []

    def prepare(self, results, start: int, extra: dict[str, np.ndarray] | None = None) -> tuple:
        """Return a chunk's output table (variants ``start`` on), its light columns and top-loci candidates.

        Chunks do not share this work: it runs in each chunk's own thread.
        """
        variants = self.variants.slice(start, results.num_rows)
        cols = dict(zip(variants.column_names, variants.columns, strict=True))
        cols |= dict(zip(results.column_names, results.columns, strict=True)) | dict(extra or {})
        first = [c for c in SSF_ORDER if c in cols]
        table = pa.table({c: cols[c] for c in first + [c for c in cols if c not in first]})
        table = table.cast(pa.schema([f.with_nullable(f.name in self.nullable) for f in table.schema]))
        logp = np.nan_to_num(table.column("neg_log_10_p_value").to_numpy(), nan=-np.inf)
        # Candidates only (the summary sorts them).
        top = table.take(np.sort(np.argpartition(-logp, 20_000)[:20_000])) if logp.size > 20_000 else table
        return table, table.select([c for c in self._LIGHT if c in cols]), top

    def add(self, prepared: tuple) -> None:
        """Write a chunk's :meth:`prepare`'d output (chunks in order)."""
        table, light, top = prepared
        self.light.append(light)
        self.top.append(top)
        if self.text:
            self.tables.append(table)
            return
        if self.writer is None:
            # Dictionary encoding only where values repeat: tried on every column, it
            # costs 4x the write time on millions of distinct doubles and gains nothing.
            repeats = [f.name for f in table.schema if pa.types.is_dictionary(f.type)
                       or f.name in ("direction", "n_studies", "het_df", "z2_df")]
            # Min/max statistics where readers filter (position, p-values): on every column
            # they are a quarter of the write time.
            stats = [c for c in table.column_names
                     if c in ("chromosome", "base_pair_location") or "p_value" in c]
            # Compressed where it pays: measured, snappy shrinks the positions, rsids and the
            # zero-heavy I² and τ² to 0.4-0.6 and the other doubles not at all (1.00), which it
            # would still spend a third of the write time on.
            packed = {f.name: "snappy" if not pa.types.is_floating(f.type) or f.name in _ZERO_HEAVY
                      else "none" for f in table.schema}
            self.sink = pa.OSFile(str(self.tmp), "wb")
            self.writer = pq.ParquetWriter(self.sink, table.schema, use_dictionary=repeats,
                                           write_statistics=stats, compression=packed)
        self.writer.write_table(table)
        # Settled (:func:`_settle`) beside the writing, not in its way: the writer is the
        # pipeline's slowest stage. One at a time; a row group written meanwhile waits for
        # the next.
        if self.settling is None or self.settling.done():
            self.settling = self.syncer.submit(_settle, self.sink.fileno())

    def close(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Finish the file under its final name; return the light columns and the top rows."""
        self.syncer.shutdown(wait=True)
        if self.text:
            _write_text(pa.concat_tables(self.tables).to_pandas(), self.path)
        else:
            self.writer.close()
            _settle(self.sink.fileno())
            self.sink.close()
            os.replace(self.tmp, self.path)
        return pa.concat_tables(self.light).to_pandas(), pa.concat_tables(self.top).to_pandas()

    def abort(self) -> None:
        self.syncer.shutdown(wait=True)
        if self.writer is not None:
            self.writer.close()
            self.sink.close()
        self.tmp.unlink(missing_ok=True)


def _fingerprint(path: Path) -> dict[str, Any]:
    """Size and CRC-32 of a file's bytes (ISA-L: ~8 GB/s, so every byte is read, not a sample).

    Any edit of a byte, or of a run of up to 32 bits, changes it whatever the file's size and modification
    time.
    """
    crc = 0
    with open(path, "rb") as f:
        while block := f.read(1 << 24):
            crc = isal_zlib.crc32(block, crc)
    return {"path": str(path.resolve()), "size": path.stat().st_size, "crc32": f"{crc:08x}"}


def _manifest(paths: dict[str, Path], options: dict[str, Any], distances: Any) -> dict[str, Any]:
    """Return what every chunk file of a run depends on.

    The studies in their order (the first is the reference for alleles), each input's content, the
    options, the distance matrix of the partition model, and the versions of betameta and of the chunk
    files' layout.
    """
    from .. import __version__

    if isinstance(distances, np.ndarray):
        dist: Any = hashlib.sha256(np.ascontiguousarray(distances, dtype=float).tobytes()).hexdigest()
    elif isinstance(distances, str | Path) and distances != "auto" and Path(distances).is_file():
        dist = _fingerprint(Path(distances))
    else:
        dist = distances
    studies = [{"name": s, **_fingerprint(p)} for s, p in paths.items()]
    body = {"studies": studies, "options": options, "distances": dist,
            "betameta": __version__, "chunk_format": _CHUNK_FORMAT}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    return {**body, "hash": digest}


#: Output formats, by the suffix of ``out``.
_OUTPUT_SUFFIXES = (".parquet", ".pq", ".tsv", ".tsv.gz", ".txt", ".txt.gz")


def _refuse_repeated_inputs(studies: list[dict[str, Any]]) -> None:
    """One file (or two files with the same bytes) given for two studies would count its evidence twice."""
    seen: dict[tuple, str] = {}
    for s in studies:
        for key in (("path", s["path"]), ("content", s["size"], s["crc32"])):
            if key in seen:
                how = "the same file" if key[0] == "path" else "files with the same content"
                raise InputError(f"studies {seen[key]} and {s['name']} are {how} ({s['path']}): its "
                                 "evidence would be counted twice")
            seen[key] = s["name"]


def _differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Say what differs between the manifest of an earlier run and this one, in words."""
    if old.get("hash") == new["hash"]:
        return []
    said = []
    names = [s.get("name") for s in old.get("studies", [])]
    now = [s["name"] for s in new["studies"]]
    if names != now:
        said.append(f"the studies were {', '.join(map(str, names)) or 'not recorded'}, "
                    f"now {', '.join(now)} (names and order must match: the first is the allele reference)")
    else:
        for o, n in zip(old["studies"], new["studies"], strict=True):
            if o.get("path") != n["path"]:
                said.append(f"study {n['name']} was read from {o.get('path')}, now from {n['path']}")
            elif (o.get("size"), o.get("crc32")) != (n["size"], n["crc32"]):
                said.append(f"the content of {n['path']} (study {n['name']}) has changed")
    for key in sorted(set(old.get("options", {})) | set(new["options"])):
        a, b = old.get("options", {}).get(key), new["options"].get(key)
        if json.dumps(a, default=str) != json.dumps(b, default=str):
            said.append(f"option {key} was {a!r}, now {b!r}")
    for key, what in (("distances", "the distances"), ("betameta", "betameta's version"),
                      ("chunk_format", "the chunk files' format")):
        if json.dumps(old.get(key), default=str, sort_keys=True) != json.dumps(new[key], default=str,
                                                                               sort_keys=True):
            said.append(f"{what} changed ({old.get(key)!r} then, {new[key]!r} now)")
    return said or ["the run's record differs"]


def _claim_parts(parts: Path, manifest: dict[str, Any], resume: bool, n_done: int) -> None:
    """Claim the chunk folder of a run.

    Refuse a chunk folder of an earlier run unless ``resume`` and everything its chunks
    depend on is the same; a folder holding no finished chunk is simply reused.
    """
    record = parts / "manifest.json"
    if n_done:
        try:
            old = json.loads(record.read_text())
        except (OSError, ValueError):
            raise InputError(f"{parts} holds {n_done} chunk(s) but no readable manifest.json, so they "
                             "cannot be checked against this run: remove the folder to start again") from None
        if not resume:
            raise InputError(f"{parts} holds {n_done} finished chunk(s) of an earlier run: pass --resume "
                             "to continue it, or remove the folder to start again")
        said = _differences(old, manifest)
        if said:
            raise InputError(f"{parts} belongs to another run, so its chunks cannot be resumed: "
                             + "; ".join(said) + ". Remove the folder to start again")
    parts.mkdir(parents=True, exist_ok=True)
    write_text_atomic(record, json.dumps(manifest, indent=1, default=str))


def _warm_up(methods: tuple[str, ...]) -> None:
    """Split a METAL marker, harmonise and meta-analyse two studies of three variants.

    So that numba loads every compiled loop the run will call (~0.35 s, mostly holding the GIL) while the
    inputs are read. The studies' columns have the types the reader gives, so the same compiled versions
    are loaded.
    """
    cat = pd.Categorical
    study = pd.DataFrame({"chromosome": cat(["1", "1", "2"]), "base_pair_location": [5.0, 9.0, 2.0],
                          "effect_allele": cat(["A", "C", "G"]), "other_allele": cat(["G", "T", "A"]),
                          "beta": [0.1, -0.2, 0.3], "standard_error": [0.1, 0.1, 0.2],
                          "effect_allele_frequency": [0.2, 0.3, 0.4]})
    try:
        from .marker_kernels import split_markers

        split_markers(np.frombuffer(b"1:5", np.uint8), np.array([0, 3], np.int32), np.zeros(1, bool), 4)
        h = harmonise({"a": study, "b": study.iloc[::-1].reset_index(drop=True)})
        estimate_overlap(h)
        compute_chunk(*h.take(), ChunkSpec(h.studies, tuple(m for m in methods if m in ("fe", "re", "z2"))))
    except Exception:  # only a head start: the run itself reports any problem
        pass


class _Progress:
    def __init__(self, total: int, enabled: bool):
        self.total, self.done, self.enabled, self.t0 = total, 0, enabled, time.perf_counter()

    def step(self, n: int = 1) -> None:
        self.done += n
        if self.enabled:
            rate = self.done / max(time.perf_counter() - self.t0, 1e-9)
            sys.stderr.write(f"\rchunks {self.done}/{self.total} ({rate:.1f}/s)")
            sys.stderr.flush()
            if self.done == self.total:
                sys.stderr.write("\n")


def run_gwas(
    studies: dict[str, str | Path],
    out: str | Path,
    *,
    methods: tuple[str, ...] = ("fe", "re", "z2"),
    columns: dict[str, dict[str, str]] | None = None,
    distances: str | Path | np.ndarray | None = "auto",
    chunk_size: int = 200_000,
    palindromic: str = "auto",
    genomic_control: bool = False,
    tau_prior: str = "auto",
    mu_prior: str = "flat",
    psi: float = 1.0,
    tau2_prior: str = "tau2~exponential(1)",
    resume: bool = False,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool = True,
    plots: bool = True,
    ancestry: dict[str, str] | None = None,
    sep: str | None = None,
    encoding: str | None = None,
    tau2_method: str | None = None,
    test: str = "z",
    axes: int | None = None,
    scheme: str = "stderr",
    default_n: dict[str, float] | None = None,
    filters: list[str] | tuple[str, ...] = (),
    freq_summary: bool = False,
    overlap: bool = False,
    leave_one_out: bool | str | None = None,
) -> GwasRun:
    """Meta-analyse summary statistics of several studies, variant by variant.

    Parameters
    ----------
    studies
        ``{name: path}``: GWAS-SSF, METAL-style or mapped columns; TSV/CSV (gzip) or Parquet.
    out
        Output file: ``.parquet`` (default) or ``.tsv``/``.tsv.gz``. Next to it:
        ``<out>.summary.json``, ``<out>.summary.txt``, ``<out>.manhattan.png``,
        ``<out>.qq.png`` and the chunk folder ``<out>.parts/`` (removed at the end).
    methods
        Any of ``fe`` (always computed), ``re`` (random effects), ``z2``,
        ``bayes`` (exact posterior per variant), ``partition`` (trans-ancestry), ``mrmega``,
        ``re2`` (METASOFT's RE2: ``re2_stat1``, ``re2_stat2``, ``re2_p_value``,
        ``re2_neg_log_10_p_value``), ``mvalue`` (METASOFT's m-values, ``mvalue_<study>``;
        see :mod:`betameta.kernels.metasoft`) and ``be`` (METASOFT's binary-effects test:
        ``be_stat``, ``be_p_value``, ``be_neg_log_10_p_value``, by importance sampling; see
        :mod:`betameta.kernels.binary_effects`) and ``asset`` (ASSET's one- and two-sided
        subset search: ``asset_z``, ``asset_beta``, ``asset_standard_error``,
        ``asset_p_value``, ``asset_neg_log_10_p_value``, ``asset_subset`` (comma-joined
        study names), ``asset_p_value_two_sided``, ``asset_subset_positive``,
        ``asset_subset_negative``, ``asset_beta_positive``, ``asset_beta_negative``; with
        ``overlap`` the estimated null correlation enters the DLM p-values; see
        :mod:`betameta.kernels.asset`).
    tau2_method, test
        For ``re``: by default DerSimonian-Laird with a z test (columns ``tau2_dl``,
        ``re_beta``, ``re_standard_error``, ``re_p_value``, ``re_neg_log_10_p_value``);
        with a τ² method (``DL``, ``PM``, ``REML``, ``ML``, ``HE``, ``SJ``, ``EB``) and
        ``test`` ``z`` or ``hksj``, the random-effects kernel's columns ``re_tau2``, its
        Q-profile bounds ``re_tau2_ci_low``/``re_tau2_ci_high``, ``re_beta``,
        ``re_standard_error``, ``re_ci_low``/``re_ci_high``, ``re_p_value``,
        ``re_neg_log_10_p_value`` and the prediction interval ``re_pi_low``/``re_pi_high``.
    distances
        For ``partition`` and ``mrmega``: ``"auto"`` (from the inputs' allele frequencies),
        a distance file, or a matrix.
    axes
        For ``mrmega``: the number T of axes of genetic variation (classical MDS of the
        distances; default min(4, k − 3)). Columns ``mrmega_beta_0..T`` and
        ``mrmega_standard_error_0..T`` (intercept first), ``mrmega_chisq_assoc`` (T + 1 df),
        ``mrmega_chisq_ancestry_het`` (T df), ``mrmega_chisq_residual_het``
        (``mrmega_df_residual`` = k − T − 1 df), each with ``mrmega_p_value_*`` and
        ``mrmega_neg_log_10_p_value_*``, and ``mrmega_ln_bf``; NaN for a variant in k ≤ T + 2
        studies (see :mod:`betameta.kernels.mrmega`).
    genomic_control
        Divide each study's z by √λ (inflate its SEs) when its λ_GC > 1, and add
        ``*_gc`` columns corrected by the result's own λ.
    scheme
        ``stderr`` (inverse-variance weights, METAL's SCHEME STDERR) or ``samplesize``
        (METAL's default: z-scores from p-values and the effects' signs, weighted by √N;
        see :func:`betameta.gwas.inputs.samplesize_inputs`). Under ``samplesize`` the columns are ``z``,
        ``p_value``, ``neg_log_10_p_value``, ``n`` (ΣN, METAL's Weight) and ``het_*`` from
        that scheme's statistic, without ``beta`` or ``standard_error``; only ``fe`` and
        ``z2`` are defined there.
    default_n
        Per study, the sample size of rows without one (METAL's DEFAULT).
    filters
        Input filters, ``FIELD OP NUMBER`` (:func:`betameta.gwas.inputs.parse_filter`: ``maf>=0.01``,
        ``info>=0.8``, ``n>=1000``), applied to every study before harmonising; rows that
        fail one, or lack its value, are dropped and counted (reason ``filtered``, and per
        filter under ``filtered_by``).
    freq_summary
        METAL's AVERAGEFREQ and MINMAXFREQ: ``effect_allele_frequency`` becomes the mean
        weighted by the scheme's weights, with ``effect_allele_frequency_se``, ``_min`` and
        ``_max`` (:func:`betameta.gwas.compute.frequency_summary`); without it, the plain
        mean of the studies' frequencies.
    overlap
        Correct the fixed effect for sample overlap between studies, by the null z
        correlation the run estimates (always, into the summary's ``overlap``; see
        :func:`betameta.gwas.inputs.estimate_overlap`): GLS under ``stderr``, the variance of Z under
        ``samplesize`` (:mod:`betameta.kernels.overlap`).
    leave_one_out
        Every method again without each study (``"study"``, or ``True``) or without each
        ancestry label's studies (``"ancestry"``; every study needs a label, from ``ancestry``),
        in the same pass: every result column once more as ``<column>_without_<study>`` or
        ``<column>_without_<ancestry>``.
    scheduler, workers
        Run chunks as Dask tasks on an existing scheduler (address) or on a
        LocalCluster with that many worker processes.
    columns
        Per study, a map from canonical names (``beta``, ``standard_error``, ``info``, …) to
        the file's columns, overriding the names detected (``--column STUDY:NAME=COL``).
    chunk_size
        Variants per chunk: the unit of work, of progress and of ``resume``.
    palindromic
        A/T and C/G variants: ``auto`` (each study's strand decided from its
        non-palindromic variants, then METAL's rule or frequencies), ``freq``, ``drop`` or
        ``keep`` (METAL's rule); see :func:`betameta.gwas.harmonise.harmonise`.
    tau_prior, mu_prior, psi
        For ``bayes``: the τ prior (``auto``: half-normal(0.5), as for unitless effects),
        the µ prior (``flat`` or ``normal``) and its sd ψ.
    tau2_prior
        For ``partition``: the prior of the within-cluster variance τ².
    resume
        Continue an interrupted run from its finished chunks; refused when the inputs,
        options or version differ from the run that wrote them.
    progress, plots
        Show a progress bar on stderr; write the Manhattan and QQ plots.
    ancestry
        ``{study: label}``: ancestry labels (reported, and used by
        ``leave_one_out="ancestry"``).
    sep, encoding
        The inputs' separator and encoding (detected when not given).
    default_n
        Per study, the sample size of rows without one (METAL's DEFAULT).
    filters
        Input filters such as ``"info>=0.8"`` or ``"maf>0.01"``: failing rows are dropped
        and counted per filter.
    freq_summary
        METAL's AVERAGEFREQ and MINMAXFREQ columns.
    overlap
        Correct the fixed effect for sample overlap by the estimated null z correlation.

    Returns
    -------
    GwasRun
        The output path, the run summary (``details``: per-study counts of rows kept and
        dropped by reason, λ_GC, the overlap matrix, top loci, timings) and ``to_frame()``,
        the result table.

    Raises
    ------
    InputError
        A missing or unreadable input, an unknown method or option, fewer than 2 studies, or
        an output that is not ``.parquet``/``.tsv``/``.tsv.gz``; each names the file, row or
        option.

    Notes
    -----
    The studies are harmonised once (alleles aligned to the first study, duplicates and
    malformed rows counted) and the variants meta-analysed in chunks through the array
    kernels of :mod:`betameta.kernels`, so a variant's numbers are those of the study-level
    functions on its studies. Chunks are written atomically and checked on ``resume``.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from betameta.gwas import run_gwas
    >>> from betameta.gwas.synthetic import generate
    >>> work = Path(tempfile.mkdtemp())
    >>> truth = generate(work, k=3, m=2000, seed=1)
    >>> run = run_gwas(truth.paths, work / "meta.parquet", methods=("fe", "re"), progress=False,
    ...                plots=False)
    >>> run.details["variants_out"], sorted(run.details["per_study"])
    (2000, ['S1', 'S2', 'S3'])
    """
    timings: dict[str, float] = {}
    t_all = time.perf_counter()
    out = Path(out)
    methods = tuple(dict.fromkeys(("fe", *methods)))
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise InputError(f"unknown methods {bad}; choose from {', '.join(METHODS)}")
    for name, value in (("chunk_size", chunk_size), ("workers", workers)):
        if value is not None and not (isinstance(value, int | np.integer) and value >= 1):
            raise InputError(f"{name} must be a whole number >= 1, got {value!r}")
    if tau2_method is not None:
        tau2_method = check_option("tau2_method", tau2_method, TAU2_METHODS)
    test = check_option("test", test, TESTS)
    scheme = check_option("scheme", scheme, SCHEMES)
    if scheme == "samplesize" and (bad := [m for m in methods if m not in _SAMPLESIZE_METHODS]):
        raise InputError(f"methods {', '.join(bad)} need effect sizes and SEs: the sample-size scheme "
                         f"has only {', '.join(_SAMPLESIZE_METHODS)}")
    unknown = sorted(set(default_n or {}) - set(studies))
    if unknown:
        raise InputError(f"default N for {', '.join(unknown)}: no such study")
    if len(studies) < 2:
        raise InputError("a meta-analysis needs at least 2 studies")
    # Bad filters are refused before anything is read; the columns they test are read too.
    fields = tuple(dict.fromkeys(_FIELDS[scheme] + tuple(FILTER_FIELDS[parse_filter(f)[0]]
                                                          for f in filters)))
    paths = {s: Path(p) for s, p in studies.items()}
    leave_one_out = {True: "study", False: None}.get(leave_one_out, leave_one_out)  # type: ignore[arg-type]
    left_out = left_out_groups(tuple(paths), leave_one_out, ancestry)
    options = {"methods": methods, "chunk_size": chunk_size, "palindromic": palindromic,
               "genomic_control": genomic_control, "tau_prior": tau_prior, "mu_prior": mu_prior,
               "psi": psi, "tau2_prior": tau2_prior, "columns": columns or {}, "sep": sep,
               "encoding": encoding, "tau2_method": tau2_method, "test": test, "axes": axes,
               "scheme": scheme, "default_n": default_n or {}, "filters": list(filters),
               "freq_summary": freq_summary, "overlap": overlap,
               "leave_one_out": leave_one_out,
               # The groups left out (an ancestry's studies): chunks depend on them, not on the
               # option alone, so --resume with other labels is refused.
               "left_out": [[label, list(cols)] for label, cols in left_out],
               "distances": str(distances) if isinstance(distances, str | Path) else
               None if distances is None else "matrix"}
    for p in paths.values():
        if not p.exists():
            raise InputError(f"{p}: no such file")
    if not out.name.lower().endswith(_OUTPUT_SUFFIXES):
        raise InputError(f"--out {out}: the format is chosen by the suffix: use one of "
                         f"{', '.join(_OUTPUT_SUFFIXES)}")
    manifest = _manifest(paths, options, distances)
    _refuse_repeated_inputs(manifest["studies"])
    parts = out.with_name(out.name + ".parts")
    _claim_parts(parts, manifest, resume, len(list(parts.glob("chunk-*.arrow"))) if parts.is_dir() else 0)

    try:
        t0 = time.perf_counter()
        threading.Thread(target=_warm_up, args=(methods,), daemon=True).start()
        if plots:
            # matplotlib takes ~0.4 CPU-s to import, nearly all of it holding the GIL. Both
            # warm-ups slow the reading by about what they cost (the readers take the GIL for
            # each 4 MB they inflate), but imported later, matplotlib held up the chunks'
            # pipeline by ~0.5 s, and numba's loading, the harmonising.
            from .plots import warm_up

            threading.Thread(target=warm_up, daemon=True).start()
        # Two files at a time: gzip inflation is serial within a file, so one file alone leaves
        # the second core half idle.
        with ThreadPoolExecutor(max_workers=2) as pool:
            frames = dict(zip(paths, pool.map(lambda s: read_sumstats(paths[s], (columns or {}).get(s),
                                                                      fields=fields, sep=sep,
                                                                      encoding=encoding),
                                                paths), strict=True))
        filtered = {}
        for s, size in (default_n or {}).items():  # METAL's DEFAULT: rows without N get it
            frames[s]["n"] = frames[s]["n"].fillna(size)
        if filters:
            for s in list(frames):
                frames[s], filtered[s] = apply_filters(frames[s], paths[s], list(filters))
        if scheme == "samplesize":
            frames = {s: samplesize_inputs(df, paths[s]) for s, df in frames.items()}
        timings["read"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        h = harmonise(frames, palindromic=palindromic)  # type: ignore[arg-type]
        sizes = sample_sizes(h, frames)
        overlaps = estimate_overlap(h)
        for s, by in filtered.items():  # the filtered rows were read: counted as dropped
            h.counts[s].update(rows=h.counts[s]["rows"] + sum(by.values()), filtered=sum(by.values()),
                               filtered_by=by)
        del frames
        timings["harmonise"] = time.perf_counter() - t0
        shared = _shared_variants(h)
        warnings = [f"study {s} shares no variant with the other studies: check its chromosome "
                    "names, positions (genome build) or rsids" for s, n in shared.items() if n == 0]
        for w in warnings:
            note(w)
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            lambdas_in = dict(zip(h.studies, pool.map(lambda j: lambda_gc(h.z(j)), range(len(h.studies))),
                                  strict=True))
        # Genomic control of the inputs: each study's SEs times √λ where its λ > 1.
        se_factor = np.sqrt(np.maximum([lambdas_in[s] for s in h.studies], 1.0)) if genomic_control else None
        dist = mr_axes = None
        if "partition" in methods or "mrmega" in methods:
            dist = _distances(h, distances)
        if "mrmega" in methods:
            from ..kernels.mrmega import check_axes, mds_axes

            mr_axes = mds_axes(dist, check_axes(-1 if axes is None else axes, len(h.studies)))
        spec = ChunkSpec(h.studies, methods, tau_prior, mu_prior, psi, tau2_prior, dist,
                         tau2_method, test, mr_axes, scheme, freq_summary,
                         overlaps["correlation"] if overlap else None, left_out)

        t0 = time.perf_counter()
        n_chunks = max(1, -(-h.m // chunk_size))
        todo = [i for i in range(n_chunks) if not _part(parts, i).exists()]
        bar = _Progress(n_chunks, progress)
        bar.done = n_chunks - len(todo)

        def payload(i: int) -> tuple:
            beta, se, eaf = h.take(i * chunk_size, min((i + 1) * chunk_size, h.m))
            if se_factor is not None and scheme == "samplesize":
                beta /= se_factor  # z/√λ, N unchanged (METAL's genomic control of the scheme)
            elif se_factor is not None:
                se *= se_factor
            return beta, se, eaf

        output = _Output(out, pa.Table.from_pandas(h.variants.assign(**sizes), preserve_index=False))
        # Written as the chunks come (in order), while later chunks compute; genomic control of
        # the result needs every z first, and Dask's chunks finish in any order: those write
        # from the chunk files at the end.
        stream = not genomic_control and not (scheduler or workers)
        try:
            if scheduler or workers:
                _run_dask(todo, payload, spec, parts, bar, scheduler, workers)
            else:
                threads = 1 if "partition" in methods else max(1, min(len(todo), os.cpu_count() or 1))
                _run_local(todo, n_chunks, chunk_size, payload, spec, parts, bar,
                           output if stream else None, threads=threads)
            timings["compute"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            if not stream:
                tables = [_read_part(parts, i, payload(i)) for i in range(n_chunks)]
                extras: list[dict[str, np.ndarray] | None] = [None] * n_chunks
                if genomic_control:
                    # Second round of genomic control, on the meta-analysis itself (METAL's
                    # GENOMICCONTROL).
                    from ..kernels import log10_norm_sf2

                    lam = max(lambda_gc(np.concatenate([t.column("z").to_numpy() for t in tables])), 1.0)
                    for i, t in enumerate(tables):
                        z = t.column("z").to_numpy()
                        lg = -log10_norm_sf2(z / np.sqrt(lam))
                        extras[i] = {"neg_log_10_p_value_gc": lg, "p_value_gc": 10.0 ** -lg}
                        if "standard_error" in t.column_names:  # none in the sample-size scheme
                            extras[i] = {"standard_error_gc": t.column("standard_error").to_numpy()
                                         * np.sqrt(lam), **extras[i]}
                    options = {**options, "lambda_gc_result_applied": lam}
                for i, (t, extra) in enumerate(zip(tables, extras, strict=True)):
                    output.add(output.prepare(t, i * chunk_size, extra))
            result, top = output.close()
        except BaseException:
            output.abort()
            raise
        timings["write"] = time.perf_counter() - t0
        timings["total"] = time.perf_counter() - t_all
        lam_result = lambda_gc(result["z"].to_numpy())  # for the summary and the QQ plot
        # The two figures (each its own Figure: no pyplot state is shared) are drawn, and the
        # chunk files removed, while the summary is made.
        with ThreadPoolExecutor(max_workers=2) as pool:
            drawn = []
            if plots:
                from .plots import manhattan, qq

                drawn = [pool.submit(manhattan, result, out.with_name(out.name + ".manhattan.png")),
                         pool.submit(qq, result, out.with_name(out.name + ".qq.png"), lam=lam_result)]
            summary = _summary(h, result, top, lambdas_in, lam_result, methods, timings, options)
            summary["overlap"] = {"correlation": overlaps["correlation"].round(6).tolist(),
                                  "se": overlaps["se"].round(6).tolist(),
                                  "variants": overlaps["variants"].tolist(), "applied": overlap}
            if mr_axes is not None:
                # MR-MEGA leaves out variants in k <= T + 2 studies (NaN there): counted.
                t_axes = mr_axes.shape[1]
                summary["mrmega"] = {"axes": t_axes, "variants_not_fitted": int(
                    (result["n_studies"].to_numpy() <= t_axes + 2).sum())}
            for name, n in shared.items():
                summary["per_study"][name]["shared_with_others"] = n
            summary["warnings"] = warnings
            if ancestry:
                summary["ancestry"] = ancestry
            write_text_atomic(out.with_name(out.name + ".summary.json"),
                              json.dumps(summary, indent=1, default=str))
            write_text_atomic(out.with_name(out.name + ".summary.txt"), summary_text(summary))
            drawn.append(pool.submit(shutil.rmtree, parts))
            for fut in drawn:
                fut.result()
        return GwasRun(out, summary, timings)
    except BaseException:
        # Nothing finished: no folder is left behind to be explained at the next run.
        if parts.is_dir() and not any(parts.glob("chunk-*.arrow")):
            shutil.rmtree(parts, ignore_errors=True)
        raise


def _shared_variants(h: Harmonised) -> dict[str, int]:
    """For each study, how many of its variants at least one other study holds too."""
    present = h.index != 0
    many = present.sum(axis=1) >= 2
    return {s: int(np.count_nonzero(present[:, j] & many)) for j, s in enumerate(h.studies)}


def _distances(h: Harmonised, distances: Any) -> np.ndarray:
    from ..transancestry import distances_from_frequencies, read_distances

    if isinstance(distances, np.ndarray):
        return distances
    if distances in (None, "auto"):
        if "chromosome" not in h.variants:
            return distances_from_frequencies(h.eaf)
        return distances_from_frequencies(h.eaf, h.variants["chromosome"].to_numpy(),
                                          h.variants["base_pair_location"].to_numpy())
    return read_distances(distances, h.studies)[0]


def _run_local(todo, n_chunks, chunk_size, payload, spec, parts, bar, output, threads: int) -> None:
    """Chunks on this machine's cores (NumPy releases the GIL), each saved to its chunk file.

    Each chunk is also, when ``output`` is given, handed to it in order (finished chunks of an earlier
    run are read back from their files). The partition kernel is already parallel inside, and numba's
    default threading layer must not be entered from two threads at once: one thread then.
    """

    def one(i: int):
        table = compute_chunk(*payload(i), spec)
        _write_part(stored_chunk(table), _part(parts, i))
        return output.prepare(table, i * chunk_size) if output is not None else None

    pool = ThreadPoolExecutor(max_workers=threads)
    queue = iter(todo)
    pending: dict[int, Any] = {}

    def top_up() -> None:
        # A few chunks ahead of the writer, not all: finished results wait in memory
        # until written, so this bounds them (2 per thread).
        while len(pending) < 2 * threads and (i := next(queue, None)) is not None:
            pending[i] = pool.submit(one, i)

    try:
        top_up()
        for i in range(n_chunks):
            prepared = None
            if i in pending:
                prepared = pending.pop(i).result()
                top_up()
                bar.step()
            if output is not None:
                output.add(prepared or output.prepare(_read_part(parts, i, payload(i)), i * chunk_size))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _run_dask(todo, payload, spec, parts, bar, scheduler, workers) -> None:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as exc:
        raise ImportError("--scheduler/--workers need dask: pip install 'betameta[distributed]'") from exc

    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    try:
        # A window of chunks in flight, not all: each carries its aligned values, made
        # when it is submitted (for all chunks at once, that is the whole M × k × 24 B).
        queue = iter(todo)
        window = max(8, 2 * sum(client.nthreads().values()))
        futures: dict[Any, int] = {}
        running = as_completed()

        def submit() -> None:
            if (i := next(queue, None)) is not None:
                fut = client.submit(_compute_stored, *payload(i), spec, pure=False)
                futures[fut] = i
                running.add(fut)

        for _ in range(window):
            submit()
        for fut in running:
            _write_part(fut.result(), _part(parts, futures.pop(fut)))
            bar.step()
            submit()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


#: What the summary tells of each top locus (those of the result's columns).
_LOCUS_FIELDS = ("chromosome", "base_pair_location", "rsid", "effect_allele", "other_allele", "beta",
                 "z", "n", "standard_error", "neg_log_10_p_value", "direction", "het_i2", "het_p",
                 "partition_log10_bf", "partition_p_heterogeneity", "n_studies")


def _top_loci(top: pd.DataFrame, n: int = 10, window: int = 1_000_000) -> list[dict]:
    """Return the strongest variants at least ``window`` apart, from the rows with the smallest p."""
    order = np.argsort(-top["neg_log_10_p_value"].to_numpy(), kind="stable")[:20_000]  # NaN last
    by_position = "chromosome" in top
    if by_position:
        chrom = pd.factorize(top["chromosome"])[0]
        pos = top["base_pair_location"].to_numpy()
    picked: list[int] = []
    for i in order:
        if len(picked) == n:
            break
        if by_position and any(chrom[j] == chrom[i] and abs(pos[j] - pos[i]) < window for j in picked):
            continue
        picked.append(i)
    return top.iloc[picked][[c for c in top.columns if c in _LOCUS_FIELDS]].to_dict("records")


def _summary(h, result, top, lambdas_in, lam_result, methods, timings, options) -> dict[str, Any]:
    counts = {s: {"rows": c.get("rows", 0), "kept": c.get("kept", 0),
                  "dropped": {r: c.get(r, 0) for r in DROP_REASONS},
                  "aligned": {k: v for k, v in c.items() if k.startswith(("aligned", "palindromic_s"))},
                  **({"filtered_by": c["filtered_by"]} if "filtered_by" in c else {}),
                  **({"strand": c["strand"], "strand_flip_fraction": c["strand_flip_fraction"]}
                     if "strand" in c else {})}
              for s, c in h.counts.items()}
    return {
        "studies": list(h.studies), "methods": list(methods), "options": options,
        "variants_out": len(result),
        "variants_by_n_studies": {int(k): int(v) for k, v in
                                  result["n_studies"].value_counts().sort_index().items()},
        "per_study": counts, "lambda_gc_inputs": lambdas_in,
        "lambda_gc": lam_result,
        "top_loci": _top_loci(top), "timings_s": timings,
    }


def summary_text(s: dict[str, Any]) -> str:
    """Readable version of the run summary."""
    lines = [f"betameta genome-wide run: {len(s['studies'])} studies, methods {', '.join(s['methods'])}",
             f"variants meta-analysed: {s['variants_out']:,} "
             f"(by number of studies: {s['variants_by_n_studies']})",
             f"lambda_GC of the fixed-effect result: {s['lambda_gc']:.4f}", "",
             f"{'study':<12}{'rows':>12}{'kept':>12}  dropped by reason / alignment"]
    for name, c in s["per_study"].items():
        drops = ", ".join(f"{k} {v:,}" for k, v in c["dropped"].items() if v)
        al = ", ".join(f"{k} {v:,}" for k, v in c["aligned"].items() if v)
        strand = f" | strand {c['strand']} ({c['strand_flip_fraction']:.1%})" if "strand" in c else ""
        lines.append(f"{name:<12}{c['rows']:>12,}{c['kept']:>12,}  {drops or 'none'} | {al}"
                     f" | lambda_GC {s['lambda_gc_inputs'][name]:.3f}{strand}")
    if "mrmega" in s:
        lines.append(f"MR-MEGA on {s['mrmega']['axes']} axes: {s['mrmega']['variants_not_fitted']:,} "
                     f"variants in too few studies (k <= T + 2) not fitted (NaN)")
    if "overlap" in s and len(s["studies"]) > 1:
        r = np.array(s["overlap"]["correlation"])
        i, j = np.unravel_index(np.argmax(np.abs(r - np.eye(len(r)))), r.shape)
        lines.append(f"null z correlation between studies (sample overlap), largest: "
                     f"{s['studies'][i]}-{s['studies'][j]} {r[i, j]:+.3f} "
                     f"(se {s['overlap']['se'][i][j]:.3f}); "
                     + ("corrected for (--overlap)" if s["overlap"]["applied"] else "not corrected for"))
    lines += [f"warning: {w}" for w in s.get("warnings", [])]
    lines += ["", "top loci (1 Mb apart):"]
    for t in s["top_loci"]:
        where = f"{t.get('chromosome', '')}:{t.get('base_pair_location', t.get('rsid', ''))}"
        size = (f"beta {t['beta']:+.4f} se {t['standard_error']:.4f}" if "beta" in t
                else f"z {t['z']:+.3f} n {t['n']:,.0f}")
        lines.append(f"  {where:<16} {size} "
                     f"-log10 p {t['neg_log_10_p_value']:.2f} {t['direction']}")
    lines += ["", "timings (s): " + ", ".join(f"{k} {v:.2f}" for k, v in s["timings_s"].items())]
    return "\n".join(lines)
