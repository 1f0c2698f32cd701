"""Language of a story as an ISO 639-1 code.

CLD2 (``pycld2``, compiled, its tables built in) answers first for text of 160 characters
or more: ~10 µs a story against py3langid's ~110 µs. For shorter text (a headline, which
CLD2 gets wrong with confidence), or when CLD2 is not sure (``un``, not reliable, text it
cannot read), py3langid decides, as it always did. Measured on the golden stories (83
labelled: 83 right), the 92 aeb-dev bodies (the two detectors agree on 92) and the 253
trafilatura-dev bodies (agree on 252; CLD2 said ``un`` on 5 and py3langid answered; where
they differ, a page py3langid calls Latin, CLD2 says English, rightly).

py3langid's model ships LZMA-compressed (~0.4 s to unpack in every
process) with a column-major float16 table that is slow to gather rows from (~250 µs a
story). The first process prepares a row-major float32 copy, restricted to ISO 639-1
codes, as plain ``.npy`` files in a cache folder; every later process (and every parse
worker) memory-maps them: start-up in milliseconds, the pages shared between processes.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
import re
import shutil
import tempfile
from array import array
from functools import lru_cache
from pathlib import Path
from typing import Any

_CODE = re.compile(r"^([a-zA-Z]{2})(?:[-_][A-Za-z0-9]+)*$")
#: Languages the detectors know that no news wire files copy in: Volapük, Latin, Walloon,
#: Aragonese, Esperanto and Occitan. py3langid answered them for short English copy (1987
#: Reuters results tables and briefs in capitals; read by its headline alone, 48 of 1,572
#: stories were Latin, 20 Occitan). A text in one of them gets its nearest language
#: (Occitan: Catalan or French); a declared tag is kept.
NEVER_ANSWERED = frozenset({"vo", "la", "wa", "an", "eo", "oc"})


def _answerable(code: str) -> bool:
    return len(code) == 2 and code not in NEVER_ANSWERED


_LOG = logging.getLogger(__name__)
#: Characters of the body the detector reads. It walks its byte automaton in Python
#: (~0.2-0.5 µs a byte, more when other work has evicted its tables from the CPU cache).
#: On the 125 aeb-dev and golden bodies (10 languages) 200, 300, 400, 600 and 800
#: characters all give the same answer; 400 keeps a margin.
SAMPLE_CHARS = 400


def cache_root() -> Path:
    """Where prepared models live: $WIRE_INGEST_CACHE_DIR, else $XDG_CACHE_HOME/wire-ingest."""
    configured = os.environ.get("WIRE_INGEST_CACHE_DIR")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "wire-ingest"


def _model_key(model_file: Path) -> str:
    import py3langid

    # The package's own version string, not importlib.metadata's (which scans sys.path for
    # distributions: ~10 ms of every process's start).
    stat = model_file.stat()
    never = ",".join(sorted(NEVER_ANSWERED))
    text = f"{getattr(py3langid, '__version__', '')}:{stat.st_size}:{stat.st_mtime_ns}:iso639-1:f32c:not:{never}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _prepare(model_file: Path, target: Path) -> None:
    """Unpack the shipped model once, restricted and re-laid-out, into ``target``."""
    import numpy as np
    from py3langid.modelio import load_model

    ptc, pc, classes, nextmove, row, output = load_model(model_file)
    # ISO 639-1 only: the model also knows 3-letter codes (wuu, yue, ...) the schema cannot hold.
    keep = [i for i, code in enumerate(classes) if _answerable(code)]
    arrays = {
        "ptc": np.ascontiguousarray(np.asarray(ptc)[:, keep], dtype=np.float32),
        "pc": np.asarray(pc, dtype=np.float32)[keep],
        "classes": np.array([classes[i] for i in keep]),
        "nextmove": np.frombuffer(nextmove, dtype=np.dtype(nextmove.typecode)),
        "row": np.frombuffer(row, dtype=np.dtype(row.typecode)),
        "output": np.asarray(output, dtype=np.int32),
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target.parent))
    try:
        for name, value in arrays.items():
            np.save(staging / f"{name}.npy", value, allow_pickle=False)
        os.replace(staging, target)  # atomic: readers see all files or none
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not (target / "output.npy").exists():
            raise


def _load_prepared(folder: Path) -> Any:
    import numpy as np
    from py3langid.langid import LanguageIdentifier

    def load(name: str, mmap: bool = False) -> Any:
        return np.load(folder / f"{name}.npy", mmap_mode="r" if mmap else None, allow_pickle=False)

    # The automaton's tables are read through memoryviews of the mapped files: no copy, and
    # indexing one returns a plain int as fast as an array.array would.
    nextmove, output, row = load("nextmove", mmap=True), load("output", mmap=True), load("row")
    return LanguageIdentifier(
        load("ptc", mmap=True),
        load("pc"),
        [str(code) for code in load("classes")],
        memoryview(nextmove),
        memoryview(output),
        tk_row=array(row.dtype.char, row.tobytes()),
    )


@lru_cache(maxsize=1)
def _identifier() -> Any:
    import py3langid.langid as langid

    model_file = langid.MODEL_DIR / langid.MODEL_FILE
    folder = cache_root() / f"py3langid-{_model_key(model_file)}"
    try:
        if not (folder / "output.npy").exists():
            _prepare(model_file, folder)
        identifier = _load_prepared(folder)
    except (OSError, ValueError) as exc:
        # A read-only home or a damaged cache costs speed, never correctness.
        _LOG.warning("language model cache unusable (%s); loading the shipped model", exc)
        langid.classify("")
        langid.set_languages([code for code in langid.IDENTIFIER.nb_classes if _answerable(code)])
        identifier = langid.IDENTIFIER
    # The automaton is held in large Python lists; without this, every full garbage
    # collection walks them again.
    gc.freeze()
    return identifier


def preload() -> None:
    """Load the model now (before forking workers that should share it)."""
    import parsers.html  # noqa: F401  (the HTML parser's import is as costly; share it too)

    _identifier()


def normalize_language_tag(tag: str | None) -> str | None:
    """ "en-US" -> "en"; None for tags that are not ISO 639-1 based."""
    if not tag:
        return None
    match = _CODE.match(tag.strip())
    return match.group(1).lower() if match else None


#: Text shorter than this (a headline, a brief) goes to py3langid: CLD2 is sure of wrong
#: answers on a few words ("Dollar falls below 140 yen in Tokyo" is Danish to it).
CLD2_MIN_CHARS = 160
#: CLD2's codes that are not today's ISO 639-1 ones.
_CLD2_CODES = {"iw": "he", "jw": "jv", "in": "id", "zh-hant": "zh", "zh-hans": "zh"}


def _cld2(sample: str) -> str | None:
    """CLD2's answer when it is sure of one ISO 639-1 language, else None."""
    try:
        import pycld2
    except ImportError:  # pragma: no cover - a required dependency; py3langid still works
        return None
    try:
        reliable, _bytes, details = pycld2.detect(sample)
    except (pycld2.error, UnicodeEncodeError, ValueError):  # lone surrogates, bad bytes: py3langid reads them
        return None
    code = str(details[0][1]).lower() if details else "un"
    code = _CLD2_CODES.get(code, code)
    if not reliable or code == "un" or not _answerable(code):
        return None
    return code


def detect_language(text: str, declared: str | None = None, headline: str = "") -> str:
    """The declared language if it is a valid code, else the one detected from ``text``
    (a story's body), with its ``headline`` where the body alone does not settle it."""
    code = normalize_language_tag(declared)
    if code:
        return code
    sample = text[:SAMPLE_CHARS]
    found = _cld2(sample) if len(sample) >= CLD2_MIN_CHARS else None
    if found is not None:
        return found
    # A brief, or a body CLD2 is not sure of (a results table: "Shr 60 cts vs 48 cts Net
    # 35.0 mln"): py3langid reads the headline and the body together, each in lower case
    # where it is in capitals (the model learned its n-grams from mixed case). On the
    # 1,572 1987 Reuters stories the table bodies alone gave 15 of 19 wrong answers, the
    # headline with them none.
    parts = [part.lower() if part.isupper() else part for part in (headline, sample) if part]
    language, _score = _identifier().classify("\n".join(parts)[:SAMPLE_CHARS])
    return str(language)
