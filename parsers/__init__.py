"""Pure parsers: bytes or text in, Story out. No I/O, no Prefect, no boto3."""

from parsers import native as _native

# The text path's modules compiled with mypyc, when built from exactly these sources
# (parsers/native.py); before any of them is imported.
_native.activate(__path__)

from parsers.story import DEFAULT_MAX_BYTES, parse_document, parse_story  # noqa: E402

__all__ = ["DEFAULT_MAX_BYTES", "parse_document", "parse_story"]
