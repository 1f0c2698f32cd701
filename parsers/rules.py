"""Boilerplate, wire-tag and trailer rules, kept as data.

Each table holds named rules with an example the tests check the rule against.
A rule's ``kind`` is the name that appears in the record's ``removed`` column, so
a new site quirk is a new row here, not a new branch in the parsers.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """A named pattern. ``kind`` is what ``removed`` records; ``example`` must match."""

    kind: str
    name: str
    pattern: re.Pattern[str]
    example: str
    #: For a pattern that reads a whole sentence before it can fail: what every match ends
    #: with, searched in the text's last TAIL_WINDOW characters first (`wire.may_be_credit`).
    tail: re.Pattern[str] | None = None


#: How far from a text's end a rule's ``tail`` is looked for.
TAIL_WINDOW = 40


def _rule(kind: str, name: str, pattern: str, example: str, flags: int = re.IGNORECASE, tail: str = "") -> Rule:
    return Rule(kind, name, re.compile(pattern, flags), example, re.compile(tail, flags) if tail else None)


# --- Dates datelines print (parsers.fingerprint.story_day) -------------------------------
#: Month names and abbreviations datelines use, January to December (English, French,
#: German, Spanish, Italian, Portuguese, Dutch, Russian in the genitive datelines print;
#: case-folded): "NEW YORK, Oct 20 -", "PARIS, 21 oct (AFP) -", "Madrid, 18 jun (EFE).-",
#: "МОСКВА, 12 ноября. /ТАСС/.". One template's reports on two days are told apart by these
#: dates.
DATELINE_MONTHS: tuple[str, ...] = (
    "jan january janv janvier januar enero ene gennaio gen janeiro januari января янв",
    "feb february fev fevr fevrier février februar febrero febbraio fevereiro februari февраля фев",
    "mar march mars märz marz marzo março maart марта мар",
    "apr april avr avril abril aprile апреля апр",
    "may mai mayo maggio maio mei мая",
    "jun june juin juni junio giugno giu junho июня июн",
    "jul july juil juillet juli julio luglio lug julho июля июл",
    "aug august aout août agosto ago augustus августа авг",
    "sep sept september septembre settembre set setembro septiembre сентября сен",
    "oct october octobre oktober octubre ottobre ott outubro okt октября окт",
    "nov november novembre noviembre novembro ноября ноя",
    "dec december decembre décembre dezember diciembre dic dicembre dezembro декабря дек",
)


# --- Whole lines (or whole HTML blocks) that are never story text --------------------
# Matched against a line stripped of surrounding whitespace; the pattern must cover it all.
LINE_RULES: tuple[Rule, ...] = (
    _rule(
        "advertisement",
        "advertisement",
        r"advert(?:isement)?|\[?\s*ad\s*\]?|anzeige|publicité|reklama|publicidad|pubblicità",
        "ADVERTISEMENT",
    ),
    _rule("advertisement", "skip_advertisement", r"skip advertisement", "Skip Advertisement"),
    # The credit line of a graphic left out of the copy.
    _rule("caption", "graphics_credit", r"(?:reuters|ap|afp|bloomberg) graphics?", "Reuters Graphics"),
    # The title line under an AP by-line ("By JANE ROE" / "Associated Press Writer").
    _rule(
        "byline",
        "ap_writer_title",
        r"(?:the )?associated press (?:[\w-]+ ){0,3}(?:writer|correspondent|reporter|editor)",
        "Associated Press Writer",
    ),
    # The filler line a wire puts under a flash or brief that has no body of its own.
    _rule("boilerplate", "brief_filler", r"blah(?: blah){1,4}\.?", "Blah blah blah."),
    # A page's reading-time estimate, alone on its line: "4 Min Read", "Reading time: 5
    # minutes", "Tempo de leitura: 1 minuto", "Lesezeit: 3 Minuten" (a number of minutes
    # and the label, in the languages of the evaluation pages and their neighbours).
    _rule(
        "metadata",
        "reading_time",
        r"(?:(?:estimated )?read(?:ing)? time|tempo de leitura|tiempo de lectura|temps de lecture|lesezeit"
        r"|tempo di lettura|leestijd)\s*[:：]?\s*(?:about |ca\.? |~\s*)?\d{1,3}\s*(?:min(?:ute)?s?|minutos?|minuti"
        r"|minuten|minuut)\.?"
        r"|\d{1,3}\s*(?:-\s*)?min(?:ute)?s?\.?\s+(?:read|de leitura|de lectura|de lecture|di lettura|lesezeit)",
        "Tempo de leitura: 1 minuto",
    ),
    # A date written out in words, alone on its line, in a language parse_datetime does
    # not read ("segunda-feira, 22 de janeiro de 2018 às 0:13", "Montag, 3. März 2019"):
    # the page's stamp. A leading word needs its comma (a weekday), so "Born 22 May 1950"
    # stays.
    _rule(
        "metadata",
        "written_date_line",
        r"(?:[^\W\d_]+(?:-[^\W\d_]+)?,\s+)?\d{1,2}\.?\s+(?:de\s+)?(?:"
        + "|".join(sorted({name for names in DATELINE_MONTHS for name in names.split()}, key=len, reverse=True))
        + r")\.?,?\s+(?:de\s+)?\d{4}(?:,?\s+(?:às|as|a las|à|um|at|alle|-|–)?\s*\d{1,2}[:h]\d{2}"
        r"(?:\s*(?:h|uhr|[ap]\.?m\.?))?)?\.?",
        "segunda-feira, 22 de janeiro de 2018 às 0:13",
    ),
    # A page's update or publication time with no date, alone on its line: "Updated at
    # 1:23 p.m.", "Aktualisiert um 13:23 Uhr", "Mis à jour à 13h23" (a date line with a
    # date is parsed into published_at instead; this one has nothing to parse).
    _rule(
        "metadata",
        "time_only_stamp",
        r"(?:last )?(?:updated|published|posted|aktualisiert|veröffentlicht|mis à jour|publié|actualizado"
        r"|publicado|atualizado|aggiornato|pubblicato)(?: at| on| um| à| a las| às| alle)?\s*:?\s*"
        r"\d{1,2}(?:[:.h]\d{2})\s*(?:[ap]\.?\s?m\.?|uhr|h)?(?:\s*\(?[a-z]{2,4}\)?)?\.?",
        "Updated at 1:23 p.m.",
    ),
    # A short line that opens with a numeric date and a separator is a page's meta line
    # ("05/10/2018 - Publicado por: ... - Categoria: ..."), in any language.
    _rule(
        "metadata",
        "dated_meta_line",
        r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}(?:,?\s+(?:às\s+|um\s+|at\s+)?\d{1,2}[:h]\d{2})?\s*[-|·•–—]\s.{0,150}",
        "05/10/2018 - Publicado por: Clarissa Borba - Categoria: Saúde",
    ),
    _rule(
        "advertisement",
        "continues_below_ad",
        r"(story|article|content) continues (below|after) (this )?(advertisement|ad)",
        "Story continues below advertisement",
    ),
    _rule(
        "advertisement", "continue_reading", r"continue reading (the )?(main )?story", "Continue reading the main story"
    ),
    _rule(
        "advertisement",
        "sponsored",
        r"sponsored( content| links?)?|paid (post|content)|promoted( content)?",
        "Sponsored content",
    ),
    _rule(
        "advertisement",
        "scroll_to_continue",
        r"scroll (down )?to continue( with content| reading)?",
        "Scroll to continue with content",
    ),
    _rule(
        "advertisement",
        "article_continues",
        r"(the )?article continues (below|after (the )?(ad|advertisement))",
        "Article continues below",
    ),
    _rule("navigation", "skip_to_content", r"skip to (main )?(content|navigation|search)", "Skip to main content"),
    _rule("navigation", "back_to_top", r"back to top|go to top|top of page", "Back to top"),
    _rule(
        "navigation",
        "menu_words",
        r"(main )?menu|search|home|close|sections|log ?in|sign ?in|subscribe( now)?|register",
        "Subscribe",
    ),
    _rule("navigation", "breadcrumb", r"home\s*[>›»/|]\s*.{1,80}", "Home > World > Middle East"),
    _rule(
        "share_widget",
        "share_words",
        r"(share|tweet|email|print|copy link|pin|whatsapp|facebook|twitter|linkedin|reddit|x)(\s*[|·•/]\s*(share|tweet|email|print|copy link|pin|whatsapp|facebook|twitter|linkedin|reddit|x))*",
        "Share | Tweet | Email",
    ),
    _rule(
        "share_widget",
        "share_this",
        r"share (this|the) (article|story|page)( on .{1,30})?|share on (facebook|twitter|x|linkedin|whatsapp)",
        "Share this article",
    ),
    _rule(
        "share_widget",
        "comments_count",
        r"\d+\s+comments?|comments?( \(\d+\))?|view comments|add a comment|leave a comment",
        "View comments",
    ),
    _rule(
        "newsletter",
        "newsletter_prompt",
        r"(sign up|subscribe) (for|to) (our|the|a)? ?.{0,40}newsletter.{0,80}|get (the|our) .{0,40}newsletter.{0,80}",
        "Sign up for our daily newsletter",
    ),
    _rule(
        "newsletter",
        "follow_us",
        r"follow (us|@?\w+) on (twitter|x|facebook|instagram|linkedin|telegram|google news).{0,60}",
        "Follow us on Twitter",
    ),
    _rule(
        "related_links",
        "read_more",
        r"(read|see) (more|also)\s*:?.{0,200}|related( (coverage|stories|articles|content|topics|reading))?\s*:?.{0,200}|more from .{1,60}|recommended( for you| stories)?\s*:?"
        # A syndicated list's heading left in the copy: "Most Read from Bloomberg" (thirty-fifth session).
        r"|most (?:read|popular|viewed)(?: (?:from|on|at) [\w &'’-]{2,40})?",
        "Read more: Turkey's lira slides",
    ),
    _rule("related_links", "click_here", r"click here (to|for) .{1,120}", "Click here to read the full report"),
    _rule(
        "boilerplate",
        "photo_credit",
        r"(photo|image|picture|file photo|video)\s*(credit)?\s*:\s*.{1,120}|\((photo|image)s?:? [^)]{1,80}\)|(ap|afp|reuters|getty images|bloomberg)( photo)?/[\w .'-]{1,60}",
        "Photo: AP/Jane Doe",
    ),
    _rule("boilerplate", "separator", r"[-_=*~#•·]{3,}", "___"),
    _rule(
        "trailer",
        "reuters_update_note",
        r"\((?:adds|updates|recasts|changes|corrects|rewrites|fixes|removes|inserts|refiles|repeats|writes through|new throughout)\b[^()]{0,200}\)",
        "(Adds details on timing)",
    ),
    # AP's house trailers after the closing "___": a pointer to the topic's coverage page,
    # a section's links, and where to reach the reporters.
    _rule(
        "trailer",
        "ap_coverage",
        r"(?:follow|read|see|find) (?:more of )?ap['’]?s (?:full |complete |latest |ongoing )?coverage (?:of|on) .{1,200}",
        "Follow AP's full coverage of Brexit and British politics at https://www.apnews.com/Brexit",
    ),
    _rule(
        "trailer",
        "ap_more_links",
        r"more ap [\w .&'’-]{1,40}:\s*\S.{0,240}",
        "More AP NBA: https://apnews.com/NBA and https://twitter.com/AP_Sports",
    ),
    _rule(
        "trailer",
        "ap_reach_reporter",
        r"(?:reach|follow) (?:the )?(?:reporters?|writers?|[\w.'’-]+(?: [\w.'’-]+){0,3}) on (?:twitter|x) at .{1,240}",
        "Reach the reporters on Twitter at http://twitter.com/MegKinnardAP and http://twitter.com/emarvelous",
    ),
    # Press-release wires' closing lines: PR Newswire's "SOURCE Acme Corp." (in capitals)
    # and both wires' pointer to the release on their site.
    _rule("trailer", "release_source", r"S(?-i:OURCE) [^\n]{2,100}", "SOURCE Acme Corp."),
    _rule(
        "trailer",
        "release_original",
        r"view (?:original content|source version)(?: to download multimedia)?(?: on [\w.]+)?\s*:\s*\S{8,300}",
        "View original content:https://www.prnewswire.com/news-releases/acme-reports-301234567.html",
    ),
)

# --- Agency tags: "(Bloomberg) --", "(Reuters) -", "(AP) —", "(AFP) -" ---------------------
# (agency, the tag text inside parentheses, as a regex). The dateline may precede it.
AGENCY_TAGS: tuple[tuple[str, str, str], ...] = (
    ("bloomberg", r"Bloomberg(?: News)?", "ANKARA (Bloomberg) -- Turkey wants"),
    # Reuters' desks write the tag in their language's script: Russian, Arabic, Hebrew.
    ("reuters", r"Reuters?|Рейтер|رويترز|רויטרס", "LONDON, Oct 3 (Reuters) - Oil rose"),
    ("ap", r"AP|Associated Press|أ ب", "NEW YORK (AP) — Stocks fell"),
    ("afp", r"AFP|Agence France-Presse|[أا] ف ب|АФП", "PARIS (AFP) - France said"),
    ("dpa", r"dpa", "BERLIN (dpa) - Germany"),
    ("dpa_afx", r"dpa-AFX", "FRANKFURT (dpa-AFX) - Der deutsche Aktienmarkt"),
    ("upi", r"UPI", "WASHINGTON (UPI) -- The"),
    ("xinhua", r"Xinhua|Синьхуа", "BEIJING, May 3 (Xinhua) -- China"),
    ("efe", r"EFE", "Madrid, 12 nov (EFE).- El Gobierno español aprobó"),
    ("ansa", r"ANSA", "ROME (ANSA) - Italy"),
    ("kyodo", r"Kyodo", "TOKYO (Kyodo) -- Japan"),
    ("pa", r"PA(?: Media)?", "LONDON (PA) - Britain"),
    ("cp", r"CP|The Canadian Press", "OTTAWA (CP) - Canada"),
    # National agencies whose copy comes the same way: "CITY[, date] (TAG) - text".
    ("tass", r"TASS|ТАСС", "МОСКВА, 25 октября (ТАСС) - Банк России сохранил"),
    ("interfax", r"Interfax|Интерфакс", "МОСКВА, 25 октября (Интерфакс) - Банк России"),
    ("ria", r"RIA Novosti|РИА Новости", "МОСКВА, 25 окт (РИА Новости) - Банк России"),
    ("pap", r"PAP", "WARSZAWA (PAP) - Rada Polityki Pieniężnej"),
    ("ctk", r"ČTK|CTK", "PRAHA (ČTK) - Česká národní banka"),
    ("mti", r"MTI", "BUDAPEST (MTI) - A Magyar Nemzeti Bank"),
    ("apa", r"APA", "WIEN (APA) - Die Regierung"),
    ("belga", r"Belga|BELGA", "BRUSSEL (BELGA) - De regering"),
    ("anp", r"ANP", "DEN HAAG (ANP) - Het kabinet"),
    ("lusa", r"Lusa", "LISBOA, 6 nov (Lusa) - O Governo"),
    ("europapress", r"EUROPA PRESS|Europa Press", "MADRID, 6 (EUROPA PRESS) - El Gobierno"),
    ("anadolu", r"AA|Anadolu Agency", "ANKARA (AA) - Türkiye Cumhuriyet Merkez Bankası"),
    ("yonhap", r"Yonhap", "SEOUL, Nov. 21 (Yonhap) -- South Korea's"),
    ("pti", r"PTI", "New Delhi, Nov 21 (PTI) The Centre on Thursday said"),
    ("ani", r"ANI", "New Delhi [India], Nov 21 (ANI): The Centre on Thursday said"),
    ("ians", r"IANS", "New Delhi, Nov 21 (IANS) The government"),
    ("bernama", r"Bernama", "KUALA LUMPUR, Nov 21 (Bernama) -- Malaysia's"),
    ("agenciabrasil", r"Agência Brasil", "Brasília, 12/11/2024 (Agência Brasil) - O governo"),
    ("aap", r"AAP", "SYDNEY (AAP) - The Reserve Bank"),
    # The Nordic wires ("Oslo (NTB): text", "STOCKHOLM (TT) text") and the Greek one.
    ("ntb", r"NTB", "Oslo (NTB): Norges Bank holder renten"),
    ("tt", r"TT", "STOCKHOLM (TT) Riksbanken sänker räntan"),
    ("ritzau", r"Ritzau", "København (Ritzau): Nationalbanken sænker renten"),
    ("stt", r"STT", "HELSINKI (STT) Suomen Pankin mukaan"),
    ("anampa", r"ΑΠΕ-ΜΠΕ|ΑΠΕ|ANA-MPA", "ΦΡΑΓΚΦΟΥΡΤΗ (ΑΠΕ-ΜΠΕ) - Η Ευρωπαϊκή Κεντρική Τράπεζα"),
    # Swiss and Austrian wires, and news aktuell's press releases ("ots": original text service).
    ("sda", r"sda|SDA|Keystone-SDA", "Bern (sda) - Der Bundesrat hat"),
    ("awp", r"awp|AWP", "Zürich (awp) - Der Schweizer Aktienmarkt"),
    ("ots", r"ots|OTS|APA-OTS", "Berlin (ots) - Die Firma hat"),
    ("antara", r"ANTARA|Antara", "Jakarta (ANTARA) - Bank Indonesia mempertahankan"),
    # (thirty-third session) More national agencies whose copy opens "CITY, date (TAG) -":
    # the Balkans' and Belarus', Latin America's, the Arab world's, Viet Nam's.
    ("bta", r"BTA", "Sofia, November 12 (BTA) - The government approved"),
    ("hina", r"Hina|HINA", "ZAGREB, Nov 12 (Hina) - The government said"),
    ("sta", r"STA", "Ljubljana, 12 November (STA) - The government said"),
    ("tanjug", r"Tanjug|TANJUG", "BELGRADE, Nov 12 (Tanjug) - The government said"),
    ("belta", r"BelTA|BELTA", "MINSK, 12 November (BelTA) - The government said"),
    ("notimex", r"Notimex|NOTIMEX", "MÉXICO, 12 nov (Notimex) - El gobierno anunció"),
    ("telam", r"Télam|TELAM", "BUENOS AIRES, 12 nov (Télam) - El gobierno anunció"),
    ("prensalatina", r"Prensa Latina|PL", "La Habana, 12 nov (Prensa Latina) - El gobierno anunció"),
    ("wam", r"WAM", "ABU DHABI, 12th November, 2024 (WAM) -- The UAE announced"),
    ("kuna", r"KUNA", "KUWAIT, Nov 12 (KUNA) -- Kuwait announced"),
    ("qna", r"QNA", "Doha, November 12 (QNA) - Qatar announced"),
    ("mena", r"MENA", "CAIRO, Nov 12 (MENA) - Egypt announced"),
    ("map", r"MAP", "Rabat, 12/11/2024 (MAP) - Morocco announced"),
    ("tap", r"TAP", "TUNIS, Nov. 12 (TAP) - Tunisia announced"),
    ("aps", r"APS", "ALGIERS, Nov. 12 (APS) - Algeria announced"),
    ("vna", r"VNA", "Hanoi (VNA) - Viet Nam announced"),
    # (thirty-fourth session) Agencies whose tag the shape alone does not lift (`parsers.wire.
    # lift_unknown_agency_tag` asks a city in capitals or a date, a capital in the name, a
    # dash), or whose name it would spell otherwise than their other datelines do.
    ("jiji", r"Jiji(?: Press)?", "TOKYO, Nov. 12 (Jiji Press) -- Japan's government approved"),
    ("cna", r"CNA|Central News Agency", "Taipei, Nov. 12 (CNA) Taiwan's government said"),
    ("app", r"APP", "ISLAMABAD, Nov 12 (APP): Pakistan announced"),
    ("dts", r"dts(?: Nachrichtenagentur)?", "Berlin (dts Nachrichtenagentur) - Die Bundesregierung hat"),
    ("agi", r"AGI", "(AGI) - Roma, 12 nov. - Il governo ha approvato"),
    ("askanews", r"askanews|Askanews", "Roma, 12 nov. (askanews) - Il governo ha approvato"),
    # Press-release wires, which every wire feed carries.
    ("globenewswire", r"GLOBE NEWSWIRE|Globe Newswire", "TORONTO, Nov. 12, 2024 (GLOBE NEWSWIRE) -- Acme Ltd. said"),
    ("accesswire", r"ACCESSWIRE|ACCESS Newswire", "BOSTON, MA / ACCESSWIRE / November 12, 2024 / Acme Inc. said"),
)
_DASH = r"(?:--|—|–|-|:|_|/)"  # old AP copy: "WASHINGTON (AP) _ text"; ACCESSWIRE's "/"
# Optional dateline: a city in capitals (Latin, Cyrillic or Greek), or in a script without
# case (Arabic, Hebrew), several joined by "/" (dpa's and AFP's "Berlin/Paris"), then
# optional ", Country/Mon DD" parts. After the tag: a dash (EFE's ".-"), or none before
# the text's capitalised word after a dateline with its date (PTI's and IANS's "New Delhi,
# Nov 21 (PTI) The Centre"; `parsers.wire.lift_agency_tag` asks for the comma). ANI writes
# the country in brackets after the city ("New Delhi [India], Nov 21 (ANI):").
_DATELINE = (
    r"(?P<dateline>[A-ZÀ-ÝА-ЯЁΑ-ΩΆ-Ώ\u0621-\u064a\u05d0-\u05ea][\w.'’/\- ]{1,40}?(?: ?\[[^\[\]()\n]{1,30}\])?"
    r"(?:,\s*[^()\n]{1,40}?)?)\s*"
)

#: Other agencies credited in the same tag after a slash, the story's agency the first:
#: "Berlin (dpa/AFP) -", "PARIS (AFP/Reuters) -" (European papers' copy of two wires).
CO_TAGS = r"(?:\s*/\s*[^\W\d_][\w.\-]{0,20}){0,3}"

#: Each agency's tag pattern, as text (`agency_tag_pattern` compiles one when a tag names its
#: agency): compiling them all at import (42 then) cost every process ~24 ms of its start (a
#: third of the rules' import), and a process meets a few agencies.
AGENCY_TAG_SOURCES: tuple[tuple[str, str], ...] = tuple(
    (
        agency,
        rf"^(?:{_DATELINE})?\(\s*(?P<tag>{tag}){CO_TAGS}\s*\)(?:(?P<dash>\.?\s*{_DASH})\s*|(?(dateline)(?:\s+(?=[A-Z][a-z]|[\"“‘]\w)|\s*$)|(?!)))",
    )
    for agency, tag, _example in AGENCY_TAGS
)


@functools.cache
def agency_tag_pattern(index: int) -> tuple[str, re.Pattern[str]]:
    """``(agency, compiled tag pattern)`` of ``AGENCY_TAGS[index]``, compiled on first use."""
    agency, source = AGENCY_TAG_SOURCES[index]
    return agency, re.compile(source)


#: A word of a name: letters, maybe joined by "." "&" "'" "-" ("AT&T", "Agence-Presse"), maybe
#: an abbreviation's last ".". Each joiner must be followed by letters: no two ways to read one.
_NAME_WORD = r"[^\W\d_]+(?:[.&'’-][^\W\d_]+)*\.?"
#: An agency this table does not know, by the shape every wire gives its tag: a dateline,
#: the source's name in parentheses (one to four words of letters, one a capital: "IRNA",
#: "Alliance News", a station's "KGO"), a dash, the text's first word
#: (`parsers.wire.lift_unknown_agency_tag` asks more of the dateline: a city in capitals or a date).
UNKNOWN_AGENCY_TAG_SOURCE = (
    rf"^{_DATELINE}\(\s*(?P<tag>{_NAME_WORD}(?: {_NAME_WORD}){{0,3}})\s*\)"
    r"\s*(?:--|—|–|-)\s*(?=[^\W\d_]|[\"“‘«„])"
)
#: Longest name read as an unknown agency's tag (the partition's name is made from it).
UNKNOWN_AGENCY_TAG_MAX = 32


@functools.cache
def unknown_agency_tag() -> re.Pattern[str]:
    """``UNKNOWN_AGENCY_TAG_SOURCE`` compiled, on first use."""
    return re.compile(UNKNOWN_AGENCY_TAG_SOURCE)


#: Datelines that print no "CITY (Agency) -": desks writing Chinese, Japanese and Korean,
#: Kyodo's English service, and the press-release wires (PR Newswire, Business Wire,
#: ACCESSWIRE):
#: (agency, pattern with a ``dateline`` group and maybe a ``reporters`` one, example). Xinhua's and China News Service's
#: "新华社北京11月7日电（记者 ...）", Reuters Chinese "路透北京11月7日 -", Kyodo's and Jiji's
#: "【東京共同】", Yonhap's, News1's and Newsis' "(서울=연합뉴스) 김철수 기자 =".
SCRIPT_DATELINE_SOURCES: tuple[tuple[str, str, str], ...] = tuple(
    (agency, pattern, example)
    for agency, pattern, example in (
        (
            "xinhua",
            r"^新华社(?P<dateline>[\u4e00-\u9fff]{1,8}?)\d{1,2}月\d{1,2}日电\s*(?:[（(](?:记者|通讯员)\s*(?P<reporters>[^）)]{1,40})[）)])?\s*",
            "新华社北京11月7日电（记者张三）海关总署7日发布数据",
        ),
        (
            "chinanews",
            r"^中新社(?P<dateline>[\u4e00-\u9fff]{1,8}?)\d{1,2}月\d{1,2}日电\s*(?:[（(]记者\s*(?P<reporters>[^）)]{1,40})[）)])?\s*",
            "中新社北京11月7日电 (记者 李四) 中国海关总署7日发布数据",
        ),
        (
            "reuters",
            r"^路透(?:社)?(?P<dateline>[\u4e00-\u9fff]{1,8}?)\d{1,2}月\d{1,2}日\s*[-－—]\s*",
            "路透北京11月7日 - 中国海关数据显示",
        ),
        ("kyodo", r"^【(?P<dateline>[^\s】]{1,12}?)共同】\s*", "【東京共同】日本銀行は31日、政策金利を据え置いた。"),
        (  # Taiwan's Central News Agency: the city alone, or run together with the reporters'
            # names ("記者張三台北"), where no rule can tell where the names end: none then.
            "cna",
            r"^[（(]中央社(?:記者[\u4e00-\u9fff、]{3,20}?|(?P<dateline>[\u4e00-\u9fff]{2,6}?))\d{1,2}日(?:專)?電[）)]\s*",
            "（中央社台北12日電）台積電今天公布10月營收。",
        ),
        (  # Reuters' Japanese desk, in full-width brackets, spaces and digits or not
            "reuters",
            r"^[［\[][\s　]*(?P<dateline>[^\s　\d０-９\]］]{1,12})[\s　]*[\d０-９]{1,2}日[\s　]*ロイター[\s　]*[］\]]"
            r"[\s　]*(?:[-－―—][\s　]*)?",
            "［東京　１２日　ロイター］ - 日銀は１２日、政策金利を据え置いた。",
        ),
        (  # PR Newswire (and its Canada Newswire, Asia, Hispanic services)
            "prnewswire",
            r"^(?P<dateline>[A-Z][\w.'’ -]{1,40}?),\s*[^/\n]{3,40}?\s*/(?:PRNewswire|CNW)(?:-[\w -]{1,30})?/\s*(?:--|-|—)\s*",
            "NEW YORK, Nov. 12, 2024 /PRNewswire/ -- Acme Corp. (NYSE: ACME) today announced",
        ),
        (
            "businesswire",
            r"^(?P<dateline>[A-Z][\w.'’ ,-]{1,40}?)\s*--\s*\(BUSINESS WIRE\)\s*--\s*",
            "SAN FRANCISCO--(BUSINESS WIRE)--Acme Inc. today announced",
        ),
        (
            "accesswire",
            r"^(?P<dateline>[A-Z][\w.'’ -]{1,40}?)(?:,\s*[A-Z]{2})?\s*/\s*(?:ACCESSWIRE|ACCESS Newswire)\s*/\s*[^/\n]{3,30}/\s*",
            "BOSTON, MA / ACCESSWIRE / November 12, 2024 / Acme Inc. announced",
        ),
        (  # TASS between slashes after the date, in Russian and English: "/ТАСС/.", "/TASS/."
            "tass",
            r"^(?P<dateline>[A-ZА-ЯЁ][\w.'’ -]{1,30}?),\s*(?:\d{1,2}\s+[^\W\d_]{3,10}|[^\W\d_]{3,10}\s+\d{1,2})\.?"
            r"\s*/(?:ТАСС|TASS)/\.?\s*",
            "МОСКВА, 12 ноября. /ТАСС/. Президент России провел переговоры",
        ),
        (  # Kyodo's English service prints its name without parentheses
            "kyodo",
            r"^(?P<dateline>[A-Z][A-Z .'-]{1,30}),\s*[A-Z][a-z]{2,4}\.?\s+\d{1,2}\s+Kyodo\s*(?:--|-|—)\s*",
            "TOKYO, Nov. 12 Kyodo - Japan's government approved",
        ),
        (  # and so does AAP's older copy (thirty-fifth session: the agency was unknown)
            "aap",
            r"^(?P<dateline>[A-Z][A-Z .'-]{1,30}),\s*[A-Z][a-z]{2,4}\.?\s+\d{1,2}\s+AAP\s*(?:--|-|—)\s*",
            "SYDNEY, Nov 29 AAP - Australian shares closed higher",
        ),
        (
            "jiji",
            r"^【(?P<dateline>[^\s】]{1,12}?)時事】\s*",
            "【ワシントン時事】米連邦準備制度理事会は利下げを決めた。",
        ),
        (
            "yonhap",
            r"^\((?P<dateline>[가-힣]{1,10})=연합뉴스\)\s*(?:(?P<reporters>[가-힣]{2,4}(?:·[가-힣]{2,4})*) ?(?:기자|특파원)\s*=\s*)?",
            "(서울=연합뉴스) 김철수 기자 = 한국은행 금융통화위원회는 기준금리를 동결했다.",
        ),
        (
            "news1",
            r"^\((?P<dateline>[가-힣]{1,10})=뉴스1\)\s*(?:(?P<reporters>[가-힣]{2,4}) ?기자\s*=\s*)?",
            "(서울=뉴스1) 이영희 기자 = 정부는 발표했다.",
        ),
        (
            "newsis",
            r"^\((?P<dateline>[가-힣]{1,10})=뉴시스\)\s*(?:(?P<reporters>[가-힣]{2,4}) ?기자\s*=\s*)?",
            "(서울=뉴시스) 박민수 기자 = 정부는 발표했다.",
        ),
    )
)


@functools.cache
def script_datelines() -> tuple[tuple[str, re.Pattern[str], str], ...]:
    """``SCRIPT_DATELINE_SOURCES`` compiled, on first use (~9 ms at import before: most
    processes never meet a paragraph that opens so)."""
    return tuple((agency, re.compile(pattern), example) for agency, pattern, example in SCRIPT_DATELINE_SOURCES)


#: First characters of a paragraph that may open one of them (and Kyodo's English one and
#: the press-release wires': a capital, with their name in the paragraph's head,
#: `SCRIPT_DATELINE_NAMES`).
SCRIPT_DATELINE_STARTS = frozenset("新中路【(［[（")
SCRIPT_DATELINE_NAMES = re.compile(
    r" Kyodo | AAP |/PRNewswire|/CNW/|\(BUSINESS WIRE\)|ACCESSWIRE|ACCESS Newswire|/ТАСС/|/TASS/"
)
#: The press-release wires: their releases close with sections no story has (`RELEASE_SECTION`).
PRESS_RELEASE_WIRES = frozenset({"prnewswire", "businesswire", "globenewswire", "accesswire"})
#: A closing section's heading in a release: the issuer's boilerplate, the legal notice,
#: the contacts. From it to the end (or the next one) is the release's furniture.
RELEASE_SECTION = re.compile(
    r"^(?:about (?!the author)(?:the )?(?-i:[A-Z][\w&'’.,-]*(?: (?:[A-Z0-9][\w&'’.,-]*|of|and|the|for|&))*)|forward[- ]looking statements?|(?:cautionary|safe harbou?r) (?:note|statement)[^.!?]{0,60}"
    r"|(?:media|press|investor|company)(?: relations)? contacts?|contacts?(?: information)?|for (?:more|further) information"
    r",?(?: contact| please contact)?)\s*:?$",
    re.IGNORECASE,
)
RELEASE_SECTION_EXAMPLE = "About Acme Corp."

#: A paragraph closing the copy that is no part of the story, too long for the trailer rules
#: (a line of 120 characters at most): the note AP adds to the coverage foundations fund
#: ("The Associated Press' climate coverage receives financial support from ... AP is solely
#: responsible for all content. Find AP's standards ... at AP.org."), and Anadolu's web
#: copy's notice of what subscribers get. Thirty-fifth session: each was the story's last
#: paragraph.
CLOSING_NOTE = re.compile(
    r"(?:the )?(?:associated press|ap)\b[^.]{0,200}?\breceives?\b.{0,300}?\.\s*(?:the )?ap is solely responsible for "
    r"(?:all|this|the) content\.?(?:\s+find ap[’']s standards\b[^.]{0,200}?\bat ap\.org\.?)?"
    r"|anadolu agency website contains only a portion of the news stories offered to subscribers\b[^.]{0,120}\."
    r"\s*please contact us for subscription options\.?",
    re.IGNORECASE,
)
#: Reuters' newsletter promotion between paragraphs of its web copy: a sentence, then "Sign
#: up here." (or that alone). Read only in paragraphs ending so (`PROMO_ENDS`): as a line
#: rule its open start was tried on every line.
NEWSLETTER_PROMO = re.compile(r"(?:[^.]{10,200}\.\s+)?sign up here\.?", re.IGNORECASE)
PROMO_ENDS = ("Sign up here.", "Sign up here", "sign up here.")
#: AP's note of a correction or an update closing the copy, a paragraph of its own after
#: "___" ("This story has been corrected to show ...", "This version corrects ..."): read only
#: as the last paragraph (`update_note`).
CORRECTION_NOTE = re.compile(
    r"this (?:story|article|version)(?: has been| was)? (?:corrected|updated|revised|corrects|updates)\b.{0,400}",
    re.IGNORECASE | re.DOTALL,
)
CLOSING_NOTE_MAX = 700
#: ANSA prints its tag first and the dateline after it, the day before the month in Italian
#: ("(ANSA) - ROMA, 12 NOV - Il governo") and after it in English ("(ANSA) - ROME, NOV 12 -
#: The government": the dateline stayed the body's first words until the thirty-fifth session).
DATELINE_AFTER_TAG = re.compile(
    r"(?P<dateline>[A-ZÀ-Ý](?:[A-ZÀ-Ý .'/-]{1,30}|[a-zà-ÿ]{2,20}(?: [A-ZÀ-Ý][a-zà-ÿ]{1,20}){0,2})),\s*"
    r"(?:\d{1,2}\s+[A-Za-zÀ-ÿ]{3,10}\.?|[A-Za-zÀ-ÿ]{3,10}\.?\s+\d{1,2})(?:,?\s+\d{4})?\s*(?:--|-|—|–)\s+"
)
#: A dateline holds no "(", so a tag can only open at a paragraph's first "(", and the
#: words there say whose tag it is (group ``a<i>``: agency_tag_pattern(i)): one pattern is
#: tried instead of twelve lazy dateline scans.
#: Every agency's tag, as one alternation (the closing lines' rules name an agency so).
_ANY_TAG = "|".join(tag for _, tag, _ in AGENCY_TAGS)
AGENCY_TAG_AT = re.compile(
    r"\(\s*(?:" + "|".join(f"(?P<a{i}>{tag})" for i, (_, tag, _) in enumerate(AGENCY_TAGS)) + r")" + CO_TAGS + r"\s*\)"
)

# Old Reuters: "WASHINGTON, Oct 3 - text", signed off with a "Reuter" line.
# A region may follow the city ("BEVERLY HILLS, Calif., Oct 20 -"); a table's dateline has
# nothing after its dash ("SAN FRANCISCO, Oct 20 -" then the figures, one per line).
# Real copy also has "Oct 20 -Qtr" (no space), "OCt 20" (a typo), "Oct 20, Reuter -", and
# "NEW YORK - " or "SAN JOSE, Calif., - " with no date at all (a city in capitals, maybe a
# region, then a capitalised word).
OLD_REUTERS_DATELINE = re.compile(
    r"^(?P<dateline>[A-Z][A-Za-z.'\- ]{1,40}?)(?:,\s*[A-Z][A-Za-z.]{1,14}(?: [A-Z][A-Za-z.]{1,14})?)?"
    r",\s*(?P<date>[A-Z][A-Za-z]{2,8}\.? \d{1,2})(?:,\s*Reuters?)?\s*-(?:\s*(?=\S)|\s*$)"
    r"|^(?P<city>[A-Z][A-Z.'\-]{1,20}(?: [A-Z][A-Z.'\-]{1,20}){0,2})"
    r"(?:,\s*[A-Z][A-Za-z.]{1,14}(?: [A-Z][A-Za-z.]{1,14})?,?)? - (?=[A-Z\"])"
)
OLD_REUTERS_DATELINE_EXAMPLE = "BEVERLY HILLS, Calif., Oct 20 - American Medical International said"
# Dateline without an agency tag: "ANKARA, Turkey —" or "NEW YORK —" (long dash only).
PLAIN_DATELINE = re.compile(r"^(?P<dateline>[A-Z][A-Z.'\- ]{1,40}?)(?:,\s*[A-Z][\w .]{1,30})?\s*(?:—|–|--)\s+")

# --- Trailers and lifted lines (matched against a whole paragraph) -------------------
CONTACT_LINE = re.compile(
    r"^(?:to contact the (?P<role>reporters?|editors?|authors?)(?: responsible)?(?: (?:on|for|of|about) this story)?\s*:"
    # Dow Jones Newswires': "Write to Jane Doe at jane.doe@wsj.com" (a reporter, by an address)
    r"|write to(?=[^\n]{3,300}@[\w-]+\.))\s*(?P<rest>.+)$",
    re.IGNORECASE | re.DOTALL,
)
CONTACT_LINE_EXAMPLE = "To contact the reporter on this story: Selcan Hacaoglu in Ankara at shacaoglu@bloomberg.net"

#: Lines that name people: (kind, name, pattern, example). Group ``reporters`` and/or ``editors``.
CREDIT_RULES: tuple[Rule, ...] = (
    _rule(
        "contributor_line",
        "bloomberg_assistance",
        r"^[-—–]{1,2}\s*with assistance from (?P<reporters>.+?)\.?$",
        "--With assistance from Jane Doe and John Roe.",
    ),
    _rule(
        "contributor_line",
        "reuters_reporting",
        r"^\((?P<inner>(?:additional )?(?:reporting|writing|editing|compiled)\b.+)\)$",
        "(Reporting by Jane Doe; Editing by John Roe)",
    ),
    _rule(
        "contributor_line",
        # Reuters' services in Spanish ("Reporte de", Spain's "Información de"), Portuguese,
        # French and German ("Bericht von X, redigiert von Y; Bei Rückfragen ...").
        "reuters_reporting_languages",
        r"^\((?P<inner>(?:(?:reporte|reportaje|reportagem|información)(?: adicional)? de|reportage(?: de)?|bericht von)"
        r"\s+(?-i:[A-ZÀ-Ý]).+)\)$",
        "(Reporte de Juana Pérez; Editado por Juan Ruiz)",
    ),
    _rule(
        "contributor_line",
        "reuters_reporting_bare",
        r"^(?P<inner>(?:additional )?(?:reporting|writing) by [^.;]{3,200}(?:;\s*(?:additional )?(?:reporting|writing|editing) by [^.;]{3,160})+)\.?$",
        "Reporting by Jane Doe in London; Editing by John Roe",
    ),
    _rule(
        "contributor_line",
        "ap_contributed",
        r"^(?:the )?(?:associated press|ap)(?: [\w-]+){0,2}? (?:writers?|reporters?|journalists?|correspondents?) (?P<reporters>.+?) contributed(?: to this (?:report|story))?\.?$",
        "Associated Press writer Jane Doe in Paris contributed to this report.",
    ),
    _rule(
        "contributor_line",
        "contributed_generic",
        r"^(?P<reporters>[A-Z][\w.,'’\- ]{1,150}?) contributed (?:to )?this (?:report|story)\.?$",
        "Jane Doe contributed to this report.",
        tail=r" contributed (?:to )?this (?:report|story)\.?$",  # the lazy names scan ~1 us a sentence
    ),
    _rule(
        "byline",
        "by_line",
        r"^by\s+(?P<reporters>[A-ZÀ-Ý][^\n]{1,120}?)(?:,?\s*(?:associated press|the associated press|ap|bloomberg(?: news)?|reuters|afp|agence france-presse"
        r"|pa(?: media)?|press association|(?:the )?canadian press|cp|aap|upi)\b(?: [\w ]{0,40})?)?\.?$",
        "By Jane Doe and John Roe, Associated Press",
    ),
    # A name, then its wire in parentheses, as AAP and PA sign ("Jane Smith (AAP)").
    _rule(
        "byline",
        "name_then_wire",
        r"^(?P<reporters>(?-i:[A-ZÀ-Ý][\w'’.-]+(?:\s+(?:[A-ZÀ-Ý][\w'’.-]+|de|van|von|da|le|la)){1,4}))\s*"
        r"\((?-i:AAP|AP|PA|CP|AFP|UPI|Reuters)\)\.?$",
        "Jane Smith (AAP)",
    ),
    # A name, a comma, the wire's full name, as The Canadian Press signs its copy ("Jane
    # Smith, The Canadian Press"; its French service "La Presse Canadienne"): capitalised
    # names only, two words at least, so "Ottawa, The Canadian Press" is no by-line.
    _rule(
        "byline",
        "name_comma_wire",
        r"^(?P<reporters>(?-i:[A-ZÀ-Ý][\w'’.-]+(?:\s+(?:[A-ZÀ-Ý][\w'’.-]+|de|van|von|da|le|la)){1,4})"
        r"(?:\s+(?:and|et)\s+(?-i:[A-ZÀ-Ý][\w'’.-]+(?:\s+(?:[A-ZÀ-Ý][\w'’.-]+|de|van|von|da|le|la)){1,4}))?),\s*"
        r"(?:the canadian press|la presse canadienne)\.?$",
        "Jane Smith, The Canadian Press",
        tail=r", (?:the canadian press|la presse canadienne)\.?$",  # its open start met every capital otherwise
    ),
    # The by-line word of other languages (rules.BYLINE_WORDS: "Par", "Von", "Por", "di",
    # "Door", "Av", "Af"), then only capitalised names (two words at least) and their
    # particles, to the line's end, an agency after a comma ("Von Anna Schmidt, dpa"):
    # "Par ailleurs, ..." and "Von Berlin aus ..." are sentences, "Di Maio" a name.
    _rule(
        "byline",
        "by_line_other_languages",
        r"^(?:par|von|por|di|door|av|af)\s+(?P<reporters>(?-i:[A-ZÀ-ÝŁŚŻ][\w'’.-]+)"
        r"(?:(?:\s+|\s*,\s*|\s+(?:et|und|y|e|en|og|och|and|&)\s+)"
        r"(?-i:[A-ZÀ-ÝŁŚŻ][\w'’.-]+|de|da|das|dos|del|della|di|du|van|von|der|den|le|la))+)"
        r"(?:\s*,\s*(?:dpa|afp|efe|ansa|lusa|apa|anp|belga|reuters|ap|sda|keystone-sda|tt|ntb|ritzau)\b[\w /-]{0,30})?\.?$",
        "Von Anna Schmidt und Jan Müller, dpa",
    ),
    # A by-line as a label, PAP's and ČTK's "autor: Jan Kowalski (PAP)" (and an "Author:" line):
    # capitalised names to the line's end, an agency's tag after them left out.
    _rule(
        "contributor_line",  # also after the text, where PAP prints it: a by-line is taken only above it
        "author_label",
        r"^(?:autor|autorka|author|auteur|verfasser(?:in)?)\s*:\s*(?P<reporters>(?-i:[A-ZÀ-ÝŁŚŻČŘŠŽ][\w'’.-]+)"
        r"(?:(?:\s+|\s*,\s*|\s+(?:i|a|and|et|und|y)\s+)(?-i:[A-ZÀ-ÝŁŚŻČŘŠŽ][\w'’.-]+)){1,7})"
        r"(?:\s*\((?:PAP|ČTK|CTK|TASR|MTI|AGERPRES|APA|BTA|HINA|STA)\))?\.?$",
        "Autor: Jan Kowalski (PAP)",
    ),
    _rule("editor_line", "edited_by", r"^\(?edited by (?P<editors>.+?)\)?\.?$", "Edited by John Roe"),
    # China News Service's editor in brackets, closing its copy: "【编辑:张三】" ("责任编辑" too).
    _rule(
        "editor_line",
        "chinese_editor",
        r"^[【\[](?:责任)?编辑\s*[:：]\s*(?P<editors>[\u4e00-\u9fff·]{2,8}(?:[、,，\s]+[\u4e00-\u9fff·]{2,8}){0,3})[】\]]$",
        "【编辑:张三】",
    ),
    # Xinhua's English copy closes with its editor: "Editor: Zhang Wei" (capitalised names).
    _rule(
        "editor_line",
        "editor_label",
        r"^editors?\s*:\s*(?P<editors>(?-i:[A-Z][\w'’.-]+)(?:(?:\s+|\s*,\s*|\s+and\s+)(?-i:[A-Z][\w'’.-]+)){1,7})\.?$",
        "Editor: Zhang Wei",
    ),
)

#: "To contact the reporters on this story:" printed on a line of its own, the people below it.
CONTACT_HEAD = re.compile(r"^to contact the (?:reporters?|editors?|authors?)\b[^:\n]{0,60}:\s*$", re.IGNORECASE)
CONTACT_HEAD_EXAMPLE = "To contact the reporters on this story:"

#: A desk's codes glued to the story's last sentence (dpa-AFX's "... Autowerte./mis/he"):
#: two to four "/xx" after its final stop, nothing after them.
CLOSING_CODES = re.compile(r"(?<=[.!?\"”])(?:/[a-z]{2,5}){2,4}\s*$")
CLOSING_CODES_EXAMPLE = "Gefragt waren Autowerte./mis/he"
#: End marks in the wires' languages: "(END)", APA's "(Schluss)", AFP's and EFE's "(FIN)", ANSA's
#: "(FINE)", Lusa's "(Fim)", TT's "(Slut)" (`end_marks` alone on a line, `CLOSING_WORD` glued).
_END_WORDS = "end|ends|fin|fine|fim|schluss|ende|slut"
#: An end word glued to the story's last sentence: Xinhua's English service's "Enditem", an
#: end mark in the wires' languages ("... la medida. (FIN)", "(Schluss)", "(END)").
CLOSING_WORD = re.compile(rf"(?<=[.!?\"”»])\s+(?:Enditem|\((?i:{_END_WORDS})\))\s*$|(?<=[。！？”])\s*[（(]完[）)]\s*$")
CLOSING_WORD_EXAMPLE = "Imports fell 2.3 percent, the customs said. Enditem"
#: Reuters update and correction notes closing a paragraph: "(Adds union comment in paragraph 3)".
UPDATE_NOTE = re.compile(
    r"\((?:(?:adds|updates|corrects|recasts|changes|rewrites|removes|fixes|refiles|repeats|inserts|deletes|"
    r"clarifies|writes through|new throughout|releads|overhauls)\b"
    # Reuters' note of a correction or a refile, closing the story: "(This story has been
    # corrected to fix ...)", "(This Nov. 29 story corrects ...)" (thirty-fifth session: it
    # was the story's last paragraph).
    r"|this (?:story|article|version of (?:the|this) story|[a-z]{3,9}\.? \d{1,2}(?:,? \d{4})? story) "
    r"(?:has been |was |had been )?(?:corrected|refiled|updated|amended|clarified|corrects|refiles|updates|"
    r"clarifies)\b)[^()]{0,240}\)\s*$",
    re.IGNORECASE,
)
UPDATE_NOTE_MAX = 300  # longest note: "(" + verb + 240 characters + ")"
UPDATE_NOTE_EXAMPLE = "Port operator ECT said terminals would reopen. (Adds union comment in paragraph 3)"

COPYRIGHT_LINE = re.compile(
    r"^(?:©|\(c\)|copyright\b|\u00a9)\s*.{0,240}$|^.{0,80}(?:©|\u00a9)\s*(?:19|20)\d\d.{0,80}$"
    # The sign and the word after a notice: ANSA's "RIPRODUZIONE RISERVATA © Copyright ANSA".
    r"|^.{0,40}(?:©|\u00a9)\s*copyright\b.{0,60}$"
    # Yonhap's closing notice, in angle brackets: "<저작권자(c) 연합뉴스, 무단 전재-재배포 금지>".
    # (Only so: a Korean site's own "저작권자 ⓒ ..." line is body text in aeb-dev's truth,
    # and taking it cost two pages their exact match.)
    r"|^<\s*저작권자\s*(?:\(c\)|©|ⓒ)\s*[^<>]{1,160}>$",
    re.IGNORECASE,
)
COPYRIGHT_EXAMPLE = "©2019 Bloomberg L.P."
COPYRIGHT_YEAR = re.compile(r"\b(19[5-9]\d|20\d\d)\b")

#: Reuters' sign-off, with the transmission time some copy adds ("REUTER 2325"); 1987 copy
#: has it in capitals, in title case and, now and then, in lower case (" reuter").
_REUTER_SIGNOFF = r"(?:REUTERS?|[Rr]euters?)(?:\s+\d{3,4})?"
#: Sign-offs and standard trailers: (agency or "", pattern, example).
TRAILER_RULES: tuple[Rule, ...] = (
    _rule("trailer", "reuter_signoff", _REUTER_SIGNOFF, "REUTER 2325", flags=0),
    _rule(
        "trailer",
        "reuters_standards",
        r"our standards\s*:\s*the thomson reuters trust principles\.?(?:,? opens new tab\.?)?",
        "Our Standards: The Thomson Reuters Trust Principles.",
    ),
    _rule("trailer", "afp_codes", r"[a-z]{2,5}(?:-[a-z]{2,5})?(?:/[a-z]{2,5}){1,4}", "bur-jm/ach", flags=0),
    # PAP's desk codes, each with its slash ("kw/ mhr/").
    _rule("trailer", "desk_codes_spaced", r"[a-z]{2,5}/(?: ?[a-z]{2,5}/){1,4}", "kw/ mhr/", flags=0),
    # The end mark in the wires' languages: APA's "(Schluss)", AFP's and EFE's "(FIN)", ANSA's
    # "(FINE)", Lusa's "(Fim)", TT's "(Slut)", then maybe the desk's codes ("(Schluss) ab/cd").
    _rule(
        "trailer",
        "end_marks",
        rf"\(?(?:{_END_WORDS}|more)\)?(?:\s+[a-z]{{2,5}}(?:/[a-z]{{2,5}}){{1,4}})?|-?\s*0\s*-|#+",
        "(END)",
    ),
    _rule("trailer", "ap_writer_sig", r"(?:the )?associated press", "The Associated Press"),
    _rule("trailer", "cp_sig", r"(?:the )?canadian press", "The Canadian Press"),
    # The Canadian Press's closing line, with the day the story first ran (both services).
    _rule(
        "trailer",
        "cp_first_published",
        r"this (?:report|story|article) by the canadian press was first published [\w .,]{3,40}?\.?"
        r"|ce texte de la presse canadienne a été publié pour la première fois le [\w .,]{3,40}?\.?",
        "This report by The Canadian Press was first published Nov. 29, 2026.",
    ),
    _rule("trailer", "ap_advisory_sig", r"the ap", "The AP"),  # AP's advisories to editors sign off so
    _rule(
        "trailer",
        "bloomberg_terminal",
        r"for more (articles|stories) like this, please visit us at bloomberg\.com.*"
        r"|more stories like this are available on bloomberg\.com\.?",
        "For more articles like this, please visit us at bloomberg.com",
    ),
    _rule(  # AP's note of where a co-bylined reporter wrote from (a surname: no new name)
        "trailer",
        "ap_reported_from",
        r"^(?-i:[A-Z][\w'’-]+)(?:(?:,| and) (?-i:[A-Z][\w'’-]+)){0,3} reported (?:from|in) (?-i:[A-Z])[\w .,'’-]{2,60}\.$",
        "Casert reported from Brussels.",
    ),
    # dpa's closing line: the agency, then its desk's and editors' codes ("dpa sb yyzz n1
    # mkr"); dpa-AFX's desk codes; EFE's ("EFE jmr/ams").
    _rule("trailer", "dpa_codes", r"dpa(?: [a-z0-9]{1,5}){2,6}", "dpa sb yyzz n1 mkr", flags=0),
    _rule("trailer", "dpa_afx_codes", r"dpa-AFX(?:/[a-z]{2,5}){1,4}", "dpa-AFX/mhs/ajx", flags=0),
    # AP's transmission line closing its copy (desk, date, time sent: "AP-NY-10-21-87
    # 1512EDT<"), after ETX in an ANPA envelope, the last line where archives keep the text
    # alone; and the end of an advance ("End Adv for Sunday, Nov. 29"). Thirty-fifth session.
    _rule(
        "trailer",
        "ap_transmission",
        r"AP-[A-Z]{2,4}-\d{2}-\d{2}-\d{2,4} \d{4}(?:[A-Z]{3})?<?",
        "AP-NY-10-21-87 1512EDT<",
        flags=0,
    ),
    _rule("trailer", "ap_end_advance", r"end adv(?:ance)?(?: for [\w ,.]{3,40})?", "End Adv for Sunday, Nov. 29"),
    # dpa's story id closing its copy as German sites print it (day, desk, number, version).
    _rule("trailer", "dpa_story_id", r"dpa:\d{6}-\d{2,3}-\d{4,8}/\d{1,3}", "dpa:261129-930-123456/2", flags=0),
    _rule("trailer", "efe_codes", r"EFE(?: [a-z]{2,5}(?:/[a-z]{2,5}){1,4})?", "EFE jmr/ams", flags=0),
    # An IPTC 7901 message's post-text, the agency and the time sent (day, hour, minute,
    # zone, month, year): after ETX it is the envelope's; a teleprinter line (ZCZC ... NNNN)
    # sends it as the story's last line.
    _rule(
        "trailer",
        "iptc7901_time_sent",
        r"[A-Z]{2,6}(?:-[A-Z]{2,6})? [0-3]\d[0-2]\d[0-5]\d (?:GMT|UTC) [A-Z]{3} \d{2}",
        "AFP 211432 GMT OCT 24",
        flags=0,
    ),
    # An agency's name alone closing its copy, after a dash or before its end word: Bernama's
    # "-- BERNAMA", IANS' "--IANS", Lusa's "Lusa/Fim"; Xinhua's English service's "Enditem"
    # (also glued to the last sentence: `CLOSING_WORD`); PTI's desk codes after its name
    # ("PTI ABC DEF"), and the initials Lusa's desk signs with ("ABC // DEF").
    _rule(
        "trailer",
        "agency_signoff",
        rf"(?:--?|—|–|==)\s*(?:{_ANY_TAG})\.?",
        "-- BERNAMA",
    ),
    # Kyodo's English service closes with "==Kyodo"; Yonhap's with its reporter's address,
    # then "(END)" on the next line (read as one paragraph with it).
    _rule(
        "trailer",
        "reporter_address",
        r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,4}\.?(?:\s+\(?(?:end|ends)\)?)?",
        "abc@yna.co.kr (END)",
    ),
    # (An agency's end word after its name, flags=0: tried on every paragraph opening with a
    # capital, a rule in either case over the agencies' tags cost 3-4% of parsing.)
    _rule(
        "trailer",
        "agency_end_word",
        r"[A-Z][A-Za-z]{1,15}\s*/\s*(?:Fim|FIM|Fin|FIN|Fine|FINE|End|END|Ende|ENDE)\.?",
        "Lusa/Fim",
        flags=0,
    ),
    _rule("trailer", "xinhua_enditem", r"enditem", "Enditem"),
    # Chinese copy's end mark, "（完）" (China News Service's and Xinhua's), alone or glued
    # to the last sentence (`CLOSING_WORD`).
    _rule("trailer", "chinese_end", r"[（(]完[）)]", "（完）", flags=0),
    # An editor's handle in lower case ("Editor: huaxia") names no one; a source line that
    # names an agency ("Source: Xinhua") is the copy's credit.
    _rule("trailer", "editor_handle", r"(?i:editors?)\s*:\s*[a-z][\w.-]{1,30}", "Editor: huaxia", flags=0),
    _rule(
        "trailer",
        "source_agency",
        rf"sources?\s*:\s*(?:{_ANY_TAG})(?:\s*[,/&]\s*(?:{_ANY_TAG}))*\.?",
        "Source: Xinhua",
    ),
    _rule("trailer", "pti_codes", r"PTI(?: [A-Z]{2,4}){1,6}", "PTI ABC DEF GHI", flags=0),
    _rule("trailer", "desk_initials", r"[A-Z]{2,4}(?:\s*//\s*[A-Z]{2,4}){1,3}", "ABC // DEF", flags=0),
    # Dow Jones Newswires' closing lines: the end mark, the time filed, the copyright.
    _rule("trailer", "dow_jones_end", r"\(END\) Dow Jones Newswires", "(END) Dow Jones Newswires", flags=0),
    _rule(
        "trailer",
        "dow_jones_filed",
        r"[A-Z][a-z]+ \d{1,2}, \d{4} \d{1,2}:\d{2} ET \(\d{2}:\d{2} GMT\)",
        "November 12, 2024 10:15 ET (15:15 GMT)",
        flags=0,
    ),
)

#: Flash markers opening a headline line ("******Tokyo stock index down ..."): removed, kind "envelope".
FLASH_MARKER = re.compile(r"^\*{3,}\s*")
FLASH_MARKER_EXAMPLE = "******Tokyo stock index down 2,210.19 points"
#: A flash marker that names its wire when nothing else does: Reuters' 1980s feed opened an
#: alert (a one-line brief) with three to six asterisks, more for higher priority.
#: (marker pattern, agency, example). Weaker than a tag, a trailer or a copyright line;
#: stronger than ``--agency``, which is for stories naming none.
FLASH_MARKER_AGENCIES: tuple[tuple[re.Pattern[str], str, str], ...] = ((re.compile(r"\*{3,6}"), "reuters", "******"),)

#: A sign-off on its own line (``_REUTER_SIGNOFF``).
SIGNOFF_LINE = re.compile(_REUTER_SIGNOFF)
SIGNOFF_EXAMPLE = " REUTER"

#: Agency named by a trailer or copyright line when the story has no tag.
AGENCY_HINTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("bloomberg", re.compile(r"\bbloomberg\b", re.IGNORECASE)),
    ("reuters", re.compile(r"\b(thomson )?reuters?\b", re.IGNORECASE)),
    ("ap", re.compile(r"\bassociated press\b|\(AP\)")),
    ("afp", re.compile(r"\bAFP\b|agence france-presse", re.IGNORECASE)),
    ("dowjones", re.compile(r"\bDow Jones Newswires\b")),
    ("cp", re.compile(r"\bThe Canadian Press\b|\bLa Presse Canadienne\b|\(CP\)|\(PC\)", re.IGNORECASE)),
    (
        "pa",
        re.compile(
            r"\bPA Media\b|\bPress Association\b|\bPA (?:[A-Z][a-z]+ )?(?:Correspondent|Reporter|Editor)\b|\(PA\)"
        ),
    ),
    ("aap", re.compile(r"\(AAP\)|\bAustralian Associated Press\b")),
)

#: Lines in a text header carrying a publication time: "Published: 2019-05-07T10:12:00Z".
PUBLISHED_LINE = re.compile(
    r"^(?:published|updated|date|posted|first published)(?: on| at)?\s*[:\-]\s*(?P<value>.{6,60})$",
    re.IGNORECASE,
)

#: A slug line opening plain wire text, as AP's text feeds send it before the headline
#: ("BC-EU-Britain-Brexit,1st Ld-Writethru", "AM-Britain-Brexit"): the slug, then its
#: version words after a comma.
SLUG_LINE = re.compile(r"^(?P<slug>(?:BC|AM|PM)-[A-Za-z0-9][\w&'.]*(?:-{1,2}[\w&'.]+)*)(?:,\s*[^\n]{1,60})?$")
SLUG_LINE_EXAMPLE = "BC-EU-Britain-Brexit,1st Ld-Writethru"
#: A note to editors in a text story's header ("Eds: UPDATES with details.").
EDS_LINE = re.compile(r"^(?:Eds?|EDS?|Editors?|EDITORS?)\s*:\s*(?P<note>\S.{2,300})$")
EDS_LINE_EXAMPLE = "Eds: UPDATES with details."

#: An embargo line in a story's header (PA's "EMBARGOED TO 0001 TUESDAY NOVEMBER 12", a
#: release's "Embargoed for release until 4 p.m. EDT Thursday", dpa's "Sperrfrist: 12.
#: November, 00.01 Uhr"): the word in capitals, or followed by a colon, "until" or "bis",
#: and a time of day in the line (`EMBARGO_TIME`), so that a headline about a trade
#: embargo is not one. Read as text, it was the story's headline or first paragraph.
EMBARGO_LINE = re.compile(
    r"^\W{0,6}(?:(?:EMBARGO(?:ED)?|SPERRFRIST)\b|(?i:embargo(?:ed)?|sperrfrist)\s*(?::|(?i:for release )?(?i:until|till|bis)\b))"
    r"\s*(?:(?i:for release )?(?i:until|till|to|bis|jusqu['’](?:à|au)|hasta)\b|:)?\s*(?P<value>.{3,100}?)\W{0,6}$"
)
EMBARGO_TIME = re.compile(
    r"(?<!\d)\d{1,2}[:.]\d{2}(?!\d)|\b\d{1,2}\s*[ap]\.?m\b|\b\d{1,2}\s*uhr\b"
    r"|\b[0-2]\d[0-5]\d\s*(?:gmt|utc|bst|cet|cest|edt|est|pdt|pst|jst|hkt|sgt|aest|aedt|msk|local|hrs|h|\w*day)\b",
    re.IGNORECASE,
)
#: A wire time of four digits before its zone or day ("0001 GMT"), to be read as "00:01".
EMBARGO_HHMM = re.compile(r"\b([0-2]\d)([0-5]\d)\b(?=\s*[A-Za-z])")
EMBARGO_LINE_EXAMPLE = "EMBARGOED TO 0001 TUESDAY NOVEMBER 12"


# --- One-pass prefilters --------------------------------------------------------------
_NAMED_GROUP = re.compile(r"\(\?P<\w+>")
_SCOPED_FLAGS = ((re.IGNORECASE, "i"), (re.DOTALL, "s"), (re.MULTILINE, "m"))


def _union_source(patterns: list[re.Pattern[str]], ends: list[bool] | None = None) -> str:
    """The union's text; ``ends[i]``: pattern i must match to the text's end (``\\Z``)."""
    parts = []
    for index, pattern in enumerate(patterns):
        body = _NAMED_GROUP.sub("(?:", pattern.pattern)
        if ends is not None and ends[index]:
            body = f"(?:{body})\\Z"
        on = "".join(letter for flag, letter in _SCOPED_FLAGS if pattern.flags & flag)
        off = "".join(letter for flag, letter in _SCOPED_FLAGS if not pattern.flags & flag)
        parts.append(f"(?{on}-{off}:{body})" if off else f"(?{on}:{body})")
    return "|".join(parts)


def _union(patterns: list[re.Pattern[str]], ends: list[bool] | None = None) -> re.Pattern[str]:
    """One pattern matching exactly what one of ``patterns`` matches (each keeps its own
    flags as a scoped group; ``ends[i]``: pattern i to the text's end): most texts match no
    rule, and one call rules them out."""
    return re.compile(_union_source(patterns, ends))


class _ParsedUnion:
    """`_union` of some patterns, parsed once, compiled for any subset of them: the regex
    module parses a pattern's text and then compiles the parse, and the parse was the
    larger part (a union of the 14 patterns a "T" meets: 4.2 ms from text, 1.5 ms from
    this parse). Relies on ``re``'s parser (a union is one branch of one alternative per
    pattern); `of` raises where this Python's parser differs, and its caller compiles the
    text instead."""

    def __init__(self, patterns: list[re.Pattern[str]], ends: list[bool] | None = None) -> None:
        from re import _compiler, _parser  # type: ignore[attr-defined]

        self._compiler, self._parser = _compiler, _parser
        self._tree = _parser.parse(_union_source(patterns, ends), 0)
        ((op, (_, alternatives)),) = self._tree.data
        if op is not _parser.BRANCH or len(alternatives) != len(patterns):
            raise ValueError("a union parsed otherwise than one branch per pattern")
        self._alternatives = alternatives

    def of(self, choice: tuple[int, ...]) -> re.Pattern[str]:
        """The union of the patterns numbered ``choice`` (two or more)."""
        parser = self._parser
        branch = parser.SubPattern(self._tree.state, [(parser.BRANCH, (None, [self._alternatives[i] for i in choice]))])
        compiled: re.Pattern[str] = self._compiler.compile(branch, 0)
        return compiled


# --- Rules tried by a text's first character ---------------------------------------------
# A union tries its alternatives one by one, and a case-insensitive one is entered even
# when its first character cannot match (the regex engine skips ahead only for exact
# literals): ~25 line rules cost ~0.7 us a line that none matches. Most fail on their
# first character, so each union is split by the ASCII character a text starts with.
_CATEGORIES = {
    "CATEGORY_DIGIT": r"\d",
    "CATEGORY_NOT_DIGIT": r"\D",
    "CATEGORY_SPACE": r"\s",
    "CATEGORY_NOT_SPACE": r"\S",
    "CATEGORY_WORD": r"\w",
    "CATEGORY_NOT_WORD": r"\W",
}
_ASCII_CHARS = [chr(code) for code in range(128)]


@functools.cache
def _probe(source: str, flags: int) -> frozenset[str]:
    """The ASCII characters a one-character pattern accepts, under the rule's own flags."""
    one = re.compile(source, flags)
    return frozenset(char for char in _ASCII_CHARS if one.fullmatch(char))


def _class_source(items: list[tuple[object, object]]) -> str | None:
    """A character class parsed by ``re._parser`` written back as source, or None."""
    parts: list[str] = []
    for op, value in items:
        name = str(op)
        if name == "NEGATE":
            parts.insert(0, "^")
        elif name == "LITERAL" and isinstance(value, int):
            parts.append(re.escape(chr(value)))
        elif name == "RANGE" and isinstance(value, tuple):
            parts.append(f"{re.escape(chr(value[0]))}-{re.escape(chr(value[1]))}")
        elif name == "CATEGORY" and str(value) in _CATEGORIES:
            parts.append(_CATEGORIES[str(value)])
        else:
            return None
    return "[" + "".join(parts) + "]"


def _first_sources(items: list[tuple[object, object]]) -> tuple[frozenset[str] | None, bool]:
    """(one-character regex sources, a literal or a class, of which a match of the parsed
    ``items`` starts with one, or None for "cannot tell: any"; whether the items can match
    the empty string)."""
    sources: set[str] = set()
    first: frozenset[str] | None
    for op, value in items:
        name = str(op)
        if name in ("AT", "ASSERT", "ASSERT_NOT"):
            continue  # zero width (a lookaround left out only widens the answer)
        if name == "LITERAL" and isinstance(value, int):
            first, nullable = frozenset({re.escape(chr(value))}), False
        elif name == "IN" and isinstance(value, list) and (source := _class_source(value)):
            first, nullable = frozenset({source}), False
        elif name == "SUBPATTERN" and isinstance(value, tuple) and not value[1] and not value[2]:
            first, nullable = _first_sources(value[3])
        elif name == "ATOMIC_GROUP" and isinstance(value, list):
            first, nullable = _first_sources(value)
        elif name == "BRANCH" and isinstance(value, tuple):
            branches = [_first_sources(branch) for branch in value[1]]
            if any(branch is None for branch, _ in branches):
                return None, False
            first = frozenset().union(*(branch for branch, _ in branches if branch is not None))
            nullable = any(empty for _, empty in branches)
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and isinstance(value, tuple):
            first, empty = _first_sources(value[2])
            nullable = value[0] == 0 or empty
        else:
            return None, False  # anything else (., a backreference, scoped flags): any character
        if first is None:
            return None, False
        sources |= first
        if not nullable:
            return frozenset(sources), False
    return frozenset(sources), True


@functools.cache  # first_chars and first_class both read it
def first_sources(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """One-character regex sources of which a match of ``pattern`` starts with one (under
    its flags); None when that cannot be read from its parse (or it can match the empty
    string): then it is tried on every text."""
    try:
        from re import _parser  # type: ignore[attr-defined]

        sources, nullable = _first_sources(list(_parser.parse(pattern.pattern, pattern.flags)))
    except Exception:  # another Python's parser: try the pattern everywhere (still exact)
        return None
    return None if nullable else sources


def first_chars(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """The ASCII characters a match of ``pattern`` can start with; None when that cannot be
    read from its parse (or it can match the empty string): then it is tried on every text."""
    sources = first_sources(pattern)
    if sources is None:
        return None
    return frozenset().union(*(_probe(source, pattern.flags) for source in sources))


def first_class(pattern: re.Pattern[str]) -> re.Pattern[str] | None:
    """One regex for a character a match of ``pattern`` can start with (its first element's
    literals and classes, under its flags), or None (any): how a first character beyond
    ASCII (a curly quote, an umlaut, a Cyrillic or Chinese letter) rules a pattern out."""
    sources = first_sources(pattern)
    if sources is None:
        return None
    if not sources:
        return re.compile(r"(?!)")  # starts with nothing a text can start with
    return re.compile("|".join(sorted(sources)), pattern.flags & ~re.MULTILINE)


class FirstCharUnion:
    """``patterns`` as one union per first character of the text: ``union(text)`` is
    truthy exactly when ``union-of-all.match(text)`` is (``.fullmatch`` with
    ``whole=True``), trying only the patterns that can start with ``text[0]`` (an empty
    text meets them all). A first character beyond ASCII is read against each pattern's
    `first_class` (until the thirty-first session it met every pattern: a paragraph opening
    with a curly quote, an umlaut or a Cyrillic, Arabic or Chinese letter was tried against
    all of them, ~2.5 us more a call).

    Characters that choose the same patterns (most capitals choose alike) share one union,
    compiled from one parse of the patterns once their texts together are common
    (COMPILE_AFTER); until then the chosen patterns are tried one by one, as compiled at
    import. Until the thirty-second session a character counted alone, and met the union
    of every pattern until then (twice its own's cost, and compiled from text at first use:
    ~15 ms for the four unions in every process, with each pattern parsed twice more to
    read its first characters): a parse worker still compiled a union now and then after
    4,000 stories."""

    #: Texts a choice of patterns is met with before its union is compiled: compiling one
    #: costs 0.3-1.5 ms, as much as ~1,000 calls save, so a short-lived process (a 92-page
    #: `parse`) compiles only the unions of the choices that start many lines.
    COMPILE_AFTER = 256

    def __init__(self, patterns: list[re.Pattern[str]], *, whole: bool | list[bool] = False) -> None:
        self._patterns = patterns
        # Per pattern: matched to the text's end (fullmatch) or from its start (match). One
        # answer for all: the union is fullmatched or matched; a list: each pattern to the
        # end where it says so, in a matched union (a pattern compiled again with "\Z" for
        # it cost every process's start ~8 ms for the 47 of `ANY_WIRE_LINE`).
        self._ends = [whole] * len(patterns) if isinstance(whole, bool) else list(whole)
        self._whole = whole is True
        self._union_ends = None if isinstance(whole, bool) else self._ends
        self._matchers = [
            pattern.fullmatch if end else pattern.match for pattern, end in zip(patterns, self._ends, strict=True)
        ]
        #: A first character's match (its union's, or a pattern's) once its choice is
        #: settled. Read first by the callers in compiled modules (`wire.first_char_match`):
        #: a call of this object runs a Python frame even from compiled code (~0.3 us).
        self.settled: dict[str, Callable[[str], re.Match[str] | None]] = {}
        # Shared by the characters that choose the same patterns.
        self._by_choice: dict[tuple[int, ...], Callable[[str], re.Match[str] | None]] = {}
        self._choice_seen: dict[tuple[int, ...], int] = {}
        self._choice_of: dict[str, tuple[int, ...]] = {}  # a character met before: its choice

    # Worked out on first use, not at import (every process that imports the parsers would
    # pay it, and one that only plans or commits needs none).
    @functools.cached_property
    def _parsed(self) -> _ParsedUnion | None:
        try:
            return _ParsedUnion(self._patterns, self._union_ends)
        except Exception:  # another Python's parser (or a single pattern): compiled from text
            return None

    @functools.cached_property
    def _firsts(self) -> list[frozenset[str] | None]:
        return [first_chars(pattern) for pattern in self._patterns]

    @functools.cached_property
    def _classes(self) -> list[re.Pattern[str] | None]:
        return [first_class(pattern) for pattern in self._patterns]

    def _compile(self, choice: tuple[int, ...]) -> Callable[[str], re.Match[str] | None]:
        """The union of the patterns numbered ``choice``, as its match (or fullmatch)."""
        if not choice:
            return _no_match
        union = None
        if len(choice) > 1 and self._parsed is not None:
            try:
                union = self._parsed.of(choice)
            except Exception:  # a parse this Python compiles otherwise: from text
                pass
        if union is None:
            union = _union([self._patterns[i] for i in choice], self._union_ends and [self._ends[i] for i in choice])
        return union.fullmatch if self._whole else union.match

    def _one_by_one(self, choice: tuple[int, ...], text: str) -> re.Match[str] | None:
        for index in choice:
            found = self._matchers[index](text)
            if found:
                return found
        return None

    def __call__(self, text: str) -> re.Match[str] | None:
        match = self.settled.get(text[:1])  # called for every line and paragraph: one lookup
        return match(text) if match is not None else self._not_settled(text)

    def _not_settled(self, text: str) -> re.Match[str] | None:
        char = text[:1]
        choice = self._choice_of.get(char)
        if choice is None:
            choice = self._choice(char) if char else tuple(range(len(self._patterns)))
            # Characters beyond ASCII are many (a Chinese corpus starts lines with thousands):
            # those past the first 16,384 are read each time (~10 us), not kept.
            if char and (char.isascii() or len(self._choice_of) < 16_384):
                self._choice_of[char] = choice
        match = self._by_choice.get(choice)
        if match is None:
            pooled = self._choice_seen[choice] = self._choice_seen.get(choice, 0) + 1
            if pooled < self.COMPILE_AFTER or not char:
                return self._one_by_one(choice, text)
            match = self._by_choice[choice] = self._compile(choice)
        if char in self._choice_of:
            self.settled[char] = match
        return match(text)

    def _choice(self, char: str) -> tuple[int, ...]:
        """The patterns (by index) a text starting with ``char`` can match."""
        if not char.isascii():
            return tuple(i for i, first in enumerate(self._classes) if first is None or first.fullmatch(char))
        return tuple(i for i, first in enumerate(self._firsts) if first is None or char in first)

    def tried(self, char: str) -> int:
        """How many patterns a text starting with ``char`` meets (for tests)."""
        return len(self._choice(char))


def _no_match(text: str) -> None:
    return None


#: One call each: does some line rule fullmatch a text, some credit rule (but those with a
#: tail) match it, some trailer rule fullmatch it. Callers then find the rule.
ANY_LINE_RULE = FirstCharUnion([rule.pattern for rule in LINE_RULES], whole=True)
ANY_CREDIT_RULE = FirstCharUnion([rule.pattern for rule in CREDIT_RULES if rule.tail is None])
#: The credit rules with a ``tail``, tried only where one of the tails is
#: (`wire.may_be_credit`).
TAILED_CREDIT_RULES = tuple(rule for rule in CREDIT_RULES if rule.tail is not None)
ANY_CREDIT_TAIL = _union([rule.tail for rule in TAILED_CREDIT_RULES if rule.tail is not None])
ANY_TRAILER_RULE = FirstCharUnion([rule.pattern for rule in TRAILER_RULES], whole=True)


#: Everything that can take a paragraph out of the body, in one call: a contact head or
#: line, a credit, a copyright line, a whole-line rule, a trailer. wire.apply_wire_rules
#: keeps a long paragraph past the story's head as body text when this rules it out.
_WIRE_LINE_STARTS = [
    CONTACT_HEAD,
    CONTACT_LINE,
    *(rule.pattern for rule in CREDIT_RULES if rule.tail is None),
    COPYRIGHT_LINE,
]
_WIRE_LINE_WHOLES = [rule.pattern for rule in (*LINE_RULES, *TRAILER_RULES)]
#: (`wire.may_be_wire_line`: with ``ANY_CREDIT_TAIL`` for the credits with a tail.)
ANY_WIRE_LINE = FirstCharUnion(
    [*_WIRE_LINE_STARTS, *_WIRE_LINE_WHOLES],
    whole=[False] * len(_WIRE_LINE_STARTS) + [True] * len(_WIRE_LINE_WHOLES),
)


# --- Error responses saved in a story's place ----------------------------------------
#: A title or top heading that is an HTTP error status (RFC 9110's 4xx and 5xx): the code
#: alone ("404", "HTTP 502"), after "Error" ("Error 404 (Not Found)!!1", "Fehler 404 - Seite
#: nicht gefunden"), or with its own reason phrase ("503 Service Unavailable", "404 - Page not
#: found | Example"). A code with other words is a headline's number ("400 killed in quake").
_ERROR_STATUS = re.compile(
    r"^\s*(?:(?:HTTP(?:/\d(?:\.\d)?)?\s*)?(?P<alone>[45]\d\d)\s*$"
    r"|(?:Error|Fehler|Erreur|Errore|Erro|Fout|Błąd|Ошибка)\s*(?:HTTP\s*)?[45]\d\d(?!\d)"
    r"|(?:HTTP(?:/\d(?:\.\d)?)?\s*)?(?P<code>[45]\d\d)\s*[-–—:|.]?\s*(?P<phrase>[^\W\d_][^\W\d_ ']*(?: [^\W\d_]+){0,3}))",
    re.IGNORECASE,
)
#: The reason phrases of the error statuses a web server or a CDN answers with.
_REASON_PHRASES = {
    "400": "bad request", "401": "unauthorized", "402": "payment required", "403": "forbidden",
    "404": "not found", "405": "method not allowed", "406": "not acceptable", "408": "request timeout",
    "409": "conflict", "410": "gone", "429": "too many requests", "451": "unavailable for legal reasons",
    "500": "internal server error", "501": "not implemented", "502": "bad gateway",
    "503": "service unavailable", "504": "gateway timeout",
    "521": "web server is down", "522": "connection timed out", "523": "origin is unreachable",
    "524": "a timeout occurred",
}  # fmt: skip
#: Whole plain-text bodies web servers and proxies answer an error with, besides a status
#: line (their own words, the same in every deployment): a reason phrase alone ("Service
#: Unavailable"), Envoy's, a Kubernetes ingress's default backend, Express's "Cannot GET".
ERROR_BODY = re.compile(
    r"(?:bad request|unauthorized|forbidden|not found|method not allowed|request timeout|too many requests"
    r"|internal server error|not implemented|bad gateway|service unavailable|gateway timeout"
    r"|no healthy upstream|upstream request timeout|upstream connect error or disconnect/reset before headers\b.*"
    r"|default backend - 404|Cannot (?:GET|HEAD|POST|PUT|DELETE|PATCH|OPTIONS) /\S*)[.!]*",
    re.IGNORECASE,
)


def error_status(text: str, *, whole: bool = False) -> str | None:
    """``text`` as one spaced line when it is an HTTP error status (`_ERROR_STATUS`: a code
    alone, after "Error", or with its own reason phrase), else None. ``whole``: the status
    must be all of it (a plain-text body), not the start of a title ("404 Not Found |
    Example", "404 - Page not found. Go home")."""
    if len(text) > 80:
        return None
    match = _ERROR_STATUS.match(text)
    if match is None or (whole and text[match.end() :].strip(" .!")):
        return None
    code, phrase = match.group("code"), (match.group("phrase") or "").casefold()
    if code is None or phrase == _REASON_PHRASES.get(code) or (code == "404" and phrase == "page not found"):
        return " ".join(text.split())
    return None


def error_response_body(text: str) -> str | None:
    """The whole of a plain-text input, as one line, when it is a server's or a proxy's error
    answer (a status line, or `ERROR_BODY`) rather than a story: a poller saved what it was
    answered. None for anything longer than a line of 200 characters."""
    if len(text) > 200:
        return None
    line = " ".join(text.split())
    if not line or "\n" in text.strip():
        return None
    return line if error_status(line, whole=True) or ERROR_BODY.fullmatch(line) else None


# --- Transmission envelopes (parsers.envelope) -------------------------------------------
#: ANPA-1312 priority code -> IPTC urgency (1 = flash ... 9 = lowest). (code, urgency, name).
ANPA_PRIORITIES: tuple[tuple[str, int, str], ...] = (
    ("f", 1, "flash"),
    ("b", 2, "bulletin"),
    ("u", 3, "urgent"),
    ("s", 4, "special"),
    ("r", 5, "regular"),
    ("a", 6, "advisory / ahead of schedule"),
    ("d", 7, "deferred"),
    ("w", 8, "weekend advance"),
)
#: Envelope source code -> agency. (source code, agency, example header).
ENVELOPE_SOURCES: tuple[tuple[str, str, str], ...] = (
    ("reute", "reuters", "\x16\x16\x01f0001\x1freute"),
    ("reuter", "reuters", "\x16\x16\x01f0001\x1freuter"),
    ("apw", "ap", "\x16\x16\x01a0123\x1fapw"),
    ("ap", "ap", "\x16\x16\x01a0123\x1fap"),
    ("afp", "afp", "\x16\x16\x01a0123\x1fafp"),
    ("bloom", "bloomberg", "\x16\x16\x01b0001\x1fbloom"),
    ("upi", "upi", "\x16\x16\x01u0001\x1fupi"),
    ("dpa", "dpa", "\x16\x16\x01d0001\x1fdpa"),
    ("efe", "efe", "\x16\x16\x01e0001\x1fefe"),
    ("ansa", "ansa", "\x16\x16\x01a0001\x1fansa"),
    ("apa", "apa", "\x16\x16\x01a0001\x1fapa"),
    ("belga", "belga", "\x16\x16\x01b0001\x1fbelga"),
)
#: Editor's note to subscribers at the head of wire copy ("Eds: With AP Photos."): to ednote.
EDNOTE_LINE = re.compile(r"^\s*(?:eds?|editors?(?:'s)? note)\s*[:_-]\s*(?P<note>.+)$", re.IGNORECASE)
EDNOTE_EXAMPLE = "Eds: UPDATES with union statement, picture."

#: Routing prefixes of an ANPA slug ("BC-" = both cycles, "AM-"/"PM-" = cycle), not part of the slugline.
SLUG_ROUTING = re.compile(r"^(?:BC|AM|PM|AP|AM-BC|PM-BC)-", re.IGNORECASE)
#: Take keys that number a version: "1stLd-Writethru" (version 2), "2ndLd", "3rdAdd" is not one.
TAKE_KEY_VERSION = re.compile(r"\b(\d+)(?:st|nd|rd|th)\s*Ld\b", re.IGNORECASE)
TAKE_KEY_VERSION_EXAMPLE = "1stLd-Writethru"


# --- Structured feeds (parsers.nitf, parsers.newsml, parsers.ninjs) -----------------------
#: A provider's name, code or domain -> agency. (fragment, agency, example).
FEED_AGENCIES: tuple[tuple[str, str, str], ...] = (
    ("reuters", "reuters", "urn:newsml:reuters.com:20241021:nL8N3LF0AB"),
    ("associated press", "ap", "The Associated Press"),
    ("apnews", "ap", "https://apnews.com/article/0a1b2c"),
    ("ap.org", "ap", "http://ap.org/item/8f3e"),
    ("afp", "afp", "urn:newsml:afp.com:20241021:TX-PAR-ABC12"),
    ("bloomberg", "bloomberg", "Bloomberg News"),
    ("dpa", "dpa", "urn:newsml:dpa.com:20090101:241021-99-123456"),
    ("belga", "belga", "urn:newsml:belga.be:20240611:BELGA-0998"),
)
#: Provider codes that name an agency exactly (too short to look for inside other words).
FEED_AGENCY_CODES: tuple[tuple[str, str], ...] = (
    ("ap", "ap"),
    ("apw", "ap"),
    ("rtrs", "reuters"),
    ("bn", "bloomberg"),
    ("efe", "efe"),
    ("ansa", "ansa"),
    ("nprov:efe", "efe"),
)

#: The word before the names in a feed's by-line field, by language ("By", "Par", "Von"):
#: dropped. Only a field known to be a by-line is read this way. (word, language).
BYLINE_WORDS: tuple[tuple[str, str], ...] = (
    ("by", "en"),
    ("par", "fr"),
    ("por", "es/pt"),
    ("von", "de"),
    ("di", "it"),
    ("door", "nl"),
    ("av", "sv/no"),
    ("af", "da"),
)
#: Names in a by-line that are the agency, not a reporter ("Von Anna Schmidt, dpa").
BYLINE_AGENCY_NAMES = frozenset(
    {
        "reuters",
        "ap",
        "afp",
        "associated press",
        "the associated press",
        "bloomberg",
        "bloomberg news",
        "dpa",
        "efe",
        "ansa",
        "lusa",
        "apa",
        "anp",
        "belga",
        "sda",
        "keystone-sda",
        "tt",
        "ntb",
        "ritzau",
    }
)

#: Publication status as feeds write it -> the column's value. (code, pubstatus).
PUBSTATUS_CODES: tuple[tuple[str, str], ...] = (
    ("usable", "usable"),
    ("stat:usable", "usable"),
    ("embargoed", "usable"),  # usable once embargoed_until has passed
    ("withheld", "withheld"),
    ("stat:withheld", "withheld"),
    ("canceled", "canceled"),
    ("cancelled", "canceled"),
    ("stat:canceled", "canceled"),
    ("kill", "canceled"),
)


# --- Version labels of plain text (a feed's own version wins) -----------------------------
#: (pattern over the headline, n, pubstatus or None, example): a numbered label's version is
#: its number + n ("UPDATE 2-" -> 3; a correction of update 1 -> 3), an unnumbered one's is n
#: (0: no version).
VERSION_LABELS: tuple[tuple[re.Pattern[str], int, str | None, str], ...] = (
    (re.compile(r"^(?:CORRECTED|REFILE)[- ]+UPDATE (\d+)\s*-"), 2, None, "CORRECTED-UPDATE 1-Oil rises"),
    (re.compile(r"^UPDATE (\d+)\s*-"), 1, None, "UPDATE 2-Ceasefire talks resume"),
    (re.compile(r"^(\d+)(?:st|nd|rd|th)\s*Ld\b", re.IGNORECASE), 1, None, "2ndLd-Writethru: Strikers return"),
    (re.compile(r"^(?:CORRECTED|REFILE|CORRECTION)\b\s*[-:]"), 2, None, "CORRECTED-Oil rises on supply fears"),
    (
        re.compile(r"^(?:KILL|KILLED|WITHDRAWN|MANDATORY KILL)\b", re.IGNORECASE),
        0,
        "canceled",
        "KILL: Earthquake report",
    ),
    (re.compile(r"^(?:WITHHOLD|WITHHELD)\b", re.IGNORECASE), 0, "withheld", "WITHHOLD: Plane crash story"),
)
