"""``wire-ingest demo``: the bundled golden inputs (plus a few bad ones) through the real flow
into a local store, then a summary and a DuckDB query over the Parquet it wrote."""

from __future__ import annotations

import shutil
from pathlib import Path

from schemas.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "tests" / "golden"
#: Later versions of two golden stories (from the labelled near-duplicate set): an UPDATE 1
#: and a copy republished under another outlet's boilerplate, to show `duplicate_of`.
COPIES = [
    REPO / "tests" / "dupes" / "stories" / "reuters-update1--update1.txt",
    REPO / "tests" / "dupes" / "stories" / "bloomberg-hardwrapped--republished.txt",
]
#: Inputs that must end in quarantine, to show that nothing is lost.
BAD_INPUTS = {
    "bad/empty.txt": b"",
    "bad/binary.bin": bytes(range(256)) * 8,
    "bad/no-article.html": b"<html><head><title>Home</title></head><body><nav><a href='/'>Home</a></nav></body></html>",
}
QUERY = """
SELECT agency, count(*) AS stories, sum(word_count) AS words,
       count(duplicate_of) AS near_dups, min(headline) AS first_headline
FROM read_parquet('{root}/stories/**/*.parquet', hive_partitioning = true)
GROUP BY agency ORDER BY stories DESC, agency
"""


def stage_landing(landing: Path) -> int:
    """Copy the golden inputs, two later copies of them and the bad inputs into a landing
    folder; return the count."""
    if not SAMPLES.is_dir():
        raise ConfigError(f"bundled samples not found at {SAMPLES}: run the demo from a clone of the repo")
    landing.mkdir(parents=True, exist_ok=True)
    count = 0
    for sample in sorted(SAMPLES.iterdir()):
        if sample.is_file() and not sample.name.endswith(".expected.json"):
            shutil.copy2(sample, landing / sample.name)
            count += 1
    for copy in COPIES:
        (landing / "later").mkdir(exist_ok=True)
        shutil.copy2(copy, landing / "later" / copy.name)
        count += 1
    for name, data in BAD_INPUTS.items():
        path = landing / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        count += 1
    return count


def demo(output: Path) -> None:
    """Stage samples, run the ingest flow twice (the second adds nothing), query the result,
    and check it (`wire-ingest check`)."""
    from flows.cli import ingest, print_totals

    output = output.resolve()
    landing, store = output / "landing", output / "store"
    staged = stage_landing(landing)
    print(f"staged {staged} inputs in {landing}")
    print(f"running the Prefect ingest flow into {store} ...\n")
    totals = ingest(str(landing), str(store), batch_size=50, progress=print)
    print_totals(totals)
    again = ingest(str(landing), str(store), batch_size=50)
    print(f"\nsecond run over the same landing zone: {again['inputs']} new inputs, {again['files']} files written")
    import duckdb

    print("\nDuckDB:" + QUERY.format(root=store))
    result = duckdb.sql(QUERY.format(root=store))
    if result is not None:
        result.show(max_width=160)
    from storage.local import LocalStorage
    from table.check import check_dataset

    print(f"\nwire-ingest check {store}:")
    print("\n".join(check_dataset(LocalStorage(str(store))).lines()))
