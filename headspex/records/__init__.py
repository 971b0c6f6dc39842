"""Results as data: one seed of a run stored as tidy tables, not pickles.

A seed directory (``OUT/seed-N/``) holds ``record.json`` (schema version, kind "study" or "curve", the
configuration, unpruned scores, seconds and the other scalars), tidy CSV tables (per-question test scores,
random draws, training values, selections, costs, held-out masks, per-head tables, energy shares, unpruned
per-question scores) and ``masks.npz`` (the kept sets). Every number reads back exactly; the reports are
rebuilt from these files alone (``python -m headspex.report OUT``).

    write_study_seed(result, out / "seed-0")       read_study_seed(out / "seed-0") -> StudyResult
    write_curve_seed(result, out / "seed-0")       read_curve_seed(out / "seed-0") -> CurveResult

Columns of each table: :mod:`headspex.records.study` and :mod:`headspex.records.curve`. The result types
(:class:`StudyResult`, :class:`CurveResult`, :class:`RangeRun`), their configurations (:mod:`.config`), the
statistics (:mod:`.stats`), energy shares (:mod:`.energy`) and the summaries over seeds (:mod:`.summary`) live
here too: this package is the bottom of the upper floors and imports nothing from the experiments or reports.
"""

from headspex._lazy import lazy_exports

_EXPORTS = {
    "SCHEMA_VERSION": ".format", "RECORD_FILE": ".format", "SEED_FILES": ".format", "record_kind": ".format",
    "write_study_seed": ".seeds", "read_study_seed": ".seeds", "write_curve_seed": ".seeds",
    "read_curve_seed": ".seeds",
    "ExperimentConfig": ".config", "StudyConfig": ".config", "CurveConfig": ".config",
    "StudyResult": ".study_result", "CurveResult": ".curve_result", "RangeRun": ".range_run",
    "SeedSummary": ".summary", "Interval": ".stats",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
