"""The model's answer made fit to be spoken: plain sentences, SSML-safe, short enough.

Models write for screens: markdown emphasis, bullet lists, code fences, links, emoji. Alexa
would read the asterisks and hashes aloud or stumble on them, so they are turned into plain
sentences; code is left out (it cannot be listened to). The text is then cut at a sentence
boundary: Alexa accepts 8000 characters of speech, but a spoken answer much over half a
minute loses the listener, so the default is about 600 characters. The card carries a
longer version for reading.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from xml.sax.saxutils import escape

ALEXA_SPEECH_LIMIT = 8000  # characters of outputSpeech, SSML tags included
DEFAULT_SPEECH_CHARS = 600
CARD_CHARS = 2000  # Alexa allows 8000 for a card's title and content; this is plenty to read

_FENCE = re.compile(r"```.*?(?:```|\Z)|~~~.*?(?:~~~|\Z)", re.S)
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_URL = re.compile(r"<?\bhttps?://[^\s>)]*[^\s>).,;:!?]>?")
_INLINE_CODE = re.compile(r"`([^`]*)`")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*(.*?)\s*#*\s*$", re.M)
_QUOTE = re.compile(r"^\s*>+\s?", re.M)
_RULE = re.compile(r"^\s*([-*_=])(?:\s*\1){2,}\s*$", re.M)
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$", re.M)
_BULLET = re.compile(r"^\s*(?:[-*+•‣◦▪]|\d{1,3}[.)])\s+", re.M)
_EMPHASIS = re.compile(r"(\*{1,3})(?=\S)(.+?)(?<=\S)\1|(?<!\w)(_{1,3})(?=\S)(.+?)(?<=\S)\3(?!\w)")
_STRAY_MARKS = re.compile(r"[*_#`|~]+")
# A model that does not stop at its own turn starts writing the user's next one.
_NEXT_TURN = re.compile(r"\n\s*(?:user|human|q)\s*:", re.I)
_ROLE_PREFIX = re.compile(r"^\s*(?:assistant|ai|alexa|bot|answer|a)\s*:\s*", re.I)
_SPACES = re.compile(r"[ \t\u00a0]+")
_SENTENCE_END = re.compile(r"[.!?…](?:[\"')\]]*)(?=\s|$)")
_CLAUSE_END = re.compile(r"[,;:\u2013\u2014](?=\s)")

# Emoji and pictographs are "So" (other symbol); these few symbols are said as words instead.
_SAY = {"°C": " degrees Celsius", "°F": " degrees Fahrenheit", "°": " degrees", "%": " percent",
        "&": " and ", "©": "", "®": "", "™": ""}
_INVISIBLE = {"\u200d", "\ufe0e", "\ufe0f", "\u20e3"}  # joiners and emoji presentation marks


@dataclass(frozen=True)
class Spoken:
    text: str  # plain text as spoken (kept in the history: what the user actually heard)
    ssml: str  # the same, escaped, in <speak>
    card: str  # a longer plain version for the card
    cut: bool  # whether the spoken text was shortened


def _remove_emoji(text: str) -> str:
    kept = []
    for char in text:
        if char in _INVISIBLE:
            continue
        category = unicodedata.category(char)
        # "So" holds emoji and dingbats; "Sk" skin tones; "Co" private use; "Cs" surrogates.
        if category in ("So", "Co", "Cs") or (category == "Sk" and ord(char) > 0x1F000):
            kept.append(" ")
            continue
        kept.append(char)
    return "".join(kept)


def _end_sentence(line: str) -> str:
    line = line.strip()
    if line and not _SENTENCE_END.search(line[-3:] + " "):
        line = line.rstrip(",;:\u2013\u2014-") + "."
    return line


def clean(answer: str) -> str:
    """Plain, speakable text: no markdown, lists, code, links or emoji."""
    text = str(answer or "").replace("\r\n", "\n").replace("\r", "\n")
    text = _ROLE_PREFIX.sub("", text)
    next_turn = _NEXT_TURN.search(text)
    if next_turn:
        text = text[: next_turn.start()]
    text = _FENCE.sub("\n", text)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _URL.sub("", text)
    text = _INLINE_CODE.sub(r"\1", text)
    text = _TABLE_RULE.sub("", text)
    text = _RULE.sub("", text)
    text = _HEADING.sub(lambda m: _end_sentence(m.group(1)), text)
    text = _QUOTE.sub("", text)
    # Each list item, table row and paragraph becomes a sentence of its own.
    lines = []
    for line in text.split("\n"):
        is_item = bool(_BULLET.match(line)) or "|" in line
        line = _BULLET.sub("", line)
        if "|" in line:
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            line = ", ".join(cell for cell in cells if cell)
        line = line.strip()
        if line and is_item:
            lines.append(_end_sentence(line[:1].upper() + line[1:]))
        elif line:
            lines.append(line)
    text = "\n".join(lines)
    for _ in range(2):  # nested emphasis: ***bold italic***, **_both_**
        text = _EMPHASIS.sub(lambda m: m.group(2) or m.group(4), text)
    text = _STRAY_MARKS.sub(" ", text)
    for symbol, words in _SAY.items():
        text = text.replace(symbol, words)
    text = _remove_emoji(text)
    text = unicodedata.normalize("NFC", text)
    # Paragraph breaks become sentence breaks so words of two lines do not run together.
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    text = " ".join(_end_sentence(" ".join(p.split("\n"))) if i < len(paragraphs) - 1
                    else " ".join(p.split("\n")) for i, p in enumerate(paragraphs))
    text = _SPACES.sub(" ", text)
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    return re.sub(r"([.!?])(?:\s*\.)+", r"\1", text).strip()


def cut(text: str, limit: int = DEFAULT_SPEECH_CHARS) -> tuple[str, bool]:
    """``text`` shortened to at most ``limit`` characters, ending on a whole sentence."""
    if len(text) <= limit:
        return text, False
    head = text[: limit + 1]
    ends = [m.end() for m in _SENTENCE_END.finditer(head) if m.end() <= limit]
    if ends and ends[-1] >= limit // 3:
        return head[: ends[-1]].rstrip(), True
    # One very long sentence: stop at a clause, else a word, and close it.
    clauses = [m.start() for m in _CLAUSE_END.finditer(head) if m.start() < limit]
    if clauses and clauses[-1] >= limit // 2:
        return head[: clauses[-1]].rstrip() + ".", True
    words = head[:limit].rsplit(" ", 1)[0].rstrip(",;:\u2013\u2014- ")
    return (words or head[: limit - 1]) + "…", True


def to_ssml(text: str) -> str:
    ssml = "<speak>" + escape(text, {'"': "&quot;", "'": "&apos;"}) + "</speak>"
    if len(ssml) > ALEXA_SPEECH_LIMIT:  # only reachable with a limit set near Alexa's own
        return to_ssml(cut(text, len(text) - (len(ssml) - ALEXA_SPEECH_LIMIT) - 1)[0])
    return ssml


def prepare(answer: str, limit: int = DEFAULT_SPEECH_CHARS) -> Spoken:
    """Everything the response needs from a raw model answer; empty text when nothing is left."""
    limit = max(40, min(int(limit), ALEXA_SPEECH_LIMIT - 100))
    plain = clean(answer)
    spoken, was_cut = cut(plain, limit)
    card, _ = cut(plain, max(limit, CARD_CHARS))
    return Spoken(text=spoken, ssml=to_ssml(spoken) if spoken else "", card=card, cut=was_cut)


def card_content(question: str, answer: str) -> str:
    """The card: what the user asked and what Alexa answered."""
    asked, _ = cut(" ".join(str(question).split()), 300)
    return f"You: {asked}\n\nAlexa: {answer}"
