"""Undeclared legacy charsets, read back: the text of every dev page (aeb-dev and
trafilatura-dev, as extracted), encoded in each legacy charset a news desk of its language
filed in (`CHARSETS`) that holds all but 1% of it (the rest "?"), then decoded without a declaration by
``parsers.decode.decode_bytes``. A page whose text comes back other than it was is a
misread: Western text taken for Central European, Polish for Western, and so on. Pure
ASCII text is left out (every charset reads it alike).

python bench/charsets.py [--misses 10]
"""

from __future__ import annotations

import argparse
import collections
import gzip
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from parsers import parse_story
from parsers.decode import decode_bytes
from schemas.errors import ParseError

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
#: The legacy charsets a news desk of each language filed in (Western ones: cp1252).
WESTERN = ("en", "de", "fr", "es", "pt", "it", "nl", "da", "sv", "no", "nb", "fi", "is", "ca", "ga", "af", "id", "ms")
CHARSETS: dict[str, tuple[str, ...]] = {
    **{language: ("cp1252",) for language in WESTERN},
    **{language: ("cp1250", "iso8859_2") for language in ("pl", "cs", "sk", "hu", "hr", "sl", "ro", "bs")},
    "tr": ("cp1254", "iso8859_9"),
    **{language: ("cp1257",) for language in ("lt", "lv", "et")},
    **{language: ("cp1251", "koi8_r") for language in ("ru", "uk", "bg", "sr", "mk", "be")},
    "el": ("cp1253", "iso8859_7"),
    "he": ("cp1255", "iso8859_8"),
    **{language: ("cp1256", "iso8859_6") for language in ("ar", "fa", "ur")},
    "ja": ("shift_jis", "euc_jp", "iso2022_jp"),
    "zh": ("gb18030", "big5"),
    "ko": ("euc_kr", "iso2022_kr"),
}


def page_texts() -> list[tuple[str, str, str]]:
    """(page id, language, headline and body as a desk would file them) of every dev page."""
    out = []
    for path in sorted([*DATA.glob("aeb-dev/html/*.html.gz"), *DATA.glob("trafilatura-dev/html/*.html.gz")]):
        try:
            story = parse_story(gzip.decompress(path.read_bytes()), f"bench://{path.name}")
        except ParseError:
            continue
        out.append((path.name.split(".")[0], story.language or "?", f"{story.headline}\r\n\r\n{story.body}\r\n"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", type=int, default=10, help="misreads to list")
    args = parser.parse_args()
    texts = page_texts()
    tried: collections.Counter[str] = collections.Counter()
    right: collections.Counter[str] = collections.Counter()
    misses: list[tuple[str, str, str, str]] = []
    started = time.perf_counter()
    for page, language, text in texts:
        for codec in CHARSETS.get(language, ()):
            data = text.encode(codec, errors="replace")  # an emoji or a sign the charset lacks: "?"
            if data.count(b"?") - text.count("?") > len(text) // 100:
                continue  # more than 1% of it not in the charset: no desk filed it so
            if data.isascii():
                break
            text = data.decode(codec)
            tried[codec] += 1
            try:
                got, charset = decode_bytes(data)
            except ParseError as exc:
                got, charset = "", exc.reason
            if got == text:
                right[codec] += 1
            else:
                misses.append((page, language, codec, charset))
    seconds = time.perf_counter() - started
    print(f"{len(texts)} dev pages; each text encoded in its language's legacy charsets (the 1% they lack as ?)")
    print("| charset | texts | read back | share |\n|---|---:|---:|---:|")
    for codec in dict.fromkeys(c for codecs in CHARSETS.values() for c in codecs):
        if tried[codec]:
            print(f"| {codec} | {tried[codec]} | {right[codec]} | {right[codec] / tried[codec]:.3f} |")
    total, good = sum(tried.values()), sum(right.values())
    print(f"| all | {total} | {good} | {good / max(total, 1):.3f} |  ({seconds:.1f} s)")
    for page, language, codec, charset in misses[: args.misses]:
        print(f"misread: {page} ({language}) in {codec}, read as {charset}")


if __name__ == "__main__":
    main()
