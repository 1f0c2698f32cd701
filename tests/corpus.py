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
