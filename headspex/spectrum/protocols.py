"""Typed protocols of the spectrum side (after TransformerLens' typed ``Protocol``s).

Every fitted surrogate and every spectrum is a :class:`SetFunction`: the proxy, LASSO, shapiq's
ProxySPEX wrapper, ``FourierSpectrum`` and ``MoebiusSpectrum``. Selection and attribution code asks
for nothing more.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from headspex.spectrum.fourier import FourierSpectrum


@runtime_checkable
class SetFunction(Protocol):
    """A function of head masks with an exact sparse Fourier spectrum."""

    @property
    def n_players(self) -> int:
        """Number of players n (columns of a mask)."""
        ...

    def predict(self, masks: Any) -> np.ndarray:
        """Values of masks ``[n_masks, n_players]`` (1 = kept) -> ``float64 [n_masks]``."""
        ...

    def spectrum(self) -> "FourierSpectrum":
        """The function's Fourier spectrum; ``spectrum().predict(m) == predict(m)``."""
        ...
