"""The exception hierarchy: one base, a few subclasses that tell the user what to do."""

from __future__ import annotations


class WireIngestError(Exception):
    """Base of every error wire-ingest raises on purpose."""


class ParseError(WireIngestError):
    """An input could not become a story. ``reason`` is a short stable code for quarantine."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class ValidationError(WireIngestError):
    """A parsed record breaks the schema contract; ``problems`` lists each broken rule."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class StorageError(WireIngestError):
    """Object storage failed after retries, or a root URI is unusable."""


class MissingObjectError(StorageError):
    """The object or file is not there (deleted or moved since it was listed)."""


class InputError(StorageError):
    """One input cannot be read as a story file (a link leaving the source, a device).
    ``reason`` is its quarantine code; the run goes on."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


class LeaseHeldError(StorageError):
    """Another run holds the store's lease; the message names it and says what to do."""


class LeaseLostError(StorageError):
    """This run's lease lapsed or was taken over; it stopped before committing more."""


class QuarantineShareError(WireIngestError):
    """A run quarantined more of its inputs than allowed (``--max-quarantine-share``);
    what was good is committed, the run fails so that a schedule raises the alarm."""


class UnreadInputsError(WireIngestError):
    """Some inputs could not be read (the store failed, not the input): they are left for
    the next run, which reads them again; what was read is committed. The run fails so
    that a schedule raises the alarm when it persists."""


class InconsistentDatasetError(WireIngestError):
    """``wire-ingest check`` (or its flow) found a guarantee broken; the message names each
    kind, and the report the inputs concerned and what to do."""


class ConfigError(WireIngestError):
    """A command-line option or setting is wrong; the message says which and how to fix it."""
