"""Bundles read as many inputs: zip, tar.gz, single-file .gz and JSON lines, each member with
its own source_uri (``bundle.zip#member``, ``message.xml#newsItem[2]`` for a NewsML-G2
message's items) and exactly once through the ledger; a corrupt
member is quarantined alone; a zip bomb is quarantined whole, never unpacked."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import json
import lzma
import os
import tarfile
import warnings
import zipfile
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import ClassVar

import duckdb
import pytest

from flows.batch import IngestSettings, run_without_prefect
from flows.bundles import BundleLimits, list_members
from flows.cli import parse
from flows.ingest import ingest_flow
from parsers import parse_story
from schemas.errors import ParseError
from storage import open_storage
from table.ledger import load_ledger
from table.snapshot import LEDGER_PREFIX, SNAPSHOT_POINTER, SNAPSHOT_PREFIX, batch_id_of
from tests.stores import AtOnceStore
from tests.test_flow_ingest import read_stories

GOLDEN = Path(__file__).resolve().parent / "golden"
FEEDS = Path(__file__).resolve().parent / "data" / "feeds"


def keyed(prefix: str, identity: bytes | str) -> str:
    """A JSON-lines line's or an mbox message's member name: ``line[...]`` by the line's
    bytes, ``message[...]`` by the message's Message-ID (`flows.bundles._keyed_parts`)."""
    data = identity.encode() if isinstance(identity, str) else identity
    return f"{prefix}[{hashlib.sha256(data).hexdigest()[:16]}]"


def message_id(mail: bytes) -> str:
    return str(message_from_bytes(mail)["Message-ID"]).strip()


def g2_item(name: str) -> bytes:
    """A NewsML-G2 golden item's element, without its XML declaration."""
    return (GOLDEN / name).read_bytes().split(b"?>", 1)[1]


def g2_message(*items: bytes) -> bytes:
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<newsMessage xmlns="http://iptc.org/std/nar/2006-10-01/">'
        b"<header><sent>2024-10-21T10:00:00Z</sent></header><itemSet>" + b"".join(items) + b"</itemSet></newsMessage>\n"
    )


def newsml1_item(name: str) -> bytes:
    data = (GOLDEN / name).read_bytes()
    return data[data.index(b"<NewsItem") : data.index(b"</NewsItem>") + len(b"</NewsItem>")]


def newsml1_document(*items: bytes) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>\n<NewsML Version="1.2">\n' + b"\n".join(items) + b"\n</NewsML>\n"


def g2_name(item: bytes) -> str:
    """A NewsML-G2 message's item's member name: by its guid and version (`_news_item_id`)."""
    guid = item.split(b' guid="', 1)[1].split(b'"', 1)[0]
    version = item.split(b' version="', 1)[1].split(b'"', 1)[0]
    return keyed("newsItem", guid + b" " + version)


def newsml1_name(item: bytes) -> str:
    """A NewsML 1 document's item's member name: by its PublicIdentifier (`_news_item_id`)."""
    return keyed("NewsItem", item.split(b"<PublicIdentifier>", 1)[1].split(b"</PublicIdentifier>", 1)[0])


def mail_with_two_stories() -> EmailMessage:
    """A desk's covering note with its stories attached: an NITF file and a text file."""
    mail = EmailMessage(policy=SMTP)
    mail["From"], mail["To"], mail["Subject"] = "desk@reuters.com", "x@example.org", "Two stories"
    mail["Date"], mail["Message-ID"] = "Tue, 12 Nov 2024 10:00:00 +0000", "<two@reuters.com>"
    mail.set_content("Please find today's stories attached.\n")
    mail.add_attachment((GOLDEN / "nitf-reuters-version.xml").read_bytes(), "application", "xml", filename="a.xml")
    mail.add_attachment((GOLDEN / "afp-paris.txt").read_bytes(), "text", "plain", filename="b.txt")
    return mail


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def story(n: int) -> bytes:
    return f"Harbour plan {n}\n\nThe port authority said on Tuesday it would build terminal {n}, it said.\n".encode()


def write_bundles(folder: Path) -> dict[str, str]:
    """The bundles, and what each member must become ("story" or a quarantine reason)."""
    folder.mkdir(parents=True, exist_ok=True)
    expected: dict[str, str] = {}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("a/one.txt", story(1))
        archive.writestr("a/two.txt", story(2))
        archive.writestr("feeds/item.xml", (GOLDEN / "newsml-reuters-basic.xml").read_bytes())
        archive.writestr("broken.txt", story(3))
    data = bytearray(buffer.getvalue())
    at = data.index(b"terminal 3")  # corrupt one member's stored bytes: its CRC no longer matches
    data[at : at + 8] = b"XXXXXXXX"
    (folder / "wires.zip").write_bytes(bytes(data))
    expected.update(
        {"wires.zip#a/one.txt": "story", "wires.zip#a/two.txt": "story", "wires.zip#feeds/item.xml": "story"}
    )
    expected["wires.zip#broken.txt"] = "bad_bundle_member"

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for n in (4, 5):
            info = tarfile.TarInfo(f"day/{n}.txt")
            info.size = len(story(n))
            tar.addfile(info, io.BytesIO(story(n)))
    (folder / "archive.tar.gz").write_bytes(buffer.getvalue())
    expected.update({"archive.tar.gz#day/4.txt": "story", "archive.tar.gz#day/5.txt": "story"})

    (folder / "single.txt.gz").write_bytes(gzip.compress(story(6)))
    expected["single.txt.gz#single.txt"] = "story"

    # bzip2 and xz, as tars and as single files (how archives of old wire copy come).
    for name, mode, n in (("old.tar.bz2", "w:bz2", 7), ("old.txz", "w:xz", 8)):
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode=mode) as tar:
            info = tarfile.TarInfo(f"{n}.txt")
            info.size = len(story(n))
            tar.addfile(info, io.BytesIO(story(n)))
        (folder / name).write_bytes(buffer.getvalue())
        expected[f"{name}#{n}.txt"] = "story"
    (folder / "nine.txt.bz2").write_bytes(bz2.compress(story(9)))
    (folder / "ten.txt.xz").write_bytes(lzma.compress(story(10)))
    expected.update({"nine.txt.bz2#nine.txt": "story", "ten.txt.xz#ten.txt": "story"})
    (folder / "cut.txt.xz").write_bytes(lzma.compress(story(11))[:40])  # truncated in transfer
    expected["cut.txt.xz#cut.txt"] = "bad_bundle_member"

    item = json.loads((GOLDEN / "ninjs1-text-body.json").read_bytes())
    lines = [
        json.dumps(item),
        "",
        json.dumps({**item, "uri": item["uri"] + "-2", "headline": "Second item"}),
        "{broken",
    ]
    (folder / "items.jsonl").write_text("\n".join(lines) + "\n")
    # Lines are named by their bytes, not their place (a file trimmed from the front shifted
    # every number), the blank one skipped.
    expected.update(
        {f"items.jsonl#{keyed('line', lines[n])}": want for n, want in ((0, "story"), (2, "story"), (3, "bad_json"))}
    )

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as bomb:
        bomb.writestr("zeros.txt", b"0" * (64 * 1024**2))  # 64 MB of zeros in ~64 KB
    (folder / "bomb.zip").write_bytes(buffer.getvalue())
    expected["bomb.zip"] = "bundle_bomb"

    (folder / "fake.zip").write_bytes(b"this is not a zip at all")
    expected["fake.zip"] = "bad_bundle"

    # Archives holding one name twice: a zip appended to, a tar added to with `tar -r`.
    # zipfile and tarfile open a name's last entry: the first was never read (lost) and
    # the ledger held two entries for one name. Each entry is an input; the second named
    # "(2)".
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate name, and writes it
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("day/a.txt", story(15))
            archive.writestr("day/a.txt", story(16))
    (folder / "appended.zip").write_bytes(buffer.getvalue())
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for n in (17, 18):
            info = tarfile.TarInfo("x.txt")
            info.size = len(story(n))
            tar.addfile(info, io.BytesIO(story(n)))
    (folder / "appended.tar").write_bytes(buffer.getvalue())
    expected.update(
        {
            "appended.zip#day/a.txt": "story",
            "appended.zip#day/a.txt (2)": "story",
            "appended.tar#x.txt": "story",
            "appended.tar#x.txt (2)": "story",
        }
    )

    # A zip with a password-protected member and one packed by a method Python cannot
    # unpack (Deflate64, as Windows' Explorer writes large files): zipfile raises
    # RuntimeError and NotImplementedError, which stopped the batch at every retry.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("locked.txt", story(12))
        archive.writestr("deflate64.txt", story(13))
        archive.writestr("open.txt", story(14))
    data = bytearray(buffer.getvalue())
    for header, flags_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        first = data.find(header)
        data[first + flags_at] |= 1  # locked.txt: the "encrypted" flag
        second = data.find(header, first + 4)
        data[second + method_at : second + method_at + 2] = (9).to_bytes(2, "little")  # Deflate64
    (folder / "windows.zip").write_bytes(bytes(data))
    expected.update(
        {
            "windows.zip#locked.txt": "bad_bundle_member",
            "windows.zip#deflate64.txt": "bad_bundle_member",
            "windows.zip#open.txt": "story",
        }
    )

    # NewsML-G2 messages: several items are several inputs, named by their ids; one item is
    # the file itself.
    item = g2_item
    empty = item("newsml-reuters-basic.xml").replace(b"newsml_L8N3LF0AB", b"newsml_EMPTY")
    empty = empty[: empty.index(b"<contentMeta")] + b"</newsItem>"  # no headline, no body
    message = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<newsMessage xmlns="http://iptc.org/std/nar/2006-10-01/">'
        b"<header><sent>2024-10-21T10:00:00Z</sent></header><itemSet>"
        + item("newsml-reuters-update.xml")
        + empty
        + item("newsml-dpa-german-embargo.xml")
        + b"</itemSet></newsMessage>\n"
    )
    (folder / "message.xml").write_bytes(message)
    names = [g2_name(i) for i in (item("newsml-reuters-update.xml"), empty, item("newsml-dpa-german-embargo.xml"))]
    expected.update(
        {f"message.xml#{names[0]}": "story", f"message.xml#{names[1]}": "no_body", f"message.xml#{names[2]}": "story"}
    )
    single = message.replace(empty, b"").replace(item("newsml-dpa-german-embargo.xml"), b"")
    single = single.replace(item("newsml-reuters-update.xml"), item("newsml-afp-canceled.xml"))
    (folder / "single-message.xml").write_bytes(single)
    expected["single-message.xml"] = "story"
    (folder / "cut-message.xml").write_bytes(message[: len(message) // 2])
    expected["cut-message.xml"] = "bad_xml"

    # A NewsML 1 document holding two NewsItems (AFP sends one per document; a desk's
    # export may hold several): each is an input, its own revision's row.
    two = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<NewsML Version="1.2">\n'
        + newsml1_item("newsml1-afp-french-nitf.xml")
        + b"\n"
        + newsml1_item("newsml1-afp-english-revision.xml")
        + b"\n</NewsML>\n"
    )
    (folder / "newsml1.xml").write_bytes(two)
    expected.update(
        {
            f"newsml1.xml#{newsml1_name(newsml1_item('newsml1-afp-french-nitf.xml'))}": "story",
            f"newsml1.xml#{newsml1_name(newsml1_item('newsml1-afp-english-revision.xml'))}": "story",
        }
    )

    # A mailbox export (mbox): each message an input.
    mails = [(GOLDEN / f"email-{name}.eml").read_bytes() for name in ("dpa-mbox-base64", "afp-multipart-qp")]
    box = mails[0] + b"\n" + b"From desk@afp.com Mon Oct 11 09:15:00 2021\n" + mails[1] + b"\n"
    (folder / "desk.mbox").write_bytes(box)
    expected.update({f"desk.mbox#{keyed('message', message_id(mail))}": "story" for mail in mails})

    # A mail carrying its stories as attachments (an NITF file, a text file) under a
    # covering note, with a photo: each story attachment an input; the note and the photo
    # none. The stories were not read (no_body, naming them).
    mail = mail_with_two_stories()
    mail.add_attachment(b"\x89PNG\r\n\x1a\n" + bytes(64), "image", "png", filename="photo.png")
    (folder / "attached.eml").write_bytes(bytes(mail))
    expected.update({"attached.eml#attachment[1]": "story", "attached.eml#attachment[2]": "story"})
    return expected


def name_of(uri: str, folder: Path) -> str:
    return uri.removeprefix(str(folder) + "/")


def test_parse_reads_every_member_and_quarantines_only_what_is_bad(tmp_path: Path) -> None:
    expected = write_bundles(tmp_path / "in")
    results = {name_of(str(r["source_uri"]), tmp_path / "in"): r for r in parse([str(tmp_path / "in")], workers=1)}
    outcome = {name: ("story" if "story_id" in r else str(r["error"])) for name, r in results.items()}
    assert outcome == expected
    assert results["wires.zip#feeds/item.xml"]["input_format"] == "newsml-g2"
    jsonl = (tmp_path / "in" / "items.jsonl").read_bytes().split(b"\n")
    assert results[f"items.jsonl#{keyed('line', jsonl[2])}"]["headline"] == "Second item"
    reuters, german = (
        results[f"message.xml#{g2_name(g2_item(f'newsml-{n}.xml'))}"] for n in ("reuters-update", "dpa-german-embargo")
    )
    assert (german["input_format"], german["language"], german["agency"]) == ("newsml-g2", "de", "dpa")
    assert reuters["wire_id"] != german["wire_id"]
    assert [results[f"appended.zip#day/a.txt{n}"]["headline"] for n in ("", " (2)")] == [
        "Harbour plan 15",
        "Harbour plan 16",
    ]
    assert results["appended.tar#x.txt"]["headline"] == "Harbour plan 17"
    mails = [(GOLDEN / f"email-{name}.eml").read_bytes() for name in ("dpa-mbox-base64", "afp-multipart-qp")]
    boxed = [results[f"desk.mbox#{keyed('message', message_id(mail))}"] for mail in mails]
    assert [row["agency"] for row in boxed] == ["dpa", "afp"]
    assert boxed[1]["headline"] == "France to ban single-use plastic packaging for fruit"
    attached = [results[f"attached.eml#attachment[{n}]"] for n in (1, 2)]
    assert [(r["input_format"], r["agency"]) for r in attached] == [("nitf", "reuters"), ("text", "afp")]
    alone = parse_story((GOLDEN / "nitf-reuters-version.xml").read_bytes(), "mem://a.xml")
    assert (attached[0]["headline"], attached[0]["body"]) == (alone.headline, alone.body)
    french, english = (
        results[f"newsml1.xml#{newsml1_name(newsml1_item(f'newsml1-afp-{n}.xml'))}"]
        for n in ("french-nitf", "english-revision")
    )
    assert (french["input_format"], french["language"], english["language"]) == ("newsml-1", "fr", "en")
    assert english["headline"] == "Japan exports rise for third month as chip demand holds"


def write_nested(alone: Path, folder: Path, expected: dict[str, str]) -> dict[str, str]:
    """Documents of several inputs inside archives, as vendors deliver them (a day's zip of
    messages, feeds and JSON lines, a tar of NewsML 1, a gzipped feed, gzipped JSON lines),
    built from `write_bundles`' files in ``alone`` (``expected``: what it returned); what
    each item must become. Each such
    document was one input quarantined whole (multi_item, unsupported_xml, bad_json)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = (alone / "items.jsonl").read_bytes().split(b"\n")
    feed = (FEEDS / "wordpress.rss").read_bytes()
    with zipfile.ZipFile(folder / "day.zip", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("msgs/message.xml", (alone / "message.xml").read_bytes())
        archive.writestr("feeds/feed.rss", feed)
        archive.writestr("items.jsonl", b"\n".join(lines[:3]) + b"\n")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        data = (alone / "newsml1.xml").read_bytes()
        info = tarfile.TarInfo("2024/10/21/newsml1.xml")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    (folder / "afp.tar.gz").write_bytes(buffer.getvalue())
    (folder / "news.atom.gz").write_bytes(gzip.compress((FEEDS / "news.atom").read_bytes()))
    third = json.loads(lines[2])
    third.update(uri=third["uri"] + "-3", headline="Third item", body_text="Zinc fell on Monday, traders said.")
    (folder / "lines.ndjson.gz").write_bytes(gzip.compress(json.dumps(third).encode() + b"\n"))
    feed_items = list_members("feed.rss", feed, BundleLimits())
    atom_items = list_members("news.atom", (FEEDS / "news.atom").read_bytes(), BundleLimits())
    assert len(feed_items) == len(atom_items) == 2
    return {
        **{f"day.zip#msgs/{name}": outcome for name, outcome in expected.items() if name.startswith("message.xml#")},
        **{f"day.zip#feeds/feed.rss#{m}": "story" for m in feed_items},
        f"day.zip#items.jsonl#{keyed('line', lines[0])}": "story",
        f"day.zip#items.jsonl#{keyed('line', lines[2])}": "story",
        **{f"afp.tar.gz#2024/10/21/{name}": "story" for name in expected if name.startswith("newsml1.xml#")},
        **{f"news.atom.gz#news.atom#{m}": "story" for m in atom_items},
        f"lines.ndjson.gz#lines.ndjson#{keyed('line', json.dumps(third))}": "story",
    }


def test_a_message_feed_or_json_lines_inside_an_archive_is_split_into_its_items(tmp_path: Path) -> None:
    expected = write_nested(tmp_path / "alone", tmp_path / "in", write_bundles(tmp_path / "alone"))
    results = {name_of(str(r["source_uri"]), tmp_path / "in"): r for r in parse([str(tmp_path / "in")], workers=1)}
    assert {name: ("story" if "story_id" in r else str(r["error"])) for name, r in results.items()} == expected
    # An item inside an archive is the item it is in the landing zone, in every field but
    # where it came from.
    alone = {name_of(str(r["source_uri"]), tmp_path / "alone"): r for r in parse([str(tmp_path / "alone")], workers=1)}
    alone.update({str(r["source_uri"]).rsplit("/", 1)[1]: r for r in parse([str(FEEDS)], workers=1)})
    fields = lambda row: {k: v for k, v in row.items() if k not in ("source_uri", "source_sha256")}  # noqa: E731
    for inside, row in results.items():
        landing = inside.split("#", 1)[1].rsplit("/", 1)[-1].replace("feed.rss#", "wordpress.rss#")
        if landing.startswith("lines.ndjson"):
            assert row["headline"] == "Third item" and row["input_format"] == "ninjs"
            continue
        assert fields(row) == fields(alone[landing]), inside


def test_an_archive_inside_an_archive_is_read_one_level_down(tmp_path: Path) -> None:
    # A vendor's day as a tar.gz of hourly zips (with a message of several items, a Mac's
    # resource fork) beside a story of its own and a gzipped one. Each zip was one `binary`
    # input and none of its stories was read. Its members are inputs now, named through
    # both archives, read once; a zip inside that zip, a corrupt one and a bomb stay one
    # input each, quarantined saying why.
    reuters, dpa = g2_item("newsml-reuters-update.xml"), g2_item("newsml-dpa-german-embargo.xml")
    hour_09 = zipped(
        {
            "a.txt": story(41),
            "msgs/message.xml": g2_message(reuters, dpa),
            "__MACOSX/._a.txt": b"\x00\x05\x16\x07" + bytes(60),
            "deeper.zip": zipped({"c.txt": story(43)}),
        }
    )
    hour_10 = zipped({"d.txt": story(44)})
    corrupt = bytearray(zipped({"e.txt": story(45)}))
    corrupt[corrupt.index(b"PK\x01\x02") :] = b"\x00" * (len(corrupt) - corrupt.index(b"PK\x01\x02"))
    bomb = zipped({"zeros.txt": b"0" * (40 * 1024**2)})  # 40 MB in ~40 KB: past --bundle-max-ratio
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in (
            ("day/09.zip", hour_09),
            ("day/10.zip", hour_10),
            ("day/note.txt", story(46)),
            ("day/b.txt.gz", gzip.compress(story(42))),
            ("day/empty.zip", zipped({})),  # an empty archive holds no input, as in the landing zone
            ("day/corrupt.zip", bytes(corrupt)),
            ("day/bomb.zip", bomb),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "day.tar.gz").write_bytes(buffer.getvalue())

    results = {name_of(str(r["source_uri"]), landing): r for r in parse([str(landing)], workers=1)}
    outcome = {name: r.get("error") or r["headline"] for name, r in results.items()}
    alone = {g2_name(item): parse_story(g2_message(item), "mem://m.xml").headline for item in (reuters, dpa)}
    assert outcome == {
        "day.tar.gz#day/09.zip#a.txt": "Harbour plan 41",
        **{f"day.tar.gz#day/09.zip#msgs/message.xml#{name}": headline for name, headline in alone.items()},
        "day.tar.gz#day/b.txt.gz#b.txt": "Harbour plan 42",
        "day.tar.gz#day/09.zip#deeper.zip": "binary",  # three levels down: not opened
        "day.tar.gz#day/10.zip#d.txt": "Harbour plan 44",
        "day.tar.gz#day/note.txt": "Harbour plan 46",
        "day.tar.gz#day/corrupt.zip": "binary",
        "day.tar.gz#day/bomb.zip": "binary",
    }
    assert "three levels deep" in str(results["day.tar.gz#day/09.zip#deeper.zip"]["detail"])

    store = tmp_path / "store"
    first = run_without_prefect(str(landing), str(store), IngestSettings(workers=1), 4)
    assert sum(s.inputs for s in first) == 9 and sum(s.stories for s in first) == 6
    assert run_without_prefect(str(landing), str(store), IngestSettings(workers=1), 4) == []
    rows = read_stories(str(store))
    assert sorted(str(r["source_uri"]).split("#", 1)[1] for r in rows) == sorted(
        name.split("#", 1)[1] for name, value in outcome.items() if value != "binary"
    )


def test_a_word_or_opendocument_file_attached_to_an_e_mail_is_a_story(tmp_path: Path) -> None:
    # A desk mails its story as a Word file (its own type) or an OpenDocument text sent as
    # application/octet-stream, beside a spreadsheet. Office files were no story attachment:
    # the stories were not read, and the mail's covering note was no_body.
    from tests.test_decode import _odt

    docx = (GOLDEN / "docx-reuters-desk.docx").read_bytes()
    odt = _odt(
        "<text:h>Kraanbedrijf Hollandia schrapt 300 banen</text:h>"
        "<text:p>AMSTERDAM, 12 nov (ANP) - Kraanbouwer Hollandia schrapt 300 banen bij zijn fabriek, maakte het "
        "bedrijf dinsdag bekend.</text:p>"
    )
    mail = EmailMessage(policy=SMTP)
    mail["From"], mail["To"], mail["Subject"] = "desk@reuters.com", "x@example.org", "Stories"
    mail["Date"], mail["Message-ID"] = "Tue, 12 Nov 2024 10:00:00 +0000", "<docs@reuters.com>"
    mail.set_content("Two stories attached.\n")
    word = "vnd.openxmlformats-officedocument.wordprocessingml.document"
    mail.add_attachment(docx, "application", word, filename="hydrogen.docx")
    mail.add_attachment(odt, "application", "octet-stream", filename="banen.odt")
    sheet = "vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    mail.add_attachment(b"PK\x03\x04" + bytes(60), "application", sheet, filename="figures.xlsx")
    landing = tmp_path / "in"
    landing.mkdir()
    (landing / "desk.eml").write_bytes(bytes(mail))
    results = {name_of(str(r["source_uri"]), landing): r for r in parse([str(landing)], workers=1)}
    assert sorted(results) == ["desk.eml#attachment[1]", "desk.eml#attachment[2]"]
    word_story, odt_story = results["desk.eml#attachment[1]"], results["desk.eml#attachment[2]"]
    assert (word_story["input_format"], word_story["headline"]) == (
        "docx",
        "UPDATE 1-Dutch port operator to build hydrogen import terminal",
    )
    assert (odt_story["input_format"], odt_story["agency"]) == ("odt", "anp")


def mail_with_archives(*archives: tuple[bytes, str, str, str]) -> EmailMessage:
    """A desk's covering note with archives attached: (bytes, type, subtype, file name)."""
    mail = EmailMessage(policy=SMTP)
    mail["From"], mail["To"], mail["Subject"] = "desk@reuters.com", "x@example.org", "Today's files"
    mail["Date"], mail["Message-ID"] = "Tue, 12 Nov 2024 10:00:00 +0000", "<zips@reuters.com>"
    mail.set_content("See attached.\n")
    for data, maintype, subtype, filename in archives:
        mail.add_attachment(data, maintype, subtype, filename=filename)
    return mail


def test_an_archive_attached_to_an_e_mail_is_read_as_its_members(tmp_path: Path) -> None:
    # A desk mails a day's files zipped (one a NewsML message of two items) and a gzipped
    # story sent as application/octet-stream, under a covering note. Until the thirty-second
    # session the mail was one input: its note "See attached." a story row, and none of the
    # archived stories read.
    message = g2_message(g2_item("newsml-reuters-update.xml"), g2_item("newsml-afp-french.xml"))
    day = zipped({"day/1.txt": story(1), "day/2.txt": story(2), "day/msg.xml": message})
    gzipped = gzip.compress((GOLDEN / "afp-paris.txt").read_bytes())
    mail = mail_with_archives(
        (day, "application", "zip", "day.zip"),
        (gzipped, "application", "octet-stream", "afp.txt.gz"),
        (b"PK\x03\x04" + bytes(60), "application", "zip", "broken.zip"),  # corrupt: one input, says why
        (zipped({"zeros.txt": b"0" * (40 * 1024**2)}), "application", "zip", "bomb.zip"),  # past the ratio: too
    )
    landing = tmp_path / "in"
    landing.mkdir()
    (landing / "desk.eml").write_bytes(bytes(mail))
    items = [g2_name(g2_item("newsml-reuters-update.xml")), g2_name(g2_item("newsml-afp-french.xml"))]
    expected = [
        "desk.eml#archive[1]#day/1.txt",
        "desk.eml#archive[1]#day/2.txt",
        *(f"desk.eml#archive[1]#day/msg.xml#{item}" for item in items),
        "desk.eml#archive[2]#afp.txt",
        "desk.eml#archive[3]",
        "desk.eml#archive[4]",
    ]
    results = {name_of(str(r["source_uri"]), landing): r for r in parse([str(landing)], workers=1)}
    assert sorted(results) == sorted(expected)
    for label in ("archive[3]", "archive[4]"):
        assert results[f"desk.eml#{label}"]["error"] == "binary"
        assert "a zip archive" in results[f"desk.eml#{label}"]["detail"]
    afp = results["desk.eml#archive[2]#afp.txt"]
    assert (afp["headline"], afp["body"]) == (
        parse_story((GOLDEN / "afp-paris.txt").read_bytes(), "mem://a").headline,
        parse_story((GOLDEN / "afp-paris.txt").read_bytes(), "mem://a").body,
    )
    assert "See attached." not in {r.get("body") for r in results.values()}

    store = tmp_path / "store"
    done = run_without_prefect(str(landing), str(store), IngestSettings(workers=1), 3)
    assert (sum(s.inputs for s in done), sum(s.stories for s in done)) == (7, 5)
    assert run_without_prefect(str(landing), str(store), IngestSettings(workers=1), 3) == []
    rows = duckdb.sql(f"SELECT source_uri FROM read_parquet('{store}/stories/**/*.parquet')").fetchall()
    assert sorted(name_of(uri, landing) for (uri,) in rows) == sorted(expected[:-2])


def test_an_archive_attached_to_a_mail_inside_an_archive_is_not_opened(tmp_path: Path) -> None:
    # A mail's archive is opened in the landing zone, in a mailbox and in an archive; in a
    # mail inside an archive inside an archive it is one input (quarantined, saying why), as
    # an archive three levels down is.
    mail = bytes(mail_with_archives((zipped({"1.txt": story(1)}), "application", "zip", "day.zip")))
    limits = BundleLimits()
    assert list_members("desk.eml", mail, limits) == ["archive[1]#1.txt"]
    assert list_members("outer.zip", zipped({"desk.eml": mail}), limits) == ["desk.eml#archive[1]#1.txt"]
    inner = zipped({"desk.eml": mail})
    assert list_members("outer.zip", zipped({"inner.zip": inner}), limits) == ["inner.zip#desk.eml#archive[1]"]
    box = b"From desk@reuters.com Tue Nov 12 10:00:00 2024\n" + mail.replace(b"\r\n", b"\n") + b"\n"
    assert list_members("desk.mbox", box, limits) == [f"{keyed('message', '<zips@reuters.com>')}#archive[1]#1.txt"]
    # Read back by those names, as a batch reads them.
    landing = tmp_path / "in"
    landing.mkdir()
    (landing / "outer.zip").write_bytes(zipped({"inner.zip": inner}))
    (landing / "desk.mbox").write_bytes(box)
    results = {name_of(str(r["source_uri"]), landing): r for r in parse([str(landing)], workers=1)}
    assert results["outer.zip#inner.zip#desk.eml#archive[1]"]["error"] == "binary"
    assert results[f"desk.mbox#{keyed('message', '<zips@reuters.com>')}#archive[1]#1.txt"]["headline"] == (
        "Harbour plan 1"
    )


def test_items_inside_archives_are_ingested_exactly_once(prefect_server: str, tmp_path: Path) -> None:
    expected = write_nested(tmp_path / "alone", tmp_path / "landing", write_bundles(tmp_path / "alone"))
    store = tmp_path / "store"
    first = ingest_flow(source=str(tmp_path / "landing"), dest=str(store), batch_size=4)
    assert first["inputs"] == len(expected) and first["balanced"] and first["stories"] == len(expected) - 1
    assert ingest_flow(source=str(tmp_path / "landing"), dest=str(store))["inputs"] == 0
    done = load_ledger(open_storage(str(store))).done
    outcomes = {name_of(uri, tmp_path / "landing"): entry for uri, entry in done.items()}
    assert {name: (e.outcome if e.outcome == "story" else e.reason) for name, e in outcomes.items()} == expected
    found = duckdb.sql(
        f"SELECT source_uri, headline FROM read_parquet('{store}/stories/**/*.parquet', hive_partitioning = true)"
    ).fetchall()
    assert sorted(name_of(uri, tmp_path / "landing") for uri, _ in found) == sorted(
        name for name, want in expected.items() if want == "story"
    )
    assert ("Third item" in {headline for _, headline in found}) and len(found) == len({h for _, h in found})


def test_bundle_members_are_ingested_exactly_once(prefect_server: str, tmp_path: Path) -> None:
    expected = write_bundles(tmp_path / "landing")
    store = tmp_path / "store"
    first = ingest_flow(source=str(tmp_path / "landing"), dest=str(store), batch_size=4)
    assert first["inputs"] == len(expected) and first["balanced"]
    second = ingest_flow(source=str(tmp_path / "landing"), dest=str(store))
    assert second["inputs"] == 0  # every member is in the ledger: nothing is new
    done = load_ledger(open_storage(str(store))).done
    outcomes = {name_of(uri, tmp_path / "landing"): entry for uri, entry in done.items()}
    assert set(outcomes) == set(expected)
    for name, want in expected.items():
        entry = outcomes[name]
        assert (entry.outcome if want == "story" else entry.reason) == (want if want != "story" else "story"), name
    rows = read_stories(str(store))
    assert len(rows) == sum(1 for v in expected.values() if v == "story")
    assert all("#" in str(r["source_uri"]) for r in rows if "message.xml" not in str(r["source_uri"]))


def test_a_bundle_listed_once_is_not_read_again_until_it_changes(prefect_server: str, tmp_path: Path) -> None:
    # A run keeps each bundle's member list (at the bundle's revision, under
    # _bundles/); the next runs plan from it without reading the bundle. A
    # rewritten bundle, other limits or an unreadable entry make planning read it again.
    import os
    import time

    from flows.batch import IngestSettings, plan_batches
    from flows.bundles import BundleLimits
    from flows.inputs import BUNDLE_INDEX_PREFIX, BundleIndex
    from storage.local import LocalStorage

    class Counted(LocalStorage):
        reads: ClassVar[list[str]] = []

        def get(self, key: str, limit: int | None = None) -> bytes:
            Counted.reads.append(key)
            return super().get(key, limit)

    landing, store = tmp_path / "landing", tmp_path / "store"
    expected = write_bundles(landing)
    first = ingest_flow(source=str(landing), dest=str(store), batch_size=4)
    assert first["inputs"] == len(expected)
    bundles = {name.split("#")[0] for name in expected if "#" in name}
    kept_paths = sorted((store / BUNDLE_INDEX_PREFIX).glob("*.json"))
    kept = [json.loads(p.read_bytes()) for p in kept_paths]
    assert sorted(name_of(entry["uri"], landing) for entry in kept) == sorted(bundles)

    source, dest = Counted(str(landing)), LocalStorage(str(store))
    settings = IngestSettings()

    def plan(limits: BundleLimits = settings.bundle_limits) -> list[str]:
        Counted.reads = []
        plans = plan_batches(source, load_ledger(dest), 100, settings, bundles=BundleIndex(dest, limits))
        return [key for p in plans for key in p.inputs]

    assert plan() == [] and Counted.reads == []  # nothing new, and no bundle read
    assert plan_batches(source, load_ledger(dest), 100, settings) == []
    assert sorted(set(Counted.reads)) == sorted(bundles)  # without the index, every bundle is read
    assert plan(BundleLimits(max_members=999)) == [] and sorted(set(Counted.reads)) == sorted(bundles)

    kept_paths[0].write_bytes(b"{not json")
    assert plan() == [] and len(set(Counted.reads)) == 1  # that bundle read again, the others not
    assert plan() == [] and Counted.reads == []  # and kept again

    # The tar gains a member: read again, the new member planned, the old ones rewritten.
    tar = landing / "archive.tar.gz"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for n in (4, 5, 7):
            info = tarfile.TarInfo(f"day/{n}.txt")
            info.size = len(story(n))
            archive.addfile(info, io.BytesIO(story(n)))
    tar.write_bytes(buffer.getvalue())
    os.utime(tar, (time.time() + 5, time.time() + 5))
    # The rewritten members first (their batch takes their old rows out), then the new one.
    assert plan() == ["archive.tar.gz#day/4.txt", "archive.tar.gz#day/5.txt", "archive.tar.gz#day/7.txt"]
    assert Counted.reads.count("archive.tar.gz") == 1 and set(Counted.reads) == {"archive.tar.gz"}
    again = ingest_flow(source=str(landing), dest=str(store))
    assert (again["inputs"], again["rewritten"]) == (3, 2)
    assert any(uri.endswith("archive.tar.gz#day/7.txt") for uri in load_ledger(dest).done)
    assert plan() == [] and Counted.reads == []
    # One entry a bundle and limits: the tar's list at its new revision replaced the one at
    # its old (until the thirty-sixth session every revision ever listed kept its own entry);
    # the list made with other limits above stays, at the old revision.
    kept = [json.loads(p.read_bytes()) for p in (store / BUNDLE_INDEX_PREFIX).glob("*.json")]
    assert len(kept) == 2 * len(bundles)
    assert sorted(len(e["members"]) for e in kept if e["uri"].endswith("/archive.tar.gz")) == [2, 3]

    # A store that takes several requests at once (S3) is asked for the entries that way,
    # each once, and planning answers the same. The entries are not under _ledger/, which
    # every run lists whole.
    Counted.reads = []
    at_once = AtOnceStore(str(store))
    plans = plan_batches(source, load_ledger(dest), 100, settings, bundles=BundleIndex(at_once, settings.bundle_limits))
    index_reads = [key for key in at_once.reads if key.startswith(BUNDLE_INDEX_PREFIX)]
    assert plans == [] and Counted.reads == [] and at_once.most_at_once > 1
    assert len(index_reads) == len(set(index_reads)) == len(bundles)
    assert all(
        batch_id_of(k) or k.startswith(SNAPSHOT_PREFIX) or k == SNAPSHOT_POINTER for k in dest.keys(LEDGER_PREFIX)
    )


def test_a_bundle_spanning_batches_and_tasks_is_read_once(tmp_path: Path) -> None:
    # Each batch read the bundle again (a 1 GB zip of 100,000 members, 50 times at batch
    # 2,000), and two copies were in memory while one batch's parse overlapped the next.
    # A batch whose members go on in the next one keeps it open for that one, within a
    # task's batches and across tasks (the flow's `then`), and the rows are the same.
    from flows.batch import IngestSettings, plan_batches, run_plans
    from storage.local import LocalStorage

    class Counted(LocalStorage):
        reads: ClassVar[list[str]] = []

        def get(self, key: str, limit: int | None = None) -> bytes:
            Counted.reads.append(key)
            return super().get(key, limit)

    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "a-first.txt").write_bytes(story(100))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for n in range(14):
            archive.writestr(f"day/{n:02d}.txt", story(n))
    (landing / "big.zip").write_bytes(buffer.getvalue())
    (landing / "z-last.txt").write_bytes(story(200))
    source, settings = Counted(str(landing)), IngestSettings(workers=1)
    for how in ("one call", "a task per batch"):
        dest = LocalStorage(str(tmp_path / how))
        index = load_ledger(dest)
        plans = plan_batches(source, index, 4, settings)
        assert len(plans) >= 4 and sum(len(p.inputs) for p in plans) == 16
        Counted.reads = []
        if how == "one call":
            run_plans(plans, source, dest, index, settings)
        else:
            for number, plan in enumerate(plans):
                then = plans[number + 1] if number + 1 < len(plans) else None
                run_plans([plan], source, dest, index, settings, then=then)
        assert Counted.reads.count("big.zip") == 1, how
        assert sorted(name_of(str(r["source_uri"]), landing) for r in read_stories(str(tmp_path / how))) == sorted(
            [*(f"big.zip#day/{n:02d}.txt" for n in range(14)), "a-first.txt", "z-last.txt"]
        )


def test_a_bundle_is_opened_once_for_all_its_members(tmp_path: Path) -> None:
    # Reading each member from the bundle's bytes alone opened it again every time (the
    # zip directory parsed, the lines split, the tar decompressed from its start, the XML
    # parsed): quadratic in the members. One OpenBundle reads every member, in any order,
    # exactly as a bundle opened afresh for each member does, opening the bundle once.
    from flows.bundles import BundleLimits, OpenBundle, list_members
    from schemas.errors import InputError

    limits = BundleLimits()
    files = write_bundles(tmp_path / "landing")
    names = sorted({name.split("#")[0] for name in files})
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:") as plain:  # an uncompressed tar too
        for n in range(30):
            info = tarfile.TarInfo(f"t/{n:02d}.txt")
            info.size = len(story(n))
            plain.addfile(info, io.BytesIO(story(n)))
    (tmp_path / "landing" / "plain.tar").write_bytes(buffer.getvalue())
    names.append("plain.tar")
    checked = 0
    for name in names:
        data = (tmp_path / "landing" / name).read_bytes()
        try:
            members = list_members(name, data, limits)
        except InputError:  # a bomb, say: never read member by member
            continue
        for order in (members, members[::-1]):  # forward, as batches read, and backward
            bundle = OpenBundle(name, data)
            opened = None
            for member in order:
                try:
                    want: bytes | str = OpenBundle(name, data).read(member, limits, 10**6)  # from scratch
                except Exception as exc:  # a broken member fails the same way both ways
                    want = type(exc).__name__
                try:
                    got: bytes | str = bundle.read(member, limits, 10**6)
                except Exception as exc:
                    got = type(exc).__name__
                assert got == want, (name, member)
                if isinstance(got, bytes) and name != "single.txt.gz":
                    opened = opened if opened is not None else bundle._opened
                    assert bundle._opened is opened, (name, member)  # not opened again
                checked += 1
    assert checked > 70


def test_an_rss_feed_is_one_story_per_item_with_the_feed_s_trailer_removed(tmp_path: Path) -> None:
    results = list(parse([str(FEEDS / "wordpress.rss")], workers=1))
    assert [r["input_format"] for r in results] == ["rss", "rss"]
    assert all("#item[" in str(r["source_uri"]) for r in results)
    first, second = results
    assert first["headline"] == "Hafen nach Streik wieder offen"
    assert first["byline"] == ["Anna Beck"] and first["language"] == "de"
    assert first["published_at"] == "2025-06-11T07:12:44Z"
    assert first["url"] == "https://hafenblatt.example/2025/06/11/hafen-offen/"
    assert first["wire_id"] == "https://hafenblatt.example/?p=4711"
    body = str(first["body"])
    assert body.startswith("Der Hafen hat am Dienstag") and body.count("\n\n") == 2
    # The summary is the standfirst; the line the feed appends to both is a trailer.
    assert first["standfirst"] == (
        "Nach drei Tagen Streik hat der Hafen am Dienstag wieder geöffnet, die Gewerkschaft spricht von einem Erfolg."
    )
    assert "appeared first" not in body + str(first["standfirst"])
    assert {
        "kind": "trailer",
        "text": "The post Hafen nach Streik wieder offen appeared first on Hafenblatt.",
    } in first["removed"]
    # An item with only a description: that is its body.
    assert str(second["body"]).startswith("Die Frachtraten") and second["standfirst"] is None


def test_a_feed_in_utf16_is_split_into_the_same_items(tmp_path: Path) -> None:
    # A Windows tool's export: UTF-16 with its mark. Its head was searched for "<rss" byte
    # by byte (never found between the NULs), so it was no feed: one input, quarantined.
    data = (FEEDS / "wordpress.rss").read_bytes().decode("utf-8")
    wide = data.replace('encoding="UTF-8"', 'encoding="UTF-16"')
    assert wide != data
    (tmp_path / "feed.rss").write_bytes(wide.encode("utf-16"))
    names = lambda rows: [str(r["source_uri"]).rsplit("#", 1)[1] for r in rows]  # noqa: E731
    plain, read = list(parse([str(FEEDS / "wordpress.rss")], workers=1)), list(parse([str(tmp_path)], workers=1))
    assert names(read) == names(plain) and len(read) == 2
    assert [r["body"] for r in read] == [r["body"] for r in plain]


def test_json_lines_in_utf16_or_utf32_are_split_into_the_same_items(tmp_path: Path) -> None:
    # Split by its bytes, a UTF-16 file's lines were cut between a newline's two bytes, and
    # every line was quarantined bad_json.
    item = json.loads((GOLDEN / "ninjs1-text-body.json").read_bytes())
    second = {**item, "uri": item["uri"] + "-2", "headline": "Zweite Meldung über Kupfer"}
    text = "\r\n".join(json.dumps(one, ensure_ascii=False) for one in (item, second)) + "\r\n"
    for codec in ("utf-8", "utf-16", "utf-16-le", "utf-32"):
        (tmp_path / codec).mkdir()
        (tmp_path / codec / "items.jsonl").write_bytes(text.encode(codec))
    rows = {
        codec: [
            (str(r["source_uri"]).rsplit("/", 1)[1], r.get("headline"), r.get("body"))
            for r in parse([str(tmp_path / codec)], workers=1)
        ]
        for codec in ("utf-8", "utf-16", "utf-16-le", "utf-32")
    }
    assert [name for name, _, _ in rows["utf-8"]] == [
        f"items.jsonl#{keyed('line', json.dumps(one, ensure_ascii=False))}" for one in (item, second)
    ]
    assert rows["utf-8"][1][1] == "Zweite Meldung über Kupfer"
    assert rows["utf-16"] == rows["utf-16-le"] == rows["utf-32"] == rows["utf-8"]


def test_an_atom_feed_is_one_story_per_entry(tmp_path: Path) -> None:
    first, second = list(parse([str(FEEDS / "news.atom")], workers=1))
    assert first["input_format"] == second["input_format"] == "atom"
    assert first["headline"] == "Rotterdam port reopens after strike" and first["byline"] == ["Jane Doe"]
    assert first["url"] == "https://portwire.example/2025/06/rotterdam-reopens"  # rel=alternate, not replies
    assert first["published_at"] == "2025-06-11T04:30:00Z"  # published, not updated
    assert str(first["body"]).count("\n\n") == 1 and first["standfirst"].startswith("The port reopened")
    assert first["wire_id"] == "tag:portwire.example,2025:1001" and first["language"] == "en"
    # Escaped HTML content, no summary, no published: updated dates it.
    assert str(second["body"]).startswith("Traders said") and second["published_at"] == "2025-06-10T15:00:00Z"


def test_a_feed_rewritten_in_place_adds_its_new_items_and_loses_none(prefect_server: str, tmp_path: Path) -> None:
    # A poller overwrites feed.rss: a new item comes first and the oldest drops out. Members
    # are named by item id, not position, so no story's row is replaced by another's.
    landing, dest = tmp_path / "landing", str(tmp_path / "store")
    landing.mkdir()
    feed = FEEDS / "wordpress.rss"
    (landing / "feed.rss").write_bytes(feed.read_bytes())
    first = ingest_flow(source=str(landing), dest=dest, batch_size=10)
    assert first["inputs"] == 2 and first["stories"] == 2
    text = feed.read_text(encoding="utf-8")
    items = text.split("<item>")
    new_item = (
        "\n\t\t<title>Kranführer beenden Streik endgültig</title>\n"
        "\t\t<link>https://hafenblatt.example/2025/06/12/ende/</link>\n"
        "\t\t<pubDate>Thu, 12 Jun 2025 05:00:00 +0000</pubDate>\n"
        '\t\t<guid isPermaLink="false">https://hafenblatt.example/?p=4720</guid>\n'
        "\t\t<description><![CDATA[<p>Die Kranführer haben den Streik am Donnerstag endgültig beendet, sagte ein "
        "Sprecher.</p>]]></description>\n\t\t</item>\n\t"
    )
    rewritten = (
        items[0] + "<item>" + new_item + "<item>" + items[1].split("</item>")[0] + "</item>\n\t</channel>\n</rss>\n"
    )
    (landing / "feed.rss").write_text(rewritten, encoding="utf-8")
    second = ingest_flow(source=str(landing), dest=dest, batch_size=10)
    assert second["balanced"]
    headlines = sorted(str(r["headline"]) for r in read_stories(dest))
    assert headlines == sorted(
        [
            "Hafen nach Streik wieder offen",
            "Containerraten steigen die zweite Woche",
            "Kranführer beenden Streik endgültig",
        ]
    )
    assert ingest_flow(source=str(landing), dest=dest, batch_size=10)["inputs"] == 0


def test_what_is_not_split_inside_an_archive_is_one_input_saying_why(tmp_path: Path) -> None:
    # A feed named like a text file, an archive three levels deep, and a gzipped feed that
    # unpacks past the bundle's ratio (a bomb is not read whole to be listed): each is one
    # input, quarantined with its reason; none is lost or split wrongly.
    folder = tmp_path / "in"
    folder.mkdir()
    deeper = io.BytesIO()
    with zipfile.ZipFile(deeper, "w") as archive:
        archive.writestr("story.txt", story(31))
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("feed.xml", (FEEDS / "wordpress.rss").read_bytes())
        archive.writestr("deeper.zip", deeper.getvalue())
    with zipfile.ZipFile(folder / "nested.zip", "w") as archive:
        archive.writestr("inner.zip", inner.getvalue())
        archive.writestr("feed.txt", (FEEDS / "news.atom").read_bytes())
    # A feed whose stored bytes were corrupted in transfer (its CRC no longer matches): it
    # alone is quarantined; listing it raised, and the whole zip was bad_bundle.
    with zipfile.ZipFile(folder / "corrupt.zip", "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("ok.txt", story(30))
        archive.writestr("feed.xml", (FEEDS / "wordpress.rss").read_bytes())
    data = bytearray((folder / "corrupt.zip").read_bytes())
    at = data.index(b"Hafen nach Streik")
    data[at : at + 5] = b"XXXXX"
    (folder / "corrupt.zip").write_bytes(bytes(data))
    padded = (FEEDS / "news.atom").read_bytes().replace(b"<feed ", b"<feed " + b" " * (8 * 1024**2), 1)
    (folder / "padded.atom.gz").write_bytes(gzip.compress(padded))
    results = {name_of(str(r["source_uri"]), folder): r for r in parse([str(folder)], workers=1)}
    feed_items = list_members("feed.xml", (FEEDS / "wordpress.rss").read_bytes(), BundleLimits())
    assert {name: r.get("error") for name, r in results.items()} == {
        **{f"nested.zip#inner.zip#feed.xml#{item}": None for item in feed_items},  # two levels: read
        "nested.zip#inner.zip#deeper.zip": "binary",
        "nested.zip#feed.txt": "unsupported_xml",
        "padded.atom.gz#padded.atom": "unsupported_xml",
        "corrupt.zip#ok.txt": None,
        "corrupt.zip#feed.xml": "bad_bundle_member",
    }
    assert "named *.xml, *.rss or *.atom" in str(results["nested.zip#feed.txt"]["detail"])


def test_a_feed_rewritten_in_place_is_read_again_only_for_the_items_that_changed(tmp_path: Path) -> None:
    # Each item is at its own revision (a digest of its bytes), not at the feed's: a poller
    # rewriting an unchanged feed costs no batch and no ledger entry, an edited item is
    # taken again and its row replaced, the other item left alone.
    import os

    from flows.batch import IngestSettings, run_without_prefect

    landing, dest = tmp_path / "landing", str(tmp_path / "store")
    landing.mkdir()
    feed = landing / "feed.rss"
    feed.write_bytes((FEEDS / "wordpress.rss").read_bytes())

    def run() -> int:
        return sum(s.inputs for s in run_without_prefect(str(landing), dest, IngestSettings(), 10))

    assert run() == 2
    os.utime(feed, ns=(feed.stat().st_atime_ns, feed.stat().st_mtime_ns + 10**9))  # rewritten, same bytes
    feed.write_bytes(feed.read_bytes())
    assert run() == 0
    ledger_objects = len(list(open_storage(dest).list("_ledger/")))
    feed.write_text(feed.read_text(encoding="utf-8").replace("sagten Händler.", "sagten Händler am Dienstag."))
    assert run() == 1
    rows = read_stories(dest)
    assert len(rows) == 2
    assert any(str(r["body"]).endswith("sagten Händler am Dienstag.") for r in rows)
    assert len(list(open_storage(dest).list("_ledger/"))) == ledger_objects + 1
    assert run() == 0


def test_a_feed_item_that_moves_to_the_end_is_not_read_again(tmp_path: Path) -> None:
    # A poller rewrites the feed with a new item first and the oldest dropped: the item that
    # is now the last is followed by other whitespace (the channel's closing indent, not the
    # next item's). Revised by its bytes with that whitespace, it was taken for an edit: read
    # again and its row rewritten, once for every new item of the feed's life.
    from flows.batch import IngestSettings, run_without_prefect

    landing, dest = tmp_path / "landing", str(tmp_path / "store")
    landing.mkdir()
    feed = landing / "feed.rss"
    text = (FEEDS / "wordpress.rss").read_text(encoding="utf-8")
    feed.write_text(text, encoding="utf-8")

    def run() -> tuple[int, int]:
        done = run_without_prefect(str(landing), dest, IngestSettings(workers=1), 10)
        return sum(s.inputs for s in done), sum(s.stories for s in done)

    assert run() == (2, 2)
    head, first, _second = text.split("<item>")
    new_item = (
        "\n\t\t<title>Kranführer beenden Streik endgültig</title>\n"
        '\t\t<guid isPermaLink="false">https://hafenblatt.example/?p=4720</guid>\n'
        "\t\t<description><![CDATA[<p>Die Kranführer haben den Streik am Donnerstag endgültig beendet, sagte ein "
        "Sprecher.</p>]]></description>\n\t\t</item>\n\t\t"
    )
    moved = first.split("</item>")[0] + "</item>\n\t</channel>\n</rss>\n"  # the first item, now the last
    assert first.split("</item>")[1] != "\n\t</channel>\n</rss>\n"  # ... and followed by other whitespace
    feed.write_text(head + "<item>" + new_item + "<item>" + moved, encoding="utf-8")
    os.utime(feed, ns=(feed.stat().st_atime_ns, feed.stat().st_mtime_ns + 10**9))
    assert run() == (1, 1)  # the new item only
    assert len(read_stories(dest)) == 3
    assert run() == (0, 0)


def test_a_replayed_feed_item_records_its_own_revision(prefect_server: str, tmp_path: Path) -> None:
    # An item with neither title nor text is quarantined; mended in place, `replay` takes it
    # at the item's own revision, so the next run finds nothing new or rewritten.
    from flows.cli import replay

    landing, dest = tmp_path / "landing", str(tmp_path / "store")
    landing.mkdir()
    text = (FEEDS / "wordpress.rss").read_text(encoding="utf-8")
    empty_item = '<item><guid isPermaLink="false">https://hafenblatt.example/?p=4730</guid></item>\n\t</channel>'
    feed = landing / "feed.rss"
    feed.write_text(text.replace("</channel>", empty_item), encoding="utf-8")
    first = ingest_flow(source=str(landing), dest=dest, batch_size=10)
    assert first["stories"] == 2 and first["quarantined"] == {"no_body": 1}
    mended = "<title>Lotsen kehren zurück</title><description>Die Lotsen sind am Mittwoch zurückgekehrt.</description>"
    feed.write_text(feed.read_text(encoding="utf-8").replace("</guid></item>", "</guid>" + mended + "</item>"))
    replayed = replay(dest)
    assert replayed["inputs"] == 1 and replayed["stories"] == 1
    assert ingest_flow(source=str(landing), dest=dest, batch_size=10)["inputs"] == 0
    assert len(read_stories(dest)) == 3


def test_an_rss_1_feed_is_split_too() -> None:
    # RSS 1.0 (RDF): the items sit beside the channel, the language is the channel's
    # dc:language, an item is named by its rdf:about.
    (item,) = list(parse([str(FEEDS / "rdf.rss")], workers=1))
    assert item["input_format"] == "rss" and item["headline"] == "Haven na staking weer open"
    assert item["language"] == "nl" and item["byline"] == ["Pieter de Vries"]
    assert item["published_at"] == "2025-06-11T07:15:00Z"
    assert item["wire_id"] == "https://havenkrant.example/2025/06/11/haven-open"


def test_a_zip_made_on_a_mac_or_a_windows_share_yields_its_stories_only(tmp_path: Path) -> None:
    """macOS's Compress puts each file's resource fork in ``__MACOSX/._name`` and a folder's
    ``.DS_Store`` into the zip; a Windows share adds ``Thumbs.db``. Each was a member, and a
    ``binary`` quarantine entry per delivery; members follow the landing zone's naming rules."""
    landing = tmp_path / "in"
    landing.mkdir()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("stories/one.txt", story(1))
        archive.writestr("__MACOSX/stories/._one.txt", b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X" + bytes(80))
        archive.writestr("stories/.DS_Store", b"\x00\x00\x00\x01Bud1" + bytes(50))
        archive.writestr("stories/Thumbs.db", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(50))
        archive.writestr("stories/two.txt.part", story(2)[:20])
        archive.writestr("stories/_draft.txt", story(3))
    (landing / "delivery.zip").write_bytes(buffer.getvalue())
    results = list(parse([str(landing)], workers=1))
    assert [name_of(str(r["source_uri"]), landing) for r in results] == ["delivery.zip#stories/one.txt"]
    assert "story_id" in results[0]


def test_a_hash_sign_in_a_file_s_or_folder_s_name_is_not_a_member_separator(tmp_path: Path) -> None:
    # "#" separates a bundle from its members in an input's name (``day.zip#a.txt``). A
    # zip named ``desk#1.zip`` was then no bundle (its name held a "#") and was quarantined
    # ``binary`` whole; a feed named ``feed#2.rss`` was one input (``unsupported_xml``),
    # and so was a feed inside a zip under a name holding a "#".
    feed = (FEEDS / "wordpress.rss").read_bytes()
    landing = tmp_path / "in" / "2024#47"
    landing.mkdir(parents=True)
    with zipfile.ZipFile(landing / "desk#1.zip", "w") as archive:
        archive.writestr("one#a.txt", story(1))
        archive.writestr("feeds/feed#3.rss", feed)
    (landing / "feed#2.rss").write_bytes(feed)
    (landing / "plain#4.txt").write_bytes(story(4))
    items = list_members("feed.rss", feed, BundleLimits())
    results = {name_of(str(r["source_uri"]), tmp_path / "in"): r for r in parse([str(tmp_path / "in")], workers=1)}
    assert {name: ("story" if "story_id" in r else str(r["error"])) for name, r in results.items()} == {
        "2024#47/desk#1.zip#one#a.txt": "story",
        **{f"2024#47/desk#1.zip#feeds/feed#3.rss#{m}": "story" for m in items},
        **{f"2024#47/feed#2.rss#{m}": "story" for m in items},
        "2024#47/plain#4.txt": "story",
    }
    assert results["2024#47/desk#1.zip#one#a.txt"]["headline"] == "Harbour plan 1"
    assert results["2024#47/plain#4.txt"]["headline"] == "Harbour plan 4"
    inside, alone = (results[f"2024#47/{k}#{items[0]}"] for k in ("desk#1.zip#feeds/feed#3.rss", "feed#2.rss"))
    assert (inside["headline"], inside["body"]) == (alone["headline"], alone["body"])


def test_a_zip_named_with_a_hash_sign_in_s3_is_ingested_member_by_member_once(s3_bucket: str, tmp_path: Path) -> None:
    import boto3

    inner = io.BytesIO()  # an archive inside it, with a "#" in its name too
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("c.txt", story(3))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("one#a.txt", story(1))
        archive.writestr("two.txt", story(2))
        archive.writestr("hour#9.zip", inner.getvalue())
    boto3.client("s3").put_object(Bucket=s3_bucket, Key="landing/wk#47/desk#1.zip", Body=buffer.getvalue())
    store = tmp_path / "store"
    for run in (1, 2):
        done = run_without_prefect(f"s3://{s3_bucket}/landing", str(store), IngestSettings(), 10)
        assert (sum(s.inputs for s in done), sum(s.stories for s in done)) == ((3, 3) if run == 1 else (0, 0))
    found = duckdb.sql(f"SELECT source_uri FROM read_parquet('{store}/stories/**/*.parquet')").fetchall()
    assert sorted(uri for (uri,) in found) == [
        f"s3://{s3_bucket}/landing/wk#47/desk#1.zip#{m}" for m in ("hour#9.zip#c.txt", "one#a.txt", "two.txt")
    ]


def test_an_mbox_or_json_lines_file_that_grows_or_is_trimmed_loses_no_story(tmp_path: Path) -> None:
    # A mail spool or a JSON-lines log is appended to, and expunged or rotated from the front.
    # Named by position, members shifted when the first went: each next one was taken for a
    # rewrite of the one before it (re-read, its old row replaced) and the first story's row
    # was removed with nothing to replace it. By Message-ID and by a line's bytes, what was
    # ingested stays, and only what is new is read.
    mails = [
        (GOLDEN / f"email-{name}.eml").read_bytes()
        for name in ("dpa-mbox-base64", "afp-multipart-qp", "ap-html-base64", "reuters-outlook-forward")
    ]
    item = json.loads((GOLDEN / "ninjs1-text-body.json").read_bytes())
    lines = [json.dumps({**item, "uri": f"{item['uri']}-{n}", "headline": f"Copper item {n}"}) for n in range(3)]
    landing, store = tmp_path / "landing", tmp_path / "store"
    landing.mkdir()

    def deliver(first: int, last: int) -> tuple[int, int]:
        box = b"".join(
            (b"" if mail.startswith(b"From ") else b"From desk@example.com Mon Oct 11 09:15:00 2021\n") + mail + b"\n"
            for mail in mails[first:last]
        )
        (landing / "desk.mbox").write_bytes(box)
        (landing / "feed.jsonl").write_text("\n".join(lines[first : min(last, 3)]) + "\n")
        for path in landing.iterdir():  # a new revision, whatever the clock's resolution
            os.utime(path, ns=(path.stat().st_mtime_ns + 10**9 * (first + last),) * 2)
        done = run_without_prefect(str(landing), str(store), IngestSettings(workers=1), 50)
        return sum(s.inputs for s in done), sum(s.stories for s in done)

    assert deliver(0, 2) == (4, 4)  # two messages, two lines
    assert deliver(0, 3) == (2, 2)  # one message and one line appended: only they are read
    assert deliver(1, 4) == (1, 1)  # the first of each gone, one message more: only it is read
    rows = duckdb.sql(f"SELECT source_uri, headline FROM read_parquet('{store}/stories/**/*.parquet')").fetchall()
    headlines = sorted(headline for _, headline in rows)
    assert len(rows) == 7 and len(set(headlines)) == 7
    assert {"Copper item 0", "Copper item 1", "Copper item 2"} <= set(headlines)
    assert "Bundesregierung kürzt Förderung für Elektroautos" in headlines  # the first message's story stays
    assert sorted(name_of(uri, landing) for uri, _ in rows if "desk.mbox" in uri) == sorted(
        f"desk.mbox#{keyed('message', message_id(mail))}" for mail in mails
    )


def test_a_news_message_rewritten_without_its_first_item_loses_no_story(tmp_path: Path) -> None:
    # A desk's message file (NewsML-G2 newsMessage, NewsML 1 document) rewritten in place as
    # its items come and go. Named by position (newsItem[1], ...) at the message's revision,
    # every item was read again on each rewrite, and when the first went each next item was
    # taken for a rewrite of the one before it: the first story's row was replaced by the
    # second's and removed from the dataset. Named by each item's id, the items that stay
    # keep their rows and are not read again; only a new item is.
    reuters, dpa, afp = (g2_item(f"newsml-{n}.xml") for n in ("reuters-update", "dpa-german-embargo", "afp-canceled"))
    french, english, kill = (newsml1_item(f"newsml1-afp-{n}.xml") for n in ("french-nitf", "english-revision", "kill"))
    landing, store = tmp_path / "landing", tmp_path / "store"
    landing.mkdir()

    def deliver(round_: int, g2: list[bytes], one: list[bytes]) -> tuple[int, int]:
        (landing / "message.xml").write_bytes(g2_message(*g2))
        (landing / "afp.xml").write_bytes(newsml1_document(*one))
        for path in landing.iterdir():  # a new revision, whatever the clock's resolution
            os.utime(path, ns=(path.stat().st_mtime_ns + 10**9 * round_,) * 2)
        done = run_without_prefect(str(landing), str(store), IngestSettings(workers=1), 50)
        return sum(s.inputs for s in done), sum(s.stories for s in done)

    assert deliver(1, [reuters, dpa], [french, english]) == (4, 4)
    assert deliver(2, [dpa, afp], [english, kill]) == (2, 2)  # the first of each gone, one new: only it is read
    assert deliver(3, [dpa, afp], [english, kill]) == (0, 0)  # the same files written again: nothing
    rows = duckdb.sql(f"SELECT source_uri, headline, language FROM read_parquet('{store}/stories/**/*.parquet')")
    found = rows.fetchall()
    assert len(found) == 6 and len({uri for uri, _, _ in found}) == 6
    alone = [
        parse_story((GOLDEN / f"{n}.xml").read_bytes(), "mem://x").headline
        for n in ("newsml-reuters-update", "newsml1-afp-french-nitf")
    ]
    assert set(alone) <= {headline for _, headline, _ in found}  # the first items' stories stay
    guid = g2_item("newsml-reuters-update.xml").split(b'guid="', 1)[1].split(b'"', 1)[0]
    version = g2_item("newsml-reuters-update.xml").split(b' version="', 1)[1].split(b'"', 1)[0]
    assert any(uri.endswith(f"message.xml#{keyed('newsItem', guid + b' ' + version)}") for uri, _, _ in found)


def test_a_mailbox_message_carrying_stories_as_attachments_is_those_stories(tmp_path: Path) -> None:
    # A desk's mailbox export: one message is a story in its text, the next a covering note
    # with an NITF file and a text file attached, as a `*.eml` of it is read. Read whole, that
    # message was one input, `no_body`, and its attached stories were lost.
    plain = (GOLDEN / "email-afp-multipart-qp.eml").read_bytes()
    mail = mail_with_two_stories()
    box = b"From desk@afp.com Mon Oct 11 09:15:00 2021\n" + plain + b"\n"
    box += b"From desk@reuters.com Tue Nov 12 10:00:00 2024\n" + bytes(mail).replace(b"\r\n", b"\n") + b"\n"
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "desk.mbox").write_bytes(box)
    results = {name_of(str(r["source_uri"]), landing): r for r in parse([str(landing)], workers=1)}
    first, second = keyed("message", message_id(plain)), keyed("message", "<two@reuters.com>")
    assert sorted(results) == sorted(
        [f"desk.mbox#{first}", f"desk.mbox#{second}#attachment[1]", f"desk.mbox#{second}#attachment[2]"]
    )
    assert all("story_id" in r for r in results.values())
    nitf, text = results[f"desk.mbox#{second}#attachment[1]"], results[f"desk.mbox#{second}#attachment[2]"]
    assert (nitf["input_format"], text["agency"]) == ("nitf", "afp")
    alone = parse_story((GOLDEN / "nitf-reuters-version.xml").read_bytes(), "mem://a.xml")
    assert (nitf["headline"], nitf["body"]) == (alone.headline, alone.body)

    store = tmp_path / "store"
    done = run_without_prefect(str(landing), str(store), IngestSettings(workers=1), 10)
    assert (sum(s.inputs for s in done), sum(s.stories for s in done)) == (3, 3)
    assert run_without_prefect(str(landing), str(store), IngestSettings(workers=1), 10) == []


def test_a_line_or_message_named_by_its_place_before_is_still_read() -> None:
    # Quarantine entries and ledgers written before lines and messages were named by their
    # bytes and Message-ID hold ``items.jsonl#3``: a replay of one reads that line.
    from flows.bundles import OpenBundle

    data = b'{"a": 1}\n\n{"b": 2}\n'
    assert OpenBundle("items.jsonl", data).read("3", BundleLimits(), None) == b'{"b": 2}'
    assert OpenBundle("items.jsonl", data).read(keyed("line", b'{"b": 2}'), BundleLimits(), None) == b'{"b": 2}'
    mails = [(GOLDEN / f"email-{n}.eml").read_bytes() for n in ("dpa-mbox-base64", "afp-multipart-qp")]
    box = mails[0] + b"\nFrom desk@afp.com Mon Oct 11 09:15:00 2021\n" + mails[1]
    second = OpenBundle("desk.mbox", box).read("2", BundleLimits(), None)
    assert second == OpenBundle("desk.mbox", box).read(keyed("message", message_id(mails[1])), BundleLimits(), None)
    assert second.startswith(b"From desk@afp.com") and mails[1] in second
    # And a NewsML message's items, named by their place before the thirty-first session.
    reuters, dpa = g2_item("newsml-reuters-update.xml"), g2_item("newsml-dpa-german-embargo.xml")
    message = OpenBundle("message.xml", g2_message(reuters, dpa))
    assert message.read("newsItem[2]", BundleLimits(), None) == message.read(g2_name(dpa), BundleLimits(), None)
    assert b"241021-99-123456" in message.read("newsItem[2]", BundleLimits(), None)


def ninjs_items(count: int, start: int = 0) -> list[dict[str, object]]:
    item = json.loads((GOLDEN / "ninjs1-text-body.json").read_bytes())
    return [
        {
            **item,
            "uri": f"{item['uri']}-{n}",
            "headline": f"Copper item {n}",
            "body_text": f"Copper rose {n}%, traders said.",
        }
        for n in range(start, start + count)
    ]


def test_a_json_document_listing_items_is_one_input_per_item(tmp_path: Path) -> None:
    # A JSON API's page saved as a file: a list of ninjs items, the list under "items", or
    # AP's media API feed (`data.items`, each `{"meta": ..., "item": {...}}`). A list was
    # read as wire text (one story, the JSON its headline and body); the wrapped forms were
    # one `bad_json` input: every item lost.
    items = ninjs_items(3)
    landing = tmp_path / "in"
    landing.mkdir()
    (landing / "list.json").write_text(json.dumps(items))
    (landing / "wrapped.json").write_text(json.dumps({"total": 3, "items": items}))
    feed = {"api_version": "2", "data": {"items": [{"meta": {"score": 1}, "item": one} for one in items]}}
    (landing / "ap-feed.json").write_text(json.dumps(feed), encoding="utf-16")
    (landing / "single.json").write_bytes((GOLDEN / "ninjs1-text-body.json").read_bytes())
    (landing / "empty.json").write_text("[]")
    with zipfile.ZipFile(landing / "day.zip", "w") as archive:  # and inside an archive
        archive.writestr("pages/list.json", json.dumps(items))
    results = {name_of(str(r["source_uri"]), landing): r for r in parse([str(landing)], workers=1)}
    names = [keyed("item", str(one["uri"])) for one in items]
    for document in ("list.json", "wrapped.json", "ap-feed.json", "day.zip#pages/list.json"):
        rows = [results[f"{document}#{name}"] for name in names]
        assert [(r["input_format"], r["headline"]) for r in rows] == [("ninjs", f"Copper item {n}") for n in range(3)]
    alone = parse_story((GOLDEN / "ninjs1-text-body.json").read_bytes(), "mem://single.json")
    assert results["single.json"]["headline"] == alone.headline  # one item: itself, as before
    assert results["empty.json"]["error"] == "empty"  # `no_body` until the thirty-fifth session
    assert len(results) == 14


def test_a_json_list_saved_over_adds_its_new_items_and_loses_none(tmp_path: Path) -> None:
    # An API page saved over the last one: newer items first, the oldest dropped. Named by
    # position, each item would be taken for a rewrite of another; named by uri, only the
    # new item is read and every story stays.
    landing, store = tmp_path / "landing", tmp_path / "store"
    landing.mkdir()
    page = landing / "latest.json"
    done = []
    for run, (start, count) in enumerate(((0, 3), (1, 3))):
        page.write_text(json.dumps(list(reversed(ninjs_items(count, start)))))
        os.utime(page, ns=(page.stat().st_mtime_ns + 10**9 * run,) * 2)
        summaries = run_without_prefect(str(landing), str(store), IngestSettings(workers=1), 50)
        done.append((sum(s.inputs for s in summaries), sum(s.stories for s in summaries)))
    assert done == [(3, 3), (1, 1)]
    rows = duckdb.sql(f"SELECT headline FROM read_parquet('{store}/stories/**/*.parquet')").fetchall()
    assert sorted(h for (h,) in rows) == [f"Copper item {n}" for n in range(4)]


def test_a_json_list_given_alone_is_refused_saying_why_and_wire_text_in_brackets_is_text() -> None:
    items = ninjs_items(2)
    with pytest.raises(ParseError) as refused:
        parse_story(json.dumps(items).encode(), "mem://page")
    assert refused.value.reason == "multi_item" and "2 items" in refused.value.detail
    one = parse_story(json.dumps(items[:1]).encode(), "mem://one")
    assert (one.input_format, one.headline) == ("ninjs", "Copper item 0")
    text = parse_story(b"[Corrected] Copper rises\n\nCopper rose 2% on Monday, traders said.\n", "mem://t.txt")
    assert (text.input_format, text.headline) == ("text", "[Corrected] Copper rises")


def test_a_json_feed_is_one_story_per_item(tmp_path: Path) -> None:
    # A JSON Feed (jsonfeed.org) lists its items under "items": split as any JSON list, each
    # item read by JSON Feed's field names (not ninjs's: each was bad_json).
    landing = tmp_path / "in"
    landing.mkdir()
    (landing / "feed.json").write_bytes((FEEDS / "harbour.feed.json").read_bytes())
    first, second = list(parse([str(landing)], workers=1))
    assert str(first["source_uri"]).endswith(
        "feed.json#" + keyed("item", "https://harbour.example/2025/06/11/strike-ends")
    )
    assert (first["input_format"], first["headline"], first["byline"]) == (
        "jsonfeed",
        "Port strike ends after three days",
        ["Anna Beck"],
    )
    assert first["published_at"] == "2025-06-11T05:12:44Z" and first["url"] == first["wire_id"]
    assert first["standfirst"] == "Crane operators return to work after a wage deal."
    assert str(first["body"]).startswith("The port reopened on Tuesday") and str(first["body"]).count("\n\n") == 1
    assert (second["headline"], second["wire_id"], second["url"]) == ("Freight rates ease", "2", None)
    assert str(second["body"]).endswith("Traders said the backlog was clearing.")
    # The feed's language is its items' (a score line alone reads as German to the detector).
    score = {"id": "9", "title": "Hamburg 2:1 Bremen", "content_text": "Hamburg 2:1 Bremen (Müller 12., 80.)."}
    (landing / "feed.json").write_text(json.dumps({"version": "1.1", "language": "pt-BR", "items": [score]}))
    assert [row["language"] for row in parse([str(landing)], workers=1)] == ["pt"]
    (landing / "feed.json").write_text(json.dumps({"version": "1.1", "items": [score]}))
    assert [row["language"] for row in parse([str(landing)], workers=1)] == ["de"]


def test_planning_reads_the_heads_of_new_json_and_xml_files_several_at_once(tmp_path: Path) -> None:
    # Telling a page of items (or a message, a feed) from one item reads a new file's first
    # 4 KB. One after another, 500 new .json files on an S3 store with a 20 ms round trip
    # took 19 s of planning (bench/s3_planning_peeks.py); now as many at once as the store
    # takes, each head read once.
    from flows.batch import plan_batches
    from table.ledger import LedgerIndex

    landing = tmp_path / "in"
    landing.mkdir()
    for n, one in enumerate(ninjs_items(12)):
        (landing / f"{n:02d}.json").write_text(json.dumps(one))
    (landing / "page.json").write_text(json.dumps(ninjs_items(3, 20)))
    (landing / "story.xml").write_bytes((GOLDEN / "nitf-ap-basic.xml").read_bytes())
    store = AtOnceStore(str(landing), delay=0.02)
    plans = plan_batches(store, LedgerIndex(), 100, IngestSettings())
    planned = sorted(key for plan in plans for key in plan.inputs)
    assert planned == sorted(
        [f"{n:02d}.json" for n in range(12)]
        + [f"page.json#{keyed('item', str(one['uri']))}" for one in ninjs_items(3, 20)]
        + ["story.xml"]
    )
    assert store.most_at_once == store.put_concurrency  # heads read 4 at a time
    heads = [key for key in store.reads if key != "page.json"]
    assert sorted(heads) == sorted([f"{n:02d}.json" for n in range(12)] + ["story.xml"])  # each once


CAPTURED = ["anpa-reuters-basic.txt", "iptc-afp-basic.txt", "anpa-ap-writethru.txt", "anpa-reuters-crlf.txt"]


def test_a_feed_capture_is_read_as_its_transmissions(tmp_path: Path) -> None:
    # A receiver's log of a wire feed: ANPA-1312 and IPTC 7901 transmissions back to back,
    # in their exact bytes (SYN SYN SOH headers, a preamble, CRLF copy). Read as one story,
    # every transmission after the first was the first one's envelope trailer: no row.
    alone = {name: parse_story((GOLDEN / name).read_bytes(), "mem://a") for name in CAPTURED}
    capture = b"".join((GOLDEN / name).read_bytes() for name in CAPTURED)
    landing = tmp_path / "in"
    landing.mkdir()
    (landing / "feed.cap").write_bytes(capture)
    (landing / "day.zip").write_bytes(zipped({"wire/feed.anpa": capture}))
    (landing / "feed.txt").write_bytes(capture)  # not named a capture: quarantined, saying how to split it
    results = {name_of(str(r["source_uri"]), landing): r for r in parse([str(landing)], workers=1)}
    assert results.pop("feed.txt")["error"] == "multi_item"
    assert len(results) == 8 and all("story_id" in row for row in results.values())
    for prefix in ("feed.cap#transmission[", "day.zip#wire/feed.anpa#transmission["):
        rows = [row for name, row in results.items() if name.startswith(prefix)]
        expected = {(s.headline, s.body, s.wire_id, s.agency) for s in alone.values()}
        assert {(r["headline"], r["body"], r["wire_id"], r["agency"]) for r in rows} == expected

    store = tmp_path / "store"
    (landing / "feed.txt").unlink()
    (landing / "day.zip").unlink()
    done = run_without_prefect(str(landing), str(store), IngestSettings(workers=1), 10)
    assert (sum(s.inputs for s in done), sum(s.stories for s in done)) == (4, 4)
    # The receiver logs one more transmission: only it is read.
    (landing / "feed.cap").write_bytes(capture + (GOLDEN / "iptc-dpa-german.txt").read_bytes())
    os.utime(landing / "feed.cap", ns=((landing / "feed.cap").stat().st_mtime_ns + 10**9,) * 2)
    done = run_without_prefect(str(landing), str(store), IngestSettings(workers=1), 10)
    assert (sum(s.inputs for s in done), sum(s.stories for s in done)) == (1, 1)
    assert run_without_prefect(str(landing), str(store), IngestSettings(workers=1), 10) == []
    rows = duckdb.sql(f"SELECT headline FROM read_parquet('{store}/stories/**/*.parquet')").fetchall()
    assert len(rows) == 5


def test_text_holding_several_transmissions_is_multi_item_not_one_story() -> None:
    data = (GOLDEN / "anpa-reuters-basic.txt").read_bytes() + (GOLDEN / "iptc-afp-basic.txt").read_bytes()
    with pytest.raises(ParseError) as caught:
        parse_story(data, "mem://feed.txt")
    assert caught.value.reason == "multi_item"
    assert "2 wire transmissions" in caught.value.detail and "*.cap" in caught.value.detail


def test_a_capture_or_json_lines_attached_to_a_mail_is_read_as_its_members(tmp_path: Path) -> None:
    # By their names, whatever their type (a capture sent as text/plain, JSON lines as
    # octet-stream): read as one story, the capture was one row of its first transmission.
    capture = b"".join((GOLDEN / name).read_bytes() for name in CAPTURED[:2])
    lines = b"\n".join(
        json.dumps({"uri": f"urn:x:{n}", "headline": f"Harbour plan {n}", "body_text": "Text."}).encode()
        for n in (1, 2)
    )
    mail = mail_with_archives(
        (capture, "text", "plain", "feed.cap"), (lines, "application", "octet-stream", "items.jsonl")
    )
    members = list_members("desk.eml", bytes(mail), BundleLimits())
    assert len(members) == 4
    assert sum(m.startswith("archive[1]#transmission[") for m in members) == 2
    assert sum(m.startswith("archive[2]#line[") for m in members) == 2
    landing = tmp_path / "in"
    landing.mkdir()
    (landing / "desk.eml").write_bytes(bytes(mail))
    rows = [r for r in parse([str(landing)], workers=1)]
    assert len(rows) == 4 and all("story_id" in r for r in rows)
    assert {r["headline"] for r in rows} >= {"Harbour plan 1", "Harbour plan 2"}


def test_a_teleprinter_capture_is_split_at_its_zczc_lines() -> None:
    one, two = (GOLDEN / "telex-afp-zczc.txt").read_bytes(), (GOLDEN / "telex-dpa-plain.txt").read_bytes()
    members = list_members("line.cap", one + two, BundleLimits())
    assert len(members) == 2
    with pytest.raises(ParseError) as caught:
        parse_story(one + two, "mem://line.txt")
    assert caught.value.reason == "multi_item"


def _source_uris(store: Path, landing: Path) -> list[str]:
    rows = duckdb.sql(f"SELECT source_uri FROM read_parquet('{store}/stories/**/*.parquet')").fetchall()
    return sorted(name_of(uri, landing) for (uri,) in rows)


def _touch_later(path: Path, data: bytes) -> None:
    """Rewrite ``path`` with a modification time a second on: a revision of its own even on
    a file system that keeps whole seconds."""
    before = path.stat().st_mtime
    path.write_bytes(data)
    os.utime(path, (before + 1, before + 1))


def _story_mail() -> bytes:
    """A mail whose text is a story, nothing attached: one input, itself."""
    note = EmailMessage(policy=SMTP)
    note["From"], note["To"], note["Subject"] = "desk@reuters.com", "x@example.org", "Harbour plan"
    note["Date"], note["Message-ID"] = "Tue, 12 Nov 2024 10:00:00 +0000", "<one@reuters.com>"
    note.set_content("LONDON, Nov 12 (Reuters) - The port authority said on Tuesday it would build. " * 3 + "\n")
    return bytes(note)


def _mail_with_a_zip_of_two_stories() -> bytes:
    day = zipped({"day/1.txt": story(1), "day/2.txt": story(2)})
    return bytes(mail_with_archives((day, "application", "zip", "day.zip")))


def test_a_zip_read_half_uploaded_is_read_as_its_members_once_complete(tmp_path: Path) -> None:
    # An archive copied into the landing zone without a staging name is read while still
    # arriving: half a zip is no archive, so it is one input, quarantined bad_bundle. Until
    # the thirty-fourth session the complete zip was then planned as a rewrite of that one
    # input, read whole again and quarantined again: its stories were never read.
    landing, store = tmp_path / "in", tmp_path / "store"
    landing.mkdir()
    whole = zipped({"day/1.txt": story(1), "day/2.txt": story(2)})
    (landing / "day.zip").write_bytes(whole[: len(whole) // 2])
    first = run_without_prefect(str(landing), str(store), IngestSettings(workers=1), 3)
    assert [s.quarantined for s in first] == [{"bad_bundle": 1}]
    assert len(list((store / "quarantine").rglob("*.json"))) == 1

    _touch_later(landing / "day.zip", whole)
    done = run_without_prefect(str(landing), str(store), IngestSettings(workers=1), 3)
    assert (sum(s.inputs for s in done), sum(s.stories for s in done)) == (2, 2)
    assert _source_uris(store, landing) == ["day.zip#day/1.txt", "day.zip#day/2.txt"]
    assert list((store / "quarantine").rglob("*.json")) == []  # the half zip's entry went with it
    assert run_without_prefect(str(landing), str(store), IngestSettings(workers=1), 3) == []


@pytest.mark.parametrize("how", ["rewrite", "reprocess"])
def test_a_mail_read_as_one_story_then_carrying_attachments_gives_way_to_them(tmp_path: Path, how: str) -> None:
    # A mail ingested as one input (its text a story, as every mail was before the
    # thirty-second session) and since carrying the day's stories zipped: its members are
    # read and its old row is taken out, whether it is found rewritten or reprocessed.
    landing, store = tmp_path / "in", tmp_path / "store"
    landing.mkdir()
    (landing / "desk.eml").write_bytes(_story_mail())
    run_without_prefect(str(landing), str(store), IngestSettings(workers=1), 3)
    assert _source_uris(store, landing) == ["desk.eml"]

    _touch_later(landing / "desk.eml", _mail_with_a_zip_of_two_stories())
    run_without_prefect(str(landing), str(store), IngestSettings(workers=1), 3, reprocess=how == "reprocess")
    expected = ["desk.eml#archive[1]#day/1.txt", "desk.eml#archive[1]#day/2.txt"]
    assert _source_uris(store, landing) == expected
    assert run_without_prefect(str(landing), str(store), IngestSettings(workers=1), 3) == []
    assert _source_uris(store, landing) == expected


@pytest.mark.parametrize("how", ["ingest", "backfill"])
def test_a_copy_of_a_mail_s_story_is_its_row_once_the_mail_gives_way_to_its_members(tmp_path: Path, how: str) -> None:
    # ``z-copy.eml`` is an exact duplicate of ``desk.eml``'s story (no row of its own). When
    # ``desk.eml`` is read again as the bundle it became, its row goes: a run that finds it
    # rewritten reads the copy in its first member's batch (`flows.batch._copies_of`);
    # a backfill handing the members' keys has no copy in that batch, so the copy is marked
    # to be read again (`table.ledger.READ_AGAIN`) and the next run makes it the story's
    # row. Either way the mail's entry says it is a bundle now (`table.ledger.BUNDLE`): its
    # old "story" entry made the copy an exact duplicate of a row that was gone, and the
    # story was in no row until the thirty-sixth session.
    landing, store, settings = tmp_path / "in", tmp_path / "store", IngestSettings(workers=1)
    landing.mkdir()
    (landing / "desk.eml").write_bytes(_story_mail())
    (landing / "z-copy.eml").write_bytes(_story_mail())
    [first] = run_without_prefect(str(landing), str(store), settings, 3)
    assert (first.stories, first.duplicates) == (1, 1)
    _touch_later(landing / "desk.eml", _mail_with_a_zip_of_two_stories())
    members = ["desk.eml#archive[1]#day/1.txt", "desk.eml#archive[1]#day/2.txt"]
    if how == "backfill":
        run_without_prefect(str(landing), str(store), settings, 3, keys=members)
        assert _source_uris(store, landing) == members  # the mail's row is out; its copy waits
        [again] = run_without_prefect(str(landing), str(store), settings, 3)
        assert (again.inputs, again.stories) == (1, 1)
    else:
        done = run_without_prefect(str(landing), str(store), settings, 3)
        assert (sum(s.inputs for s in done), sum(s.stories for s in done)) == (3, 3)
    assert _source_uris(store, landing) == sorted(["z-copy.eml", *members])
    entry = load_ledger(open_storage(str(store))).done.get(open_storage(str(landing)).full_uri("desk.eml"))
    assert entry is not None and (entry.outcome, entry.story_id) == ("bundle", None)
    assert run_without_prefect(str(landing), str(store), settings, 3) == []
    from table.check import check_dataset

    assert check_dataset(open_storage(str(store))).ok  # `wire-ingest check` agrees


def test_a_backfill_listing_a_regrown_mail_s_members_takes_out_its_old_row(tmp_path: Path) -> None:
    # A backfill lists the members of a file rewritten into a bundle itself and hands the
    # flow their keys, as new inputs (not a rewrite): their batch takes out the mail's row all
    # the same (the ledger holds the mail as one input of its own).
    landing, store = tmp_path / "in", tmp_path / "store"
    landing.mkdir()
    (landing / "desk.eml").write_bytes(_story_mail())
    run_without_prefect(str(landing), str(store), IngestSettings(workers=1), 3)
    _touch_later(landing / "desk.eml", _mail_with_a_zip_of_two_stories())
    members = ["desk.eml#archive[1]#day/1.txt", "desk.eml#archive[1]#day/2.txt"]
    done = run_without_prefect(str(landing), str(store), IngestSettings(workers=1), 3, keys=members)
    assert sum(s.stories for s in done) == 2
    assert _source_uris(store, landing) == members


def test_a_zip_read_half_uploaded_is_read_whole_by_the_prefect_flow(prefect_server: str, tmp_path: Path) -> None:
    # The same through the Prefect flow, its summaries counting what happened.
    landing, store = tmp_path / "in", tmp_path / "store"
    landing.mkdir()
    whole = zipped({"day/1.txt": story(1), "day/2.txt": story(2), "day/3.txt": story(3)})
    (landing / "day.zip").write_bytes(whole[: len(whole) // 3])
    first = ingest_flow(source=str(landing), dest=str(store))
    assert (first["inputs"], first["stories"], first["quarantined"]) == (1, 0, {"bad_bundle": 1})
    _touch_later(landing / "day.zip", whole)
    second = ingest_flow(source=str(landing), dest=str(store))
    assert (second["inputs"], second["stories"], second["quarantined"]) == (3, 3, {}) and second["balanced"]
    assert _source_uris(store, landing) == [f"day.zip#day/{n}.txt" for n in (1, 2, 3)]
    assert list((store / "quarantine").rglob("*.json")) == []
    assert ingest_flow(source=str(landing), dest=str(store))["inputs"] == 0


def test_an_s3_mail_sent_again_with_stories_attached_gives_way_to_them(s3_bucket: str, tmp_path: Path) -> None:
    # On S3 (moto over HTTP) an object is rewritten when it is put again: a new ETag. The mail
    # read as one story before is read as its attachments now, and its row is taken out.
    import boto3

    client = boto3.client("s3")
    client.put_object(Bucket=s3_bucket, Key="landing/desk.eml", Body=_story_mail())
    source, store = f"s3://{s3_bucket}/landing", tmp_path / "store"
    run_without_prefect(source, str(store), IngestSettings(), 10)
    client.put_object(Bucket=s3_bucket, Key="landing/desk.eml", Body=_mail_with_a_zip_of_two_stories())
    done = run_without_prefect(source, str(store), IngestSettings(), 10)
    assert (sum(s.inputs for s in done), sum(s.stories for s in done)) == (2, 2)
    found = duckdb.sql(f"SELECT source_uri FROM read_parquet('{store}/stories/**/*.parquet')").fetchall()
    assert sorted(uri for (uri,) in found) == [f"{source}/desk.eml#archive[1]#day/{n}.txt" for n in (1, 2)]
    assert run_without_prefect(source, str(store), IngestSettings(), 10) == []


def test_a_feed_saved_while_it_served_an_error_page_is_read_as_its_items_next_time(tmp_path: Path) -> None:
    # A poller saves feed.xml while the feed answers with an error page (one input,
    # quarantined error_page), then saves the real feed over it: its items are read, the
    # page's quarantine entry goes. Until the thirty-fourth session the feed was read whole
    # as a rewrite of that one input, quarantined unsupported_xml, and its items were never
    # read (and the error page had been a story row).
    landing, store = tmp_path / "in", tmp_path / "store"
    landing.mkdir()
    error_page = (
        "<html><head><title>503 Service Unavailable</title></head><body><h1>Service Unavailable</h1>"
        "<p>The server is temporarily unable to service your request. Please try again later.</p></body></html>"
    )
    (landing / "feed.xml").write_text(error_page)
    first = run_without_prefect(str(landing), str(store), IngestSettings(workers=1), 10)
    assert [s.quarantined for s in first] == [{"error_page": 1}]
    _touch_later(landing / "feed.xml", (FEEDS / "wordpress.rss").read_bytes())
    done = run_without_prefect(str(landing), str(store), IngestSettings(workers=1), 10)
    assert sum(s.stories for s in done) == 2 and not any(s.quarantined for s in done)
    found = _source_uris(store, landing)
    assert len(found) == 2 and all(uri.startswith("feed.xml#item[") for uri in found)
    assert list((store / "quarantine").rglob("*.json")) == []
    assert run_without_prefect(str(landing), str(store), IngestSettings(workers=1), 10) == []


@pytest.mark.parametrize(
    "empty",
    [
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title><link>https://example.com/</link>'
        "<description>Latest</description></channel></rss>",
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Wire</title>'
        "<id>urn:wire</id><updated>2026-11-29T00:00:00Z</updated></feed>",
    ],
    ids=["rss", "atom"],
)
def test_a_feed_saved_with_no_items_is_empty_then_read_as_its_items(tmp_path: Path, empty: str) -> None:
    # A feed saved at a moment it had no items was quarantined unsupported_xml, advising to
    # name it *.xml, which it was. It is `empty` now, saying so; saved again with items, they
    # are read and the entry goes.
    landing, store = tmp_path / "in", tmp_path / "store"
    landing.mkdir()
    (landing / "feed.xml").write_text(empty)
    first = run_without_prefect(str(landing), str(store), IngestSettings(workers=1), 10)
    assert [s.quarantined for s in first] == [{"empty": 1}]
    [entry] = [json.loads(p.read_bytes()) for p in (store / "quarantine").rglob("*.json")]
    assert "feed with no items" in entry["detail"]
    _touch_later(landing / "feed.xml", (FEEDS / "wordpress.rss").read_bytes())
    done = run_without_prefect(str(landing), str(store), IngestSettings(workers=1), 10)
    assert sum(s.stories for s in done) == 2 and not any(s.quarantined for s in done)
    assert list((store / "quarantine").rglob("*.json")) == []
    assert run_without_prefect(str(landing), str(store), IngestSettings(workers=1), 10) == []


@pytest.mark.parametrize("empty", [b"[]", b'{"version": "https://jsonfeed.org/version/1.1", "items": []}', b"null"])
def test_a_json_file_saved_with_no_items_is_empty_then_read_as_its_items(tmp_path: Path, empty: bytes) -> None:
    # An API's answer saved while it had nothing: an empty list or feed (`no_body` until the
    # thirty-fifth session), or the bare value null (a story row headlined "null").
    landing, store = tmp_path / "in", tmp_path / "store"
    landing.mkdir()
    (landing / "latest.json").write_bytes(empty)
    first = run_without_prefect(str(landing), str(store), IngestSettings(workers=1), 10)
    assert [(s.stories, s.quarantined) for s in first] == [(0, {"empty": 1})]
    items = [json.loads((GOLDEN / name).read_bytes()) for name in ("ninjs1-text-body.json", "ninjs2-bodies.json")]
    _touch_later(landing / "latest.json", json.dumps(items).encode())
    done = run_without_prefect(str(landing), str(store), IngestSettings(workers=1), 10)
    assert sum(s.stories for s in done) == 2 and not any(s.quarantined for s in done)
    assert list((store / "quarantine").rglob("*.json")) == []
    assert run_without_prefect(str(landing), str(store), IngestSettings(workers=1), 10) == []
