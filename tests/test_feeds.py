"""Structured feeds (NITF, NewsML-G2, ninjs) and ANPA envelopes: recognised by content,
bad input quarantined with a clear reason, never expanded or fetched. The field mappings
themselves are checked by the golden pairs (tests/golden/nitf-*, newsml-*, ninjs*, anpa-*)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parsers import parse_story
from parsers.decode import sniff_format, xml_root
from schemas.errors import ParseError

GOLDEN = Path(__file__).resolve().parent / "golden"

BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + b"".join(
        f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'.encode() for i in range(1, 10)
    )
    + b"]>\n<nitf><body><body.content><p>&lol9;</p></body.content></body></nitf>\n"
)


def reason(data: bytes) -> str:
    with pytest.raises(ParseError) as info:
        parse_story(data, "mem://feed")
    return info.value.reason


def test_format_is_decided_by_content_not_by_name(tmp_path: Path) -> None:
    for name, fmt in (
        ("nitf-ap-basic.xml", "nitf"),
        ("newsml-reuters-basic.xml", "newsml-g2"),
        ("ninjs2-bodies.json", "ninjs"),
    ):
        data = (GOLDEN / name).read_bytes()
        assert sniff_format(data) == fmt
        renamed = tmp_path / "story.txt"
        renamed.write_bytes(data)
        assert parse_story(renamed.read_bytes(), str(renamed)).input_format == fmt
    assert parse_story((GOLDEN / "anpa-reuters-basic.txt").read_bytes(), "x").input_format == "anpa"
    assert parse_story((GOLDEN / "iptc-afp-basic.txt").read_bytes(), "x").input_format == "iptc7901"


def test_an_iptc7901_envelope_cut_before_etx_is_quarantined() -> None:
    data = (GOLDEN / "iptc-afp-basic.txt").read_bytes()
    assert reason(data[: data.index(b"\x03")]) == "bad_envelope"
    assert reason(data.replace(b"\x02", b"")) == "bad_envelope"  # no STX: nothing was transmitted


def test_a_stray_soh_without_a_header_is_plain_text() -> None:
    story = parse_story(b"\x01Quake shakes city\n\nA quake shook the city on Monday, officials said.\n", "x")
    assert story.input_format == "text" and story.headline == "Quake shakes city"


def test_iptc7901_versions_share_a_thread_by_keyword() -> None:
    first = parse_story((GOLDEN / "iptc-afp-writethru.txt").read_bytes(), "mem://1")
    data = (GOLDEN / "iptc-afp-writethru.txt").read_bytes().replace(b"AFP0533 3", b"AFP0540 3")
    later = parse_story(data.replace(b"2ndLd", b"3rdLd"), "mem://2")
    assert (first.version, later.version) == (3, 4)
    assert first.wire_id != later.wire_id and first.thread_id == later.thread_id == "afp:Climate-UN-talks"


def test_an_entity_bomb_is_refused_not_expanded() -> None:
    assert reason(BILLION_LAUGHS) == "bad_xml"


def test_truncated_xml_is_bad_xml() -> None:
    data = (GOLDEN / "newsml-reuters-basic.xml").read_bytes()
    assert reason(data[: len(data) // 2]) == "bad_xml"


def test_json_nested_100000_deep_is_bad_json_and_fast() -> None:
    assert reason(b'{"uri": ' + b"[" * 100_000 + b"]" * 100_000 + b"}") == "bad_json"


def test_malformed_json_and_json_that_is_not_ninjs() -> None:
    assert reason(b'{"uri": "x", "headline": ') == "bad_json"
    assert reason(b'{"name": "a config file, not a story"}') == "bad_json"


def test_a_news_message_with_several_items_is_refused_not_cut_to_one() -> None:
    one = (GOLDEN / "newsml-reuters-basic.xml").read_bytes().split(b"\n", 1)[1]
    message = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<newsMessage xmlns="http://iptc.org/std/nar/2006-10-01/">'
        b"<header><sent>2024-10-21T10:00:00Z</sent></header><itemSet>" + one + one + b"</itemSet></newsMessage>"
    )
    assert reason(message) == "multi_item"


def test_a_nitf_dtd_reference_is_not_fetched() -> None:
    # The relative DTD path exists nowhere; parsing must neither fetch nor need it.
    story = parse_story((GOLDEN / "nitf-reuters-version.xml").read_bytes(), "mem://n")
    assert story.wire_id == "L8N3LF0AB" and story.thread_id == "reuters:L8N3LF0AB"


def test_versions_of_one_item_share_a_thread() -> None:
    first = parse_story((GOLDEN / "newsml-reuters-basic.xml").read_bytes(), "mem://1")
    update = parse_story((GOLDEN / "newsml-reuters-update.xml").read_bytes(), "mem://2")
    assert first.thread_id == update.thread_id and (first.version, update.version) == (1, 3)
    killed = parse_story((GOLDEN / "newsml-afp-canceled.xml").read_bytes(), "mem://3")
    assert killed.pubstatus == "canceled"  # a kill is a row too, so analysts can drop it


def test_an_ap_media_api_item_without_its_text_says_where_the_text_is() -> None:
    response = json.loads((GOLDEN / "ninjs-apmedia-basic.json").read_bytes())
    del response["data"]["item"]["body_nitf"]
    with pytest.raises(ParseError) as info:
        parse_story(json.dumps(response).encode(), "mem://ap")
    assert info.value.reason == "no_body"
    assert "renditions.nitf" in info.value.detail and "download" in info.value.detail
    assert "qt=" not in info.value.detail  # the href's query (a token) is not echoed


def test_ap_media_api_versions_share_a_thread_though_their_uri_changes() -> None:
    response = json.loads((GOLDEN / "ninjs-apmedia-basic.json").read_bytes())
    first = parse_story(json.dumps(response).encode(), "mem://1")
    item = response["data"]["item"]
    item.update(version=2, uri=item["uri"].replace("et=0a1a1a1a", "et=0b2b2b2b"))
    item["body_nitf"] = item["body_nitf"].replace("Wednesday night", "Thursday")
    later = parse_story(json.dumps(response).encode(), "mem://2")
    assert (first.version, later.version) == (1, 2)
    assert first.thread_id == later.thread_id == "ap:5e1f0d6c2ab94f1e8c3a1b2c3d4e5f60"
    assert first.story_id != later.story_id


RSS = (
    b'<?xml version="1.0" encoding="UTF-8"?>\r\n<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
    b"<channel><title>Wire feed</title><link>https://example.com</link>\r\n"
    b"<item><title>Oil rises on supply worries</title><link>https://example.com/a</link>"
    b"<content:encoded><![CDATA[<p>Oil prices rose on Tuesday as traders weighed supply risks, analysts said.</p>]]>"
    b"</content:encoded><pubDate>Tue, 10 Jun 2025 04:00:00 GMT</pubDate></item>\r\n</channel></rss>\r\n"
)
ATOM = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom"><title>Example</title>\n'
    b"<entry><title>Oil rises</title><id>urn:uuid:1</id><updated>2025-06-10T18:30:02Z</updated>"
    b'<content type="html">&lt;p&gt;Oil prices rose on Tuesday, analysts said.&lt;/p&gt;</content></entry>\n</feed>\n'
)


@pytest.mark.parametrize(
    "data",
    [
        RSS,
        ATOM,
        RSS.replace(b'<?xml version="1.0" encoding="UTF-8"?>\r\n', b""),  # a feed without its declaration
        b'<?xml version="1.0"?>\n<!-- settings -->\n<configuration><setting name="a">1</setting></configuration>\n',
        b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>x</loc></url></urlset>',
    ],
)
def test_an_xml_document_of_no_format_read_here_is_quarantined_not_made_a_story(data: bytes) -> None:
    # Read as wire text, an RSS feed was one "story" headlined with its XML declaration and
    # its markup for a body (its CDATA's <p> made the sniffer call it a page without the
    # declaration): nothing a reader wants, and its items' stories lost inside it.
    assert sniff_format(data) == "xml"
    with pytest.raises(ParseError) as info:
        parse_story(data, "mem://feed.xml")
    assert info.value.reason == "unsupported_xml"
    root = xml_root(data)
    assert root in ("rss", "feed", "configuration", "urlset")
    assert f"root element is <{root}>" in info.value.detail and "RSS or Atom" in info.value.detail


def test_xhtml_and_page_fragments_behind_an_xml_declaration_stay_pages() -> None:
    xhtml = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
        b'"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n<html xmlns="http://www.w3.org/1999/xhtml"><body>'
        b"<h1>Oil rises</h1><p>Oil prices rose on Tuesday as traders weighed supply risks, analysts said.</p>"
        b"</body></html>"
    )
    assert sniff_format(xhtml) == "html"
    assert parse_story(xhtml, "mem://page.xhtml").body.startswith("Oil prices rose")
    fragment = b'<?xml version="1.0"?><div><p>Oil prices rose on Tuesday as traders weighed supply risks.</p></div>'
    assert sniff_format(fragment) == "html"
    # A wire story that opens with a bracketed tag is text, as before.
    assert sniff_format(b"<AP> Oil rises\n\nOil prices rose on Tuesday, analysts said.\n") == "text"


def test_a_malformed_feed_is_bad_xml_with_the_parser_s_words() -> None:
    # An HTML entity XML does not define, as hand-made feeds often hold: the feed cannot be
    # split, and its quarantine says why rather than calling it an unknown kind of XML.
    with pytest.raises(ParseError) as info:
        parse_story(RSS.replace(b"<title>Wire feed", b"<title>Wire&nbsp;feed"), "mem://feed.xml")
    assert info.value.reason == "bad_xml" and "nbsp" in info.value.detail
