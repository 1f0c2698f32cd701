"""``wire-ingest check ROOT``: the dataset's guarantees read back from the store.

A run keeps them by its commit protocol; this reads what is stored and says where they do
not hold, for an operator who wants to know (after a restore, a hand-edited bucket, an
upgrade, or years of runs) rather than trust. Read under the store's lease, so no run
writes meanwhile; nothing is changed.

Checked:

- every story row's ``story_id`` is in one row only (exactly once);
- every input whose latest ledger entry is a story has that story's row, and every row's
  story is some input's latest story entry (nothing lost, nothing left over);
- every exact duplicate's story has a row;
- every row's ``duplicate_of`` chain ends at a row that is nobody's copy (it names no story
  without a row, and does not come back to itself): the stories that are nobody's copy,
  ``duplicate_of IS NULL``, are every story once;
- every quarantined input's quarantine record is there;
- every story file is readable Parquet.

An input marked to be read again (`table.ledger.READ_AGAIN`) is counted ``waiting``, not a
problem: the next run over its source mends it. Batches or merges a stopped run left
pending are reported: the next ``ingest`` (or ``compact``) rolls them forward, and until
then their rows may count as problems.
"""

from __future__ import annotations

import hashlib
import io
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from storage import Storage
from storage.base import at_once
from table.commit import PENDING_PREFIX
from table.compaction import PENDING_PREFIX as PENDING_MERGE_PREFIX
from table.dataset import STORIES_PREFIX
from table.ledger import READ_AGAIN, LedgerEntry, load_ledger

#: Examples kept of each kind of problem (all are counted).
EXAMPLES = 10

#: Each kind of problem: what it means, and what to do.
PROBLEMS: dict[str, tuple[str, str]] = {
    "unreadable_files": (
        "a story file that is not readable Parquet (truncated, overwritten, not Parquet); its rows are "
        "counted lost below",
        "restore the file from a backup, or delete it and reprocess the inputs entries_without_row names",
    ),
    "doubled_rows": (
        "a story_id in more than one row",
        "reprocess the inputs named (`wire-ingest backfill SOURCE --dest ROOT --reprocess`): "
        "their rows are taken out and written once",
    ),
    "entries_without_row": (
        "an input whose latest ledger entry is a story no row holds",
        "reprocess the inputs named: their stories are written again",
    ),
    "rows_without_entry": (
        "a row whose story is no input's latest ledger entry",
        "reprocess the inputs named in the rows' source_uri, or delete the rows' files "
        "if those inputs were ingested into another root",
    ),
    "duplicates_of_nothing": (
        "an exact duplicate (no row of its own) of a story no row holds",
        "reprocess the inputs named: the first becomes the story's row",
    ),
    "broken_copy_chains": (
        "a row whose duplicate_of names a story no row holds, or comes back to itself",
        "reprocess the inputs named: duplicate_of is found anew (rows written before the "
        "thirty-seventh session kept naming a story whose row a rewrite took out)",
    ),
    "missing_quarantine": (
        "a quarantined input whose quarantine record is gone",
        "`wire-ingest replay ROOT` cannot see it: reprocess the inputs named",
    ),
}


@dataclass
class CheckReport:
    """What ``check_dataset`` found: counts, the problems by kind (``PROBLEMS``) with up to
    ``EXAMPLES`` source URIs each, and what was left pending."""

    files: int = 0
    rows: int = 0
    inputs: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    waiting: int = 0
    pending_batches: list[str] = field(default_factory=list)
    pending_merges: list[str] = field(default_factory=list)
    problems: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def found(self, kind: str, source_uri: str) -> None:
        self.problems[kind] += 1
        shown = self.examples.setdefault(kind, [])
        if len(shown) < EXAMPLES:
            shown.append(source_uri)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "files": self.files,
            "rows": self.rows,
            "inputs": self.inputs,
            "outcomes": dict(self.outcomes),
            "waiting": self.waiting,
            "pending_batches": self.pending_batches,
            "pending_merges": self.pending_merges,
            "problems": {
                kind: {
                    "count": count,
                    "means": PROBLEMS[kind][0],
                    "do": PROBLEMS[kind][1],
                    "examples": self.examples[kind],
                }
                for kind, count in self.problems.items()
            },
        }

    def lines(self) -> list[str]:
        """The report as text: counts, then each problem with what to do."""
        outcomes = ", ".join(f"{count:,} {outcome}" for outcome, count in sorted(self.outcomes.items()))
        out = [
            f"{self.rows:,} rows in {self.files:,} files; {self.inputs:,} inputs in the ledger ({outcomes or 'none'})",
        ]
        if self.waiting:
            out.append(f"{self.waiting:,} inputs marked to be read again by the next run over their source")
        if self.pending_batches or self.pending_merges:
            out.append(
                f"{len(self.pending_batches)} batches and {len(self.pending_merges)} merges left pending by a "
                "stopped run: the next `wire-ingest ingest` (or `compact`) over this root rolls them forward; "
                "check again after it"
            )
        if not (self.rows or self.inputs or self.problems):
            out.append("no dataset here: nothing under stories/ or _ledger/ (is it the right root?)")
        elif self.ok:
            out.append("consistent: every guarantee checked holds")
        for kind, count in self.problems.items():
            means, do = PROBLEMS[kind]
            out.append(f"{kind}: {count:,} ({means}); to mend: {do}")
            out += [f"  {uri}" for uri in self.examples[kind]]
        return out


def _hash(text: str) -> int:
    """64 bits of ``text`` (never 0, which stands for no value): the check compares stories
    as such numbers in numpy arrays, ~8 bytes each, not as ~64-character strings in Python
    sets (~0.3 KB a story at a million). Two ids meeting by chance: ~3e-8 at a million."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little") or 1


def _hashes(values: list[Any]) -> np.ndarray:
    return np.fromiter((_hash(v) if v else 0 for v in values), dtype=np.uint64, count=len(values))


class _Rows:
    """Every story row's id and ``duplicate_of`` (hashed), and which file holds it."""

    def __init__(self, dest: Storage, tell: Callable[[str], None]) -> None:
        self.dest = dest
        self.keys: list[str] = []
        self.unreadable: list[str] = []  # story files that are no readable Parquet, and why
        ids: list[np.ndarray] = []
        copies: list[np.ndarray] = []
        keys = [info.key for info in dest.list(STORIES_PREFIX) if info.key.endswith(".parquet")]
        for start in range(0, len(keys), 256):  # on S3 several GETs at once (`at_once`)
            part = keys[start : start + 256]
            for key, read in zip(part, at_once(dest, self._read, part, "wire-ingest-check"), strict=True):
                if isinstance(read, str):
                    self.unreadable.append(read)
                    continue
                ids.append(read[0])
                copies.append(read[1])
                self.keys.append(key)
            tell(f"read {start + len(part):,} of {len(keys):,} files ({sum(map(len, ids)):,} rows)")
        self.ids = np.concatenate(ids) if ids else np.zeros(0, dtype=np.uint64)
        self.copy_of = np.concatenate(copies) if copies else np.zeros(0, dtype=np.uint64)
        self.starts = np.cumsum([0, *map(len, ids)])  # the first row of each file

    def _read(self, key: str) -> tuple[np.ndarray, np.ndarray] | str:
        """A story file's ids and ``duplicate_of`` hashed, or why it is no readable Parquet."""
        try:
            table = pq.read_table(self._open(key), columns=["story_id", "duplicate_of"])
        except (pa.ArrowException, OSError) as exc:  # truncated, overwritten, not Parquet
            return f"{self.dest.full_uri(key)} ({type(exc).__name__}: {str(exc)[:200]})"
        return _hashes(table.column("story_id").to_pylist()), _hashes(table.column("duplicate_of").to_pylist())

    def _open(self, key: str) -> Any:
        path = self.dest.local_path(key)
        return path if path is not None else io.BytesIO(self.dest.get(key))

    def sources(self, rows: np.ndarray) -> list[str]:
        """The ``source_uri`` of the rows numbered ``rows`` (read again from their files)."""
        found: list[str] = []
        files = np.searchsorted(self.starts, rows, side="right") - 1
        for number in sorted(set(files.tolist())):
            column = pq.read_table(self._open(self.keys[number]), columns=["source_uri"]).column("source_uri")
            found += [column[int(row - self.starts[number])].as_py() for row in rows[files == number]]
        return found


#: The ledger fields the check reads (of the snapshot's, the rest are not read at all).
_FIELDS = ("source_uri", "outcome", "story_id", "duplicate_of", "key", "revision")


def _latest_entries(dest: Storage) -> Iterator[tuple[str, str, str | None, str | None, str | None, str | None]]:
    """Each done input's latest entry as ``_FIELDS``, in commit order: the folded ones a
    batch of rows at a time, six of their columns (at a million inputs: 1.2 s, not 4.2 s
    for every column but the fingerprints), then the unfolded batches' (held by
    ``load_ledger``, as in every run)."""
    done = load_ledger(dest).done
    if done.snapshot is not None:
        skip = [each.name for each in fields(LedgerEntry) if each.name not in _FIELDS]
        for row in done.snapshot.iter_rows(skip=skip):
            if row["source_uri"] not in done.recent:
                get = row.get  # a snapshot folded before a column existed has none of it
                uri, outcome = row["source_uri"], row["outcome"]
                yield uri, outcome, get("story_id"), get("duplicate_of"), get("key"), get("revision")
    for uri, entry in done.recent.items():
        yield uri, entry.outcome, entry.story_id, entry.duplicate_of, entry.key, entry.revision


def _absent(values: array[int] | np.ndarray, among: np.ndarray) -> set[int]:
    """Those of ``values`` not in ``among``."""
    found = np.frombuffer(values, dtype=np.uint64) if isinstance(values, array) else values
    return set(found[~np.isin(found, among)].tolist()) if len(found) else set()


def _broken_chains(rows: _Rows, roots: np.ndarray) -> np.ndarray:
    """The rows whose ``duplicate_of`` chain does not end at a row that is nobody's copy (or
    at one of ``roots``, stories to be read again): a chain naming a story no row holds, or
    coming back to itself. Pointer jumping, ~log2(rows) passes over arrays."""
    count = len(rows.ids)
    order = np.argsort(rows.ids, kind="stable")
    sorted_ids = rows.ids[order]
    at = np.minimum(np.searchsorted(sorted_ids, rows.copy_of), max(count - 1, 0))
    named = (rows.copy_of != 0) & (sorted_ids[at] == rows.copy_of) if count else np.zeros(0, dtype=bool)
    state = np.zeros(count, dtype=np.int8)  # 1 ends well, -1 broken, 0 not known yet
    state[(rows.copy_of == 0) | np.isin(rows.ids, roots)] = 1
    state[(state == 0) & ~named] = -1  # names a story no row holds
    jump = np.where(named, order[at], np.arange(count))
    for _ in range(64):
        open_ = np.flatnonzero(state == 0)
        if not len(open_):
            break
        ahead = state[jump[open_]]
        state[open_] = ahead
        still = open_[ahead == 0]
        jump[still] = jump[jump[still]]
    return np.flatnonzero(state != 1)  # those still not known go round a cycle


def check_dataset(dest: Storage, progress: Callable[[str], None] | None = None) -> CheckReport:
    """Read ``dest``'s rows and ledger and check them against each other (see the module)."""
    report = CheckReport()
    tell = progress or (lambda line: None)
    report.pending_batches = sorted(info.key for info in dest.list(PENDING_PREFIX))
    report.pending_merges = sorted(info.key for info in dest.list(PENDING_MERGE_PREFIX))
    rows = _Rows(dest, tell)
    report.files, report.rows = len(rows.keys), len(rows.ids)
    for file in rows.unreadable:
        report.found("unreadable_files", file)

    # The ledger, each input's latest entry, as hashes (a second pass names the inputs).
    # Machine words, not a list of Python ints (~40 bytes each: 40 MB at a million).
    held, waiting, copied, quarantined = (array("Q") for _ in range(4))  # copied: exact duplicates' stories
    for _uri, outcome, story_id, duplicate_of, key, revision in _latest_entries(dest):
        report.inputs += 1
        report.outcomes[outcome] += 1
        again = revision == READ_AGAIN
        report.waiting += again
        if outcome == "story" and story_id:
            held.append(_hash(story_id))
            if again:
                waiting.append(held[-1])
        elif outcome == "duplicate" and duplicate_of and not again:
            copied.append(_hash(duplicate_of))
        elif outcome == "quarantined" and key:
            quarantined.append(_hash(key))
        if report.inputs % 100_000 == 0:
            tell(f"read {report.inputs:,} ledger entries")
    held_ids = np.frombuffer(held, dtype=np.uint64) if len(held) else np.zeros(0, dtype=np.uint64)
    stored = np.array([_hash(key) for key in dest.keys("quarantine/")], dtype=np.uint64)
    lost, orphaned, missing = _absent(held_ids, rows.ids), _absent(copied, rows.ids), _absent(quarantined, stored)

    # Rows: doubled, held by no input, or at the head of a broken chain.
    order = np.argsort(rows.ids, kind="stable")
    same = np.flatnonzero(rows.ids[order][1:] == rows.ids[order][:-1])
    doubled = np.unique(rows.ids[order][same])
    for kind, found in (
        ("doubled_rows", np.sort(order[np.searchsorted(rows.ids[order], doubled)])),  # a row of each
        ("rows_without_entry", np.flatnonzero(~np.isin(rows.ids, held_ids))),
        ("broken_copy_chains", _broken_chains(rows, np.frombuffer(waiting, dtype=np.uint64))),
    ):
        if len(found):
            report.problems[kind] += len(found)
            report.examples[kind] = rows.sources(found[:EXAMPLES])

    if lost or orphaned or missing:  # name the inputs: the ledger once more
        for uri, outcome, story_id, duplicate_of, key, revision in _latest_entries(dest):
            if outcome == "story" and story_id and _hash(story_id) in lost:
                report.found("entries_without_row", uri)
            elif outcome == "duplicate" and revision != READ_AGAIN and duplicate_of:
                if _hash(duplicate_of) in orphaned:
                    report.found("duplicates_of_nothing", uri)
            elif outcome == "quarantined" and key and _hash(key) in missing:
                report.found("missing_quarantine", uri)
    return report


def run_check(root: str, *, wait_lock: float = 0.0, progress: Callable[[str], None] | None = None) -> CheckReport:
    """``check_dataset`` under the store's lease (a run writing to ``root``: wait up to
    ``wait_lock`` seconds for it, else LeaseHeldError)."""
    from storage import open_storage
    from storage.lease import Lease

    dest = open_storage(root)
    with Lease(dest, command="check") as lease:
        lease.acquire(wait=wait_lock)
        return check_dataset(dest, progress)
