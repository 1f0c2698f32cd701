"""The stories record and its validation; the Arrow schema is in schemas.arrow
(imported on its own so that parsing never loads pyarrow)."""

from schemas.errors import ConfigError, ParseError, StorageError, ValidationError, WireIngestError
from schemas.story import (
    PARTITION_COLUMNS,
    SCHEMA_VERSION,
    Contact,
    Removed,
    Story,
    validate_story,
)

__all__ = [
    "PARTITION_COLUMNS",
    "SCHEMA_VERSION",
    "ConfigError",
    "Contact",
    "ParseError",
    "Removed",
    "StorageError",
    "Story",
    "ValidationError",
    "WireIngestError",
    "validate_story",
]
