"""The layer-range study (one experiment per range plus the proxy's diagnostics), its report, and the CLI
(``python -m headspex.prune``). Selection methods live in :mod:`headspex.selection`."""

from headspex._lazy import lazy_exports

_EXPORTS = {
    "StudyConfig": ".study", "StudyResult": ".study", "run_study": ".study", "write_outputs": ".report",
    "main": ".cli", "build_parser": ".cli",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
