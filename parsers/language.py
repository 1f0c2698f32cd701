"""Language of a story as an ISO 639-1 code."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_CODE = re.compile(r"^([a-zA-Z]{2})(?:[-_][A-Za-z0-9]+)*$")


@lru_cache(maxsize=1)
def _identifier() -> Any:
    # py3langid loads its model (~0.5 s) on first use; the import stays off the start-up path.
    import py3langid.langid as langid

    langid.classify("")  # loads the model
    # ISO 639-1 only: the model also knows 3-letter codes (wuu, yue, ...) the schema cannot hold.
    langid.set_languages([code for code in langid.IDENTIFIER.nb_classes if len(code) == 2])
    return langid


def normalize_language_tag(tag: str | None) -> str | None:
    """ "en-US" -> "en"; None for tags that are not ISO 639-1 based."""
    if not tag:
        return None
    match = _CODE.match(tag.strip())
    return match.group(1).lower() if match else None


def detect_language(text: str, declared: str | None = None) -> str:
    """The declared language if it is a valid code, else the one detected from ``text``."""
    code = normalize_language_tag(declared)
    if code:
        return code
    sample = text[:3000]
    language, _score = _identifier().classify(sample)
    return str(language)
