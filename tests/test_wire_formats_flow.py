"""Wire formats through the real flow: ANPA, NITF, NewsML-G2, NewsML 1, ninjs and e-mail inputs and a brief
become rows with their wire columns (and the feeds' summaries their standfirst), read back
with pyarrow and DuckDB, and the README's query returns the current version of each story."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.dataset as ds

from flows.ingest import ingest_flow

GOLDEN = Path(__file__).resolve().parent / "golden"
INPUTS = [
    "anpa-reuters-basic.txt",
    "anpa-ap-writethru.txt",
    "reuters87-flash-brief.txt",
    "nitf-reuters-version.xml",
    "newsml-reuters-basic.xml",
    "newsml-reuters-update.xml",
    "newsml-afp-canceled.xml",
    "ninjs2-bodies.json",
    "newsml1-afp-english-revision.xml",
    "newsml1-afp-kill.xml",
    "newsml1-reuters-spanish-subheadline.xml",
    "email-reuters-outlook-forward.eml",
    "email-ap-html-base64.eml",
]

#: The README's query (section "Story versions"): the current text of every story.
CURRENT = """
SELECT coalesce(thread_id, story_id) AS thread, version, headline, pubstatus
FROM read_parquet('{root}/stories/**/*.parquet', hive_partitioning = true)
QUALIFY row_number() OVER (PARTITION BY coalesce(thread_id, story_id)
                           ORDER BY coalesce(version, 1) DESC, published_at DESC NULLS LAST) = 1
"""


def test_wire_formats_land_with_their_columns_and_one_current_version_per_story(
    prefect_server: str, tmp_path: Path
) -> None:
    landing, store = tmp_path / "landing", tmp_path / "store"
    landing.mkdir()
    for name in INPUTS:
        (landing / name).write_bytes((GOLDEN / name).read_bytes())
    totals = ingest_flow(source=str(landing), dest=str(store))
    assert totals["inputs"] == len(INPUTS) and totals["stories"] == len(INPUTS) and totals["balanced"]

    table = ds.dataset(str(store / "stories"), format="parquet", partitioning="hive").to_table()
    rows = {Path(str(r["source_uri"])).name: r for r in table.to_pylist()}
    assert {r["input_format"] for r in rows.values()} == {
        "anpa",
        "text",
        "nitf",
        "newsml-g2",
        "newsml-1",
        "ninjs",
        "email",
    }
    assert rows["anpa-reuters-basic.txt"]["slugline"] == "STEELMAKER-CUTS-OUTPUT"
    assert rows["anpa-reuters-basic.txt"]["urgency"] == 3
    assert rows["anpa-ap-writethru.txt"]["version"] == 3
    assert rows["reuters87-flash-brief.txt"]["body"] == "" and rows["reuters87-flash-brief.txt"]["word_count"] == 0
    assert rows["ninjs2-bodies.json"]["subjects"] == [{"scheme": "subj", "code": "17000000", "name": "tiempo"}]
    assert str(table.schema.field("urgency").type) == "int8"
    # Mail: the Subject or the body's headline, the Date, the Message-ID as the wire id.
    mail = rows["email-reuters-outlook-forward.eml"]
    assert (mail["agency"], mail["dateline"], mail["version"]) == ("reuters", "BERLIN", 2)
    assert mail["editors"] == ["Rachel More"] and "Original Message" not in mail["body"]
    assert rows["email-ap-html-base64.eml"]["headline"] == "Senate passes stopgap bill, averting shutdown"
    # The feeds' summaries land in the standfirst column; plain wire text has none.
    assert rows["ninjs2-bodies.json"]["standfirst"].startswith("Más de 40 personas")
    assert rows["newsml-reuters-basic.xml"]["standfirst"].startswith("Egypt and Qatar host")
    assert rows["anpa-reuters-basic.txt"]["standfirst"] is None
    found = duckdb.sql(f"SELECT count(standfirst) FROM read_parquet('{store}/stories/**/*.parquet')").fetchall()
    assert rows["newsml1-reuters-spanish-subheadline.xml"]["standfirst"].startswith("La autoridad monetaria")
    assert found == [(3,)]

    current = duckdb.sql(CURRENT.format(root=store)).fetchall()
    threads = {thread: (version, headline, status) for thread, version, headline, status in current}
    reuters = threads["reuters:tag:reuters.com,2024:newsml_L8N3LF1XY"]
    assert reuters[0] == 3 and reuters[1].startswith("UPDATE 2-")  # the update, not version 1
    assert threads["afp:urn:newsml:afp.com:20241021:TX-PAR-ZZ9"][2] == "canceled"
    # NewsML 1: revision 2 and its kill (revision 3) share the item's URN; the kill is current.
    assert threads["afp:urn:newsml:afp.com:20241021T131000Z:TX-SGE-XYZ90"][:3:2] == (3, "canceled")
    assert len(current) == len(INPUTS) - 2  # two stories of two versions each, one current each


def test_versions_of_plain_text_share_the_thread_of_their_first_story(prefect_server: str, tmp_path: Path) -> None:
    """Text has no feed id: a later version joins the near-duplicate cluster of the first,
    across runs, and the README's query returns the later one as current."""
    landing, store = tmp_path / "landing", tmp_path / "store"
    landing.mkdir()
    update = (GOLDEN / "reuters-update1.txt").read_text(encoding="utf-8")
    paragraphs = update.split("\n\n")
    first = "\n\n".join([paragraphs[0].removeprefix("UPDATE 1-"), paragraphs[1], paragraphs[2], paragraphs[5]])
    (landing / "first.txt").write_text(first, encoding="utf-8")
    (landing / "other.txt").write_bytes((GOLDEN / "reuters-corrected.txt").read_bytes())
    assert ingest_flow(source=str(landing), dest=str(store))["stories"] == 2
    (landing / "update.txt").write_text(update, encoding="utf-8")
    assert ingest_flow(source=str(landing), dest=str(store))["stories"] == 1

    table = ds.dataset(str(store / "stories"), format="parquet", partitioning="hive").to_table()
    rows = {Path(str(r["source_uri"])).name: r for r in table.to_pylist()}
    assert rows["update.txt"]["version"] == 2 and rows["first.txt"]["version"] is None
    assert rows["update.txt"]["duplicate_of"] == rows["first.txt"]["story_id"]
    assert rows["update.txt"]["thread_id"] == rows["first.txt"]["thread_id"] == rows["first.txt"]["story_id"]
    assert rows["other.txt"]["thread_id"] == rows["other.txt"]["story_id"]
    current = duckdb.sql(CURRENT.format(root=store)).fetchall()
    assert sorted(headline for _, _, headline, _ in current) == sorted(
        [rows["update.txt"]["headline"], rows["other.txt"]["headline"]]
    )
