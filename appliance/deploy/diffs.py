"""What an apply changes, file by file: the review page, the revision page and ``apply --diff``.

Pure: file records in (``revisions.file_record``: content, mode, owner, group, secret), diffs
out, no Django. A secret file's content never appears, only that it was added, removed or
changed (in a revision its content is a reference anyway: secretrefs). ``unified`` is the text a
revision keeps (``Revision.diff``) and the command prints; ``parse`` reads that text back, so the
revision page shows exactly the diff the revision applied, even after the files it was taken
against have changed.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

ATTRIBUTES = ("mode", "owner", "group")
NO_NEWLINE = "\\ No newline at end of file"
_HUNK = re.compile(r"@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")
_SECRET = re.compile(r"\(secret file (added|removed|changed)\)")
_LINE = re.compile(r"[^\n]*\n|[^\n]+\Z")


@dataclass(frozen=True)
class FileDiff:
    path: str
    status: str  # added | removed | changed
    notes: tuple[str, ...] = ()  # "mode 0o644 -> 0o640", "owner root -> skill-quiz"
    secret: bool = False  # its content differs and is not shown
    lines: tuple[str, ...] = ()  # the hunks: "@@ …", " …", "-…", "+…", NO_NEWLINE

    @property
    def added(self) -> int:
        return sum(1 for line in self.lines if line.startswith("+"))

    @property
    def removed(self) -> int:
        return sum(1 for line in self.lines if line.startswith("-"))


@dataclass(frozen=True)
class Summary:
    files: int
    added: int
    removed: int
    secret: int  # secret files whose content changes unseen


def summary(diffs: list[FileDiff]) -> Summary:
    return Summary(len(diffs), sum(d.added for d in diffs), sum(d.removed for d in diffs),
                   sum(1 for d in diffs if d.secret))


def _lines(text: str) -> list[str]:
    # Only "\n" ends a line: str.splitlines would also split at form feeds and the like, and
    # the diff's text would no longer read back line for line.
    return _LINE.findall(text)


def _notes(before: dict, after: dict) -> tuple[str, ...]:
    notes = []
    for key in ATTRIBUTES:
        was, now = before.get(key), after.get(key)
        if was != now:
            if key == "mode":
                was, now = oct(was or 0), oct(now or 0)
            notes.append(f"{key} {was} -> {now}")
    return tuple(notes)


def _hunks(before: str, after: str) -> tuple[str, ...]:
    lines = []
    for line in list(difflib.unified_diff(_lines(before), _lines(after), n=3))[2:]:
        if line.endswith("\n"):
            lines.append(line[:-1])
        else:  # a file's last line without its newline
            lines.extend([line, NO_NEWLINE])
    return tuple(lines)


def file_diff(path: str, before: dict | None, after: dict | None) -> FileDiff | None:
    """How ``path`` changes from one record to the other; None when it does not."""
    status = "added" if before is None else "removed" if after is None else "changed"
    old, new = before or {}, after or {}
    notes = _notes(old, new) if before is not None and after is not None else ()
    old_text, new_text = old.get("content", ""), new.get("content", "")
    same = before is not None and after is not None and old_text == new_text
    if same and not notes:
        return None
    if old.get("secret") or new.get("secret"):
        return FileDiff(path, status, notes, secret=not same)
    return FileDiff(path, status, notes, lines=() if same else _hunks(old_text, new_text))


def diff_files(old: dict, new: dict) -> list[FileDiff]:
    """Every file added, removed, or changed in content, mode or ownership, by path."""
    found = (file_diff(path, old.get(path), new.get(path)) for path in sorted(old.keys() | new))
    return [diff for diff in found if diff is not None]


def unified(diffs: list[FileDiff]) -> str:
    """The diffs as one text: a unified diff per file, its notes as ``#`` lines."""
    out = []
    for diff in diffs:
        out.append("--- /dev/null" if diff.status == "added" else f"--- a{diff.path}")
        out.append("+++ /dev/null" if diff.status == "removed" else f"+++ b{diff.path}")
        out.extend(f"# {note}" for note in diff.notes)
        if diff.secret:
            out.append(f"(secret file {diff.status})")
        out.extend(diff.lines)
    return "\n".join(out) + ("\n" if out else "")


def _path(name: str) -> str:
    return name[1:] if name.startswith(("a/", "b/")) else name


def _hunk(lines: list[str], i: int) -> tuple[list[str], int]:
    """The hunk starting at line ``i`` (its header's counts say how long it is), and the line
    after it."""
    match = _HUNK.match(lines[i])
    if match is None:
        raise ValueError(f"line {i + 1}: not a hunk header: {lines[i][:80]!r}")
    old, new = (int(count) if count is not None else 1 for count in match.groups())
    hunk, i = [lines[i]], i + 1
    while old > 0 or new > 0 or (i < len(lines) and lines[i] == NO_NEWLINE):
        line = lines[i] if i < len(lines) else None
        if line is None or line[:1] not in (" ", "-", "+", "\\"):
            raise ValueError(f"line {i + 1}: the hunk ends early")
        old -= line[:1] in (" ", "-")
        new -= line[:1] in (" ", "+")
        hunk.append(line)
        i += 1
    return hunk, i


def parse(text: str) -> list[FileDiff]:
    """``unified``'s text back as per-file diffs; ValueError when it is not such a text."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    diffs, i = [], 0
    while i < len(lines):
        if not lines[i]:  # older revisions left a blank line after a file with no hunk
            i += 1
            continue
        old, new = lines[i], lines[i + 1] if i + 1 < len(lines) else ""
        if not (old.startswith("--- ") and new.startswith("+++ ")):
            raise ValueError(f"line {i + 1}: not a file's header: {old[:80]!r}")
        status = "added" if old == "--- /dev/null" else \
            "removed" if new == "+++ /dev/null" else "changed"
        path = _path(old[4:] if status == "removed" else new[4:])
        i += 2
        notes, secret, hunks = [], False, []
        while i < len(lines) and lines[i].startswith("# "):
            notes.append(lines[i][2:])
            i += 1
        if i < len(lines) and _SECRET.fullmatch(lines[i]):
            secret, i = True, i + 1
        while i < len(lines) and lines[i].startswith("@@"):
            hunk, i = _hunk(lines, i)
            hunks.extend(hunk)
        diffs.append(FileDiff(path, status, tuple(notes), secret, tuple(hunks)))
    return diffs
