"""The stored format of one seed of a run: ``record.json`` plus tidy CSV tables and ``masks.npz``.

Every number round-trips exactly: floats are written as Python's shortest exact repr (``0.1``, ``nan``,
``-0.0``) and parsed back with ``float``; each column's dtype is kept in ``record.json`` (``tables``), so a
table reads back with the dtypes it was written with. Arrays go to an ``.npz`` written with fixed zip
timestamps, so writing the same seed twice gives byte-identical files. Every file goes through
:mod:`headspex._io` (atomic: a full disk leaves no partial file), and ``record.json`` is written last: a seed
directory with a ``record.json`` is complete.
"""

from __future__ import annotations

import csv
import io
import json
import math
import zipfile
from dataclasses import asdict, fields, is_dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

import numpy as np
import pandas as pd

from headspex._io import atomic_write_bytes, atomic_write_text
from headspex.errors import StoredDataError

SCHEMA_VERSION = 1
RECORD_FILE = "record.json"
MASKS_FILE = "masks.npz"
# every table a seed may hold (a study writes all of them, a curve the first six)
TABLE_FILES = ("scores.csv", "random.csv", "train.csv", "selections.csv", "costs.csv", "clean_per_question.csv",
               "heldout.csv", "heads.csv", "interactions.csv", "energy.csv", "energy_samples.csv")
SEED_FILES = (RECORD_FILE, MASKS_FILE, *TABLE_FILES)
LEGACY_FILES = {"study": "results.pkl", "curve": "curve.pkl"}  # pickles of headspex before schema 1
KINDS = ("study", "curve")  # what a seed record holds: one seed of a layer-range study, or of a whole-model curve
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
T = TypeVar("T")


def plain(value: Any) -> Any:
    """``json.dumps`` default: numpy scalars and arrays as Python values, anything else as its text."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def to_json(value: Any) -> str:
    """Compact JSON text of plain values (tuples become lists; NaN is written as ``NaN``, as Python's json does)."""
    return json.dumps(value, default=plain)


def config_dict(config: Any) -> dict:
    """A configuration dataclass as plain JSON values."""
    if not is_dataclass(config):
        raise TypeError(f"a run configuration must be a dataclass; got {type(config).__name__}")
    return json.loads(to_json(asdict(config)))


def tuples(value: Any) -> Any:
    """JSON lists back to tuples, inside lists and dicts too (a configuration's and a proxy summary's
    sequences are tuples)."""
    if isinstance(value, dict):
        return {k: tuples(v) for k, v in value.items()}
    return tuple(tuples(v) for v in value) if isinstance(value, list) else value


def config_class(kind: str) -> type:
    """The configuration class of ``kind`` ("study" or "curve"); a fixed list, never a name read from a file."""
    from headspex.records.config import CurveConfig, StudyConfig

    return {"study": StudyConfig, "curve": CurveConfig}[kind]


def build_config(kind: str, data: dict, where: Path) -> Any:
    """The configuration of ``kind`` from its stored dict (sequences as tuples, missing fields at their
    defaults); StoredDataError naming ``where`` on a field this headspex does not know."""
    cls = config_class(kind)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise StoredDataError(f"{where} has configuration fields this headspex does not know ({', '.join(unknown)}); "
                              "read it with the headspex version that wrote it")
    data = {k: tuples(v) for k, v in legacy_config(data).items()}
    return with_retired_methods(cls, data)


def with_retired_methods(cls: type, data: dict) -> Any:
    """``cls(**data)``, keeping methods that have since been retired (they ran then; they no longer run): the
    configuration is checked with the methods that still run, then records every method it named."""
    from headspex.selection.methods import METHODS, method_info

    stored = data.get("methods")
    if stored is None or all(m in METHODS or not method_info(m).retired for m in stored):
        return cls(**data)
    config = cls(**{**data, "methods": tuple(m for m in stored if m in METHODS)})
    object.__setattr__(config, "methods", tuple(stored))
    return config


def legacy_config(config: dict) -> dict:
    """A stored configuration with the fields that older runs did not record, at what they then meant: a run
    without ``proxyspex_rule`` ran the proxy's optimum ("milp") as its method ``proxyspex``."""
    from headspex.selection.context import LEGACY_RULE

    return config if "proxyspex_rule" in config else {**config, "proxyspex_rule": LEGACY_RULE}


def _cell(value: Any, kind: str) -> str:
    if kind == "f":
        return repr(float(value))
    if kind in "iu":
        return str(int(value))
    if kind == "b":
        return "True" if bool(value) else "False"
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def table_text(table: pd.DataFrame) -> str:
    """CSV text of ``table`` (no index) with every float written exactly (a missing text is written empty)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([str(c) for c in table.columns])
    columns = [(table[c].to_numpy(), table[c].dtype.kind) for c in table.columns]
    for i in range(len(table)):
        writer.writerow([_cell(values[i], kind) for values, kind in columns])
    return buffer.getvalue()


def write_table(directory: Path, name: str, table: pd.DataFrame) -> dict[str, str]:
    """Write ``directory/name``; returns its schema ``{column: dtype}`` (in column order) for ``record.json``."""
    atomic_write_text(directory / name, table_text(table))
    return {str(c): str(table[c].dtype) for c in table.columns}


def _column(cells: list[str], dtype: str, where: str) -> Any:
    """One column back from its CSV cells: floats, integers and booleans exactly; text as ``dtype``."""
    try:
        kind = np.dtype(dtype).kind if dtype not in ("str", "string") else "U"
    except TypeError:
        kind = "U"  # a pandas extension dtype: built from the text below
    try:
        if kind == "f":
            return np.array([float(c) for c in cells], dtype=dtype)
        if kind in "iu":
            return np.array([int(c) for c in cells], dtype=dtype)
        if kind == "b":
            if any(c not in ("True", "False") for c in cells):
                raise ValueError("a boolean column holds other values than True / False")
            return np.array([c == "True" for c in cells], dtype=bool)
        return pd.array(cells, dtype=dtype) if dtype != "object" else np.array(cells, dtype=object)
    except (ValueError, TypeError) as err:
        raise StoredDataError(f"{where}: {err}; the file is corrupt (rewrite it from its run)") from None


def read_table(directory: Path, name: str, schema: dict[str, str]) -> pd.DataFrame:
    """The table ``directory/name`` with the columns and dtypes of ``schema``; StoredDataError when it does not
    match (missing, other columns, ragged rows)."""
    path = directory / name
    try:
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise StoredDataError(f"cannot read {path} ({err}); the seed is incomplete or corrupt: rerun its command "
                              "to rewrite it") from None
    header, body = (rows[0], rows[1:]) if rows else ([], [])
    if header != list(schema) or any(len(r) != len(header) for r in body):
        raise StoredDataError(f"{path} does not match its schema in {RECORD_FILE} (columns {list(schema)}); "
                              "the seed is corrupt: rerun its command to rewrite it")
    columns = {c: _column([r[j] for r in body], dtype, str(path)) for j, (c, dtype) in enumerate(schema.items())}
    return pd.DataFrame(columns, index=pd.RangeIndex(len(body)))


def arrays_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An ``.npz`` (as ``np.load`` reads it) of ``arrays``, byte-identical for identical arrays."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():
            data = io.BytesIO()
            np.lib.format.write_array(data, np.ascontiguousarray(array), allow_pickle=False)
            archive.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_TIME), data.getvalue())
    return buffer.getvalue()


def write_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to the ``.npz`` at ``path`` atomically."""
    atomic_write_bytes(path, arrays_bytes(arrays))


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` at ``path`` (no pickles); StoredDataError when it cannot be read."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise StoredDataError(f"cannot read {path} ({err}); the seed is incomplete or corrupt: rerun its command "
                              "to rewrite it") from None


def layout(value: Any, depth: int = 0) -> str:
    """JSON text with objects (and lists of objects) one entry per line down to depth 3, compact below."""
    pad = " " * (depth + 1)
    if depth < 3 and isinstance(value, dict) and value:
        items = [f"{pad}{json.dumps(str(k))}: {layout(v, depth + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad[1:] + "}"
    if depth < 3 and isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return "[\n" + ",\n".join(pad + layout(v, depth + 1) for v in value) + "\n" + pad[1:] + "]"
    return to_json(value)


def start_seed(directory: str | Path) -> Path:
    """The seed directory, created, without its ``record.json``: while a seed is (re)written it does not count
    as complete, so an interrupted write never pairs an old record with new tables."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    (d / RECORD_FILE).unlink(missing_ok=True)
    return d


def reading(directory: Path, read: Callable[[], T]) -> T:
    """``read()``, with a record or table that lacks what it should hold as one StoredDataError."""
    try:
        return read()
    except StoredDataError:
        raise
    except (KeyError, IndexError, TypeError, ValueError) as err:
        raise StoredDataError(f"{directory} holds an incomplete or inconsistent seed ({type(err).__name__}: {err}); "
                              "rerun its command to rewrite it") from None


def read_seed(directory: str | Path, kind: str, build: Callable[[dict, dict, dict], T]) -> T:
    """``build(record, tables, masks)`` for the seed of ``kind`` at ``directory``: its ``record.json``, every table
    it lists and its masks, with anything missing or inconsistent as one StoredDataError."""
    d = Path(directory)
    record = read_record(d, kind)

    def read() -> T:
        tables = {name: read_table(d, name, schema) for name, schema in record["tables"].items()}
        return build(record, tables, read_arrays(d / MASKS_FILE))

    return reading(d, read)


def write_record(directory: Path, record: dict) -> None:
    """``record.json`` (written last: it marks the seed complete), with the schema version first."""
    atomic_write_text(directory / RECORD_FILE, layout({"schema_version": SCHEMA_VERSION, **record}) + "\n")


def read_record(directory: str | Path, kind: str) -> dict:
    """``directory/record.json`` of a seed of ``kind``; one clear StoredDataError for anything else."""
    d = Path(directory)
    path = d / RECORD_FILE
    if not path.is_file():
        legacy = d / LEGACY_FILES[kind]
        if legacy.is_file():
            raise StoredDataError(f"{legacy} was written by an older headspex (a pickle); convert it with python "
                                  f"scripts/convert_results.py {d.parent}")
        raise StoredDataError(f"no {kind} results at {path}; run python -m headspex.prune --out {d.parent} "
                              "(or rerun its command) to write them")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise StoredDataError(f"cannot read {path} ({err}); rerun its command to rewrite it") from None
    version = record.get("schema_version") if isinstance(record, dict) else None
    if version != SCHEMA_VERSION:
        raise StoredDataError(f"{path} has schema version {version!r}; this headspex reads version {SCHEMA_VERSION}")
    if record.get("kind") != kind:
        raise StoredDataError(f"{path} holds {record.get('kind')!r} results, not {kind!r} ones")
    return record


def record_kind(path: Path) -> str:
    """The ``kind`` of a ``record.json`` ("study" or "curve"); StoredDataError when it is unreadable."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        kind = record.get("kind") if isinstance(record, dict) else None
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise StoredDataError(f"cannot read {path} ({err}); rerun its command to rewrite it") from None
    if kind not in KINDS:
        raise StoredDataError(f"{path} is not a headspex seed record (kind {kind!r})")
    return kind


def unique_labels(labels: list[str]) -> list[str]:
    """``labels`` with repeats told apart (``1-3``, ``1-3#2``): a range's name in the tables."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label}#{seen[label]}")
    return out


def group_rows(table: pd.DataFrame, keys: list[str]) -> dict[tuple, np.ndarray]:
    """Row indices of ``table`` per value of ``keys``, in order of first appearance."""
    out: dict[tuple, list[int]] = {}
    for i, key in enumerate(zip(*(table[k].tolist() for k in keys))):
        out.setdefault(key, []).append(i)
    return {key: np.array(rows, dtype=np.int64) for key, rows in out.items()}


def per_question(table: pd.DataFrame, keys: list[str], metrics: list[str], order: str) -> dict[tuple, dict]:
    """``{key: {metric: array}}`` from a long table, each array in the order of the column ``order``."""
    out = {}
    for key, rows in group_rows(table, keys).items():
        rows = rows[np.argsort(table[order].to_numpy()[rows], kind="stable")]
        out[key] = {m: table[m].to_numpy()[rows] for m in metrics}
    return out
