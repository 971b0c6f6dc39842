"""Capitals tasks from the bsdgames quiz files: the world, each region, and the US states.

Names are the quiz files' first spelling with optional parts included ("Brussel{s}" -> "Brussels")
and accents rendered ("Reykjavík"), except for the few names in `COUNTRY_NAMES` / `CAPITAL_NAMES`,
where the file lists a long official form or an abbreviation first, or the name reads better with
"the" in "The capital of the Netherlands is". All spellings the file accepts are kept so that a
distractor is never another spelling of the right answer.
"""

from __future__ import annotations

from collections.abc import Sequence

from .base import LoadOptions, Task
from .factual import Fact, build_fact_task
from .quizfile import read_quiz_file
from .sources import quiz_file, require_quiz_source

__all__ = ["CAPITAL_NAMES", "COUNTRY_NAMES", "REGIONS", "load_capitals", "load_state_capitals"]

REGIONS = ("europe", "asia", "africa", "america")
TEMPLATE = "The capital of {subject} is"
SHOT_TEMPLATE = "The capital of {subject} is {answer}."
STATE_TEMPLATE = "The capital of the US state of {subject} is"
STATE_SHOT_TEMPLATE = "The capital of the US state of {subject} is {answer}."

COUNTRY_NAMES = {
    "Republic of Yemen": "Yemen",
    "People's Republic of China": "China",
    "Republic of South Africa": "South Africa",
    "Malagasy Republic": "Madagascar",
    "DR Congo": "the Democratic Republic of the Congo",
    "Rep. Congo": "the Republic of the Congo",
    "SGSSI": "South Georgia and the South Sandwich Islands",
    "The Bahamas": "the Bahamas",
    "The Gambia": "the Gambia",
    **{
        n: "the " + n
        for n in (
            "United Kingdom", "United States", "Czech Republic", "Netherlands", "Philippines", "Maldives",
            "United Arab Emirates", "Dominican Republic", "Central African Republic", "Comoros",
            "Seychelles", "Cayman Islands", "British Virgin Islands", "Falkland Islands", "Faroe Islands",
            "Isle of Man", "Netherlands Antilles", "Turks and Caicos Islands",
            "United States Virgin Islands", "Åland Islands",
        )
    },
}
CAPITAL_NAMES = {
    "Berne": "Bern",
    "Washington DC": "Washington, D.C.",
    "P'yongyang": "Pyongyang",
    "Chişinau": "Chișinău",
}


def _item_id(prefix: str, subject: str) -> str:
    return f"{prefix}:{subject[4:] if subject.startswith('the ') else subject}"


def _facts_from_file(region: str, prefix: str) -> tuple[list[Fact], list[dict[str, str]]]:
    facts, dropped = [], []
    for n, fields in enumerate(read_quiz_file(quiz_file(region))):
        if len(fields) < 2 or not fields[0].canonical or not fields[1].canonical:
            dropped.append({"id": f"{region}:line{n + 1}", "reason": "empty place or capital field"})
            continue
        subject = COUNTRY_NAMES.get(fields[0].canonical, fields[0].canonical)
        answer = CAPITAL_NAMES.get(fields[1].canonical, fields[1].canonical)
        facts.append(Fact(_item_id(prefix, subject), subject, answer, fields[1].variants | {answer}))
    return facts, dropped


def load_capitals(name: str, opts: LoadOptions, *, regions: Sequence[str]) -> Task:
    """Country capitals of the given quiz regions; a country listed in two regions counts once.

    Prompt "The capital of {country} is", four choices (the capital and three other capitals of the
    same task). Split half/half by default.
    """
    require_quiz_source(opts.source, name)
    facts: list[Fact] = []
    dropped: list[dict[str, str]] = []
    merged: list[dict[str, str]] = []
    seen: dict[str, tuple[str, str]] = {}
    for region in regions:
        region_facts, region_dropped = _facts_from_file(region, "capitals")
        dropped += region_dropped
        for f in region_facts:
            if f.id in seen:
                first_region, first_answer = seen[f.id]
                if f.answer == first_answer:
                    merged.append({"id": f.id, "reason": f"also listed in {first_region}; counted once"})
                else:
                    dropped.append({"id": f.id, "reason": f"{region} gives {f.answer!r}, {first_region} gives "
                                    f"{first_answer!r}; kept the {first_region} entry"})
                continue
            seen[f.id] = (region, f.answer)
            facts.append(f)
    info = {
        "source": f"bsdgames quiz files {', '.join(str(quiz_file(r)) for r in regions)}",
        "regions": list(regions),
        "merged_duplicates": merged,
        "name_overrides": "tasks.capitals.COUNTRY_NAMES / CAPITAL_NAMES",
    }
    return build_fact_task(
        name, facts, opts, template=TEMPLATE, shot_template=SHOT_TEMPLATE, info=info, dropped=dropped,
    )


def load_state_capitals(name: str, opts: LoadOptions) -> Task:
    """Capitals of the 50 US states (quiz file `state`), prompt "The capital of the US state of {state} is".

    "US state" in the prompt keeps Georgia (Atlanta, not Tbilisi) and Washington (Olympia) unambiguous.
    Split half/half by default.
    """
    require_quiz_source(opts.source, name)
    facts, dropped = _facts_from_file("state", "us-state-capitals")
    info = {"source": f"bsdgames quiz file {quiz_file('state')}"}
    return build_fact_task(
        name, facts, opts, template=STATE_TEMPLATE, shot_template=STATE_SHOT_TEMPLATE, info=info, dropped=dropped,
    )
