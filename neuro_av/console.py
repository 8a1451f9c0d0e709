"""Console lines within 100 columns that never break a path or a name: wrapping at spaces only
(``textwrap`` breaks at hyphens by default, which cut temporary paths such as ``pytest-of-root``)."""
from __future__ import annotations

import textwrap

WIDTH = 100


def wrap(text: str, width: int = WIDTH, **kw) -> list[str]:
    """``textwrap.wrap`` breaking only at whitespace; a word longer than the line stays whole."""
    return textwrap.wrap(text, width, **{"break_on_hyphens": False, "break_long_words": False, **kw})


def fill(text: str, width: int = WIDTH, **kw) -> str:
    return "\n".join(wrap(text, width, **kw))
