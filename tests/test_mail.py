"""E-mail: a message saved as a file is one story (`parsers.mail`), told from wire text by its
header block; what is no story (a message whose text is only in attachments) is quarantined
saying so."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest

from parsers import parse_story
from parsers.decode import sniff_format
from parsers.mail import looks_like_mail
from schemas.errors import ParseError

GOLDEN = Path(__file__).resolve().parent / "golden"


def test_every_golden_mail_is_mail_and_no_other_golden_input_is() -> None:
    inputs = [p for p in GOLDEN.iterdir() if not p.name.endswith(".expected.json")]
    mails = {p.name for p in inputs if sniff_format(p.read_bytes()) == "email"}
    assert mails == {p.name for p in inputs if p.suffix == ".eml"} and len(mails) >= 4


@pytest.mark.parametrize(
    "text",
    [
        # Wire text whose first block has a field-like line, but is not all fields.
        b"From: the desk of the Associated Press\nOil prices rose on Tuesday.\n\nMore text follows here.\n",
        # Fields, but no mail field beside From: a story's metadata block.
        b"From: AFP\nSlug: FRANCE-PLASTIC\nPriority: 3\n\nPARIS (AFP) - France said.\n",
        # A headline with a colon.
        b"Brexit: UK and EU agree deal\n\nLONDON (Reuters) - Britain and the EU agreed.\n",
    ],
)
def test_text_that_only_looks_like_headers_is_not_mail(text: bytes) -> None:
    assert not looks_like_mail(text)
    assert sniff_format(text) != "email"


def _message(**headers: str) -> EmailMessage:
    message = EmailMessage(policy=SMTP)
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    return message


def test_a_message_whose_text_is_only_in_attachments_is_no_body_naming_them() -> None:
    message = _message(
        From="desk@afp.com", To="x@example.org", Subject="Two stories", Date="Mon, 11 Oct 2021 09:15 +0200"
    )
    message.add_attachment(b"PARIS (AFP) - France said.\n", maintype="text", subtype="plain", filename="story1.txt")
    message.add_attachment(b"<nitf/>", maintype="application", subtype="xml", filename="story2.xml")
    with pytest.raises(ParseError) as info:
        parse_story(bytes(message), "mem://two.eml")
    assert info.value.reason == "no_body"
    assert "story2.xml" in info.value.detail


def test_a_reply_keeps_the_subject_as_headline_without_its_prefixes() -> None:
    message = _message(
        From="Desk <desk@newsroom.example>",
        Subject="AW: Re: Fwd: Port of Antwerp reopens after strike",
        Date="Tue, 12 Nov 2024 10:00:00 +0100",
        Message_ID="<abc@newsroom.example>",
    )
    message.set_content("ANTWERP, Belgium (AP) — The port of Antwerp reopened on Tuesday after a two-day strike.\n")
    story = parse_story(bytes(message), "mem://reply.eml")
    assert (story.headline, story.agency, story.dateline) == ("Port of Antwerp reopens after strike", "ap", "ANTWERP")
    assert story.published_at is not None and story.published_at.isoformat() == "2024-11-12T09:00:00+00:00"
    assert story.wire_id == "abc@newsroom.example"


def test_a_message_with_a_charset_python_does_not_know_is_read_not_failed() -> None:
    raw = (
        b"From: desk@example.org\r\nTo: x@example.org\r\nSubject: Port reopens\r\n"
        b"Date: Tue, 12 Nov 2024 10:00:00 +0100\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: text/plain; charset="x-unknown-8bit"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'
        b"The port of Antwerp reopened on Tuesday after a two-day strike, the union said.\r\n"
    )
    story = parse_story(raw, "mem://odd.eml")
    assert story.headline == "Port reopens" and story.body.startswith("The port of Antwerp reopened")


def test_a_mail_with_a_story_of_its_own_and_one_attached_is_two_inputs(tmp_path: Path) -> None:
    from flows.cli import parse

    message = _message(
        From="desk@afp.com", To="x@example.org", Subject="Port reopens", Date="Tue, 12 Nov 2024 10:00 +0100"
    )
    message.set_content(
        "ANTWERP, Belgium (AFP) - The port of Antwerp reopened on Tuesday after a two-day strike by pilots, the "
        "port authority said.\n\nShipping lines said it would take several days to clear the backlog of vessels "
        "waiting in the North Sea, while the union said talks on pensions would resume next week.\n"
    )
    message.add_attachment((GOLDEN / "afp-paris.txt").read_bytes(), "text", "plain", filename="paris.txt")
    (tmp_path / "desk.eml").write_bytes(bytes(message))
    rows = {str(r["source_uri"]).rsplit("#", 1)[1]: r for r in parse([str(tmp_path)], workers=1)}
    assert set(rows) == {"body", "attachment[1]"}
    assert rows["body"]["headline"] == "Port reopens" and rows["body"]["input_format"] == "email"
    assert rows["attachment[1]"]["headline"] == "France to ban single-use plastic packaging for fruit"


def test_a_mail_with_attachments_and_a_charset_python_does_not_know_is_planned_not_a_crash(tmp_path: Path) -> None:
    # Listing its attachments read the body's text to weigh it: LookupError escaped
    # planning and stopped the run.
    from flows.cli import parse

    raw = (
        b"From: desk@example.org\r\nTo: x@example.org\r\nSubject: Port\r\nDate: Tue, 12 Nov 2024 10:00:00 +0100\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\n'
        b'Content-Type: text/plain; charset="x-unknown-8bit"\r\n\r\nSee the story attached.\r\n--b1\r\n'
        b'Content-Type: text/plain; name="s.txt"\r\nContent-Disposition: attachment; filename="s.txt"\r\n\r\n'
        b"Port reopens\r\n\r\nThe port reopened on Tuesday, the union said in a statement.\r\n--b1--\r\n"
    )
    (tmp_path / "m.eml").write_bytes(raw)
    rows = list(parse([str(tmp_path)], workers=1))
    assert [(str(r["source_uri"]).rsplit("#", 1)[1], r.get("headline")) for r in rows] == [
        ("attachment[1]", "Port reopens")
    ]


def _note_with(text: str, *files: tuple[bytes, str, str, str]) -> bytes:
    mail = EmailMessage(policy=SMTP)
    mail["From"], mail["To"], mail["Subject"] = "press@acme.example", "desk@example.org", "Q3 results"
    mail["Date"], mail["Message-ID"] = "Tue, 12 Nov 2024 10:00:00 +0000", "<q3@acme.example>"
    mail.set_content(text)
    for data, maintype, subtype, filename in files:
        mail.add_attachment(data, maintype, subtype, filename=filename)
    return bytes(mail)


PDF = (b"%PDF-1.7\n" + bytes(200), "application", "pdf", "q3-results.pdf")


def test_a_covering_note_beside_a_file_that_is_not_read_is_no_body_not_a_row() -> None:
    # A release mailed as a PDF under "See attached.": the note was a story row (headline
    # the subject, body "Please find our results attached."), the story being in the file.
    with pytest.raises(ParseError) as caught:
        parse_story(_note_with("Please find our results attached.\n\nRegards,\nPress office\n", PDF), "mem://q3.eml")
    assert caught.value.reason == "no_body"
    assert "covering note" in str(caught.value) and "q3-results.pdf: application/pdf" in str(caught.value)


def test_a_mail_s_own_story_beside_a_file_or_a_short_one_beside_a_photo_is_a_row() -> None:
    story = (
        "FRANKFURT, Nov 12 (Reuters) - Acme Corp raised its full-year outlook on Tuesday after third-quarter "
        "sales rose 12 percent, helped by strong demand for its industrial robots in Asia and North America, "
        "the company said in a statement.\n\nShares in Acme rose 4 percent in early trading.\n"
    )
    assert len(story) >= 280
    assert parse_story(_note_with(story, PDF), "mem://q3.eml").body.startswith("Acme Corp raised")
    caption = "Firefighters battle a blaze at a warehouse in Hamburg, Germany, November 12, 2024.\n"
    photo = (b"\xff\xd8\xff\xe0" + bytes(100), "image", "jpeg", "fire.jpg")
    assert parse_story(_note_with(caption, photo), "mem://fire.eml").body.startswith("Firefighters battle")


FLASH = "LONDON, Nov 12 (Reuters) - The Bank of England raised its main interest rate to 5.25 percent.\n"


def test_a_flash_mailed_with_a_file_attached_is_a_story_not_a_covering_note(tmp_path: Path) -> None:
    # Short as a covering note, but it opens as wire copy does (dateline, agency tag): until
    # the thirty-third session it was quarantined beside a PDF and, beside a story file,
    # not listed at all (told by length alone).
    from flows.cli import parse
    from parsers.mail import COVERING_NOTE_MAX, is_covering_note

    assert len(FLASH) < COVERING_NOTE_MAX and not is_covering_note(FLASH)
    assert is_covering_note("Please find our results attached.\n\nRegards,\nPress office\n")
    assert is_covering_note("BERLIN - see the story attached.")  # a city alone is no dateline
    story = parse_story(_note_with(FLASH, PDF), "mem://boe.eml")
    assert (story.agency, story.dateline) == ("reuters", "LONDON")
    assert story.body.startswith("The Bank of England raised")
    story_file = ((GOLDEN / "afp-paris.txt").read_bytes(), "text", "plain", "paris.txt")
    (tmp_path / "boe.eml").write_bytes(_note_with(FLASH, story_file))
    (tmp_path / "note.eml").write_bytes(_note_with("See the story attached.\n", story_file))
    rows = sorted(str(r["source_uri"]).rsplit("/", 1)[1] for r in parse([str(tmp_path)], workers=1))
    assert rows == ["boe.eml#attachment[1]", "boe.eml#body", "note.eml#attachment[1]"]
