"""Numbers as people say them, for ``AMAZON.NUMBER`` slots: "7", "twenty one", "a hundred and five".

Only a whole run of words that forms one well-shaped number parses: "one two" is two numbers,
not three, so a sample like ``{first} {second}`` splits it the way a listener would.
"""

from __future__ import annotations

import re

SMALL = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}
TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}
SCALES = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
NEGATIVE = {"minus", "negative"}
DIGITS_RE = re.compile(r"-?\d+")

# Every word that can be part of a spoken number: lets the matcher skip spans quickly.
NUMBER_WORDS = frozenset({*SMALL, *TENS, *SCALES, *NEGATIVE, "hundred", "and", "a"})


def _below_hundred(words: list[str], pos: int) -> tuple[int | None, int]:
    word = words[pos] if pos < len(words) else None
    if word in TENS:
        value, pos = TENS[word], pos + 1
        if pos < len(words) and 0 < SMALL.get(words[pos], 0) < 10:
            value, pos = value + SMALL[words[pos]], pos + 1
        return value, pos
    if word in SMALL and word != "zero":
        return SMALL[word], pos + 1
    return None, pos


def _group(words: list[str], pos: int) -> tuple[int | None, int]:
    """1 to 9999: "five", "twenty one", "a hundred and five", "twelve hundred"."""
    nxt = words[pos + 1] if pos + 1 < len(words) else None
    if words[pos] == "a" and nxt in SCALES:
        return 1, pos + 1
    if nxt == "hundred" and (words[pos] == "a" or SMALL.get(words[pos], 0) > 0):
        value, pos = 100 * SMALL.get(words[pos], 1), pos + 2
        if pos < len(words) and words[pos] == "and":
            rest, pos = _below_hundred(words, pos + 1)
            return (None, pos) if rest is None else (value + rest, pos)
        rest, after = _below_hundred(words, pos)
        return (value, pos) if rest is None else (value + rest, after)
    return _below_hundred(words, pos)


def parse_number(words: list[str] | tuple[str, ...]) -> int | None:
    """The integer the words say, or None when they are not exactly one number."""
    words = list(words)
    if not words:
        return None
    negative = words[0] in NEGATIVE
    if negative:
        words = words[1:]
        if not words:
            return None
    if len(words) == 1:
        if DIGITS_RE.fullmatch(words[0]):
            value = int(words[0])
            return -value if negative else value
        if words[0] == "zero":
            return 0
    total, pos, last_scale = 0, 0, None
    while pos < len(words):
        group, pos = _group(words, pos)
        if group is None:
            return None
        scale = SCALES.get(words[pos]) if pos < len(words) else None
        if scale is None:
            total += group
            if pos != len(words):
                return None
            break
        if last_scale is not None and scale >= last_scale:
            return None  # "a thousand a million" is not one number
        total, last_scale, pos = total + group * scale, scale, pos + 1
        if pos < len(words) and words[pos] == "and":
            pos += 1
            if pos == len(words):
                return None
    return -total if negative else total


def parse_four_digits(words: list[str] | tuple[str, ...]) -> str | None:
    """``AMAZON.FOUR_DIGIT_NUMBER``: "1234", or four digits said one by one."""
    if len(words) == 1 and re.fullmatch(r"\d{4}", words[0]):
        return words[0]
    if len(words) == 4 and all(SMALL.get(w, 10) < 10 or re.fullmatch(r"\d", w) for w in words):
        return "".join(str(SMALL[w]) if w in SMALL else w for w in words)
    return None
