"""Pure parsers: bytes or text in, Story out. No I/O, no Prefect, no boto3."""

# First, before anything imports BeautifulSoup: its CSS-selector engine, which the parsers
# never call, loads on first use instead of at every process's start (see parsers.lazy).
from parsers.lazy import defer

defer("soupsieve")

from parsers.story import DEFAULT_MAX_BYTES, parse_document, parse_story  # noqa: E402

__all__ = ["DEFAULT_MAX_BYTES", "parse_document", "parse_story"]
