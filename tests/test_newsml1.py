"""NewsML 1 (the golden pairs `newsml1-*` hold the field mapping): what a document of
several items, of none, or an item on its own becomes, and how revisions thread."""

from __future__ import annotations

from pathlib import Path

import pytest

from parsers import parse_story
from parsers.decode import sniff_format
from schemas.errors import ParseError

GOLDEN = Path(__file__).resolve().parent / "golden"


def _item(name: str) -> bytes:
    data = (GOLDEN / name).read_bytes()
    return data[data.index(b"<NewsItem") : data.index(b"</NewsItem>") + len(b"</NewsItem>")]


def test_revisions_of_one_item_share_a_thread_and_a_kill_is_a_canceled_row() -> None:
    revision = parse_story((GOLDEN / "newsml1-afp-english-revision.xml").read_bytes(), "a.xml")
    kill = parse_story((GOLDEN / "newsml1-afp-kill.xml").read_bytes(), "b.xml")
    assert revision.thread_id == kill.thread_id == "afp:urn:newsml:afp.com:20241021T131000Z:TX-SGE-XYZ90"
    assert (revision.version, kill.version) == (2, 3)
    assert (revision.pubstatus, kill.pubstatus) == ("usable", "canceled")


def test_an_item_on_its_own_is_read_as_the_document_it_came_from() -> None:
    # How flows.bundles hands over a member of a document of several items.
    whole = parse_story((GOLDEN / "newsml1-afp-french-nitf.xml").read_bytes(), "x")
    alone = parse_story(_item("newsml1-afp-french-nitf.xml"), "x")
    assert sniff_format(_item("newsml1-afp-french-nitf.xml")) == "newsml-1"
    assert (alone.headline, alone.body, alone.wire_id, alone.language) == (
        whole.headline,
        whole.body,
        whole.wire_id,
        whole.language,
    )
    assert alone.urgency == whole.urgency == 4  # the item's own Urgency (the envelope's Priority agrees)


def test_several_items_given_whole_are_refused_and_none_is_no_body() -> None:
    two = b"<NewsML>" + _item("newsml1-afp-french-nitf.xml") + _item("newsml1-withheld.xml") + b"</NewsML>"
    with pytest.raises(ParseError) as info:
        parse_story(two, "inside.zip#two.xml")
    assert info.value.reason == "multi_item" and "2 NewsItems" in info.value.detail
    with pytest.raises(ParseError) as info:
        parse_story(b'<?xml version="1.0"?>\n<NewsML><NewsEnvelope/></NewsML>', "x")
    assert info.value.reason == "no_body"


def test_a_caption_in_a_photo_component_is_not_the_body() -> None:
    story = parse_story((GOLDEN / "newsml1-afp-photo-then-text.xml").read_bytes(), "x")
    assert story.body.startswith("Un huracán") and "Vista de la costa" not in story.body
