"""The stories record, its Arrow schema (defined once) and validation."""

from schemas.errors import ConfigError, ParseError, StorageError, ValidationError, WireIngestError
from schemas.story import (
    ARROW_SCHEMA,
    FILE_SCHEMA,
    PARTITION_COLUMNS,
    SCHEMA_VERSION,
    Contact,
    Removed,
    Story,
    stories_to_table,
    validate_story,
)

__all__ = [
    "ARROW_SCHEMA",
    "FILE_SCHEMA",
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
    "stories_to_table",
    "validate_story",
]
