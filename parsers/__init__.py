"""Pure parsers: bytes or text in, Story out. No I/O, no Prefect, no boto3."""

from parsers.story import DEFAULT_MAX_BYTES, parse_document, parse_story

__all__ = ["DEFAULT_MAX_BYTES", "parse_document", "parse_story"]
