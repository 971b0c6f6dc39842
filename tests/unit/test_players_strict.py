"""Players are (layer, head) pairs of integers: bools, floats (even 2.0) and strings are refused with the bad
pair named, never coerced by int(); numpy integers are fine."""

from __future__ import annotations

import re

import numpy as np
import pytest

from headspex._checks import check_players, is_integer
from headspex.errors import InputError
from hooks import validate_players


@pytest.mark.parametrize("pair", [(1.7, 2), ("3", "1"), (2.0, 1), (True, 0), (1, None), (np.float64(1), 0),
                                  (0, 1, 2), "01"])
def test_non_integer_players_are_refused_with_the_pair_named(pair):
    pattern = r"\(layer, head\) pair of integers.*" + re.escape(repr(pair))
    with pytest.raises(InputError, match=pattern):
        validate_players([(0, 0), pair], n_layers=4, n_heads=4)
    with pytest.raises(InputError, match=pattern):
        check_players([(0, 0), pair], 2)


def test_numpy_integers_are_players_and_come_back_as_ints():
    players = [(np.int64(0), np.int32(1)), np.array([2, 3]), [np.uint8(3), 0]]
    assert validate_players(players, n_layers=4, n_heads=4) == [(0, 1), (2, 3), (3, 0)]
    checked = check_players(players, 3)
    assert checked == ((0, 1), (2, 3), (3, 0)) and all(type(x) is int for pair in checked for x in pair)


def test_other_player_refusals_are_input_errors():
    for players, message in [([(0, 0), (0, 0)], "distinct"), ([(0, 9)], "outside the model"), ([], "empty")]:
        with pytest.raises(InputError, match=message):
            validate_players(players, n_layers=4, n_heads=4)
    with pytest.raises(InputError, match="non-negative"):
        check_players([(0, -1)], 1)
    with pytest.raises(InputError, match="expected 2"):
        check_players([(0, 1)], 2)


def test_is_integer():
    assert is_integer(3) and is_integer(np.int16(3))
    assert not any(is_integer(x) for x in (True, np.bool_(True), 3.0, "3", None))
