"""Did-you-mean hints for misspelt keys and values."""
from __future__ import annotations

import difflib
from typing import Iterable


def did_you_mean(word: object, options: Iterable[object]) -> str:
    """` (did you mean 'x'?)` when `word` is close to one of `options` (ignoring case), else ``."""
    names = {str(o).lower(): str(o) for o in options}
    text = str(word).lower()
    match = [n for n in names if len(text) >= 3 and n.startswith(text)][:1]  # `grace`: grace_period
    match = match or difflib.get_close_matches(text, list(names), n=1, cutoff=0.6)
    return f" (did you mean {names[match[0]]!r}?)" if match else ""


def one_of(options: Iterable[object]) -> str:
    """`one of a, b, c` for messages."""
    return "one of " + ", ".join(str(o) for o in options)


def excerpt(value: object, limit: int = 40) -> str:
    """`repr(value)`, cut to about `limit` characters, for one-line messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
