"""The folding behind ``monitor search``: one rule on every backend.

SQLite's LIKE folds only ASCII case and PostgreSQL's depends on the cluster's locale, so each
version stores its text folded here (lower case, accents removed, words joined by single
spaces) and queries are folded the same way: ``Élysée`` finds ``elysee`` everywhere.
"""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"\w+")


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_WORD.findall(plain))


def like_pattern(word: str) -> str:
    """A LIKE pattern matching ``word`` anywhere, with LIKE's wildcards escaped (escape ``\\``)."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
