"""Run totals and their two renderings: a terminal table and a Prefect markdown artifact."""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, TextIO

from flows.batch import BatchSummary


@dataclass
class RunTotals:
    """What one ingest run did, summed over its batches."""

    batches: int = 0
    inputs: int = 0
    stories: int = 0
    duplicates: int = 0
    near_duplicates: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    bytes_written: int = 0
    files: int = 0
    recovered_batches: int = 0
    #: Inputs left for a later run because they changed within the settle time.
    settling: int = 0
    #: New inputs left for a later run because the run took its limit (``max_inputs``).
    left: int = 0
    #: Inputs ingested again (among ``inputs``) because they were rewritten since ingested.
    rewritten: int = 0
    #: Of those, inputs whose bytes had not changed (touched): they kept their rows.
    unchanged: int = 0
    #: Inputs the store failed to read: nothing committed, the next run reads them again
    #: (``unread_first``: the first one's error, naming it).
    unread: int = 0
    unread_first: str | None = None
    #: Inputs planned after the others because earlier runs could not read them
    #: (`flows.inputs.UnreadLog`), read or not this time.
    retried: int = 0
    #: Of ``left``, the inputs that failed to read before (planned last, or not retried).
    left_unread: int = 0
    #: Inputs deleted or moved between the listing and the read: nothing committed.
    vanished: int = 0

    def add(self, summary: BatchSummary) -> None:
        self.batches += 1
        self.inputs += summary.inputs
        self.stories += summary.stories
        self.duplicates += summary.duplicates
        self.near_duplicates += summary.near_duplicates
        self.quarantined.update(summary.quarantined)
        self.bytes_written += summary.bytes_written
        self.files += len(summary.files)
        self.recovered_batches += summary.recovered
        self.unchanged += summary.unchanged
        self.unread += summary.unread
        self.unread_first = self.unread_first or summary.unread_first
        self.vanished += summary.vanished

    def merge(self, other: dict[str, Any]) -> None:
        """Add another run's totals (as returned by the flow)."""
        for name in (
            "batches",
            "inputs",
            "stories",
            "duplicates",
            "near_duplicates",
            "bytes_written",
            "files",
            "recovered_batches",
        ):
            setattr(self, name, getattr(self, name) + int(other[name]))
        self.settling += int(other.get("settling", 0))  # absent from totals written before them
        self.left += int(other.get("left", 0))
        self.rewritten += int(other.get("rewritten", 0))
        self.unchanged += int(other.get("unchanged", 0))
        self.unread += int(other.get("unread", 0))
        self.unread_first = self.unread_first or other.get("unread_first")
        self.retried += int(other.get("retried", 0))
        self.left_unread += int(other.get("left_unread", 0))
        self.vanished += int(other.get("vanished", 0))
        self.quarantined.update(other["quarantined"])

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunTotals:
        totals = cls()
        totals.merge(data)
        return totals

    @property
    def quarantined_total(self) -> int:
        return sum(self.quarantined.values())

    @property
    def balanced(self) -> bool:
        """Nothing lost: every input is a story, a quarantine entry or an exact duplicate
        (or, planned again as rewritten, found unchanged: it keeps what it made before), or
        was not read: left for the next run, or gone since it was listed."""
        done = self.stories + self.quarantined_total + self.duplicates + self.unchanged
        return self.inputs == done + self.unread + self.vanished

    def to_dict(self) -> dict[str, Any]:
        return {
            "batches": self.batches,
            "inputs": self.inputs,
            "stories": self.stories,
            "duplicates": self.duplicates,
            "near_duplicates": self.near_duplicates,
            "quarantined": dict(self.quarantined),
            "quarantined_total": self.quarantined_total,
            "bytes_written": self.bytes_written,
            "files": self.files,
            "recovered_batches": self.recovered_batches,
            "settling": self.settling,
            "left": self.left,
            "rewritten": self.rewritten,
            "unchanged": self.unchanged,
            "unread": self.unread,
            "unread_first": self.unread_first,
            "retried": self.retried,
            "left_unread": self.left_unread,
            "vanished": self.vanished,
            "balanced": self.balanced,
        }

    def rows(self) -> list[tuple[str, str]]:
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(self.quarantined.items())) or "-"
        rows = [
            ("inputs", str(self.inputs)),
            ("stories written", str(self.stories)),
            ("  of which near-duplicates (duplicate_of set)", str(self.near_duplicates)),
            ("exact duplicates (not written again)", str(self.duplicates)),
            ("quarantined", f"{self.quarantined_total} ({reasons})"),
            ("batches", f"{self.batches} ({self.recovered_batches} recovered)"),
            ("files written", str(self.files)),
            ("bytes written", f"{self.bytes_written:,}"),
            ("inputs = stories + quarantined + duplicates", "yes" if self.balanced else "NO"),
        ]
        if self.unchanged or self.unread or self.vanished:
            parts = ["unchanged"] * bool(self.unchanged) + ["unread"] * bool(self.unread)
            parts += ["vanished"] * bool(self.vanished)
            rows[-1] = (f"inputs = stories + quarantined + duplicates + {' + '.join(parts)}", rows[-1][1])
        if self.vanished:
            rows.insert(1, ("gone since listed (deleted or moved)", str(self.vanished)))
        if self.unread:
            rows.insert(1, ("left for the next run (could not be read)", str(self.unread)))
        if self.settling:
            rows.insert(1, ("left for the next run (still changing)", str(self.settling)))
        if self.left_unread:
            rows.insert(1, ("  of which failed to read before", str(self.left_unread)))
        if self.left:
            rows.insert(1, ("left for the next run (over its input limit)", str(self.left)))
        if self.rewritten:
            rows.insert(1, ("  of which rewritten since ingested", str(self.rewritten)))
            rows.insert(2, ("    of those with the same bytes (rows kept)", str(self.unchanged)))
        if self.retried:
            rows.insert(1, ("  of which failed to read before (planned last)", str(self.retried)))
        return rows


def render_table(totals: RunTotals) -> str:
    """A plain-text two-column table for the terminal."""
    rows = totals.rows()
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def render_markdown(totals: RunTotals, source: str, dest: str) -> str:
    """The Prefect artifact: the same rows as a markdown table."""
    lines = [f"### wire-ingest: `{source}` → `{dest}`", "", "| measure | value |", "|---|---|"]
    lines += [f"| {name.strip()} | {value} |" for name, value in totals.rows()]
    return "\n".join(lines)


class Progress:
    """A one-line progress bar on a terminal, plain log lines otherwise."""

    def __init__(self, total: int, stream: TextIO | None = None, name: str = "backfill") -> None:
        self.total = total
        self.name = name
        self.done = 0
        self.stories = 0
        self.started = time.monotonic()
        self.stream = stream or sys.stderr  # looked up now: a test or a caller may have swapped it
        self.tty = self.stream.isatty()

    def update(self, inputs: int, stories: int, label: str) -> None:
        self.done += inputs
        self.stories += stories
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        if self.tty:
            width = 30
            filled = int(width * self.done / self.total) if self.total else width
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(
                f"\r[{bar}] {self.done}/{self.total} inputs  {self.stories / elapsed:6.1f} stories/s  "
                f"ETA {eta:5.0f}s  {label:<24}"
            )
            if self.done >= self.total:
                self.stream.write("\n")
        else:
            self.stream.write(
                f"{self.name}: {label}: {self.done}/{self.total} inputs done, "
                f"{self.stories / elapsed:.1f} stories/s, ETA {eta:.0f}s\n"
            )
        self.stream.flush()


class BatchProgress:
    """``wire-ingest ingest``'s progress: each flow run's planned inputs, then a line (or the
    bar, on a terminal) for each batch it commits (``flows.ingest.watching``)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self.bar: Progress | None = None
        self.batches = self.planned_batches = self.runs = 0

    def planned(self, inputs: int, batches: int) -> None:
        self.runs += 1
        self.batches, self.planned_batches = 0, batches
        self.bar = Progress(inputs, self.stream, "ingest") if inputs else None

    def committed(self, inputs: int, stories: int) -> None:
        if self.bar is None:
            return
        self.batches += 1
        run = f"run {self.runs}, " if self.runs > 1 else ""
        self.bar.update(inputs, stories, f"{run}batch {self.batches}/{self.planned_batches}")
