"""One configuration, whose defaults are the CLI's: the command line with no options builds exactly the library's
default StudyConfig / CurveConfig, and a SelectionContext built by hand defaults to the same settings."""

from __future__ import annotations

import dataclasses

import pytest

from headspex.experiments.runs import config_for
from headspex.players import parse_layer_ranges
from headspex.prune.cli import build_parser
from headspex.records.config import CurveConfig, ExperimentConfig, StudyConfig
from headspex.selection.context import SelectionContext


def _defaults(cls) -> dict:
    return {f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}


def test_a_selection_context_defaults_to_the_experiment_configuration():
    context, config = _defaults(SelectionContext), _defaults(ExperimentConfig)
    shared = sorted(set(context) & set(config) - {"seed"})
    assert len(shared) >= 6, shared
    differ = {name: (context[name], config[name]) for name in shared if context[name] != config[name]}
    assert not differ, f"SelectionContext and ExperimentConfig disagree on their defaults: {differ}"


@pytest.mark.parametrize("whole, cls, layers", [(False, StudyConfig, "initial,middle,final"), (True, CurveConfig, "all")])
def test_the_command_line_without_options_is_the_library_default(whole, cls, layers):
    args = build_parser(layers=layers).parse_args([])
    ranges = parse_layer_ranges(args.layers, 30, 9) if not whole else [tuple(range(30))]
    built = config_for(args, whole, ranges=ranges, seed=0)
    where = dict(layers=tuple(ranges[0])) if whole else dict(ranges=tuple(tuple(r) for r in ranges))
    assert built == cls(**where), {f.name: (getattr(built, f.name), getattr(cls(**where), f.name))
                                   for f in dataclasses.fields(cls)
                                   if getattr(built, f.name) != getattr(cls(**where), f.name)}
