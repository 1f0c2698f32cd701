"""A deterministic corpus of hostile and malformed inputs, and what parsing makes of it.

    .venv/bin/python bench/hostile.py [--per-kind N] [--workers N] [--parse-timeout S]

Writes about ``N`` inputs of each of ~40 kinds (default 25: ~1,000 inputs) to a temporary
folder, parses them with ``wire-ingest parse`` (the worker pool, the deadline), and prints
per kind: inputs, records, quarantine reasons, the slowest input, and the peak RSS of the
run. Every input must come out exactly once (``inputs = stories + quarantined``), none may
crash the run or exceed the deadline. ``tests/test_hostile_corpus.py`` runs a small sample.
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import io
import json
import os
import random
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

STORY = (
    "Oil prices rose on Tuesday as traders weighed supply risks in the Middle East, analysts said.\n\n"
    "Brent crude futures gained 1.2 percent to $84.10 a barrel by 0900 GMT, while U.S. crude rose "
    "1.1 percent, according to exchange data.\n\n"
    '"The market is nervous," said one trader in London, who asked not to be named.\n'
)


def _story(rng: random.Random) -> str:
    return f"Markets {rng.randrange(10**6)}\n\n" + STORY.replace("Tuesday", rng.choice(["Monday", "Friday"]))


def _html(body: str, head: str = "") -> str:
    return f"<html><head>{head}<title>Oil rises</title></head><body><article>{body}</article></body></html>"


def _paras(rng: random.Random) -> str:
    return "".join(f"<p>{p}</p>" for p in _story(rng).split("\n\n"))


def _zip(rng: random.Random) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("story.txt", _story(rng))
    return buffer.getvalue()


def _tar(rng: random.Random) -> bytes:
    buffer = io.BytesIO()
    data = _story(rng).encode()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("story.txt")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


#: kind -> (file suffix, maker). Each maker is deterministic for a given rng.
KINDS: dict[str, tuple[str, Callable[[random.Random], bytes]]] = {
    "plain": (".txt", lambda r: _story(r).encode()),
    "empty": (".txt", lambda r: b""),
    "whitespace": (".txt", lambda r: b" \n\t\r\n" * r.randrange(1, 500)),
    "nul-bytes": (".txt", lambda r: _story(r).encode().replace(b" ", b"\x00", 5)),
    "utf16-bom": (".txt", lambda r: _story(r).encode("utf-16")),
    "utf16-no-bom": (".txt", lambda r: _story(r).encode("utf-16-le")),
    "utf32": (".txt", lambda r: _story(r).encode("utf-32")),
    "cp1252": (".txt", lambda r: (_story(r) + "Café – “quoted” €5\n").encode("cp1252")),
    "latin1-declared-utf8": (
        ".html",
        lambda r: _html(_paras(r) + "<p>Café</p>", '<meta charset="utf-8">').encode("latin-1"),
    ),
    "koi8-xml-declared": (
        ".html",
        lambda r: (
            '<?xml version="1.0" encoding="koi8_r"?>' + _html("<p>Нефть подорожала во вторник, сообщили аналитики.</p>")
        ).encode("koi8_r"),
    ),
    "bogus-charsets": (
        ".html",
        lambda r: _html(
            _paras(r),
            f'<meta charset="{r.choice(["undefined", "punycode", "unicode_escape", "x-nope", "base64", "rot13"])}">',
        ).encode(),
    ),
    "surrogate-escapes": (".txt", lambda r: (_story(r) + "\\ud800 \\udfff\n<meta charset=unicode_escape>\n").encode()),
    "mojibake": (".txt", lambda r: _story(r).replace("said", "said â€” â€™").encode()),
    "combining-marks": (
        ".txt",
        lambda r: ("Headline\n\n" + "e\u0301" * 400 + " हिन्दी समाचार said officials.\n").encode(),
    ),
    "control-chars": (".txt", lambda r: _story(r).replace(" ", "\x07 ", 20).encode()),
    "c1-controls": (".txt", lambda r: _story(r).replace("'", "\x92").encode("latin-1", "replace")),
    "random-bytes": (".txt", lambda r: r.randbytes(r.randrange(100, 20_000))),
    "gzip-named-txt": (".txt", lambda r: gzip.compress(_story(r).encode())),
    "bzip2-named-txt": (".txt", lambda r: bz2.compress(_story(r).encode())),
    "zip-named-txt": (".txt", _zip),
    "tar-named-txt": (".txt", _tar),
    "png-named-txt": (".txt", lambda r: b"\x89PNG\r\n\x1a\n" + r.randbytes(4000)),
    "pdf-named-txt": (".txt", lambda r: b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + r.randbytes(4000)),
    "truncated-html": (".html", lambda r: _html(_paras(r)).encode()[: r.randrange(40, 200)]),
    "nav-only-html": (
        ".html",
        lambda r: b"<html><body><nav>" + b"<a href='/x'>Home</a> " * 30 + b"</nav></body></html>",
    ),
    "deep-nesting": (".html", lambda r: b"<div>" * r.choice([300, 3000, 30_000]) + _paras(r).encode()),
    "many-paragraphs": (".html", lambda r: b"<p>Officials said it again.</p>" * r.choice([10_000, 40_000])),
    "copyright-spam": (".html", lambda r: b"<p>" + "© 2020 Wire<br>".encode() * r.choice([5_000, 20_000]) + b"</p>"),
    "copyright-blocks": (".html", lambda r: _html(_paras(r) + "<div>© 2020 Wire</div>" * 20_000).encode()),
    "tag-link-flood": (
        ".html",
        lambda r: _html(_paras(r) + "<div>" + "<span><a rel='tag' href='/t'>t</a></span>" * 20_000 + "</div>").encode(),
    ),
    "home-h1-flood": (".html", lambda r: _html("<h1><a href='/'>Site</a></h1>" * 20_000 + _paras(r)).encode()),
    "caption-flood": (".html", lambda r: _html(_paras(r) + "<p><img src=x><em>Caption</em></p>" * 20_000).encode()),
    "jsonld-bomb": (
        ".html",
        lambda r: _html(
            _paras(r), '<script type="application/ld+json">' + "[" * 50_000 + "]" * 50_000 + "</script>"
        ).encode(),
    ),
    "xml-entity-bomb": (
        ".html",
        lambda r: (
            '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            + "".join(f'<!ENTITY lol{i} "{"&lol%s;" % ("" if i == 1 else i - 1) * 10}">' for i in range(1, 10))
            + "]><html><body><p>&lol9;</p>"
            + _paras(r)
            + "</body></html>"
        ).encode(),
    ),
    "extreme-dates": (
        ".txt",
        lambda r: (
            "Talks resume\n\nPublished: "
            + r.choice(["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "2024-13-45", "Feb 30, 2024"])
            + "\n\n"
            + STORY
        ).encode(),
    ),
    "long-line": (".txt", lambda r: b"Headline\n\n" + b"word " * r.choice([200_000, 2_000_000])),
    "regex-bait-spaces": (".txt", lambda r: b"Headline\n\nOfficials said" + b" " * 300_000 + b")\n"),
    "regex-bait-dashes": (".txt", lambda r: b"WASHINGTON" + b" -" * 100_000 + b" text\n\nmore text, said officials.\n"),
    "regex-bait-credits": (
        ".txt",
        lambda r: _story(r).encode() + b"\n(Reporting by " + b"Jane Doe; " * 20_000 + b")\n",
    ),
    "regex-bait-contacts": (
        ".txt",
        lambda r: _story(r).encode() + b"\nTo contact the reporter on this story: " + b"a@b.c and " * 20_000 + b"\n",
    ),
    "regex-bait-parens": (".txt", lambda r: _story(r).encode() + b"(" * 100_000 + b"\n"),
    # A dateline and a parenthesis of one long run of letters: an agency's name to a rule that
    # reads unknown tags by their shape (its first draft backtracked for hours on this).
    "regex-bait-agency-tag": (
        ".txt",
        lambda r: (f"Markets {r.randrange(1000)}\n\nLONDON, Oct 3 (" + "Ab" * 80 + " - the text\n\n" + STORY).encode(),
    ),
    "headline-only": (".txt", lambda r: f"FLASH: markets halt trading {r.randrange(1000)}\n".encode()),
    "huge-paragraph-count": (".txt", lambda r: "\n\n".join(f"Line {i} said." for i in range(100_000)).encode()),
}


def generate(folder: Path, per_kind: int, seed: int = 1987) -> dict[str, str]:
    """Write ``per_kind`` inputs of every kind under ``folder``; file name -> kind."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    names: dict[str, str] = {}
    for kind, (suffix, make) in KINDS.items():
        for number in range(per_kind):
            name = f"{kind}-{number:03d}{suffix}"
            (folder / name).write_bytes(make(rng))
            names[name] = kind
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=25)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--parse-timeout", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wire-ingest-hostile-") as tmp:
        names = generate(Path(tmp) / "corpus", args.per_kind)
        started = time.monotonic()
        run = subprocess.run(
            [sys.executable, "-m", "flows.cli", "parse", str(Path(tmp) / "corpus"), "--jsonl",
             "--workers", str(args.workers), "--parse-timeout", str(args.parse_timeout)],
            capture_output=True, check=False, cwd=Path(__file__).resolve().parents[1],
        )  # fmt: skip
        elapsed = time.monotonic() - started
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    records = [json.loads(line) for line in run.stdout.decode("utf-8").splitlines()]
    by_kind: dict[str, Counter[str]] = defaultdict(Counter)
    for record in records:
        kind = names[os.path.basename(record["source_uri"])]
        by_kind[kind]["story" if "story_id" in record else record["error"]] += 1
    print(f"{len(names)} inputs of {len(KINDS)} kinds; parse exit code {run.returncode}; {elapsed:.1f} s; "
          f"peak RSS of one process {peak_mb:.0f} MB\n")  # fmt: skip
    print("| kind | inputs | outcomes |\n|---|---|---|")
    for kind in KINDS:
        outcomes = ", ".join(f"{k} {v}" for k, v in by_kind[kind].most_common())
        print(f"| {kind} | {args.per_kind} | {outcomes} |")
    counted = sum(sum(c.values()) for c in by_kind.values())
    timeouts = sum(c["timeout"] for c in by_kind.values())
    crashes = sum(c["worker_crashed"] + c["parser_error"] for c in by_kind.values())
    print(f"\ninputs {len(names)}, accounted for {counted}, silent skips {len(names) - counted}, "
          f"over the deadline {timeouts}, crashes or parser errors {crashes}")  # fmt: skip
    if run.returncode != 0:
        print(run.stderr.decode()[-3000:], file=sys.stderr)


if __name__ == "__main__":
    main()
