"""Bytes to text: charsets declared and detected, BOMs, mojibake, binary and empty input."""

from __future__ import annotations

import bz2
import codecs
import io
import lzma
import tarfile
import tempfile
import zipfile
from pathlib import Path

import pytest

from parsers import parse_story
from parsers.decode import clean_text, decode_bytes, repair_text, sniff_format
from schemas import ParseError

STORY = (
    "Café owners in Zürich said on Monday that prices had risen, officials said.\n\n"
    "A second paragraph follows here, with more detail on the change."
)


def test_declared_html_charset_wins() -> None:
    page = f"<html><head><meta charset='windows-1252'><title>Café</title></head><body><p>{STORY}</p></body></html>"
    story = parse_story(page.encode("cp1252"), "x")
    assert "Café owners in Zürich" in story.body


def test_undeclared_latin1_text_is_detected() -> None:
    text, charset = decode_bytes(("Headline\n\n" + STORY).encode("latin-1"))
    assert "Zürich" in text and charset != "utf-8"


def test_a_utf8_page_with_a_few_latin1_bytes_stays_utf8() -> None:
    # A CMS pasted one Latin-1 snippet ("Bär" as B0 E4 72) into a page that is UTF-8
    # everywhere else and says so. Strict UTF-8 fails on the stray byte; reading the whole
    # page as one legacy charset turned every "ä" into "Ă¤". The strays read as cp1252.
    utf8 = "<p>Schaf, Standardausführung, weiß: das Exemplar, das sich auf der grünen Wiese herumtreibt.</p>"
    page = f"<html><head><meta charset='UTF-8'><title>Mäscot</title></head><body>{utf8 * 3}".encode()
    page += "<p>Der B\u00e4r kommt.</p></body></html>".encode("latin-1")
    text, charset = decode_bytes(page)
    assert charset == "utf-8" and "Standardausführung, weiß" in text and "Der Bär kommt." in text
    story = parse_story(page, "x")
    assert "Schaf, Standardausführung, weiß" in story.body and "Ă" not in story.body
    # Latin-1 text with a stray pair that happens to look like UTF-8 is still Latin-1.
    latin = ("Grüße aus Zürich, schöne Tage und Öl für die Bäckerei. " * 4 + "Ã©").encode("latin-1")
    text, charset = decode_bytes(latin)
    assert "Grüße aus Zürich" in text and charset != "utf-8"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-32"])
def test_byte_order_marks(encoding: str) -> None:
    text, _ = decode_bytes(("Headline\n\n" + STORY).encode(encoding))
    assert text.lstrip("\ufeff").startswith("Headline")


def test_mojibake_is_repaired_and_text_nfc_normalized() -> None:
    # UTF-8 read as cp1252, bytes cp1252 leaves undefined kept as C1 code points (as in the wild)
    raw = "Wall Street’s “risk-off” day".encode()
    broken = "".join(chr(b) if b in (0x81, 0x8D, 0x8F, 0x90, 0x9D) else bytes([b]).decode("cp1252") for b in raw)
    assert repair_text(broken) == "Wall Street’s “risk-off” day"
    assert repair_text("Cafe\u0301") == "Café"


def test_html_c1_references_map_to_cp1252() -> None:
    assert repair_text("Turkey\u0092s") == "Turkey’s"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"   \n\t ", "empty"),
        (bytes(range(256)) * 16, "binary"),
        (b"\x00\x01\x02garbage" * 50, "binary"),
        (b"<html><body><nav><a href='/'>Home</a></nav></body></html>", "no_body"),
    ],
)
def test_bad_inputs_raise_parse_error_with_reason(data: bytes, reason: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_story(data, "x")
    assert info.value.reason == reason


def test_size_limit_is_configurable() -> None:
    data = ("Headline\n\n" + STORY).encode()
    with pytest.raises(ParseError) as info:
        parse_story(data, "x", max_bytes=50)
    assert info.value.reason == "too_large" and "50" in info.value.detail
    assert parse_story(data, "x", max_bytes=10_000).headline == "Headline"


def test_truncated_html_still_yields_what_is_there() -> None:
    page = b"<html><head><title>T</title></head><body><article><p>" + STORY.encode() + b"</p><p>Cut off mid"
    story = parse_story(page, "x")
    assert story.input_format == "html" and "Zürich" in story.body


def test_sniffing() -> None:
    assert sniff_format(b"<!DOCTYPE html><html><body></body></html>") == "html"
    assert sniff_format(b"\xef\xbb\xbf<html><p>x</p></html>") == "html"
    assert sniff_format(b"Headline\n\n(Reuters) - a < b and c > d") == "text"


def test_script_and_style_text_never_reaches_body_or_removed() -> None:
    page = (
        b"<html lang='en'><body><div class='ad-slot'><script>loadAd('top');</script></div>"
        b"<article><h1>Port strike ends</h1><style>.x{color:red}</style>"
        + b"<p>Dock workers returned to work on Monday after a week-long strike, the union said, "
        b"ending a dispute that had stranded hundreds of containers at the port.</p>"
        * 3
        + b"<script>var tracking = 1;</script></article></body></html>"
    )
    story = parse_story(page, "page.html")
    assert "loadAd" not in story.body and "tracking" not in story.body and "color:red" not in story.body
    assert all("loadAd" not in r.text and "tracking" not in r.text for r in story.removed)


def test_control_characters_anywhere_in_html_are_dropped() -> None:
    sentence = "Dock workers returned to work on Monday after a week-long strike, the union said.\x1f "
    page = (
        "<html><body><nav>Home\x01</nav><script>x=1</script>\x1f tail\x0b text"
        f"<article class='story\x02'><h1>Strike\x07 ends</h1><p>{sentence * 4}</p>"
        f"<aside>Related\x1e</aside>\x1f<p>{sentence * 3}</p></article></body></html>"
    ).encode()
    story = parse_story(page, "page.html")
    everything = story.body + story.headline + "".join(r.text for r in story.removed)
    assert not any(ord(ch) < 32 and ch not in "\n\t" for ch in everything)
    assert story.headline == "Strike ends"


def test_utf16_without_a_byte_order_mark_is_text_not_binary() -> None:
    from parsers import parse_story

    text = "Oil rises\n\nOil prices rose on Tuesday as traders weighed supply risks, analysts said.\n"
    for encoding in ("utf-16-le", "utf-16-be"):
        story = parse_story(text.encode(encoding), f"mem://{encoding}.txt")
        assert story.headline == "Oil rises" and story.body.startswith("Oil prices rose")


def _tar_of(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("story.txt")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _stored_zip_of(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("story.txt", data)
    return buffer.getvalue()


@pytest.mark.parametrize("name", ["anpa-reuters-crlf.txt", "anpa-ap-writethru.txt", "ap-hardwrapped.txt"])
def test_nul_fill_in_wire_text_is_dropped_not_quarantined(name: str) -> None:
    # NUL is a teleprinter's time-fill (sent after a line end while the carriage returns)
    # and what a capture is padded with to its block size; either way the story is all
    # there. It was quarantined `binary`, the whole story lost, for one NUL in 8 KB.
    import dataclasses
    from pathlib import Path

    data = (Path(__file__).parent / "golden" / name).read_bytes()
    filled = data.replace(b"\n", b"\n\x00\x00\x00")
    filled += b"\x00" * (-len(filled) % 512)
    assert filled.count(b"\x00") > 20
    clean, padded = dataclasses.asdict(parse_story(data, "x")), dataclasses.asdict(parse_story(filled, "x"))
    assert {k for k in clean if clean[k] != padded[k]} == {"source_sha256"}


@pytest.mark.parametrize(
    "data",
    [
        bz2.compress(STORY.encode() * 20),
        lzma.compress(STORY.encode() * 20),
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
        # Legacy-charset text with NULs in it: not told from binary, and said so.
        ("Headline\n\n" + STORY).encode("latin-1") + b"\x00" * 64,
        # Archives of UTF-8 text, uncompressed: ASCII headers with NUL-padded fields.
        _tar_of(("Headline\n\n" + STORY).encode()),
        _stored_zip_of(("Headline\n\n" + STORY).encode()),
    ],
)
def test_nuls_that_are_not_fill_stay_binary(data: bytes) -> None:
    with pytest.raises(ParseError) as info:
        parse_story(data, "x")
    assert info.value.reason == "binary"


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (_stored_zip_of(STORY.encode()), "a zip archive: in the landing zone, named so"),
        (bz2.compress(STORY.encode()), "a bzip2 file"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "a PDF document"),
        (b"GIF89a" + bytes(range(40)), "a GIF image"),
        # A Word 97-2003 document (an OLE2 compound file: its header, then sectors).
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16) + b"\x3e\x00\x03\x00\xfe\xff" + bytes(490),
            "an OLE2 Office file",
        ),
        (b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(range(60)), "a 7-Zip or RAR archive"),
        (b"Rar!\x1a\x07\x01\x00" + bytes(range(60)), "a 7-Zip or RAR archive"),
    ],
)
def test_a_file_of_a_known_kind_is_quarantined_saying_what_it_is(data: bytes, said: str) -> None:
    # An archive inside an archive, or a PDF dropped in the landing zone: the quarantine
    # entry names what it is (and, for an archive, how its files are read).
    with pytest.raises(ParseError) as info:
        parse_story(data, "x.txt")
    assert info.value.reason == "binary" and info.value.detail.startswith(said)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
@pytest.mark.parametrize(
    "name",
    ["newsml1-afp-bom-crlf-comment.xml", "nitf-reuters-version.xml", "aeb-ap-cbs-virus.html", "ninjs2-bodies.json"],
)
def test_xml_and_pages_in_utf16_or_utf32_are_read_as_themselves(name: str, encoding: str) -> None:
    # A Windows tool's export: UTF-16 with its mark (or UTF-16LE without), the declaration
    # saying so. Sniffed byte by byte, the NUL-interleaved "<" was never found, and each
    # became a wire "story" headlined with its XML declaration, its markup for a body.
    import dataclasses
    from pathlib import Path

    data = (Path(__file__).parent / "golden" / name).read_bytes()
    text = data.decode("utf-8-sig")
    wide = text.replace('encoding="UTF-8"', 'encoding="UTF-16"' if "16" in encoding else 'encoding="UTF-32"')
    if encoding == "utf-16-be":
        wide_bytes = codecs.BOM_UTF16_BE + wide.encode(encoding)  # big-endian with its mark
    else:
        wide_bytes = wide.encode(encoding)
    assert sniff_format(wide_bytes) == sniff_format(data)
    clean, read = dataclasses.asdict(parse_story(data, "x")), dataclasses.asdict(parse_story(wide_bytes, "x"))
    assert {k for k in clean if clean[k] != read[k]} == {"source_sha256"}


def test_line_break_hints_are_not_text() -> None:
    # Soft hyphens as a German wine site sets them ("Mag&shy;da&shy;le&shy;ner"), a zero width
    # space, a word joiner; zero width (non-)joiners stay, they change how text is drawn.
    assert clean_text("St. Mag\u00adda\u00adle\u00adner \u00fcber\u200bzeugen\u2060.") == "St. Magdalener überzeugen."
    assert clean_text("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 \U0001f469\u200d\U0001f4bb") == (
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 \U0001f469\u200d\U0001f4bb"
    )


#: Undeclared wire copy in the legacy charsets the agencies of each language used (a
#: headline, a CRLF blank line, a paragraph with its dateline, as such a desk files it).
LEGACY = {
    "ar": (
        "البنك المركزي يبقي أسعار الفائدة دون تغيير",
        "القاهرة (رويترز) - أبقى البنك المركزي المصري أسعار الفائدة الرئيسية دون تغيير يوم الخميس، وهو ما توقعه "
        "المحللون في استطلاع أجرته رويترز.",
        ("cp1256", "iso8859_6"),
    ),
    "pl": (
        "Bank centralny utrzymał stopy procentowe",
        "WARSZAWA, 6 listopada (Reuters) - Rada Polityki Pieniężnej utrzymała w środę stopy procentowe bez zmian, "
        "zgodnie z oczekiwaniami ekonomistów. Prezes banku powiedział, że inflacja pozostaje zbyt wysoka.",
        ("cp1250", "iso8859_2"),
    ),
    "cs": (
        "Česká národní banka snížila úrokové sazby",
        "PRAHA, 7. listopadu (Reuters) - Česká národní banka ve čtvrtek snížila základní úrokovou sazbu o čtvrt "
        "procentního bodu, uvedl guvernér. Podle něj se inflace v příštím roce vrátí k cíli.",
        ("cp1250", "iso8859_2"),
    ),
    "hr": (
        "Vlada smanjila poreze na gorivo",
        "ZAGREB, 14. studenoga (Reuters) - Hrvatska vlada u četvrtak je odlučila smanjiti trošarine na gorivo kako "
        "bi ublažila rast cijena, rekao je ministar financija.",
        ("cp1250", "iso8859_2"),
    ),
    "hu": (
        "A jegybank nem változtatott a kamaton",
        "BUDAPEST, november 19. (Reuters) - A Magyar Nemzeti Bank kedden változatlanul hagyta az alapkamatot. Az "
        "elemzők szerint a forint gyengülése miatt őrizte meg a testület a szigorú politikát.",
        ("cp1250", "iso8859_2"),
    ),
    "tr": (
        "Merkez Bankası faizi sabit tuttu",
        "ANKARA, 21 Kasım (Reuters) - Türkiye Cumhuriyet Merkez Bankası perşembe günü politika faizini yüzde 50'de "
        "sabit tuttu. Ekonomistler kararın beklentilere uygun olduğunu söyledi.",
        ("cp1254", "iso8859_9"),
    ),
    "ja": (
        "日銀、政策金利を据え置き",
        "【東京共同】日本銀行は31日、金融政策決定会合で政策金利を据え置くことを決めた。植田和男総裁は記者会見で、物価の動向を注視する考えを示した。",
        ("iso2022_jp", "shift_jis", "euc_jp"),
    ),
    "ko": (
        "한은, 기준금리 동결",
        "서울 (연합뉴스) 한국은행 금융통화위원회는 21일 기준금리를 연 3.25퍼센트로 동결했다. "
        "이창용 총재는 가계부채 증가세를 지켜봐야 한다고 말했다.",
        ("iso2022_kr", "euc_kr"),
    ),
    "ru": (
        "Центробанк сохранил ключевую ставку",
        "МОСКВА, 25 октября (Рейтер) - Банк России в пятницу сохранил ключевую ставку на уровне 16 процентов, "
        "сообщил регулятор в своем заявлении.",
        ("koi8_r", "cp1251"),
    ),
}


@pytest.mark.parametrize(
    ("language", "codec"), [(language, codec) for language, (_, _, codecs_) in LEGACY.items() for codec in codecs_]
)
def test_undeclared_legacy_charsets_read_as_written(language: str, codec: str) -> None:
    # Every byte from C0 up reads as a cp1252 letter, so Arabic, Polish, Czech, Croatian,
    # Hungarian and Turkish copy passed for Western text and became mojibake in every field;
    # ISO-2022 (7-bit) passed for ASCII and lost its escapes. Read now as written.
    headline, paragraph, _ = LEGACY[language]
    data = f"{headline}\r\n\r\n{paragraph}\r\n".encode(codec)
    text, _charset = decode_bytes(data)
    assert text.replace("\r\n", "\n") == f"{headline}\n\n{paragraph}\n"
    story = parse_story(data, f"mem://{language}-{codec}.txt")
    assert story.headline == headline and story.language == language


#: Western text in cp1252, with the letters the rules above read as other charsets' where a
#: Western language writes them (Icelandic ð þ ý, Catalan ò and l·l, Italian ì ù at a word's
#: end, French è before a consonant, Portuguese õe, units m² and °C, Spanish ¿ ¡ and 1º).
WESTERN = (
    "Ríkisstjórnin tilkynnti á fimmtudag að hún myndi lækka skatta, sagði fjármálaráðherra. Þingið samþykkti það.",
    "El Govern ha aprovat els pressupostos; la història de la col·lecció és llarga, diu el conseller.",
    "Il consiglio ha approvato lunedì la legge, così come previsto; più fondi andranno alla sanità, è stato detto.",
    "Le président a annoncé une très forte hausse des dépenses: « c'est un problème », a déclaré le ministre à Noël.",
    "As decisões do governo põem em causa as previsões; o 1º ministro falou às 10h na reunião de São Paulo.",
    "The flat of 80 m² was sold at 25°C on a warm day; ¿qué pasa? ¡Nada! said the agent, café in hand.",
    "Die Maßnahme soll Anfang März in Kraft treten, sagte ein Sprecher; die Förderung für Elektroautos fällt weg.",
    "Regeringen meddelte torsdag, at den vil sænke skatten næste år; forslaget skal behandles i Folketinget.",
)


@pytest.mark.parametrize("text", WESTERN)
def test_western_text_stays_cp1252(text: str) -> None:
    assert decode_bytes(f"Headline\r\n\r\n{text}\r\n".encode("cp1252")) == (f"Headline\r\n\r\n{text}\r\n", "cp1252")


@pytest.mark.parametrize("declared", ["koi8-r", "windows-1251", "iso-8859-1", "shift_jis"])
def test_a_page_declaring_a_legacy_charset_that_is_utf8_is_read_as_utf8(declared: str) -> None:
    # A site moved to UTF-8 that kept its old <meta charset>: read as declared, every
    # non-ASCII letter was two letters of mojibake ("Rц╘forme" under koi8-r).
    html = (
        f'<html><head><meta charset="{declared}"><title>Нефть подорожала: réforme</title></head><body><article>'
        "<h1>Нефть подорожала: réforme</h1><p>Цены на нефть выросли во вторник, сообщили аналитики; le président "
        "français a annoncé une réforme des retraites, a déclaré l'Élysée jeudi.</p></article></body></html>"
    )
    story = parse_story(html.encode("utf-8"), "mem://moved.html")
    assert story.headline == "Нефть подорожала: réforme"
    assert "Цены на нефть" in story.body and "président français" in story.body


def test_a_page_in_the_legacy_charset_it_declares_is_read_as_declared() -> None:
    text = "Цены на нефть выросли во вторник, сообщили аналитики в Москве, ссылаясь на данные биржи."
    html = f'<html><head><meta charset="koi8-r"></head><body><article><p>{text}</p></article></body></html>'
    assert decode_bytes(html.encode("koi8-r"))[1] == "koi8-r"
    assert text in parse_story(html.encode("koi8-r"), "mem://old.html").body


def test_an_rtf_document_is_read_as_the_text_it_holds() -> None:
    # A desk's story saved from a word processor opens with "{": it was sniffed as JSON and
    # quarantined bad_json. Its text: code-page escapes (here cp1251, as \ansicpg says),
    # Unicode escapes with their fallback characters skipped (a negative one too), fields'
    # results without their instructions, optional destinations and tables skipped.
    from pathlib import Path

    from parsers.rtf import rtf_text

    data = (
        b"{\\rtf1\\ansi\\ansicpg1251\\deff0{\\fonttbl{\\f0 Arial;}}{\\colortbl;\\red0\\green0\\blue0;}"
        b"{\\*\\generator Msftedit 5.41;}{\\info{\\author Desk}}\\uc1\\pard "
        b"\\'cc\\'ee\\'f1\\'ea\\'e2\\'e0 \\endash  \\u-3913?\\par\n"
        b'{\\field{\\*\\fldinst HYPERLINK "https://x.example"}{\\fldrslt Link text}}\\line next\\~line\\par}'
    )
    assert sniff_format(b"  " + data) == "rtf"
    assert rtf_text(data).split("\n\n")[:2] == ["Москва \u2013 \uf0b7", "Link text\nnext\u00a0line"]
    golden = Path(__file__).resolve().parent / "golden" / "rtf-afp-wordpad.rtf"
    story = parse_story(golden.read_bytes(), "mem://story.rtf")
    assert (story.input_format, story.agency, story.dateline) == ("rtf", "afp", "PARIS")


def test_a_csv_table_is_quarantined_saying_why_not_read_as_one_story() -> None:
    # Read as wire text, a CSV export of stories became one story headlined with its header
    # and first rows.
    table = b'id,headline,body\n1,"Port strike ends","The port reopened on Tuesday, the union said."\n'
    for name in ("mem://stories.csv", "mem://STORIES.TSV"):
        with pytest.raises(ParseError) as refused:
            parse_story(table, name)
        assert refused.value.reason == "unsupported_format" and "JSON lines" in refused.value.detail
    assert parse_story(b"Port strike ends\n\nThe port reopened on Tuesday, the union said.\n", "mem://a.txt")


_ODF = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "dc": "http://purl.org/dc/elements/1.1/",
}


def _odt(body: str) -> bytes:
    """An OpenDocument text file as LibreOffice writes one: ``mimetype`` first and stored,
    then the manifest, the content and the meta parts, deflated."""
    namespaces = " ".join(f'xmlns:{k}="{v}"' for k, v in _ODF.items())
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content {namespaces} office:version="1.3">'
        f"<office:body><office:text>{body}</office:text></office:body></office:document-content>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        manifest = '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>'
        archive.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        meta = f"<office:document-meta {namespaces}><office:meta><dc:title>Draft 3</dc:title></office:meta>"
        meta += "</office:document-meta>"
        archive.writestr("meta.xml", meta, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def test_an_opendocument_text_is_read_as_the_text_it_holds() -> None:
    # LibreOffice's .odt (a zip whose stored mimetype comes first): it was `binary`.
    data = _odt(
        '<text:h text:outline-level="1">Kraanbedrijf Hollandia schrapt 300 banen</text:h>'
        "<text:p>AMSTERDAM, 12 nov (ANP) - Kraanbouwer Hollandia schrapt 300 banen bij zijn fabriek in "
        '<text:span text:style-name="T1">Krimpen aan den IJssel</text:span>, maakte het bedrijf dinsdag bekend.'
        '<text:note text:note-class="footnote"><text:note-body><text:p>Bron: persbericht</text:p></text:note-body>'
        "</text:note></text:p>"
        "<text:p>De vakbond FNV noemt het besluit<text:s/>onbegrijpelijk.<text:line-break/>Er komt overleg."
        "<office:annotation><text:p>check cijfer</text:p></office:annotation></text:p>"
        "<table:table><table:table-row><table:table-cell><text:p>2023</text:p></table:table-cell>"
        "<table:table-cell><text:p>1.250</text:p></table:table-cell></table:table-row></table:table>"
    )
    assert sniff_format(data) == "odt"
    story = parse_story(data, "mem://banen.odt")
    assert (story.input_format, story.agency, story.dateline, story.language) == ("odt", "anp", "AMSTERDAM", "nl")
    assert story.headline == "Kraanbedrijf Hollandia schrapt 300 banen"
    assert story.paragraphs[0].startswith("Kraanbouwer Hollandia schrapt 300 banen bij zijn fabriek in Krimpen aan")
    assert "De vakbond FNV noemt het besluit onbegrijpelijk. Er komt overleg." in story.body
    assert "2023\t1.250" in story.body or "2023 1.250" in story.body  # a table row, its cells in order
    for hidden in ("Bron: persbericht", "check cijfer", "Draft 3"):  # a footnote, a comment, the properties
        assert hidden not in story.body


def test_a_word_document_reads_its_text_once_and_nothing_else() -> None:
    # A table, a text box (Word writes its text twice: for new readers and, in mc:Fallback,
    # for old ones), a tracked deletion; a zip that is no document stays `binary`; a Word
    # file in a bundle is read as one; a bomb named .docx is refused before it is unpacked.
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    mc = 'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'

    def docx(body: str) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("[Content_Types].xml", "<Types/>")
            archive.writestr("word/document.xml", f"<w:document {w} {mc}><w:body>{body}</w:body></w:document>")
        return buffer.getvalue()

    def para(text: str) -> str:
        return f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"

    box = "<w:txbxContent>" + para("Harbour volumes, 2024") + "</w:txbxContent>"
    data = docx(
        para("Harbour volumes fall for a third month")
        + para("ROTTERDAM, Nov 12 (Reuters) - Container volumes at Rotterdam fell 4% in October, the port said.")
        + "<w:p><w:r><mc:AlternateContent><mc:Choice><w:drawing>"
        + box
        + "</w:drawing></mc:Choice><mc:Fallback><w:pict>"
        + box
        + "</w:pict></mc:Fallback></mc:AlternateContent></w:r></w:p>"
        + "<w:tbl><w:tr><w:tc>"
        + para("October")
        + "</w:tc><w:tc>"
        + para("1.1 million TEU")
        + "<w:tbl><w:tr><w:tc>"  # a table inside a cell: read with the cell, once
        + para("of which transhipment 0.4 million")
        + "</w:tc></w:tr></w:tbl>"
        + "</w:tc></w:tr></w:tbl>"
        + "<w:p><w:del><w:r><w:delText>Volumes rose.</w:delText></w:r></w:del>"
        + "<w:r><w:t>Volumes fell again.</w:t></w:r></w:p>"
    )
    story = parse_story(data, "mem://volumes.docx")
    assert (story.input_format, story.agency, story.dateline) == ("docx", "reuters", "ROTTERDAM")
    assert story.body.count("Harbour volumes, 2024") == 1
    assert "October\t1.1 million TEU" in story.body or "October 1.1 million TEU" in story.body
    assert story.body.count("of which transhipment 0.4 million") == 1
    assert "Volumes fell again." in story.body and "Volumes rose." not in story.body

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "not a document")
    with pytest.raises(ParseError) as info:
        parse_story(buffer.getvalue(), "mem://x.docx")
    assert info.value.reason == "binary"

    from flows.cli import parse

    golden = (Path(__file__).resolve().parent / "golden" / "docx-reuters-desk.docx").read_bytes()
    with zipfile.ZipFile(buffer := io.BytesIO(), "w") as archive:
        archive.writestr("desk/story.docx", golden)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "day.zip").write_bytes(buffer.getvalue())
        (record,) = list(parse([tmp], workers=1))
    assert record["input_format"] == "docx"
    assert record["headline"] == parse_story(golden, "mem://a.docx").headline

    corrupt = bytearray(data)
    at = corrupt.index(b"word/document.xml") + len(b"word/document.xml")  # its deflated bytes follow its name
    corrupt[at + 10 : at + 60] = bytes(50)
    with pytest.raises(ParseError) as info:
        parse_story(bytes(corrupt), "mem://corrupt.docx")
    assert info.value.reason == "bad_document" and "word/document.xml" in info.value.detail

    bomb = docx("<w:p><w:r><w:t>" + " " * (25 * 1024**2) + "x</w:t></w:r></w:p>")  # 25 MB in ~25 KB
    with pytest.raises(ParseError) as info:
        parse_story(bomb, "mem://bomb.docx")
    assert info.value.reason == "too_large"


@pytest.mark.parametrize("name", ["afp-paris.txt", "aeb-ap-cbs-virus.html"])
def test_a_story_compressed_with_gzip_under_a_plain_name_is_read_as_it(name: str) -> None:
    # A crawler saving the HTTP body as sent (Content-Encoding: gzip) under the page's name:
    # it was quarantined `binary` ("a gzip file"), the story unread.
    import gzip
    import hashlib

    plain = (Path(__file__).parent / "golden" / name).read_bytes()
    packed = gzip.compress(plain)
    story, expected = parse_story(packed, name), parse_story(plain, name)
    assert (story.story_id, story.body, story.input_format) == (expected.story_id, expected.body, expected.input_format)
    assert story.source_sha256 == hashlib.sha256(packed).hexdigest()  # the bytes as stored
    halves = gzip.compress(plain[:100]) + gzip.compress(plain[100:])  # two members, one after the other
    assert parse_story(halves, name).body == expected.body


def test_a_gzip_input_that_is_no_document_says_why() -> None:
    import gzip

    def reason(data: bytes) -> tuple[str, str]:
        with pytest.raises(ParseError) as info:
            parse_story(data, "x.txt", max_bytes=1_000_000)
        return info.value.reason, info.value.detail

    story = gzip.compress(("Headline\n\n" + STORY).encode())
    assert reason(gzip.compress(b"a" * 2_000_000))[0] == "too_large"  # a bomb stops at the limit
    with pytest.raises(ParseError) as stored:  # over the limit as stored: not unpacked at all
        parse_story(story, "x.txt", max_bytes=len(story) - 1)
    assert stored.value.reason == "too_large" and "bytes is over the" in stored.value.detail
    assert reason(story[:-12]) == ("binary", "a gzip file cut short (its stream has no end): not a text or HTML story")
    assert reason(gzip.compress(story))[1].startswith("a gzip file inside a gzip file")
    assert reason(story + b"trailing junk")[1].startswith("a gzip file followed by bytes")
    tarred = io.BytesIO()
    with tarfile.open(fileobj=tarred, mode="w") as archive:
        info = tarfile.TarInfo("a.txt")
        info.size = len(STORY)
        archive.addfile(info, io.BytesIO(STORY.encode()))
    assert reason(gzip.compress(tarred.getvalue()))[1].startswith("a tar archive")  # a .tar.gz named .txt
