"""Parser for the data files of BSD `quiz(6)` (Debian package bsdgames).

Each line is one record of colon-separated fields; each field is a small pattern language:

    a|b      alternatives            Vienna|Wien
    {p}      optional part           Brussel{s}
    [p]      grouping                Andorra la V[ell|iej]a
    \\c       a literal character     (a trailing backslash continues the line)

Accented letters are written by overstriking with a backspace, listed with the plain letter as an
alternative: ``Reykjav['<BS>i|i<BS>'|i]k``. A field parses to a `QuizPattern` with one canonical
spelling (first alternative, optional parts included, overstrikes rendered as the accented Unicode
letter: "Reykjavík", "Brussels", "Andorra la Vella") and the set of all spellings it accepts.
"""

from __future__ import annotations

import itertools
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from headspex.errors import InputError

__all__ = ["QuizPattern", "parse_pattern", "read_quiz_file", "split_fields"]

_BS = "\b"
# Overstrike marks -> combining character (NFC-composed with the letter afterwards).
_COMBINING = {"'": "\u0301", "`": "\u0300", "^": "\u0302", "~": "\u0303", ",": "\u0327",
              "°": "\u030a", '"': "\u0308"}
_STROKE = {"o": "ø", "O": "Ø", "l": "ł", "L": "Ł", "d": "đ", "D": "Đ"}
_MAX_VARIANTS = 4096


@dataclass(frozen=True)
class QuizPattern:
    """One parsed field: `canonical` spelling and every accepted spelling in `variants`."""

    raw: str
    canonical: str
    variants: frozenset[str]


# --- tokenising -------------------------------------------------------------------------------

def split_fields(line: str) -> list[str]:
    """Split a record at unescaped colons (escapes are kept for `parse_pattern`)."""
    fields, cur, i = [], [], 0
    while i < len(line):
        ch = line[i]
        if ch == "\\" and i + 1 < len(line):
            cur.append(line[i : i + 2])
            i += 2
            continue
        if ch == ":":
            fields.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    fields.append("".join(cur))
    return fields


# A node is a literal `str`, or ("opt", alts) / ("grp", alts); alts is a list of sequences (lists).
def _parse_alts(text: str, i: int, closer: str | None) -> tuple[list[list], int]:
    alts: list[list] = [[]]
    lit: list[str] = []

    def flush() -> None:
        if lit:
            alts[-1].append("".join(lit))
            lit.clear()

    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 < len(text):
                lit.append(text[i + 1])
            i += 2
        elif ch == "|":
            flush()
            alts.append([])
            i += 1
        elif ch in "{[":
            flush()
            inner, i = _parse_alts(text, i + 1, "}" if ch == "{" else "]")
            alts[-1].append(("opt" if ch == "{" else "grp", inner))
        elif ch in "}]":
            if ch != closer:
                raise InputError(f"unbalanced {ch!r} at position {i} in quiz pattern {text!r}")
            flush()
            return alts, i + 1
        else:
            lit.append(ch)
            i += 1
    if closer is not None:
        raise InputError(f"missing {closer!r} in quiz pattern {text!r}")
    flush()
    return alts, i


# --- rendering --------------------------------------------------------------------------------

def _overstrike(a: str, b: str) -> str:
    mark, letter = (a, b) if a in _COMBINING or a == "/" else (b, a)
    if mark == "/":
        return _STROKE.get(letter, letter)
    if mark in _COMBINING:
        return unicodedata.normalize("NFC", letter + _COMBINING[mark])
    return letter


def _render_literal(s: str) -> str:
    """Replace every `x<BS>y` overstrike by the accented letter."""
    out: list[str] = []
    i = 0
    while i < len(s):
        if i + 2 < len(s) and s[i + 1] == _BS:
            out.append(_overstrike(s[i], s[i + 2]))
            i += 3
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def _base_letter(alt: list) -> str | None:
    """The letter an alternative spells if it is one (possibly overstruck) letter, else None."""
    if len(alt) != 1 or not isinstance(alt[0], str):
        return None
    s = alt[0]
    if len(s) == 1:
        return s
    if len(s) == 3 and s[1] == _BS:
        return s[2] if s[0] in _COMBINING or s[0] == "/" else s[0]
    return None


def _is_accent_group(alts: list[list]) -> bool:
    bases = [_base_letter(a) for a in alts]
    has_strike = any(len(a) == 1 and isinstance(a[0], str) and _BS in a[0] for a in alts)
    return has_strike and None not in bases and len(set(bases)) == 1


def _canonical_alts(alts: list[list]) -> str:
    if _is_accent_group(alts):
        first = next(a for a in alts if _BS in a[0])
        return _render_literal(first[0])
    return _canonical_seq(alts[0])


def _canonical_seq(seq: list) -> str:
    parts = []
    for node in seq:
        if isinstance(node, str):
            parts.append(_render_literal(node))
        else:
            parts.append(_canonical_alts(node[1]))
    return "".join(parts)


def _expand_alts(alts: list[list]) -> list[str]:
    out: list[str] = []
    for seq in alts:
        out.extend(_expand_seq(seq))
    return list(dict.fromkeys(out))


def _expand_seq(seq: list) -> list[str]:
    options: list[list[str]] = []
    for node in seq:
        if isinstance(node, str):
            options.append([_render_literal(node)])
        elif node[0] == "opt":
            options.append(["", *_expand_alts(node[1])])
        else:
            options.append(_expand_alts(node[1]))
    total = 1
    for o in options:
        total *= len(o)
    if total > _MAX_VARIANTS:
        raise InputError(f"quiz pattern expands to {total} spellings (limit {_MAX_VARIANTS})")
    return ["".join(p) for p in itertools.product(*options)]


def _tidy(s: str) -> str:
    return " ".join(s.split())


def parse_pattern(text: str) -> QuizPattern:
    """Parse one quiz field into its canonical spelling and accepted spellings (whitespace tidied)."""
    alts, _ = _parse_alts(text, 0, None)
    canonical = _tidy(_canonical_alts(alts))
    variants = frozenset(v for v in (_tidy(x) for x in _expand_alts(alts)) if v)
    return QuizPattern(raw=text, canonical=canonical, variants=variants | ({canonical} if canonical else set()))


def read_quiz_file(path: str | Path) -> list[list[QuizPattern]]:
    """Read a quiz data file: one list of parsed fields per record (continuation lines joined)."""
    text = Path(path).read_text(encoding="utf-8")
    records: list[list[QuizPattern]] = []
    pending = ""
    for line in text.splitlines():
        if (len(line) - len(line.rstrip("\\"))) % 2 == 1:
            pending += line[:-1]
            continue
        line, pending = pending + line, ""
        if not line.strip():
            continue
        records.append([parse_pattern(f) for f in split_fields(line)])
    if pending.strip():
        records.append([parse_pattern(f) for f in split_fields(pending)])
    return records
