"""Language tags as the router matches them (BCP 47, case-insensitive).

An expert fluent in ``pt-BR`` can take work asked in ``pt``; work asked in
``pt-BR`` needs an expert with ``pt-BR`` itself. So a task's tag must match
exactly, and each of an expert's tags also counts for its shorter prefixes.
"""

from __future__ import annotations

__all__ = ["expand", "normalize"]


def normalize(tag: str) -> str:
    """The conventional case of a tag: ``PT-br`` -> ``pt-BR``, ``zh-hant`` -> ``zh-Hant``."""
    parts = tag.split("-")
    out = [parts[0].lower()]
    for part in parts[1:]:
        if len(part) == 2 and part.isalpha():
            out.append(part.upper())
        elif len(part) == 4 and part.isalpha():
            out.append(part.title())
        else:
            out.append(part.lower())
    return "-".join(out)


def expand(tag: str) -> list[str]:
    """The tag and its prefixes, longest first: ``zh-Hant-TW``, ``zh-Hant``, ``zh``."""
    parts = tag.split("-")
    return ["-".join(parts[:n]) for n in range(len(parts), 0, -1)]
