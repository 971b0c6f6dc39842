"""Layer ranges as the CLI writes them: 1-based ranges, presets, unions; labels back."""

from __future__ import annotations

import pytest

from headspex.players import format_layer_range, layer_players, parse_layer_ranges


def test_presets_have_96_heads_worth_of_layers():
    ranges = parse_layer_ranges("initial,middle,final", 30, 9)
    assert [len(r) for r in ranges] == [11, 11, 11]
    assert ranges[0][0] == 0 and ranges[2][-1] == 29
    assert parse_layer_ranges("paper", 32, 32) == [[0, 1, 2], [14, 15, 16], [29, 30, 31]]


def test_all_and_unions_are_one_game():
    assert parse_layer_ranges("all", 30, 9) == [list(range(30))]
    assert parse_layer_ranges("1-10+21-30", 30, 9) == [list(range(10)) + list(range(20, 30))]
    assert parse_layer_ranges("1-3,5", 30, 9) == [[0, 1, 2], [4]]
    assert len(layer_players(parse_layer_ranges("all", 30, 9)[0], 9)) == 270


@pytest.mark.parametrize("layers, label", [([0, 1, 2], "1-3"), ([4], "5"), ([0, 1, 5], "1-2+6"),
                                           (list(range(10)) + list(range(20, 30)), "1-10+21-30")])
def test_labels_round_trip(layers, label):
    assert format_layer_range(layers) == label
    assert parse_layer_ranges(label, 30, 9) == [layers]


@pytest.mark.parametrize("text, message", [("0-3", "outside the model"), ("1-31", "outside the model"),
                                           ("a-b", "bad layer range"), ("", "no layer range")])
def test_bad_ranges_say_what_was_expected(text, message):
    with pytest.raises(ValueError, match=message):
        parse_layer_ranges(text, 30, 9)
