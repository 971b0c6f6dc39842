"""Write and read one seed of a run in the stored format (see :mod:`headspex.records`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from headspex.records.curve import read_curve_parts, write_curve_record
from headspex.records.study import read_study_parts, write_study_record

if TYPE_CHECKING:
    from headspex.records.curve_result import CurveResult
    from headspex.records.study_result import StudyResult


def write_study_seed(result: "StudyResult", directory: str | Path) -> Path:
    """Write one seed of a layer-range study into ``directory`` (``record.json``, tables, ``masks.npz``)."""
    return write_study_record(result, directory)


def read_study_seed(directory: str | Path) -> "StudyResult":
    """The :class:`~headspex.records.study_result.StudyResult` stored in ``directory``."""
    from headspex.records.study_result import StudyResult

    return StudyResult(**read_study_parts(directory))


def write_curve_seed(result: "CurveResult", directory: str | Path) -> Path:
    """Write one seed of a whole-model curve into ``directory`` (``record.json``, tables, ``masks.npz``)."""
    return write_curve_record(result, directory)


def read_curve_seed(directory: str | Path) -> "CurveResult":
    """The :class:`~headspex.records.curve_result.CurveResult` stored in ``directory``."""
    from headspex.records.curve_result import CurveResult

    return CurveResult(**read_curve_parts(directory))
