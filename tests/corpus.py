"""Synthetic but realistic inputs in bulk, built from the golden samples (for crash tests
and benchmarks): every copy gets a distinct headline and body, so a distinct story_id."""

from __future__ import annotations

from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "golden"
BAD = {
    "empty.txt": b"",
    "binary.bin": bytes(range(256)) * 4,
    "nav-only.html": b"<html><body><nav><a href='/'>Home</a> <a href='/w'>World</a></nav></body></html>",
}


def golden_inputs() -> list[Path]:
    return sorted(p for p in GOLDEN.iterdir() if p.is_file() and not p.name.endswith(".expected.json"))


def write_corpus(
    folder: Path, count: int, *, bad_every: int = 0, text_only: bool = False, dated: bool = False
) -> list[Path]:
    """Write ``count`` inputs under ``folder``; every ``bad_every``-th one is a bad input."""
    templates = [p for p in golden_inputs() if not text_only or p.suffix == ".txt"]
    raw = [(p.suffix, p.read_bytes()) for p in templates]
    written = []
    for number in range(count):
        sub = folder / (f"2024/01/{number % 28 + 1:02d}" if dated else f"part{number // 1000:03d}")
        sub.mkdir(parents=True, exist_ok=True)
        if bad_every and number % bad_every == bad_every - 1:
            name, data = list(BAD.items())[number % len(BAD)]
            path = sub / f"{number:06d}-{name}"
            path.write_bytes(data)
        else:
            suffix, data = raw[number % len(raw)]
            marker = f" {number:06d}".encode()
            # A unique token in the headline line and in the body keeps every story distinct.
            text = data.replace(b"\n\n", marker + b"\n\n", 1)
            text = text.replace(b" said", b" said" + marker, 1) if b" said" in text else text + marker
            path = sub / f"{number:06d}{suffix}"
            path.write_bytes(text)
        written.append(path)
    return written


def write_varied_corpus(
    folder: Path, count: int, *, min_bytes: int = 1000, max_bytes: int = 4000, copy_every: int = 10, seed: int = 0
) -> list[Path]:
    """Write ``count`` wire-text stories of ``min_bytes``-``max_bytes`` under ``folder``, the
    corpus issue 11 measures ingest on ("synthetic wire stories of 1-4 KB, built from the
    golden inputs with words and numbers varied"). Each story is a golden text input in its
    own byte layout (envelope, header, trailers, line ends, encoding) whose body is grown
    with paragraphs drawn from the bodies of all golden inputs in its language, laid out as
    its own paragraphs are (blank-line separated or indented, hard-wrapped at its width or
    not), with words and numbers varied: each lower-case word of 4+ letters replaced, with
    probability 0.4, by a word of that language's bodies, each number redrawn with
    probability 0.5 (not in the first body line, which may hold the dateline). Every
    ``copy_every``-th story is an earlier one with one word changed, a near copy as feeds
    resend them (0: none). Deterministic for a given ``seed``."""
    import random
    import re
    import textwrap

    from parsers import parse_story

    # A lower-case word of 4+ letters, whole: not the ASCII tail of "München" (UTF-8 bytes).
    word = re.compile(rb"(?<![A-Za-z\x80-\xff])[a-z]{4,}(?![A-Za-z\x80-\xff])")
    number = re.compile(rb"\d+")
    templates = []
    vocabularies: dict[str, set[bytes]] = {}  # language -> the body words of its inputs
    pools: dict[str, list[str]] = {}  # language -> the body paragraphs of its inputs
    for path in golden_inputs():
        if path.suffix != ".txt":
            continue
        data = path.read_bytes()
        try:
            story = parse_story(data, path.name)
            data.decode("utf-8")
        except Exception:  # no story, or not UTF-8: not a template to grow
            continue
        body = " ".join(story.body.split())
        # Lines as the copy ends them ("\n", "\r\n", or "\r\r\n" as IPTC 7901 transmissions
        # do): ``splitlines`` would cut "\r\r\n" in two and see a blank line.
        lines = [line + b"\n" for line in data.split(b"\n")]
        lines[-1] = lines[-1][:-1]
        # Body lines: their text is in the body; the first one's may open with the dateline,
        # which the body leaves out, so a line whose last 25 characters are in it counts too.
        texts = [" ".join(line.decode("utf-8").split()) for line in lines]
        inside = [i for i, text in enumerate(texts) if len(text) >= 15 and (text in body or text[-25:] in body)]
        if len(inside) < 2:
            continue
        first, last = inside[0], inside[-1]
        block = lines[first : last + 1]
        eol = block[0][len(block[0].rstrip(b"\r\n")) :]
        blank = any(not line.strip() for line in block)
        starts = [block[i + 1] for i in range(len(block) - 1) if not block[i].strip()] if blank else block
        opening = starts[0] if starts else b""  # a paragraph's first line
        indent = opening[: len(opening) - len(opening.lstrip(b" \t"))]
        wrapped = len([line for line in block if line.strip()]) > len(story.paragraphs)
        width = max(len(line.rstrip()) for line in block) if wrapped else 0
        vocabularies.setdefault(story.language, set()).update(word.findall(b"".join(block)))
        pools.setdefault(story.language, []).extend(p for p in story.paragraphs if len(p) >= 40)
        templates.append((lines, first, last, story.language, eol, blank, indent, width))
    vocabulary = {language: sorted(words) for language, words in vocabularies.items()}
    rng = random.Random(seed)

    def varied(line: bytes, language: str, numbers: bool = True) -> bytes:
        line = word.sub(lambda m: rng.choice(vocabulary[language]) if rng.random() < 0.4 else m.group(), line)
        if numbers:
            line = number.sub(
                lambda m: b"%d" % rng.randrange(10 ** len(m.group())) if rng.random() < 0.5 else m.group(), line
            )
        return line

    written: list[Path] = []
    stories: list[bytes] = []
    for n in range(count):
        sub = folder / f"part{n // 1000:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        if copy_every and n % copy_every == copy_every - 1 and stories:
            earlier = stories[rng.randrange(max(0, len(stories) - 50), len(stories))]
            # A word of the body (the middle half of the bytes): one in a trailer or a copyright
            # line the parser takes out would make the copy the same story, not a near copy.
            found = [m for m in word.finditer(earlier) if len(earlier) // 4 < m.start() < 3 * len(earlier) // 4]
            hit = found[rng.randrange(len(found))] if found else None
            data = earlier if hit is None else earlier[: hit.start()] + b"update" + earlier[hit.end() :]
        else:
            lines, first, last, language, eol, blank, indent, width = templates[n % len(templates)]
            target = rng.randint(min_bytes, max_bytes)
            grown = [varied(lines[first], language, numbers=False)]
            grown += [varied(line, language) for line in lines[first + 1 : last + 1]]
            size = sum(map(len, lines))
            pool = pools[language]
            while size < target:
                text = varied(pool[rng.randrange(len(pool))].encode("utf-8"), language).decode("utf-8")
                rows = textwrap.wrap(text, width - len(indent)) if width > len(indent) + 20 else [text]
                paragraph = (eol if blank else b"") + indent + eol.join(r.encode("utf-8") for r in rows) + eol
                grown.append(paragraph)
                size += len(paragraph)
            data = b"".join(lines[:first]) + b"".join(grown) + b"".join(lines[last + 1 :])
            stories.append(data)
        path = sub / f"{n:06d}.txt"
        path.write_bytes(data)
        written.append(path)
    return written
