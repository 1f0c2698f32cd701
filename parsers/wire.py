"""Wire conventions shared by text and HTML inputs: agency tags, datelines, bylines,
credit and contact trailers, copyright lines, duplicate headlines."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from parsers import rules
from parsers.dates import parse_datetime
from parsers.fingerprint import first_word_char, normalize_for_compare
from schemas.story import Contact, Removed

_CONTACT_ITEM = re.compile(
    r"^(?P<name>.+?)(?:\s+in\s+(?P<location>[^@]+?))?(?:\s+(?:at|on|via)\s+(?P<email>[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+))?\.?$"
)
_NAME_SPLIT = re.compile(r"\s*(?:;|,\s*(?:and\s+)?|\s+and\s+|\s+&\s+)\s*")
_CREDIT_PART = re.compile(
    r"^(?P<label>(?:additional )?(?:reporting|writing|editing|compiled|graphics|production)(?: by|\s*:)?"
    r"|redigiert von|bearbeitet von|geschrieben von|bericht von"
    # Reuters' Spanish, Portuguese and French services: "(Reporte de X; Editado por Y)",
    # "(Información de X; editado en español por Y)", "(Reportagem de X; Edição de Y)",
    # "(Reportage X, édité par Y)"; its German one: "(Bericht von X, redigiert von Y)".
    r"|(?:reporte|reportaje|reportagem|información)(?: adicional)? de|escrito por|editado(?: en español)? por"
    r"|edición de|edição de|reportage(?: de)?|rédigé par|édité par)(?P<rest>.*)$",
    re.IGNORECASE,
)
_EDITING_LABELS = ("editing", "redigiert", "bearbeitet", "editado", "edición", "edição", "édité")
_CREDIT_SPLIT = re.compile(
    r"\s*;\s*|,\s*(?=(?:with |and )?(?:additional )?(?:reporting|writing|editing|compiled)\b|édité par|redigiert von"
    r"|bearbeitet von|editado)",
    re.IGNORECASE,
)


@dataclass
class Draft:
    """A story being assembled: what the format parsers found, before wire rules run."""

    paragraphs: list[str]
    input_format: str
    headline: str | None = None
    removed: list[Removed] = field(default_factory=list)
    agency: str | None = None
    dateline: str | None = None
    byline: list[str] = field(default_factory=list)
    editors: list[str] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    copyright: str | None = None
    copyright_year: int | None = None
    published_at: datetime | None = None
    language: str | None = None
    url: str | None = None
    #: The summary under the headline (an HTML page's, a feed's abstract or description),
    #: kept out of the body.
    standfirst: str | None = None
    #: When an embargo line in the header says the story may be published (`rules.EMBARGO_LINE`).
    embargoed_until: datetime | None = None
    #: A text story's own slug line and note to editors (`rules.SLUG_LINE`, `rules.EDS_LINE`).
    slugline: str | None = None
    ednote: str | None = None
    #: The version a text story's slug line numbers ("1st Ld-Writethru": 2).
    version: int | None = None
    #: Texts already found to match no line rule (the text parser checks every line, so a
    #: one-line paragraph is not checked twice).
    no_line_rule: set[str] = field(default_factory=set)


def first_char_match(union: rules.FirstCharUnion, text: str) -> bool:
    """Whether ``union`` matches ``text``: its settled match for ``text``'s first character
    called directly, the union itself otherwise. The same answer as ``union(text)``; this
    module is compiled (parsers/native.py), and calling the union from it ran a Python
    frame for every line and paragraph (thirty-eighth session: 2.5 KB copy ~4% faster)."""
    match = union.settled.get(text[:1])
    return (match(text) if match is not None else union(text)) is not None


def may_be_credit(text: str) -> bool:
    """Whether some credit rule matches ``text``: the rules with a ``tail`` are tried only
    where one of the tails is, the others in one regex call."""
    if first_char_match(rules.ANY_CREDIT_RULE, text):
        return True
    if not rules.ANY_CREDIT_TAIL.search(text, max(0, len(text) - rules.TAIL_WINDOW)):
        return False
    return any(rule.pattern.match(text) for rule in rules.TAILED_CREDIT_RULES)


def may_be_wire_line(text: str) -> bool:
    """False when no contact, credit, copyright, line or trailer rule matches ``text``."""
    return first_char_match(rules.ANY_WIRE_LINE, text) or bool(
        rules.ANY_CREDIT_TAIL.search(text, max(0, len(text) - rules.TAIL_WINDOW))
    )


def match_line_rule(text: str) -> rules.Rule | None:
    """The boilerplate rule a whole line/block matches, if any (short blocks only)."""
    stripped = text.strip()
    if not stripped or len(stripped) > 240 or not first_char_match(rules.ANY_LINE_RULE, stripped):
        return None
    for rule in rules.LINE_RULES:
        if rule.pattern.fullmatch(stripped):
            return rule
    return None


_PLACE = re.compile(r"\s+in\s+[A-Z][\w.'’\-]*(?:\s+[A-Z][\w.'’\-]*)*(?:,\s+[A-Z][\w.'’\-]*(?:\s+[A-Z][\w.'’\-]*)*)*")


def split_names(text: str) -> list[str]:
    """Split "A in Kabul, B and C" / "A; B" into names, dropping places and trailing periods."""
    names = []
    for part in _NAME_SPLIT.split(_PLACE.sub("", text.strip().rstrip("."))):
        name = part.strip(" .;,")
        if name and not name.lower().startswith(("in ", "at ")):
            names.append(name)
    return names


_IN_PLACE = re.compile(r"\s+in\s+(?=[A-Z])")
#: "and" between names in the other languages' by-lines.
_OTHER_AND = re.compile(r"\s+(?:und|et|y|e|en|og|och|&)\s+")
_CONTACT_SPLIT = re.compile(r"\s*(?:[;,]|\s+and\s+)\s*")


def _strip_place(name: str) -> str:
    """ "Jane Doe in Paris" -> "Jane Doe" (reporters often sign with their city)."""
    return _IN_PLACE.split(name, maxsplit=1)[0].strip()


def parse_contacts(role_word: str, rest: str) -> list[Contact]:
    """Parse the people in a "To contact the reporter(s)/editor(s) ...: ..." trailer."""
    role = "reporter" if role_word.lower().startswith(("reporter", "author")) else "editor"
    contacts: list[Contact] = []
    for item in _CONTACT_SPLIT.split(rest.strip()):
        item = item.strip(" ,;.")
        if not item:
            continue
        match = _CONTACT_ITEM.match(item)
        if not match or not match.group("name").strip(" ,;"):
            continue
        email = match.group("email")
        contacts.append(
            Contact(
                role=role,
                name=match.group("name").strip(" ,;"),
                email=email,
                location=(match.group("location") or "").strip() or None,
            )
        )
    return contacts


def parse_credit_line(text: str) -> tuple[str, list[str], list[str]] | None:
    """If ``text`` is a credit line, return ``(kind, reporters, editors)``."""
    stripped = text.strip()
    if len(stripped) > 400 or not may_be_credit(stripped):
        return None
    for rule in rules.CREDIT_RULES:
        match = rule.pattern.match(stripped)
        if not match:
            continue
        groups = match.groupdict()
        reporters: list[str] = []
        editors: list[str] = []
        if groups.get("inner"):
            for part in _CREDIT_SPLIT.split(groups["inner"]):
                credit = _CREDIT_PART.match(part.strip().removeprefix("with ").removeprefix("With "))
                if not credit:
                    continue
                names = [_strip_place(n) for n in split_names(credit.group("rest"))]
                (editors if credit.group("label").lower().startswith(_EDITING_LABELS) else reporters).extend(names)
        if groups.get("reporters"):
            named = groups["reporters"]
            if rule.name == "by_line_other_languages":  # "und", "et", "y", "e" join names there
                named = _OTHER_AND.sub(", ", named)
            found = (_strip_place(n) for n in split_names(named))
            reporters.extend(n for n in found if n.lower() not in rules.BYLINE_AGENCY_NAMES)
        if groups.get("editors"):
            editors.extend(split_names(groups["editors"]))
        if rule.name == "by_line" and (len(reporters) > 6 or any(len(n.split()) > 5 for n in reporters)):
            return None  # a sentence that starts with "By", not a byline
        return rule.kind, reporters, editors
    return None


def parse_copyright(text: str) -> tuple[str, int | None] | None:
    """If ``text`` is a copyright line, return it as printed with its year."""
    stripped = text.strip()
    if len(stripped) > 320 or not rules.COPYRIGHT_LINE.match(stripped):
        return None
    year = rules.COPYRIGHT_YEAR.search(stripped)
    return stripped, int(year.group(1)) if year else None


_COPYRIGHT_START = re.compile(r"©|\(c\)|\bcopyright\b", re.IGNORECASE)
_COPYRIGHT_ENDS = (
    re.compile(r"reserved\.?|réservés\.?|vorbehalten\.?", re.IGNORECASE),
    re.compile(r"L\.P\.|\.\s+(?=[A-Z])"),
)


def find_copyright(text: str) -> tuple[str, int | None] | None:
    """A copyright line inside a longer block of page chrome (a footer), cut at its end."""
    start = _COPYRIGHT_START.search(text)
    if not start:
        return None
    snippet = text[start.start() : start.start() + 200]
    end = next((m for m in (p.search(snippet) for p in _COPYRIGHT_ENDS) if m), None)
    line = (snippet[: end.end()] if end else snippet).strip()
    year = rules.COPYRIGHT_YEAR.search(line)
    return (line, int(year.group(1))) if year else None


def lift_agency_tag(paragraph: str) -> tuple[str, str | None, str, str, list[str]] | None:
    """Find a leading "CITY (Agency) --" tag: return ``(agency, dateline, tag text, rest,
    reporters)`` (the reporters a Chinese or Korean desk's dateline names; else none)."""
    head = paragraph[:160]
    tag = rules.AGENCY_TAG_AT.match(head, max(head.find("("), 0))
    if not tag or not tag.lastgroup:
        if paragraph[:1] in rules.SCRIPT_DATELINE_STARTS or rules.SCRIPT_DATELINE_NAMES.search(head, 0, 90):
            scripted = _lift_script_dateline(paragraph)
            if scripted:
                return scripted
        return lift_unknown_agency_tag(paragraph) if "(" in head else None
    agency, pattern = rules.agency_tag_pattern(int(tag.lastgroup[1:]))
    match = pattern.match(head)
    if not match:
        return None
    dateline = match.group("dateline")
    if match.group("dash") is None:
        # No dash: only after "City, date", or a city in capitals before a sentence
        # ("STOCKHOLM (TT) Riksbanken ..."; "CANADIAN PACIFIC (CP) UNIT STUDIES" is a headline,
        # and "Canadian Pacific (CP) Unit studies" one too). The tag alone closing its
        # paragraph (Europa Press's "MADRID, 12 (EUROPA PRESS)", the text below it): only
        # after a date ("Stocks rally, traders say (Reuters)" is a headline).
        if "," not in dateline and not (dateline.isupper() and len(dateline) <= 30):
            return None
        if not paragraph[match.end() :].strip() and not _DATED.search(dateline):
            return None
    # ANI's "New Delhi [India]", Interfax's "MOSCOW. Nov 29" (a stop before the date).
    city = _CITY_DATE_STOP.split(dateline.split(",")[0].split(" [")[0])[0].strip() if dateline else None
    end = match.end()
    if not dateline:
        after = rules.DATELINE_AFTER_TAG.match(paragraph, end)
        if after:
            city, end = after.group("dateline").strip(), after.end()
    return agency, city or None, paragraph[:end].strip(), paragraph[end:], []


#: A stop between a dateline's city and its date: Interfax's "MOSCOW. Nov 29" ("ST. LOUIS"
#: keeps its stop: no date follows it).
_CITY_DATE_STOP = re.compile(r"\.\s+(?=(?:[A-Z][a-z]{2,8}\.?\s+)?\d)")
#: A date after a dateline's city: a number after its comma ("MADRID, 12", "Oct 12").
_DATED = re.compile(r",[^,]*\d")


def lift_unknown_agency_tag(paragraph: str) -> tuple[str, str | None, str, str, list[str]] | None:
    """A tag `rules.AGENCY_TAGS` does not know, read by its shape (`lift_agency_tag`'s
    answer): "TEHRAN, Nov 12 (IRNA) - text", "NAPA COUNTY, Calif. (KGO) -- text". The
    dateline must be a city in capitals or carry a date, the name hold a capital; the
    agency is the name as a lowercase identifier ("Alliance News": ``alliance_news``), or the
    known agency its first word is ("Reuters Breakingviews": ``reuters``). Until the
    thirty-fourth session such a tag stayed the body's first words, the agency ``unknown``."""
    match = rules.unknown_agency_tag().match(paragraph[:160])
    if not match:
        return None
    dateline, name = match.group("dateline").strip(), match.group("tag")
    city = dateline.split(",")[0].strip()
    if not (_DATED.search(dateline) or (city.isupper() and sum(c.isalpha() for c in city) >= 2)):
        return None  # "Acme Inc. (ACME) - Shares rose": a company and its ticker
    if any(c.isdigit() for c in city):
        return None  # "UPDATE 1-ACME (ACME) - Q3 profit": a headline's words, not a city
    if dateline.endswith("-") or len(name) > rules.UNKNOWN_AGENCY_TAG_MAX or name.islower():
        return None
    known = rules.AGENCY_TAG_AT.fullmatch(f"({name.split()[0]})")
    agency = rules.agency_tag_pattern(int(known.lastgroup[1:]))[0] if known and known.lastgroup else agency_slug(name)
    if agency is None:
        return None
    return agency, city, paragraph[: match.end()].strip(), paragraph[match.end() :], []


def agency_slug(name: str) -> str | None:
    """An agency's printed name as the lowercase identifier the ``agency`` column holds
    ("Alliance News" -> ``alliance_news``, "Télam" -> ``telam``), None when it does not
    start with a Latin letter (a name in another script is not spelled out)."""
    folded = unicodedata.normalize("NFKD", name.casefold()).encode("ascii", "ignore").decode("ascii")
    slug = "_".join(re.findall(r"[a-z0-9]+", folded))[:32].strip("_")
    return slug if slug[:1].isalpha() and slug[:1].isascii() else None


def _lift_script_dateline(paragraph: str) -> tuple[str, str | None, str, str, list[str]] | None:
    """A Chinese, Japanese or Korean desk's dateline (``rules.script_datelines``), as
    `lift_agency_tag` returns a tag."""
    for agency, pattern, _example in rules.script_datelines():
        match = pattern.match(paragraph[:160])
        if match:
            named = match.groupdict().get("reporters") or ""
            reporters = [name.strip() for name in re.split(r"[、，,·]", named) if name.strip()]
            return agency, match.group("dateline"), match.group(0).strip(), paragraph[match.end() :], reporters
    return None


def lift_plain_dateline(paragraph: str) -> tuple[str, str, str] | None:
    """Old-Reuters "CITY, Mon DD -" or "CITY —": return ``(dateline, prefix, rest)``."""
    for pattern in (rules.OLD_REUTERS_DATELINE, rules.PLAIN_DATELINE):
        match = pattern.match(paragraph[:120])
        if match:
            city = match.groupdict().get("city") or match.group("dateline")
            return city.strip(), match.group(0).strip(), paragraph[match.end() :]
    return None


_NUMERIC = re.compile(r"^[\d:.,/|\-–—]+$")


def is_date_line(text: str) -> bool:
    """A paragraph that is a publication time and (almost) nothing else: "Published 12 May
    2020", "May 12, 2020 10:15 AM". "NOTE: Company became public Dec 31, 1986" is a sentence."""
    if len(text) > 60 or parse_datetime(text) is None:
        return False
    other = [w for w in text.split() if not _NUMERIC.match(w) and w.lower().strip(".,:") not in _DATE_NAMES]
    return len(other) <= 1


_DATE_NAMES = frozenset(
    "jan feb mar apr may jun jul aug sep sept oct nov dec january february march april june july august "
    "september october november december mon tue wed thu fri sat sun monday tuesday wednesday thursday "
    "friday saturday sunday am pm a.m p.m gmt utc est edt published updated posted date".split()
)


def is_trailer(text: str) -> bool:
    """True for sign-offs and standard wire trailers ("Reuter", "(END)", AFP desk codes)."""
    stripped = text.strip()
    return len(stripped) < 120 and first_char_match(rules.ANY_TRAILER_RULE, stripped)


def agency_hint(text: str) -> str | None:
    """The agency a trailer or copyright line names, if it names exactly one."""
    found = [agency for agency, pattern in rules.AGENCY_HINTS if pattern.search(text)]
    return found[0] if len(found) == 1 else None


def same_headline(a: str, b: str) -> bool:
    """Two headlines are repeats when they differ only in case, quotes or whitespace."""
    return first_word_char(a) == first_word_char(b) and normalize_for_compare(a) == normalize_for_compare(b)


def is_signoff(line: str) -> bool:
    """A wire sign-off line: " REUTER", "Reuter 2325", "REUTERS" (rules.SIGNOFF_LINE)."""
    stripped = line.strip()
    return len(stripped) <= 20 and rules.SIGNOFF_LINE.fullmatch(stripped) is not None


def looks_like_headline(text: str) -> bool:
    """A short line that does not read like a body sentence."""
    words = text.split()
    return 0 < len(words) <= 30 and len(text) <= 250 and "\n" not in text


def _add_unique(target: list[str], names: list[str]) -> None:
    for name in names:
        if name and name not in target:
            target.append(name)


def apply_wire_rules(draft: Draft) -> Draft:
    """Lift tags, datelines, credits, contacts and copyright out of ``draft.paragraphs``.

    Every paragraph ends either in the body or in ``removed`` with its kind; lifted
    values also reach their fields.
    """
    kept: list[str] = []
    tag_seen = False
    headline = normalize_for_compare(draft.headline) if draft.headline else None
    headline_starts = first_word_char(headline) if headline else ""

    def may_repeat_headline(text: str) -> bool:
        # A repeat is never much longer than the headline and starts with its first word
        # character: body paragraphs are spared normalizing.
        return bool(headline) and len(text) <= 2 * len(headline or "") + 16 and first_word_char(text) == headline_starts

    hint_text: list[str] = []
    joined_next = False
    for index, paragraph in enumerate(draft.paragraphs):
        if joined_next:
            joined_next = False
            continue
        text = paragraph.strip()
        if not text:
            continue
        if (
            len(text) > 60  # shorter: maybe a date line
            and (tag_seen or len(kept) > 3)  # earlier: maybe an agency tag or a dateline
            and not may_repeat_headline(text)
            and not text.endswith(")")  # maybe an update note
            and not may_be_wire_line(text)
        ):
            kept.append(text)  # body text: no step below takes any of it (one regex call for most)
            continue
        if rules.CONTACT_HEAD.match(text) and index + 1 < len(draft.paragraphs):
            # The people are listed below the "To contact ...:" line: one contact line.
            text = f"{text} {draft.paragraphs[index + 1].strip()}"
            joined_next = True
        if may_repeat_headline(text) and normalize_for_compare(text) == headline:
            draft.removed.append(Removed("duplicate_headline", text))
            continue
        rule = None if text in draft.no_line_rule else match_line_rule(text)
        if rule:
            draft.removed.append(Removed(rule.kind, text))
            continue
        contact = rules.CONTACT_LINE.match(text) if len(text) < 1200 else None
        if contact:
            people = parse_contacts(contact.group("role") or "reporter", contact.group("rest"))
            draft.contacts.extend(people)
            for person in people:
                _add_unique(draft.byline if person.role == "reporter" else draft.editors, [person.name])
            draft.removed.append(Removed("contact_line", text))
            continue
        credit = parse_credit_line(text)
        if credit and (credit[0] != "byline" or not kept):
            kind, reporters, editors = credit
            _add_unique(draft.byline, reporters)
            _add_unique(draft.editors, editors)
            draft.removed.append(Removed(kind, text))
            hint_text.append(text)
            continue
        copyright_line = parse_copyright(text)
        if copyright_line:
            draft.copyright, draft.copyright_year = copyright_line
            draft.removed.append(Removed("copyright_line", text))
            hint_text.append(text)
            continue
        if is_date_line(text):
            draft.removed.append(Removed("metadata", text))
            continue
        if is_trailer(text) and (index >= len(draft.paragraphs) - 4 or not kept):
            draft.removed.append(Removed("trailer", text))
            hint_text.append(text)
            continue
        if not tag_seen and len(kept) <= 3:
            tagged = lift_agency_tag(text)
            if tagged:
                agency, dateline, tag, rest, reporters = tagged
                _add_unique(draft.byline, reporters)
                tag_seen = True
                if (
                    len(kept) == 1
                    and draft.standfirst is None
                    and draft.input_format == "text"
                    and len(kept[0]) <= 200
                    and not kept[0].endswith(_DECK_ENDS)
                ):
                    # A deck between the headline and the dateline ("Revenue up 12%; raises
                    # full-year outlook"): the summary under the headline, not body text.
                    draft.standfirst = kept.pop()
                draft.agency = draft.agency or agency
                draft.dateline = draft.dateline or dateline
                draft.removed.append(Removed("agency_tag", tag))
                text = rest.strip()
                if not text:
                    continue
            elif not kept:
                plain = lift_plain_dateline(text)
                if plain:
                    dateline, prefix, rest = plain
                    draft.dateline = draft.dateline or dateline
                    draft.removed.append(Removed("dateline", prefix))
                    text = rest.strip()
        note = find_update_note(text)
        if note:
            draft.removed.append(Removed("update_note", note.group(0).strip()))
            text = text[: note.start()].rstrip()
            if not text:
                continue
        kept.append(text)
    if any(text.endswith(rules.PROMO_ENDS) for text in kept):  # a newsletter's promotion (Reuters')
        promos = {t for t in kept if len(t) <= 400 and rules.NEWSLETTER_PROMO.fullmatch(t)}
        draft.removed.extend(Removed("newsletter", text) for text in kept if text in promos)
        kept = [text for text in kept if text not in promos]
    closing_agency = _cut_closings(kept, draft.removed)  # called whatever the agency: it cuts
    draft.agency = draft.agency or closing_agency
    if draft.agency in rules.PRESS_RELEASE_WIRES:
        kept = _without_release_sections(kept, draft.removed)
    if draft.agency is None and hint_text:
        draft.agency = agency_hint(" ".join(hint_text))
    if draft.agency is None:
        draft.agency = _marker_agency(draft.removed)
    draft.paragraphs = kept
    return draft


#: How a body paragraph ends; a deck (a subheadline) has no such end.
_DECK_ENDS = (".", "!", "?", '"', "”", ":", ";", ",")
#: What ends the sentence before a closing tag.
_SENTENCE_ENDS = (".", "!", "?", '"', "”", "»")


def _cut_closings(kept: list[str], removed: list[Removed]) -> str | None:
    """Cut what closes the last paragraph after its last sentence, each a trailer: an
    agency's tag (`closing_agency_tag`: the paragraph goes if nothing else is left), an end
    word (`rules.CLOSING_WORD`: "Enditem", "(FIN)", "（完）"), a desk's codes
    (`rules.CLOSING_CODES`: "./mis/he"). The agency the tag names, if one does."""

    def cut(at: int) -> None:
        removed.append(Removed("trailer", kept[-1][at:].strip()))
        kept[-1] = kept[-1][:at]
        if not kept[-1]:
            kept.pop()

    agency = None
    # A funder's note or a website's notice closing the copy, a paragraph of its own (AP's "...
    # receives support from ... AP is solely responsible for all content.", Anadolu's web copy's
    # "... Please contact us for subscription options."): longer than the trailer rules read.
    while kept and len(kept[-1]) <= rules.CLOSING_NOTE_MAX:
        if rules.CLOSING_NOTE.fullmatch(kept[-1]):
            removed.append(Removed("trailer", kept.pop()))
        elif len(kept) > 1 and rules.CORRECTION_NOTE.fullmatch(kept[-1]):
            removed.append(Removed("update_note", kept.pop()))
        else:
            break
    if kept and kept[-1].endswith((")", ").")):
        closing = closing_agency_tag(kept[-1])
        if closing:
            agency, before = closing
            cut(len(before))
    if kept and kept[-1].endswith(("Enditem", ")", "）")):
        word = rules.CLOSING_WORD.search(kept[-1])
        if word:
            cut(word.start())
    if kept and "/" in kept[-1][-24:]:
        codes = rules.CLOSING_CODES.search(kept[-1])
        if codes:
            cut(codes.start())
    return agency


def closing_agency_tag(paragraph: str) -> tuple[str, str] | None:
    """``(agency, the paragraph without it)`` when ``paragraph`` ends with an agency's tag
    after its last sentence, or is that tag alone: ANSA's sign-off, "... ha detto il
    ministro. (ANSA).", as " Reuter" is Reuters'. Until the thirty-third session it stayed
    the story's last words. A tag inside a sentence ("... said (Reuters) on Monday") or
    closing one without its stop is left."""
    start = paragraph.rfind("(")
    if start < 0:
        return None
    tag = rules.AGENCY_TAG_AT.match(paragraph, start)
    if not tag or not tag.lastgroup or paragraph[tag.end() :].strip() not in ("", "."):
        return None
    before = paragraph[:start].rstrip()
    if before and not before.endswith(_SENTENCE_ENDS):
        return None
    return rules.AGENCY_TAGS[int(tag.lastgroup[1:])][0], before


def _without_release_sections(paragraphs: list[str], removed: list[Removed]) -> list[str]:
    """A press release's body less its closing sections (`rules.RELEASE_SECTION`): the
    issuer's "About Acme Corp." boilerplate, the forward-looking statements, the media
    contacts, from such a heading after the lead's first two paragraphs to its end. They are
    the same in every release of an issuer (and made releases near copies of each other),
    and no story's text."""
    for index in range(2, len(paragraphs)):  # after the lead and one more
        if len(paragraphs[index]) <= 120 and rules.RELEASE_SECTION.match(paragraphs[index]):
            removed.extend(Removed("trailer", text) for text in paragraphs[index:])
            return paragraphs[:index]
    return paragraphs


def _marker_agency(removed: list[Removed]) -> str | None:
    """The agency a flash marker names (``rules.FLASH_MARKER_AGENCIES``), if one was lifted."""
    for entry in removed[:4]:
        if entry.kind == "envelope":
            for pattern, agency, _ in rules.FLASH_MARKER_AGENCIES:
                if pattern.fullmatch(entry.text):
                    return agency
    return None


def find_update_note(text: str) -> re.Match[str] | None:
    """The update note closing ``text``, if any: matched from the last "(" only, so that a
    paragraph of long whitespace runs costs one pass (a search would backtrack over each)."""
    if not text.endswith(")"):
        return None
    start = text.rfind("(", max(0, len(text) - rules.UPDATE_NOTE_MAX))
    return rules.UPDATE_NOTE.match(text, start) if start >= 0 else None
