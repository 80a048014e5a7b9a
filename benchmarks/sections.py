"""Sections of BENCHMARKS.md written by benchmarks other than ``python -m benchmarks`` (video
reliability, tracking, the runtime, ...): each one lies between two markers,
``<!-- section: NAME -->`` and ``<!-- /section: NAME -->``, and is kept, in its place at the
end of the file, when ``python -m benchmarks`` regenerates the rest.

Example:
    >>> write_section("BENCHMARKS.md", "tracking", "## Tracking\\n\\n| ... |")  # doctest: +SKIP
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from maskdet.files import write_atomic

_SECTION = re.compile(
    r"\n?<!-- section: (?P<name>[\w-]+) -->\n(?P<body>.*?)<!-- /section: (?P=name) -->\n?", re.S)


def read_sections(text: str) -> dict[str, str]:
    """The marked sections of a BENCHMARKS.md text, by name, in their order."""
    return {m.group("name"): m.group("body") for m in _SECTION.finditer(text)}


def strip_sections(text: str) -> str:
    """The text without its marked sections."""
    return _SECTION.sub("", text).rstrip() + "\n"


def with_sections(text: str, sections: dict[str, str]) -> str:
    """``text`` (without sections) followed by ``sections``, each between its markers."""
    out = strip_sections(text)
    for name, body in sections.items():
        out += f"\n<!-- section: {name} -->\n{body.strip()}\n<!-- /section: {name} -->\n"
    return out


def write_section(path: str | os.PathLike, name: str, markdown: str) -> Path:
    """Put ``markdown`` into the file as section ``name``, replacing the section of that name
    (or adding it at the end); the rest of the file is left as it is."""
    path = Path(path)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    sections = read_sections(text)
    sections[name] = markdown
    return write_atomic(path, with_sections(text, sections).encode("utf-8"))
