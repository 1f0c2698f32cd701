"""Every rule's own example must match it: rules are data, and their examples are the spec."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from parsers import parse_story, rules, wire
from parsers.wire import (
    is_trailer,
    lift_agency_tag,
    match_line_rule,
    parse_contacts,
    parse_copyright,
    parse_credit_line,
    same_headline,
)

GOLDEN = Path(__file__).parent / "golden"
ALL_LINE_RULES = [pytest.param(r, id=r.name) for r in rules.LINE_RULES]


@pytest.mark.parametrize("rule", ALL_LINE_RULES)
def test_line_rule_matches_its_example(rule: rules.Rule) -> None:
    assert rule.pattern.fullmatch(rule.example), rule.example
    matched = match_line_rule(rule.example)
    assert matched is not None and matched.kind == rule.kind


@pytest.mark.parametrize("rule", [pytest.param(r, id=r.name) for r in rules.CREDIT_RULES])
def test_credit_rule_matches_its_example(rule: rules.Rule) -> None:
    parsed = parse_credit_line(rule.example)
    assert parsed is not None
    kind, reporters, editors = parsed
    assert kind == rule.kind
    assert reporters or editors


@pytest.mark.parametrize("rule", [pytest.param(r, id=r.name) for r in rules.TRAILER_RULES])
def test_trailer_rule_matches_its_example(rule: rules.Rule) -> None:
    assert is_trailer(rule.example)


@pytest.mark.parametrize(("agency", "tag", "example"), rules.AGENCY_TAGS, ids=[a for a, _, _ in rules.AGENCY_TAGS])
def test_agency_tag_examples(agency: str, tag: str, example: str) -> None:
    lifted = lift_agency_tag(example)
    assert lifted is not None
    assert lifted[0] == agency
    assert "(" not in lifted[3] and lifted[3].strip()


@pytest.mark.parametrize(
    ("agency", "pattern", "example"),
    rules.SCRIPT_DATELINE_SOURCES,
    ids=[a for a, _, _ in rules.SCRIPT_DATELINE_SOURCES],
)
def test_chinese_japanese_and_korean_datelines(agency: str, pattern: object, example: str) -> None:
    lifted = lift_agency_tag(example)
    assert lifted is not None
    assert lifted[0] == agency and lifted[1] and lifted[1] in lifted[2]
    assert lifted[3].strip() and lifted[3][0] not in "（(【=-"


@pytest.mark.parametrize(
    "line",
    [
        "CANADIAN PACIFIC (CP) UNIT STUDIES PULP MILL",  # a 1987 headline: no dash, no date
        "(AP) Photo by John Smith",  # no dash and no dateline
        "The company (Reuters) said on Tuesday",
        "Stocks rally on Fed hopes, traders say (Reuters)",  # a headline: the tag alone, no date
        "Canadian Pacific (CP) Unit studies pulp mill",  # no date, and not a city in capitals
    ],
)
def test_a_tag_without_its_dash_is_a_tag_only_after_a_dated_dateline(line: str) -> None:
    assert lift_agency_tag(line) is None


@pytest.mark.parametrize(
    ("line", "agency", "dateline", "rest"),
    [
        ("(Bloomberg) -- Turkey wants", "bloomberg", None, "Turkey wants"),
        ("LONDON, Oct 3 (Reuters) - Oil rose", "reuters", "LONDON", "Oil rose"),
        ("NEW YORK (AP) — Stocks fell", "ap", "NEW YORK", "Stocks fell"),
        ("PARIS (AFP) - France said", "afp", "PARIS", "France said"),
        ("ST. JOSEPH, Mich. (AP) — Michigan", "ap", "ST. JOSEPH", "Michigan"),
        ("Tokyo (AFP) – Le Japon", "afp", "Tokyo", "Le Japon"),
        # Desks writing in other scripts: the city in Cyrillic or Greek capitals, or in a
        # script without case, and the tag in the desk's script.
        ("МОСКВА, 25 октября (Рейтер) - Банк России", "reuters", "МОСКВА", "Банк России"),
        ("القاهرة (رويترز) - أبقى البنك المركزي", "reuters", "القاهرة", "أبقى البنك المركزي"),
        ("بيروت (ا ف ب) - قال مسؤول", "afp", "بيروت", "قال مسؤول"),
        ("ירושלים (רויטרס) - בנק ישראל", "reuters", "ירושלים", "בנק ישראל"),
        ("ΦΡΑΓΚΦΟΥΡΤΗ (Reuters) - Η Ευρωπαϊκή", "reuters", "ΦΡΑΓΚΦΟΥΡΤΗ", "Η Ευρωπαϊκή"),
        ("WARSZAWA, 6 listopada (PAP) - Rada Polityki", "pap", "WARSZAWA", "Rada Polityki"),
        # EFE's ".-", ANSA's tag before its dateline, dpa's joined cities, PTI's no dash.
        ("Madrid, 12 nov (EFE).- El Gobierno", "efe", "Madrid", "El Gobierno"),
        ("(ANSA) - ROMA, 12 NOV - Il governo ha approvato", "ansa", "ROMA", "Il governo ha approvato"),
        ("Berlin/Paris (dpa) - Die Bundesregierung", "dpa", "Berlin/Paris", "Die Bundesregierung"),
        # Two wires credited in one tag (a paper's copy of both): the first is the agency.
        ("Berlin (dpa/AFP) - Die Bundesregierung", "dpa", "Berlin", "Die Bundesregierung"),
        ("PARIS (AFP / Reuters) - La France", "afp", "PARIS", "La France"),
        ("New Delhi, Nov 21 (PTI) The Centre said", "pti", "New Delhi", "The Centre said"),
        ("TOKYO, Nov. 12 Kyodo - Japan's government", "kyodo", "TOKYO", "Japan's government"),
        # Europa Press's tag alone closing its paragraph (the text in the next one); TASS's
        # between slashes after the date, in Russian and English.
        ("MADRID, 12 (EUROPA PRESS)", "europapress", "MADRID", ""),
        ("МОСКВА, 12 ноября. /ТАСС/. Президент России", "tass", "МОСКВА", "Президент России"),
        ("MOSCOW, November 12. /TASS/. Russian President", "tass", "MOSCOW", "Russian President"),
        # The Nordic wires (a colon, or nothing after a city in capitals) and the Greek one.
        ("Oslo (NTB): Norges Bank holder", "ntb", "Oslo", "Norges Bank holder"),
        ("STOCKHOLM (TT) Riksbanken sänker", "tt", "STOCKHOLM", "Riksbanken sänker"),
        ("ΦΡΑΓΚΦΟΥΡΤΗ (ΑΠΕ-ΜΠΕ) - Η Ευρωπαϊκή", "anampa", "ΦΡΑΓΚΦΟΥΡΤΗ", "Η Ευρωπαϊκή"),
        # German-language financial and Swiss wires, and news aktuell's press releases.
        ("FRANKFURT (dpa-AFX) - Der DAX", "dpa_afx", "FRANKFURT", "Der DAX"),
        ("Bern (Keystone-SDA) - Der Bundesrat", "sda", "Bern", "Der Bundesrat"),
        ("Berlin (ots) - Die Firma", "ots", "Berlin", "Die Firma"),
        # Reuters' Japanese desk, in full-width brackets, spaces and digits, or half-width.
        ("［東京　１２日　ロイター］ - 日銀は", "reuters", "東京", "日銀は"),
        ("[ニューヨーク 12日 ロイター] - 米国株は", "reuters", "ニューヨーク", "米国株は"),
    ],
)
def test_agency_tag_variants(line: str, agency: str, dateline: str | None, rest: str) -> None:
    lifted = lift_agency_tag(line)
    assert lifted is not None
    assert (lifted[0], lifted[1], lifted[3]) == (agency, dateline, rest)


@pytest.mark.parametrize(
    ("line", "agency", "dateline", "rest"),
    [
        # Agencies the table does not know, read by the tag's shape: a dateline (a city in
        # capitals, or a date), a name in parentheses, a dash, the text.
        ("TEHRAN, Nov. 12 (IRNA) - Iran's central bank", "irna", "TEHRAN", "Iran's central bank"),
        ("NAPA COUNTY, Calif. (KGO) -- A plan to bring", "kgo", "NAPA COUNTY", "A plan to bring"),
        ("LONDON (Alliance News) - Stocks in London", "alliance_news", "LONDON", "Stocks in London"),
        ("DHAKA, Nov 12, 2024 (BSS) - Bangladesh signed", "bss", "DHAKA", "Bangladesh signed"),
        ("Roma, 12 nov. (LaPresse) - Il governo", "lapresse", "Roma", "Il governo"),
        ("BOGOTÁ, 12 nov (Colprensa) — El Gobierno", "colprensa", "BOGOTÁ", "El Gobierno"),
        ("SANTIAGO, 12 nov (Agencia Uno) - El Gobierno", "agencia_uno", "SANTIAGO", "El Gobierno"),
        # A known agency's other desk or column is that agency (its first word names it).
        ("LONDON (Reuters Breakingviews) - Shares of", "reuters", "LONDON", "Shares of"),
        ("WASHINGTON (Bloomberg Opinion) -- The Fed", "bloomberg", "WASHINGTON", "The Fed"),
        # Agencies added to the table where the shape alone would not do.
        ("Berlin (dts Nachrichtenagentur) - Die Regierung", "dts", "Berlin", "Die Regierung"),
        ("TOKYO, Nov. 12 (Jiji Press) -- Japan's", "jiji", "TOKYO", "Japan's"),
        ("(AGI) - Roma, 12 nov. - Il governo", "agi", "Roma", "Il governo"),
    ],
)
def test_an_agency_tag_is_read_by_its_shape(line: str, agency: str, dateline: str, rest: str) -> None:
    lifted = lift_agency_tag(line)
    assert lifted is not None
    assert (lifted[0], lifted[1], lifted[3]) == (agency, dateline, rest)
    assert re.fullmatch(r"[a-z][a-z0-9_]{0,31}", lifted[0])  # the agency column's identifier


@pytest.mark.parametrize(
    "line",
    [
        "Acme Inc. (ACME) - Shares rose 5%",  # a company and its ticker: no city in capitals, no date
        "UPDATE 1-ACME (ACME) - Q3 profit rises",  # a headline in capitals: a digit is no city's
        "The company (Acme) - said on Tuesday",
        "Kyiv (Ukrinform) - Ukraine's army",  # a city not in capitals, and no date: not sure enough
        "LONDON (photo) - The",  # no capital in the name
        "LONDON (Channel 4) - The",  # a number in the name
        "LONDON (Updated Tuesday morning with more details) - The",  # five words
        "LONDON (BBC) 12 dead in crash",  # no dash
        "PARIS (Международная панорама) - Les",  # a name in another script: not spelled in Latin
    ],
)
def test_a_parenthesis_after_a_city_is_not_always_an_agency(line: str) -> None:
    assert lift_agency_tag(line) is None


def test_agency_tag_is_not_found_mid_sentence() -> None:
    assert lift_agency_tag("The company told Reuters (Reuters) that it would") is None


@pytest.mark.parametrize(
    "line",
    [
        "ADVERTISEMENT",
        "Advertisement",
        "Story continues below advertisement",
        "Skip Advertisement",
        "SKIP ADVERTISEMENT",
        "Continue reading the main story",
        "Anzeige",
        "Publicité",
    ],
)
def test_advertisement_variants(line: str) -> None:
    matched = match_line_rule(line)
    assert matched is not None and matched.kind == "advertisement"


@pytest.mark.parametrize(
    "line",
    ["The advertisement market grew 5% last year.", "Reuters reported the deal on Monday.", "Home prices rose."],
)
def test_story_sentences_are_not_boilerplate(line: str) -> None:
    assert match_line_rule(line) is None


def test_contacts_with_locations_emails_and_bare_names() -> None:
    people = parse_contacts("editors", "James Ludden at jludden@bloomberg.net, ;Benjamin Harvey, Amy Teibel")
    assert [(p.role, p.name, p.email) for p in people] == [
        ("editor", "James Ludden", "jludden@bloomberg.net"),
        ("editor", "Benjamin Harvey", None),
        ("editor", "Amy Teibel", None),
    ]
    reporter = parse_contacts("reporter", "Selcan Hacaoglu in Ankara at shacaoglu@bloomberg.net")[0]
    assert (reporter.name, reporter.location, reporter.email) == (
        "Selcan Hacaoglu",
        "Ankara",
        "shacaoglu@bloomberg.net",
    )


@pytest.mark.parametrize(
    ("line", "reporters", "editors"),
    [
        (
            "(Reporting by Jane Doe in London; Additional reporting by Li Wei; Editing by Tom Roe)",
            ["Jane Doe", "Li Wei"],
            ["Tom Roe"],
        ),
        (
            "(Reporting by A One, B Two, with reporting by C Three, editing by D Four.)",
            ["A One", "B Two", "C Three"],
            ["D Four"],
        ),
        (
            "Associated Press writers Tameem Akhgar in Kabul and Rod McGuirk in Canberra, Australia, "
            "contributed to this report.",
            ["Tameem Akhgar", "Rod McGuirk"],
            [],
        ),
        (
            "--With assistance from Constantine Courcoulas and Kerim Karakaya.",
            ["Constantine Courcoulas", "Kerim Karakaya"],
            [],
        ),
        # By-lines in the agencies' other languages, the agency after a comma left out.
        ("Par Jean-Pierre LE GOFF et Marie DURAND, AFP", ["Jean-Pierre LE GOFF", "Marie DURAND"], []),
        ("Von Anna Schmidt und Jan Müller, dpa", ["Anna Schmidt", "Jan Müller"], []),
        ("Por João Silva e Ana Costa", ["João Silva", "Ana Costa"], []),
        ("di Marco Rossi", ["Marco Rossi"], []),
        ("Door Jan de Vries", ["Jan de Vries"], []),
        ("Av Lars Olsen, NTB", ["Lars Olsen"], []),
        # PA's role after the name, AAP's and PA's wire in parentheses after it.
        ("By Sam Blewett, PA Political Correspondent", ["Sam Blewett"], []),
        ("Jane Smith (AAP)", ["Jane Smith"], []),
    ],
)
def test_credit_lines(line: str, reporters: list[str], editors: list[str]) -> None:
    parsed = parse_credit_line(line)
    assert parsed is not None
    assert parsed[1] == reporters and parsed[2] == editors


@pytest.mark.parametrize(
    "line",
    ["Par ailleurs, le gouvernement a dit", "Von Berlin aus fahren Züge", "Por Madrid pasan trenes", "Di Maio"],
)
def test_a_sentence_or_a_name_after_another_language_s_by_word_is_not_a_byline(line: str) -> None:
    assert parse_credit_line(line) is None


def test_a_by_line_in_another_language_is_not_the_stories_summary() -> None:
    # Below the headline, above the dateline: read as the deck until the thirty-second session.
    story = parse_story(
        "Le gouvernement présente son budget\n\nPar Jean DUPONT\n\nParis, 12 nov 2024 (AFP) - Le gouvernement a "
        "présenté mardi son projet de budget pour 2025.\n\nLe texte sera débattu à l'Assemblée.\n".encode(),
        "mem://fr",
    )
    assert (story.byline, story.standfirst) == (["Jean DUPONT"], None)


def test_a_sentence_starting_with_by_is_not_a_byline() -> None:
    assert (
        parse_credit_line(
            "By the end of the year, the central bank expects inflation to ease, officials said on Monday."
        )
        is None
    )


@pytest.mark.parametrize(
    ("line", "year"),
    [
        ("©2019 Bloomberg L.P.", 2019),
        ("© 2021 AFP", 2021),
        ("Copyright 2019 The Associated Press. All rights reserved.", 2019),
        ("(c) Copyright Thomson Reuters 2018. Click For Restrictions", 2018),
    ],
)
def test_copyright_lines(line: str, year: int) -> None:
    assert parse_copyright(line) == (line, year)


def test_headline_repeats_differ_only_in_case_quotes_and_space() -> None:
    assert same_headline(
        "Turkey Presses Russia to Restrain Assad’s Attacks", "turkey presses  russia to restrain assad's attacks"
    )
    assert same_headline("‘We will rebuild,’ mayor says", '"WE WILL REBUILD," MAYOR SAYS')
    assert not same_headline("Oil rises", "Oil falls")


def test_contact_and_copyright_examples_match_their_rules() -> None:
    contact = rules.CONTACT_LINE.match(rules.CONTACT_LINE_EXAMPLE)
    assert contact is not None and contact.group("role") == "reporter"
    assert parse_copyright(rules.COPYRIGHT_EXAMPLE) == (rules.COPYRIGHT_EXAMPLE, 2019)


PREFILTERS = [
    pytest.param(rules.ANY_LINE_RULE, rules.LINE_RULES, "fullmatch", id="line"),
    pytest.param(wire.may_be_credit, rules.CREDIT_RULES, "match", id="credit"),
    pytest.param(rules.ANY_TRAILER_RULE, rules.TRAILER_RULES, "fullmatch", id="trailer"),
]


@pytest.mark.parametrize(("prefilter", "table", "how"), PREFILTERS)
def test_prefilter_agrees_with_its_rules(
    prefilter: Callable[[str], object], table: tuple[rules.Rule, ...], how: str
) -> None:
    """The one-pass prefilter matches a line exactly when one of its rules does."""
    lines = {rule.example for table_ in (rules.LINE_RULES, rules.CREDIT_RULES, rules.TRAILER_RULES) for rule in table_}
    for path in GOLDEN.iterdir():
        if path.suffix == ".txt":
            lines.update(line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines())
    lines.update(example.lower() for example in list(lines)[:200])  # case variants meet the scoped flags
    lines.update(f"{line} {example}" for line in list(lines)[:50] for example in ("X contributed this story.",))
    assert len(lines) > 200
    for line in sorted(lines):
        expected = any(getattr(rule.pattern, how)(line) for rule in table)
        assert bool(prefilter(line)) == expected, line


@pytest.mark.parametrize("rule", [pytest.param(r, id=r.name) for r in rules.CREDIT_RULES if r.tail])
def test_a_rule_tail_is_what_its_matches_end_with(rule: rules.Rule) -> None:
    """A rule's ``tail`` is found in the last TAIL_WINDOW characters of what it matches."""
    assert rule.tail is not None
    for text in (rule.example, f"{'Jean-Pierre Martin, ' * 7}Ann Lee contributed to this story."):
        if rule.pattern.match(text):
            assert rule.tail.search(text, max(0, len(text) - rules.TAIL_WINDOW)), text


def test_contact_head_on_its_own_line_takes_the_people_below() -> None:
    from parsers import parse_story

    assert rules.CONTACT_HEAD.match(rules.CONTACT_HEAD_EXAMPLE)
    text = (
        "Lagarde Urges Fiscal Push\n\n(Bloomberg) -- The ECB president urged governments to spend more.\n\n"
        "To contact the reporters on this story:\nPiotr Skolimowski in Frankfurt at pskolimowski@bloomberg.net;\n"
        "Alexander Weber in Frankfurt at aweber75@bloomberg.net\n"
    )
    story = parse_story(text.encode(), "x.txt")
    assert [(c.name, c.email, c.location) for c in story.contacts] == [
        ("Piotr Skolimowski", "pskolimowski@bloomberg.net", "Frankfurt"),
        ("Alexander Weber", "aweber75@bloomberg.net", "Frankfurt"),
    ]
    assert "To contact" not in story.body and "bloomberg.net" not in story.body


def test_ap_credit_line_before_the_dateline_is_not_body_text() -> None:
    from parsers import parse_story

    # Web copy of AP stories opens with the credit on a line of its own, "The Associated
    # Press", then the dateline paragraph; the same line closes other AP copy.
    text = (
        "ESA studies hibernation for Mars crews\n\nThe Associated Press\n\n"
        "BERLIN -- The European Space Agency says putting astronauts into a state of suspended "
        "animation could make it easier to reach other planets.\n\nThe agency said Monday that its "
        "researchers examined how hibernation would affect a crewed mission to Mars.\n"
    )
    story = parse_story(text.encode(), "x.txt")
    assert story.body.startswith("The European Space Agency says")
    assert "Associated Press" not in story.body
    assert story.dateline == "BERLIN"
    assert any(item.kind == "trailer" and item.text == "The Associated Press" for item in story.removed)


@pytest.mark.parametrize(
    ("paragraph", "kept", "note"),
    [
        (
            rules.UPDATE_NOTE_EXAMPLE,
            "Port operator ECT said terminals would reopen.",
            "(Adds union comment in paragraph 3)",
        ),
        ("Rates rose to 5.9%. (Corrects jobless rate in headline to 5.9%)", "Rates rose to 5.9%.", None),
        ("(Recasts with analyst comment)", "", "(Recasts with analyst comment)"),
        (
            "Officials said (without giving details) it would open.",
            "Officials said (without giving details) it would open.",
            "",
        ),
    ],
)
def test_update_notes_are_cut_from_paragraph_ends(paragraph: str, kept: str, note: str | None) -> None:
    match = rules.UPDATE_NOTE.search(paragraph)
    if note == "":
        assert match is None
        return
    assert match is not None
    assert paragraph[: match.start()].rstrip() == kept
    if note:
        assert match.group(0).strip() == note


@pytest.mark.parametrize(
    ("line", "reporters", "editors"),
    [
        ("(Reporting: Rene Wagner; redigiert von Christian Götz)", ["Rene Wagner"], ["Christian Götz"]),
        ("(Reporting by Anna Lee; bearbeitet von Tom Kranz)", ["Anna Lee"], ["Tom Kranz"]),
        ("By LISA MASCARO AP Congressional Correspondent", ["LISA MASCARO"], []),
        ("By Apple Smith", ["Apple Smith"], []),
    ],
)
def test_more_credit_shapes(line: str, reporters: list[str], editors: list[str]) -> None:
    parsed = parse_credit_line(line)
    assert parsed is not None
    assert parsed[1] == reporters and parsed[2] == editors


def test_an_envelope_cut_before_its_etx_is_quarantined_with_a_clear_reason() -> None:
    from parsers import parse_story
    from schemas.errors import ParseError

    cut = b"\x16\x16\x01f0001\x1freute\nu f BC-TEST-SLUG   10-21 0100\n\x02\nHEADLINE HERE\n    LONDON, Oct 21 - Text"
    with pytest.raises(ParseError) as info:
        parse_story(cut, "mem://cut.txt")
    assert info.value.reason == "bad_envelope" and "ETX" in info.value.detail


def test_envelope_tables_have_examples_that_parse() -> None:
    from parsers.envelope import read_envelope

    for code, agency, example in rules.ENVELOPE_SOURCES:
        envelope = read_envelope(example + "\nu f BC-SLUG   10-21 0100\n\x02\nText\n\x03")
        assert envelope.agency == agency and envelope.wire_id, code
    for code, urgency, _name in rules.ANPA_PRIORITIES:
        envelope = read_envelope(f"\x16\x16\x01f0001\x1freute\n{code} f BC-SLUG   10-21 0100\n\x02\nText\n\x03")
        assert envelope.urgency == urgency and envelope.slugline == "SLUG"
    assert rules.TAKE_KEY_VERSION.search(rules.TAKE_KEY_VERSION_EXAMPLE)
    assert rules.EDNOTE_LINE.match(rules.EDNOTE_EXAMPLE)
    assert rules.FLASH_MARKER.match(rules.FLASH_MARKER_EXAMPLE)
    assert rules.OLD_REUTERS_DATELINE.match(rules.OLD_REUTERS_DATELINE_EXAMPLE)


def test_flash_marker_names_its_wire_only_when_nothing_else_does() -> None:
    from parsers import parse_story

    for pattern, agency, example in rules.FLASH_MARKER_AGENCIES:
        assert pattern.fullmatch(example)
        brief = parse_story(f"{example}AMOCO RAISES CRUDE POSTINGS 50 CTS\nBlah blah blah.\n".encode(), "x")
        assert (brief.agency, brief.headline, brief.paragraphs) == (agency, "AMOCO RAISES CRUDE POSTINGS 50 CTS", [])
    # A tag in the story wins over the marker; a row of asterisks inside the body is no marker.
    tagged = parse_story(
        b"***Quake shakes city\n\nNEW YORK (AP) _ A quake shook the city on Monday, officials said.\n", "x"
    )
    assert tagged.agency == "ap"
    plain = parse_story(b"Quake shakes city\n\nA quake shook the city.\n\n***\n\nMore later today.\n", "x")
    assert plain.agency == "unknown"


@pytest.mark.parametrize(
    ("headline", "version", "status"),
    [
        ("UPDATE 2-Ceasefire talks resume", 3, None),
        ("CORRECTED-UPDATE 1-Oil rises", 3, None),
        ("2ndLd-Writethru: Strikers return", 3, None),
        ("CORRECTED-Oil rises on supply fears", 2, None),
        ("KILL: Earthquake report", None, "canceled"),
        ("WITHHOLD: Plane crash story", None, "withheld"),
        ("Update on talks expected", None, None),
    ],
)
def test_version_labels_of_plain_text(headline: str, version: int | None, status: str | None) -> None:
    from parsers.story import version_label

    assert version_label(headline) == (version, status)
    for pattern, _add, _status, example in rules.VERSION_LABELS:
        assert pattern.match(example), example


def test_every_dateline_month_name_dates_a_story() -> None:
    from parsers.fingerprint import story_day

    for number, names in enumerate(rules.DATELINE_MONTHS, start=1):
        for name in names.split():
            assert story_day(None, [("dateline", f"PARIS, {name.title()} 7 -")]) == f"{number:02d}-07", name
            assert story_day(None, [("agency_tag", f"PARIS, 7 {name} 2024 (AFP) -")]) == f"{number:02d}-07", name


@pytest.mark.parametrize(
    ("codec", "story", "headline", "dateline", "agency", "body", "byline"),
    [
        (
            "cp1251",
            "Центробанк сохранил ключевую ставку\r\n\r\nМОСКВА, 25 октября (Рейтер) - Банк России в пятницу "
            "сохранил ключевую ставку на уровне 16 процентов, сообщил регулятор.\r\n",
            "Центробанк сохранил ключевую ставку",
            "МОСКВА",
            "reuters",
            "Банк России в пятницу",
            [],
        ),
        (
            "cp1256",
            "البنك المركزي يبقي أسعار الفائدة دون تغيير\r\n\r\nالقاهرة (رويترز) - أبقى البنك المركزي المصري "
            "أسعار الفائدة الرئيسية دون تغيير يوم الخميس.\r\n",
            "البنك المركزي يبقي أسعار الفائدة دون تغيير",
            "القاهرة",
            "reuters",
            "أبقى البنك المركزي",
            [],
        ),
        (
            "cp1250",
            "Bank centralny utrzymał stopy\r\n\r\nWARSZAWA (PAP) - Rada Polityki Pieniężnej utrzymała w środę "
            "stopy procentowe bez zmian.\r\n",
            "Bank centralny utrzymał stopy",
            "WARSZAWA",
            "pap",
            "Rada Polityki Pieniężnej",
            [],
        ),
        (
            "gb18030",
            "中国10月出口增长放缓\r\n\r\n新华社北京11月7日电（记者张三、李四）海关总署7日发布数据显示，10月份中国出口"
            "同比增长百分之五点二，增速较上月有所放缓。\r\n",
            "中国10月出口增长放缓",
            "北京",
            "xinhua",
            "海关总署7日发布数据显示",
            ["张三", "李四"],
        ),
        (
            "shift_jis",
            "日銀、政策金利を据え置き\r\n\r\n【東京共同】日本銀行は31日、金融政策決定会合で政策金利を据え置くことを決めた。"
            "植田和男総裁は記者会見で、物価の動向を注視する考えを示した。\r\n",
            "日銀、政策金利を据え置き",
            "東京",
            "kyodo",
            "日本銀行は31日",
            [],
        ),
        (
            "euc_kr",
            "한은, 기준금리 동결\r\n\r\n(서울=연합뉴스) 김철수 기자 = 한국은행 금융통화위원회는 "
            "21일 기준금리를 연 3.25퍼센트로 동결했다. 이창용 총재는 기자회견에서 말했다.\r\n",
            "한은, 기준금리 동결",
            "서울",
            "yonhap",
            "한국은행 금융통화위원회는",
            ["김철수"],
        ),
    ],
)
def test_a_desk_s_story_in_its_own_script_and_charset_gives_its_fields(
    codec: str, story: str, headline: str, dateline: str, agency: str, body: str, byline: list[str]
) -> None:
    # Undeclared legacy charsets as those desks file (CRLF); the dateline and the tag in the
    # desk's script. Before, the tag was not read: the dateline stayed in the body and the
    # story's agency was the source's default.
    parsed = parse_story(story.encode(codec), f"mem://{codec}.txt")
    assert (parsed.headline, parsed.dateline, parsed.agency) == (headline, dateline, agency)
    assert parsed.body.startswith(body) and parsed.byline == byline


@pytest.mark.parametrize(
    ("story", "headline", "until"),
    [
        (  # PA: the embargo above the headline, CRLF
            "EMBARGOED UNTIL 0001 GMT TUESDAY 12 NOVEMBER 2024\r\n\r\nUK unemployment rises to 4.3%\r\n\r\n"
            "LONDON (PA) - Britain's unemployment rate rose to 4.3% in the three months to September, official "
            "figures showed.\r\n",
            "UK unemployment rises to 4.3%",
            "2024-11-12T00:01:00+00:00",
        ),
        (  # below the headline, a day and no date: no time to read
            "UK unemployment rises to 4.3%\n\nEMBARGOED TO 0001 TUESDAY NOVEMBER 12\n\nBritain's unemployment rate "
            "rose to 4.3% in the three months to September, official figures showed.\n",
            "UK unemployment rises to 4.3%",
            None,
        ),
        (  # a press release's
            "Embargoed for release until 4 p.m. EDT Thursday\n\nStudy finds coffee drinkers live longer\n\n"
            "NEW YORK (AP) — People who drink coffee live longer, a study published Thursday found.\n",
            "Study finds coffee drinkers live longer",
            None,
        ),
        (  # a US zone the date reader knows
            "EMBARGOED UNTIL 10:00 EDT, 12 November 2024\n\nFed minutes due\n\nWASHINGTON (Reuters) - The Federal "
            "Reserve will publish the minutes of its meeting, officials said.\n",
            "Fed minutes due",
            "2024-11-12T14:00:00+00:00",
        ),
        (  # dpa's
            "Sperrfrist: 12. November, 00.01 Uhr\n\nArbeitslosigkeit steigt leicht\n\nNürnberg (dpa) - Die Zahl der "
            "Arbeitslosen ist im Oktober leicht gestiegen, teilte die Bundesagentur mit.\n",
            "Arbeitslosigkeit steigt leicht",
            None,
        ),
    ],
)
def test_an_embargo_line_is_metadata_not_the_headline_or_the_body(story: str, headline: str, until: str | None) -> None:
    # Read as text, the embargo line was the story's headline, or its first paragraph.
    parsed = parse_story(story.encode(), "mem://embargo.txt")
    assert parsed.headline == headline
    assert "mbargo" not in parsed.body and "Sperrfrist" not in parsed.body
    assert any(r.kind == "metadata" and ("MBARGO" in r.text.upper() or "Sperrfrist" in r.text) for r in parsed.removed)
    assert (parsed.embargoed_until.isoformat() if parsed.embargoed_until else None) == until


@pytest.mark.parametrize(
    "headline",
    [
        "EU extends arms embargo until 2026",
        "Embargo on Cuba stays, U.S. says",
        "Embargo to be lifted at 12:00 GMT on Friday, officials say",
        "EMBARGO ON RUSSIAN OIL TAKES EFFECT IN 2025",
    ],
)
def test_a_headline_about_an_embargo_stays_the_headline(headline: str) -> None:
    story = f"{headline}\n\nBRUSSELS (Reuters) - The European Union said on Tuesday it would act, officials said.\n"
    assert parse_story(story.encode(), "mem://trade.txt").headline == headline


@pytest.mark.parametrize(
    ("line", "heading"),
    [
        ("About Acme Corp.", True),
        ("About the Company", True),
        ("Forward-Looking Statements", True),
        ("Media Contact:", True),
        ("For more information, please contact:", True),
        ("About 500 people attended the rally.", False),
        ("About a third of the workers walked out", False),
        ("About the author", False),
    ],
)
def test_a_press_release_s_closing_sections_are_told_by_their_headings(line: str, heading: bool) -> None:
    assert bool(rules.RELEASE_SECTION.match(line)) is heading


def test_a_story_s_about_paragraph_is_kept_outside_press_releases() -> None:
    # The closing sections are cut from the press-release wires' copy only.
    story = (
        "Port reopens\n\nLONDON (Reuters) - The port reopened on Tuesday, the operator said.\n\n"
        "Ships queued overnight.\n\nAbout Us\n\nThe operator runs three terminals, it said.\n"
    )
    assert parse_story(story.encode(), "mem://r.txt").body.endswith("The operator runs three terminals, it said.")


def test_a_desks_codes_glued_to_the_last_sentence_are_a_trailer() -> None:
    story = parse_story(
        b"DAX legt zu\n\nFRANKFURT (dpa-AFX) - Der deutsche Aktienmarkt hat am Dienstag zugelegt.\n\n"
        b"Gefragt waren Autowerte./mis/he\n",
        "mem://afx",
    )
    assert story.body.endswith("Gefragt waren Autowerte.") and story.agency == "dpa_afx"
    assert ("trailer", "/mis/he") in [(r.kind, r.text) for r in story.removed]
    # Codes elsewhere, or a path after no stop, are text.
    kept = parse_story(
        b"Sites to watch\n\nLONDON (Reuters) - Readers can see the list at example.org/news/world\n", "mem://x"
    )
    assert kept.body.endswith("example.org/news/world")


@pytest.mark.parametrize(
    ("text", "agency", "byline"),
    [
        (
            "Bank of Canada cuts rate\n\nThe Canadian Press\n\nOTTAWA — The Bank of Canada cut its key rate.\n",
            "cp",
            [],
        ),
        (
            "RBA holds rates\n\nJane Smith\n(AAP)\n\nThe Reserve Bank of Australia left the cash rate on hold.\n",
            "aap",
            ["Jane Smith"],
        ),
        (
            "Housing plan unveiled\n\nBy Sam Blewett, PA Political Correspondent\n\nThe Government unveiled plans.\n",
            "pa",
            ["Sam Blewett"],
        ),
    ],
)
def test_the_commonwealth_wires_sign_their_copy(text: str, agency: str, byline: list[str]) -> None:
    """The Canadian Press's, AAP's and PA's by-lines and credit lines name the agency and
    leave the body (until the thirty-second session the agency was unknown and the lines
    were body text, or the title a reporter)."""
    story = parse_story(text.encode(), "mem://wire")
    assert (story.agency, story.byline) == (agency, byline)
    assert not story.body.startswith(("The Canadian Press", "Jane Smith", "By "))


def test_a_cna_dateline_with_its_reporters_names_no_city() -> None:
    """Taiwan's CNA runs the reporters' names and the city together ("記者張三台北"): the tag
    leaves the body and names the agency, and no city is guessed."""
    story = parse_story(
        "台積電10月營收創新高\n\n（中央社記者張三台北12日電）台積電今天公布10月營收，創下單月新高。\n\n法人表示需求強勁。\n".encode(),
        "mem://cna",
    )
    assert (story.agency, story.dateline) == ("cna", None)
    assert story.body.startswith("台積電今天公布")


@pytest.mark.parametrize(
    ("paragraph", "expected"),
    [
        ("Le opposizioni hanno criticato le misure. (ANSA).", ("ansa", "Le opposizioni hanno criticato le misure.")),
        ("(ANSA).", ("ansa", "")),
        ('Una manovra "seria". (ANSA)', ("ansa", 'Una manovra "seria".')),
        ("The index rose as the report (Reuters) showed.", None),  # inside a sentence
        ("Stocks rally on Fed hopes, traders say (Reuters)", None),  # no stop before it: a headline's
        ("The talks resume next week (AP Photo/Jane Doe)", None),  # a photo credit, not the tag
    ],
)
def test_a_closing_agency_tag_is_the_sign_off_only_after_the_last_sentence(
    paragraph: str, expected: tuple[str, str] | None
) -> None:
    from parsers.wire import closing_agency_tag

    assert closing_agency_tag(paragraph) == expected


# (the story's opening, what closes it, the closing line the rules must take)
CLOSINGS = {
    # Xinhua's English service ends with "Enditem", glued to the last sentence or alone.
    "xinhua_glued": ("BEIJING, Nov. 7 (Xinhua) -- Exports rose, data showed.", "Imports fell. Enditem", "Enditem"),
    "xinhua_line": ("BEIJING, Nov. 7 (Xinhua) -- Exports rose, data showed.", "Imports fell.\n\nEnditem", "Enditem"),
    # Lusa's desk initials, then its end line; IANS' and Bernama's name after dashes; PTI's codes.
    "lusa": ("Lisboa, 12 nov (Lusa) - O Governo aprovou.", "Criticou.\n\nABC // DEF\n\nLusa/Fim", "Lusa/Fim"),
    "ians": ("New Delhi, Nov 21 (IANS) The government extended it.", "It was decided.\n\n--IANS\n\nab/cd", "--IANS"),
    "bernama": ("KUALA LUMPUR, Nov 15 (Bernama) -- The economy grew.", "Demand rose.\n\n-- BERNAMA", "-- BERNAMA"),
    "pti": ("New Delhi, Nov 21 (PTI) The Centre extended the scheme.", "It was decided.\n\nPTI ABC DEF", "PTI ABC DEF"),
    # Kyodo's English service's "==Kyodo"; Yonhap's reporter's address, "(END)" on the next line.
    "kyodo": ("TOKYO, Nov. 29 Kyodo - The jobless rate held.", "It was unchanged.\n\n==Kyodo", "==Kyodo"),
    "yonhap": ("SEOUL, Nov. 1 (Yonhap) -- Exports rose.", "Imports rose.\n\nab@yna.co.kr\n(END)", "ab@yna.co.kr (END)"),
    # End marks in the wires' languages, alone with the desk's codes or glued to the last sentence.
    "apa": ("Wien (APA) - Die Regierung hat das Budget beschlossen.", "Kritik.\n\n(Schluss) ab/cd", "(Schluss) ab/cd"),
    "efe": ("Madrid, 12 nov (EFE).- El Gobierno aprobó el proyecto.", "La oposición criticó la medida. (FIN)", "(FIN)"),
    # PAP's tag closing the last sentence, then its desk's codes, each with its slash.
    # Xinhua's web copy: an editor's handle in lower case, a source line naming the agency.
    "handle": (
        "BEIJING, Nov. 7 (Xinhua) -- Exports rose, data showed.",
        "Imports fell.\n\nEditor: huaxia",
        "Editor: huaxia",
    ),
    "source": (
        "BEIJING, Nov. 7 (Xinhua) -- Exports rose, data showed.",
        "Imports fell.\n\nSource: Xinhua",
        "Source: Xinhua",
    ),
    "pap": (
        "Warszawa (PAP) - Rada pozostawiła stopy bez zmian.",
        "Zgodnie z oczekiwaniami. (PAP)\n\nkw/ mhr/",
        "kw/ mhr/",
    ),
}


@pytest.mark.parametrize("name", sorted(CLOSINGS))
def test_agencies_closing_lines_are_trailers(name: str) -> None:
    opening, last, closing = CLOSINGS[name]
    story = parse_story(f"Headline of the story\n\n{opening}\n\n{last}\n".encode(), f"test://{name}")
    assert closing in [entry.text for entry in story.removed if entry.kind == "trailer"]
    assert closing not in story.body and story.body.rstrip().endswith(".")


@pytest.mark.parametrize(
    "last",
    ["The decision was taken at a meeting of the Cabinet.", "Enditem prices rose.", "AFP said it would appeal."],
)
def test_a_last_sentence_naming_an_agency_is_no_closing_line(last: str) -> None:
    story = parse_story(f"Headline\n\nPARIS (AFP) - The strike ended on Monday.\n\n{last}\n".encode(), "test://last")
    assert story.paragraphs[-1] == last


@pytest.mark.parametrize(
    ("closing", "reporters", "editors"),
    [
        # Reuters' German service: its reporters, its editors, then where to write to.
        (
            "(Bericht von Frank Siebelt, redigiert von Ralf Banser; Bei Rückfragen wenden Sie sich bitte an unsere "
            "Redaktion unter berlin.newsroom@thomsonreuters.com (für Politik und Konjunktur).)",
            ["Frank Siebelt"],
            ["Ralf Banser"],
        ),
        # Reuters' service in Spain, and the Latin American one's credit with a comma.
        ("(Información de Ana Gil; editado en español por Benjamín Mejías)", ["Ana Gil"], ["Benjamín Mejías"]),
        ("(Reporte de Balazs Koranyi, editado por Juan Ruiz)", ["Balazs Koranyi"], ["Juan Ruiz"]),
    ],
)
def test_reuters_credit_lines_in_its_services_languages(closing: str, reporters: list[str], editors: list[str]) -> None:
    text = f"Headline\n\nFRANKFURT (Reuters) - The central bank held its rates on Thursday.\n\n{closing}\n"
    story = parse_story(text.encode(), "test://credit")
    assert (story.byline, story.editors) == (reporters, editors)
    assert story.paragraphs == ["The central bank held its rates on Thursday."]


def test_an_author_label_names_the_reporter_above_or_below_the_text() -> None:
    # PAP prints "autor:" after the text, with its tag; a page may print "Author:" above it.
    below = "Warszawa (PAP) - Rada pozostawiła stopy bez zmian.\n\nAutor: Jan Kowalski (PAP)\n\nkw/ mhr/"
    above = "Author: Jane Smith\n\nLONDON (Reuters) - The economy grew 0.1% in the third quarter, data showed."
    for text, reporter in ((below, "Jan Kowalski"), (above, "Jane Smith")):
        story = parse_story(f"Headline\n\n{text}\n".encode(), "test://author")
        assert story.byline == [reporter]
        assert "Autor" not in story.body and "Author" not in story.body
    # A sentence about an author is not a label.
    story = parse_story(
        b"Headline\n\nPARIS (AFP) - The prize went to a young writer.\n\nAuthor: a list of her books follows.\n", "t"
    )
    assert story.byline == [] and story.paragraphs[-1] == "Author: a list of her books follows."


def test_an_editor_line_after_the_text_is_the_story_s_editor_not_a_note_to_editors() -> None:
    # A short story's closing "Editor: Zhang Wei" was read as the note to editors that heads
    # AP's copy ("Eds: UPDATES with ..."), which still is one above the text.
    closing = (
        "BEIJING, Nov. 7 (Xinhua) -- China's exports rose 12.7 percent in October, data showed.\n\nEditor: Zhang Wei"
    )
    story = parse_story(f"China's exports rise\n\n{closing}\n".encode(), "test://editor")
    assert (story.editors, story.ednote) == (["Zhang Wei"], None)
    heading = (
        "Eds: UPDATES with union vote.\n\nCALAIS, France (AP) _ Ferry workers voted to end the strike on Wednesday."
    )
    story = parse_story(f"Ferry workers end strike\n\n{heading}\n".encode(), "test://eds")
    assert (story.editors, story.ednote) == ([], "UPDATES with union vote.")


@pytest.mark.parametrize(
    ("closing", "field", "value"),
    [
        # Yonhap's Korean copy: the reporter's address, then the copyright notice.
        ("예산안은 국회에 제출될 예정이다.\n\nab@yna.co.kr\n\n<저작권자(c) 연합뉴스, 무단 전재 금지>", "copyright",
         "<저작권자(c) 연합뉴스, 무단 전재 금지>"),
        # China News Service's end mark glued to the last sentence, then its editor in brackets.
        ("进口下降2.3%。（完）\n\n【编辑:张三】", "editors", ["张三"]),
        # Xinhua's Chinese copy's end mark alone.
        ("进口下降2.3%。\n\n（完）", "editors", []),
    ],
)  # fmt: skip
def test_closings_of_korean_and_chinese_copy(closing: str, field: str, value: object) -> None:
    opening = "新华社北京11月7日电（记者张三）海关总署7日发布数据，10月出口同比增长12.7%。"
    if "연합뉴스" in closing:
        opening = "(서울=연합뉴스) 김철수 기자 = 정부는 12일 국무회의를 열어 내년도 예산안을 확정했다."
    story = parse_story(f"标题\n\n{opening}\n\n{closing}\n".encode(), "test://cjk")
    assert getattr(story, field) == value
    assert story.body.endswith(("。", "다.")) and "완" not in story.body and "完" not in story.body


@pytest.mark.parametrize(
    ("line", "kind", "names"),
    [
        ("Jane Smith, The Canadian Press", "byline", ["Jane Smith"]),
        ("Jane Smith and John Doe, The Canadian Press", "byline", ["Jane Smith", "John Doe"]),
        ("Marie-Ève Tremblay, La Presse Canadienne", "byline", ["Marie-Ève Tremblay"]),
        ("This report by The Canadian Press was first published Nov. 29, 2026.", "trailer", []),
        ("Ce texte de La Presse Canadienne a été publié pour la première fois le 29 novembre 2026.", "trailer", []),
    ],
)
def test_the_canadian_press_s_by_line_and_closing_line_are_lifted(line: str, kind: str, names: list[str]) -> None:
    text = f"Ottawa unveils plan\n\n{line if kind == 'byline' else ''}\n\n"
    text += "OTTAWA — The federal government said Sunday it would cut the deficit in half within five years.\n\n"
    text += "Finance Minister John Doe said the plan would rely on spending restraint rather than new taxes.\n"
    if kind == "trailer":
        text += f"\n{line}\n"
    story = parse_story(text.encode(), "wire/cp.txt")
    assert (story.agency, story.dateline, story.byline) == ("cp", "OTTAWA", names)
    assert (kind, line) in [(r.kind, r.text) for r in story.removed]
    assert line not in story.body


def test_a_city_and_the_wire_s_name_is_no_by_line() -> None:
    text = b"Ottawa unveils plan\n\nOttawa, The Canadian Press\n\nThe government said it would cut the deficit.\n"
    assert parse_story(text, "wire/cp.txt").byline == []


@pytest.mark.parametrize(
    ("tail", "kind"),
    [
        ("___\n\nThis story has been corrected to show that the plan covers five years, not four.", "update_note"),
        ("___\n\nThis version corrects the name of the finance minister.", "update_note"),
        ("More stories like this are available on bloomberg.com", "trailer"),
        (
            "___\n\nAssociated Press religion coverage receives support through the AP’s collaboration with The "
            "Conversation US, with funding from Lilly Endowment Inc. The AP is solely responsible for this content.",
            "trailer",
        ),
    ],
)
def test_notes_closing_the_copy_leave_the_body(tail: str, kind: str) -> None:
    text = (
        "Government unveils plan to cut deficit\n\nWASHINGTON (AP) — The government said Sunday it would cut the "
        "deficit in half within five years, officials said.\n\nFinance officials said the plan would rely on "
        f"spending restraint.\n\n{tail}\n"
    )
    story = parse_story(text.encode(), "wire/ap.txt")
    assert story.paragraphs[-1] == "Finance officials said the plan would rely on spending restraint."
    assert (kind, tail.split("\n")[-1]) in [(r.kind, r.text) for r in story.removed]


def test_a_last_paragraph_about_the_story_is_kept_unless_it_notes_a_correction() -> None:
    text = (
        b"Flood waters rise\n\nPARIS (AFP) - Rivers rose across France on Sunday, officials said.\n\n"
        b"This story is developing and will be updated as more information becomes available.\n"
    )
    assert parse_story(text, "wire/afp.txt").paragraphs[-1].startswith("This story is developing")


def test_a_syndicated_list_heading_is_no_body_text() -> None:
    text = (
        b"Government Unveils Plan to Cut Deficit\n\n(Bloomberg) -- The government said Sunday it would cut the "
        b"deficit in half, officials said.\n\nMost Read from Bloomberg\n\nFinance officials said the plan would rely "
        b"on spending restraint.\n"
    )
    story = parse_story(text, "wire/bloomberg.txt")
    assert "Most Read from Bloomberg" not in story.body
    assert ("related_links", "Most Read from Bloomberg") in [(r.kind, r.text) for r in story.removed]


def test_dpa_s_story_id_and_ansa_s_notice_close_the_copy_outside_the_body() -> None:
    dpa = (
        "Regierung stellt Sparplan vor\n\nBerlin (dpa) - Die Bundesregierung will das Defizit halbieren, teilten "
        "Regierungskreise am Sonntag mit.\n\nDer Plan setze auf Ausgabendisziplin, hieß es.\n\n"
        "dpa:261129-930-123456/2\n"
    )
    story = parse_story(dpa.encode(), "wire/dpa.txt")
    assert story.paragraphs[-1] == "Der Plan setze auf Ausgabendisziplin, hieß es."
    assert ("trailer", "dpa:261129-930-123456/2") in [(r.kind, r.text) for r in story.removed]
    ansa = (
        "Il governo presenta il piano\n\n(ANSA) - ROMA, 29 NOV - Il governo ha annunciato domenica di voler "
        "dimezzare il deficit.\n\nIl piano si baserà sul contenimento della spesa. (ANSA).\n\n"
        "RIPRODUZIONE RISERVATA © Copyright ANSA\n"
    )
    story = parse_story(ansa.encode(), "wire/ansa.txt")
    assert story.paragraphs[-1] == "Il piano si baserà sul contenimento della spesa."  # its sign-off cut too
    assert story.copyright == "RIPRODUZIONE RISERVATA © Copyright ANSA"


@pytest.mark.parametrize(
    ("lead", "agency", "dateline"),
    [
        ("MOSCOW. Nov 29 (Interfax) -", "interfax", "MOSCOW"),  # a stop between city and date
        ("MOSCOW. 29 November (Interfax) -", "interfax", "MOSCOW"),
        ("ST. LOUIS, Nov. 29 (AP) —", "ap", "ST. LOUIS"),  # a stop inside the city stays
        ("SYDNEY, Nov 29 AAP -", "aap", "SYDNEY"),  # AAP's older copy: no parentheses
    ],
)
def test_datelines_of_interfax_and_aap_s_older_copy(lead: str, agency: str, dateline: str) -> None:
    text = (
        f"Government unveils plan to cut deficit\n\n{lead} The government said on Sunday it would cut the deficit "
        "in half within five years.\n\nA second paragraph follows with more detail about the plan.\n"
    )
    story = parse_story(text.encode(), "wire/x.txt")
    assert (story.agency, story.dateline) == (agency, dateline)
    assert story.paragraphs[0].startswith("The government said")
