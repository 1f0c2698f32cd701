"""The schema: one Arrow definition, validation that reports instead of raising."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa

from parsers import parse_story
from schemas import SCHEMA_VERSION, validate_story
from schemas.arrow import ARROW_SCHEMA, FILE_SCHEMA, stories_to_table
from schemas.story import STORY_FIELDS, Story
from table.dataset import encode_parquet, read_table, write_parquet

SEED = Path(__file__).resolve().parent / "golden" / "bloomberg-idlib.txt"


def seed() -> Story:
    story = parse_story(SEED.read_bytes(), "seed")
    story.ingested_at = datetime(2024, 1, 2, tzinfo=UTC)
    story.pipeline_version = "test"
    return story


def test_contract_columns_and_types() -> None:
    names = ARROW_SCHEMA.names
    for column in (
        "story_id",
        "agency",
        "headline",
        "dateline",
        "byline",
        "editors",
        "contacts",
        "published_at",
        "copyright",
        "copyright_year",
        "language",
        "body",
        "paragraphs",
        "word_count",
        "removed",
        "content_sha256",
        "simhash",
        "duplicate_of",
        "input_format",
        "source_uri",
        "source_sha256",
        "url",
        "ingested_at",
        "pipeline_version",
    ):
        assert column in names
    assert ARROW_SCHEMA.field("published_at").type == pa.timestamp("us", tz="UTC")
    assert ARROW_SCHEMA.field("simhash").type == pa.uint64()
    assert ARROW_SCHEMA.field("copyright_year").type == pa.int16()
    assert ARROW_SCHEMA.field("word_count").type == pa.int32()
    assert pa.types.is_dictionary(ARROW_SCHEMA.field("agency").type)
    assert "agency" not in FILE_SCHEMA.names  # it lives in the hive partition path


def test_valid_story_has_no_problems_and_round_trips_through_parquet() -> None:
    story = seed()
    assert validate_story(story) == []
    table = read_table(encode_parquet([story], "b1", "test"))
    meta = table.schema.metadata
    assert meta[b"wire_ingest.schema_version"] == str(SCHEMA_VERSION).encode()
    row = table.to_pylist()[0]
    assert row["story_id"] == story.story_id
    assert row["contacts"][0] == {
        "role": "reporter",
        "name": "Selcan Hacaoglu",
        "email": "shacaoglu@bloomberg.net",
        "location": "Ankara",
    }
    assert row["simhash"] == story.simhash
    assert stories_to_table([story]).num_rows == 1


def test_malformed_records_yield_reasons_not_exceptions() -> None:
    story = seed()
    bad = dataclasses.replace(
        story,
        headline=" ",
        word_count=1,
        language="english",
        agency="Bloomberg News",
        published_at=datetime(2020, 1, 1, tzinfo=timezone(timedelta(hours=2))),
        copyright_year=70000,
    )
    problems = validate_story(bad)
    joined = "; ".join(problems)
    for fragment in ("headline is empty", "word_count", "language", "agency", "published_at", "copyright_year"):
        assert fragment in joined


def _golden_stories() -> list[Story]:
    stories = []
    for path in sorted((SEED.parent).iterdir()):
        if path.name.endswith(".expected.json"):
            continue
        try:
            story = parse_story(path.read_bytes(), path.name)
        except Exception:  # the goldens of quarantined inputs
            continue
        story.ingested_at = datetime(2024, 1, 2, tzinfo=UTC)
        story.pipeline_version = "test"
        stories.append(story)
    return stories


def test_rows_and_parquet_bytes_are_what_asdict_gave() -> None:
    # to_row builds the row by hand (asdict was a tenth of a batch's time): the rows, and so
    # the Parquet bytes, must be exactly what the generic deep copy produced.
    stories = _golden_stories()
    assert len(stories) > 80 and any(s.contacts for s in stories) and any(s.subjects for s in stories)
    for story in stories:
        assert story.to_row() == dataclasses.asdict(story), story.source_uri
        row = story.to_row()
        row["paragraphs"].append("x")  # a copy, as asdict's was
        assert story.paragraphs[-1:] != ["x"]
    rows = [dataclasses.asdict(s) for s in stories]
    reference = pa.Table.from_pydict({f.name: [r[f.name] for r in rows] for f in FILE_SCHEMA}, schema=FILE_SCHEMA)
    assert stories_to_table(stories, FILE_SCHEMA).equals(reference)
    metadata = {
        **(reference.schema.metadata or {}),
        b"wire_ingest.schema_version": str(SCHEMA_VERSION).encode(),
        b"wire_ingest.pipeline_version": b"test",
        b"wire_ingest.batch_id": b"b1",
    }
    assert encode_parquet(stories, "b1", "test") == write_parquet(reference.replace_schema_metadata(metadata))


def test_files_written_before_the_standfirst_column_read_as_null_and_compact_with_it(tmp_path: Path) -> None:
    # The standfirst column came after the dataset's first files: adding a column is not a
    # schema version bump (design.md), so an older file without it must stay readable next
    # to a new one, by pyarrow with the current schema, by DuckDB by name, and by compaction.
    import io

    import duckdb
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    from table.compaction import merge_tables

    old_story, new_story = seed(), dataclasses.replace(seed(), story_id="b" * 64, standfirst="The summary.")
    assert ARROW_SCHEMA.field("standfirst").type == pa.string() and ARROW_SCHEMA.names[-1] == "standfirst"
    new = encode_parquet([new_story], "new", "test")
    old_table = pq.read_table(io.BytesIO(encode_parquet([old_story], "old", "test"))).drop_columns(["standfirst"])
    buffer = io.BytesIO()
    pq.write_table(old_table, buffer)
    old = buffer.getvalue()
    (tmp_path / "old.parquet").write_bytes(old)
    (tmp_path / "new.parquet").write_bytes(new)

    table = ds.dataset(tmp_path, schema=FILE_SCHEMA, format="parquet").to_table().sort_by("story_id")
    assert table.column("standfirst").to_pylist() == [None, "The summary."]
    found = duckdb.sql(
        f"SELECT story_id, standfirst FROM read_parquet('{tmp_path}/*.parquet', union_by_name = true) ORDER BY story_id"
    ).fetchall()
    assert [s for _, s in found] == [None, "The summary."]

    merged = pq.read_table(io.BytesIO(merge_tables([old, new])))
    assert merged.schema.names == FILE_SCHEMA.names
    assert sorted(merged.column("standfirst").to_pylist(), key=str) == sorted([None, "The summary."], key=str)


def test_a_story_pickles_to_the_same_story_and_sends_its_text_once() -> None:
    # Results cross from the parse workers to the coordinator pickled: the paragraphs are
    # left out when the body gives them back, and kept when it does not.
    import pickle

    stories = _golden_stories()
    for story in stories:
        back = pickle.loads(pickle.dumps(story, protocol=5))
        assert [getattr(back, n) for n in STORY_FIELDS] == [getattr(story, n) for n in STORY_FIELDS]
    longest = max(stories, key=lambda s: len(s.body))
    assert len(pickle.dumps(longest, protocol=5)) < len(longest.body.encode("utf-8")) * 1.5 + 2000
    for paragraphs, body in (([], ""), ([""], ""), (["a\n\nb"], "a\n\nb"), (["a", "b"], "a\n\nb"), (["x"], "y")):
        odd = dataclasses.replace(stories[0], paragraphs=paragraphs, body=body)
        back = pickle.loads(pickle.dumps(odd, protocol=5))
        assert (back.paragraphs, back.body) == (paragraphs, body)


def test_lone_surrogates_are_found_in_any_text_the_record_holds() -> None:
    story = seed()
    assert validate_story(story) == []
    for name, value in (("headline", "caf\udce9"), ("body", "ok \ud800"), ("byline", ["Jos\udce9"])):
        bad = dataclasses.replace(story, **{name: value})
        if name == "body":
            bad = dataclasses.replace(bad, paragraphs=[value], word_count=2)
        assert f"{name} holds a lone surrogate (not encodable as UTF-8)" in validate_story(bad)
    # A paragraph the body does not hold is checked on its own.
    bad = dataclasses.replace(story, paragraphs=[*story.paragraphs, "x\udc80"])
    assert "paragraphs holds a lone surrogate (not encodable as UTF-8)" in validate_story(bad)
    assert validate_story(dataclasses.replace(story, headline="Café — “quoted”")) == []


def test_files_keep_statistics_for_filters_not_for_the_story_s_text() -> None:
    # A story's body as its own min and max statistics made a one-story file nearly twice
    # its size; a time filter still needs published_at's (compaction sorts by it so that
    # row groups are skipped), and the body is compressed, a short id column not.
    import io

    import pyarrow.parquet as pq

    stories = [seed(), dataclasses.replace(seed(), story_id="f" * 64, published_at=datetime(2024, 1, 3, tzinfo=UTC))]
    data = encode_parquet(stories, "b1", "test")
    chunks = {
        column.path_in_schema: column for group in [pq.ParquetFile(io.BytesIO(data)).metadata.row_group(0)]
        for column in (group.column(i) for i in range(group.num_columns))
    }  # fmt: skip
    assert chunks["published_at"].statistics.has_min_max
    assert chunks["story_id"].statistics.has_min_max
    for text in ("body", "paragraphs.list.element", "headline", "removed.list.element.text"):
        assert chunks[text].statistics is None or not chunks[text].statistics.has_min_max, text
    assert chunks["body"].compression == "ZSTD"
    assert chunks["story_id"].compression == "UNCOMPRESSED"  # 128 bytes: not worth a compressor
    assert read_table(data).column("body").to_pylist() == [s.body for s in stories]
