"""One small page per HTML extraction rule: the rule's reason to exist, checked.

Each page has a story (several sentences, so it wins the scoring) and one piece of
boilerplate that only the rule under test removes (or one piece of story that only the
rule under test keeps). Pages are in several languages on purpose: the rules read
structure, not English words.
"""

from __future__ import annotations

import pytest
from lxml import etree

from parsers import parse_story
from parsers.html import _kind_for_hints
from schemas.errors import ParseError
from schemas.story import Story

STORY_EN = [
    "The port of Rotterdam reopened on Tuesday after a three-day strike by crane operators, the union said.",
    "Shipping lines had diverted dozens of vessels to Antwerp and Hamburg, adding days to delivery schedules.",
    "The agreement raises wages by 6% over two years, and talks on pensions resume in March, officials said.",
    "Traders said container rates on the Asia-Europe route rose for a second week as the backlog cleared.",
]
STORY_PT = [
    "A equipe do Serviço de Atendimento Domiciliar registrou nesta manhã o arrombamento de dois veículos da unidade.",
    "Os veículos estavam sem as respectivas baterias e com marcas de depredação, segundo a secretaria.",
    "Foi feito boletim de ocorrência e a polícia foi até o local para verificar os danos nos veículos.",
]


def _page(body: str, lang: str = "en") -> bytes:
    return f"<html lang='{lang}'><head><title>T</title></head><body>{body}</body></html>".encode()


def _ps(paragraphs: list[str]) -> str:
    return "".join(f"<p>{p}</p>" for p in paragraphs)


def _body(body: str, lang: str = "en") -> str:
    return parse_story(_page(body, lang), "page.html").body


def test_text_written_straight_into_a_container_is_found() -> None:
    # The story is bare text between an <img> and <br>s inside a layout column, next to a
    # sidebar of short links: it must win even though it has no <p> of its own.
    sidebar = "<div class='col-3'><ul>" + "".join(f"<li><a href='/a{i}'>Arquivo {i}</a></li>" for i in range(30))
    sidebar += "</ul></div>"
    story = " ".join(STORY_PT)
    column = f"<div class='col-9'><p class='titulo'>Arrombamento</p><img src='x.jpg'>{story}<br><br></div>"
    body = _body(sidebar + column, "pt")
    assert story in body
    assert "Arquivo" not in body


def test_a_related_heading_takes_its_whole_block() -> None:
    related = (
        "<section><h3 class='relatedpoststitle'>Você pode gostar...</h3>"
        + "".join(f"<article><p>{p} Leia mais sobre o caso {i}.</p></article>" for i, p in enumerate(STORY_PT))
        + "</section>"
    )
    body = _body(f"<main><article><h1>Greve</h1>{_ps(STORY_EN)}</article>{related}</main>")
    assert STORY_EN[0] in body
    assert "Leia mais" not in body and "Você pode gostar" not in body


def test_plural_posts_is_not_a_positive_hint() -> None:
    assert _kind_for_hints("relatedposts") == "related_links"
    assert _kind_for_hints("post-content related") is None  # a singular "post" still excuses


def test_plural_articles_is_not_a_positive_hint() -> None:
    # "ce_relatedArticles": a list of other articles, like "relatedposts".
    assert _kind_for_hints("ce_relatedArticles block") == "related_links"
    assert _kind_for_hints("article-body related") is None


def test_ads_and_navigation_beat_positive_words() -> None:
    assert _kind_for_hints("shunno-sidebar-article shunno-widget-deals") == "navigation"
    assert _kind_for_hints("article-ad-slot") == "advertisement"
    assert _kind_for_hints("post-content has-share-bar") is None


def test_the_last_part_of_a_compound_class_word_says_what_the_element_is() -> None:
    # "post-ratings" are a post's ratings, "article-tools" its tools: the positive first part
    # does not excuse them. A number is not a part; a positive last part still excuses.
    assert _kind_for_hints("post-ratings post-ratings-90871") == "boilerplate"
    assert _kind_for_hints("article-tools") == "share_widget"
    assert _kind_for_hints("homestory-show-cta") == "newsletter"
    assert _kind_for_hints("entry-content") is None
    # A last part that names only a box ("text", "body", "wrapper") hands over to the part
    # before it: "dpsp-share-text" is a share widget's label, "comment-body" a comment's.
    assert _kind_for_hints("dpsp-share-text") == "share_widget"
    assert _kind_for_hints("comment-body") == "boilerplate"
    assert _kind_for_hints("post-body-wrapper") is None
    assert _kind_for_hints("vl_disclosure") == "boilerplate"  # an affiliate disclosure
    ratings = "<div class='post-ratings'><span>(Noch keine Bewertungen)</span></div>"
    body = _body(f"<div class='entry-content'>{_ps(STORY_EN)}{ratings}</div>", "de")
    assert all(p in body for p in STORY_EN)
    assert "Bewertungen" not in body


def test_ellipsis_teasers_do_not_make_a_sidebar_look_like_a_story() -> None:
    teasers = "".join(
        f"<div><h4><a href='/d{i}'>Deal {i}</a></h4><p>{STORY_EN[i % 4][:-1]} and a discount worth reading about "
        f"before the weekend sale ends for good...</p></div>"
        for i in range(8)
    )
    sidebar = f"<aside><div class='site-sidebar-articles'>{teasers}</div></aside>"
    page = f"{sidebar}<article><h1>Strike</h1>{_ps(STORY_EN)}</article>"
    body = _body(page)
    assert STORY_EN[0] in body
    assert "discount worth reading" not in body


@pytest.mark.parametrize(
    "label",
    ["Auch lesen:", "Read more:", "Czytaj też:", "LE PUEDE INTERESAR:", "Sehen Sie auch:", "Related:"],
)
def test_a_label_and_one_link_is_a_pointer_to_another_page(label: str) -> None:
    # "Auch lesen: <a>Diese 3 Sternzeichen ...</a>": a short label ending in ":" and one link
    # that fills the rest of the paragraph points to another story, in any language. A
    # speaker's name before a long linked question (an interview) is not such a pointer.
    pointer = f"<p>{label} <a href='/other-story'>Dockers in Antwerp vote on a strike of their own</a></p>"
    question = "<a href='/q'>" + " ".join(STORY_EN) + "</a>"
    interview = f"<p>Korinna Hennig: {question}</p>"
    body = _body(f"<article><h1>Strike</h1>{_ps(STORY_EN[:2])}{pointer}{_ps(STORY_EN[2:])}{interview}</article>")
    assert all(p in body for p in STORY_EN)
    assert "Dockers in Antwerp" not in body and label not in body
    assert "Korinna Hennig" in body


def test_a_paragraph_of_links_only_is_dropped() -> None:
    tags = "<p><a href='/t/a'>Mensagens de Autoestima</a>, <a href='/t/b'>Reflexão Sobre a Vida</a></p>"
    body = _body(f"<article><h1>Amor</h1>{_ps(STORY_PT)}{tags}</article>", "pt")
    assert STORY_PT[0] in body
    assert "Autoestima" not in body
    # Three links or more with labels between them ("[VIDEO]", "|"): still a list of links.
    labelled = (
        "<p><a href='/a'>China furious at Macron for Hong Kong protest jibe</a> [<strong>INSIGHT]|<br></strong>"
        "<a href='/b'>Lakers vs Nets: NBA make final decision on game</a> [<strong>VIDEO]<br></strong>"
        "<a href='/c'>Hong Kong 'threatened with military intervention'</a><strong> [REACTION]</strong></p>"
    )
    # A sentence with three linked names in it is still a sentence.
    sentence = (
        "<p>The talks brought together <a href='/p/1'>Emmanuel Macron</a>, <a href='/p/2'>Xi Jinping</a> and "
        "<a href='/p/3'>Olaf Scholz</a> for two days of meetings on trade and security in Paris.</p>"
    )
    title = "<p><strong>DON'T MISS</strong></p>"
    body = _body(f"<article><h1>Hong Kong</h1>{_ps(STORY_EN)}{title}{labelled}{sentence}</article>")
    assert all(p in body for p in STORY_EN)
    assert "China furious" not in body and "REACTION" not in body
    assert "DON'T MISS" not in body  # the list's title goes with it
    assert "Olaf Scholz for two days of meetings" in body


def test_a_run_of_single_link_paragraphs_and_its_title_are_dropped() -> None:
    links = "<p>Sie könnten auch mögen</p>" + "".join(
        f"<p><a href='/story/{i}'>Weitere Nachricht Nummer {i} aus der Region</a></p>" for i in range(4)
    )
    body = _body(f"<article><h1>Streik</h1>{_ps(STORY_EN)}{links}</article>", "de")
    assert STORY_EN[-1] in body
    assert "Weitere Nachricht" not in body and "könnten auch" not in body


def test_a_story_split_across_wrapper_chunks_is_joined() -> None:
    # Two grid rows, each a wrapper around one cell of the story, with an ad rail beside.
    def row(paragraphs: list[str]) -> str:
        return f"<div class='grid'><div class='grid-item body'>{_ps(paragraphs)}</div><div class='rail'></div></div>"

    page = f"<h1>Strike</h1><div class='chunks'>{row(STORY_EN[:2])}{row(STORY_EN[2:])}</div>"
    body = _body(page)
    assert all(p in body for p in STORY_EN)


def test_sections_built_in_the_stories_box_are_joined_but_teaser_boxes_are_not() -> None:
    # A recipe page: the head, the ingredients (a table, a few items linked to a shop) and
    # the method are sibling boxes of one class, each with its own modifier (<section>s,
    # which score little by their tag); only the method scores as a story. Its sister boxes
    # are parts of it. A box of the same class holding teasers (titles that are links, "read
    # more") is not, nor one that is mostly links, nor a row of facts too short to be text.
    rows = "".join(
        f"<tr><td>{amount}</td><td><a href='/shop/{item}'>{item}</a></td></tr>"
        if linked
        else f"<tr><td>{amount}</td><td>{item}</td></tr>"
        for amount, item, linked in (
            ("125 g", "flour", False),
            ("65 g", "sugar", False),
            ("65 g", "butter or margarine", True),
            ("1", "egg", False),
            ("1 tsp", "baking powder", False),
            ("500 ml", "milk", False),
            ("2 packets", "vanilla pudding powder", False),
            ("3 tubs", "soured cream, about 200 g each", False),
            ("2 tins", "mandarins, about 300 g each", False),
            ("1 packet", "clear cake glaze", False),
        )
    )
    table = f"<h2>Ingredients for one 26 cm tin</h2><table>{rows}</table>"
    ingredients = f"<section class='box col-8 ingredients'>{table}</section>"
    method = f"<section class='box col-8 method'><h2>Method</h2>{_ps(STORY_EN)}</section>"
    teaser = (
        "<div class='card'><h3><a href='/cheesecake'>The creamiest cheesecake we know</a></h3>"
        "<p>Baked slowly for two hours and left to cool overnight in the oven with its door ajar the cake"
        " stays moist and never cracks</p>"
        "<a href='/cheesecake'>Read more</a></div>"
    )
    teasers = f"<section class='box col-8 tips'>{teaser * 3}</section>"
    menu = "".join(f"<li><a href='/c/{n}'>Category number {n}</a></li>" for n in range(8))
    links = f"<section class='box col-4 categories'><p>All our categories:</p><ul>{menu}</ul></section>"
    head = "<section class='box col-8 head'><h1>Mandarin cream cake</h1><p>The creamiest cake I know!</p></section>"
    tools = "<span>Rated 4.5 by 212 readers</span> <span>Easy</span> <span>Serves 12</span>"
    tools = f"<section class='box col-8 strip'>{tools}</section>"
    body = _body(f"<main>{head}{tools}{ingredients}{method}{teasers}{links}</main>")
    assert all(p in body for p in STORY_EN)
    assert "butter or margarine" in body and "mandarins, about 300 g each" in body
    assert "The creamiest cake I know!" in body  # the story's head: it holds the <h1>
    assert "212 readers" not in body  # too little text to be a part of the story
    assert "creamiest cheesecake" not in body and "Baked slowly" not in body
    assert "Category number" not in body and "All our categories" not in body


def test_a_story_split_over_rows_of_one_kind_is_joined_but_not_over_grid_columns() -> None:
    # The story's first paragraphs and the rest sit in two page rows of one kind (first class
    # word alike, modifiers differ), each wrapping its text in a few layout levels; only the
    # longer chunk wins the scoring. A grid column is not kin by its width class: a claim
    # box in "col-xs-12" beside the story's "col-xs-12 col-md-8" stays out.
    def row(modifier: str, paragraphs: list[str]) -> str:
        inner = f"<div class='column column--story'><div class='story-text'>{_ps(paragraphs)}</div></div>"
        inner = f"<div class='container'><div class='column'><div class='row row--story'>{inner}</div></div></div>"
        return f"<section class='page-row page-row--story {modifier}'>{inner}</section>"

    lead = [p + " " + p for p in STORY_EN[:1]]
    page = f"<h1>Strike</h1>{row('mobile-spacing', lead)}{row('main-section', STORY_PT + STORY_EN[1:])}"
    body = _body(page)
    assert lead[0] in body and all(p in body for p in STORY_PT + STORY_EN[1:])
    claim = (
        "<div class='col-xs-12'><p>The claim: the strike was called off because the union ran out of money.</p></div>"
    )
    story = f"<div class='col-xs-12 col-md-8'><div class='text'>{_ps(STORY_PT + STORY_EN)}</div></div>"
    body = _body(f"<h1>Strike</h1><div class='row'>{claim}{story}</div>")
    assert all(p in body for p in STORY_EN) and "The claim" not in body


def test_alike_sections_after_a_short_intro_are_joined_but_teaser_boxes_are_not() -> None:
    # A product or campaign page: a short intro (the <h1> and a few paragraphs) wins the
    # scoring; the rest of its text sits in sections built alike after it, each a heading
    # and paragraphs a few layout levels down, which score too little on their own.
    def section(heading: str, paragraphs: list[str], linked: bool = False) -> str:
        title = f"<a href='/{heading}'>{heading}</a>" if linked else heading
        inner = "<div class='info-image' style='background:url(x.jpg)'></div><div class='col-8'>"
        inner += f"<h2>{title}</h2><div>{_ps(paragraphs)}</div></div>"
        return f"<div class='col-12 pl0 mt30'>{inner}</div>"

    intro = f"<div class='intro'><div class='text-left'><h1>Port reopens</h1>{_ps(STORY_EN)}</div></div>"
    sections = [section(f"Part {n}", [STORY_PT[n], STORY_PT[n - 1]]) for n in range(3)]
    body = _body(f"<div class='content'>{intro}{''.join(sections)}</div>")
    assert all(p in body for p in STORY_EN + STORY_PT) and "Part 2" in body
    # Teaser boxes (the heading is a link to another page) after the intro stay out.
    teasers = [section(f"Other {n}", [STORY_PT[n], STORY_PT[n - 1]], linked=True) for n in range(3)]
    body = _body(f"<div class='content'>{intro}{''.join(teasers)}</div>")
    assert all(p in body for p in STORY_EN) and not any(p in body for p in STORY_PT)
    # After a story of its own length (not a short intro), such boxes are not its sections.
    story = [f"{p} {p}" for p in STORY_EN + STORY_EN]
    long_intro = f"<div class='intro'><div class='text-left'><h1>Port reopens</h1>{_ps(story)}</div></div>"
    body = _body(f"<div class='content'>{long_intro}{''.join(sections)}</div>")
    assert all(p in body for p in story) and not any(p in body for p in STORY_PT)


def test_prose_beside_a_short_region_is_taken_but_not_a_teaser_box() -> None:
    # A product page (a coffee's, in trafilatura-dev): the header box (the <h1> and one
    # paragraph) wins the scoring; the rest of the page's prose sits in boxes of other
    # shapes further down (a slider's text, a feature box), none scoring enough to join it,
    # and was lost. A region this short is no whole story: the page's other prose blocks
    # are taken, in page order, but not a teaser box (its heading links to another page).
    header = f"<div class='product-header'><div class='text'><h1>Cafe do porto</h1><p>{STORY_PT[0]}</p></div></div>"
    slide = f"<div class='slider'><div class='slide'><div class='title'>Notas</div><div>{STORY_PT[1]}</div></div></div>"
    feature = f"<section class='info'><div class='wrap'><p class='txt'>{STORY_PT[2]}</p></div></section>"
    teaser = f"<div class='more'><h3><a href='/outro'>Outro cafe da casa</a></h3><p>{STORY_EN[0]}</p></div>"
    body = _body(header + slide + teaser + feature, "pt")
    assert all(p in body for p in STORY_PT)
    assert body.index(STORY_PT[0]) < body.index(STORY_PT[1]) < body.index(STORY_PT[2])
    assert STORY_EN[0] not in body
    # Beside a region long enough to be a story, other boxes are left alone.
    story = f"<article><h1>Port</h1>{_ps([f'{p} {p}' for p in STORY_EN])}</article>"
    body = _body(story + feature, "pt")
    assert STORY_EN[0] in body and STORY_PT[2] not in body


def test_a_page_of_bare_paragraphs_gives_each_once() -> None:
    # No container around the story (a mail's HTML part, a bare export): the region is the
    # <body> itself, and the prose-beside rule walked the body's children, took the
    # region's own paragraphs again, and every paragraph came out twice.
    page = f"<html><body>{_ps(STORY_EN[:2])}</body></html>"
    story = parse_story(page.encode(), "mem://bare.html")
    assert story.paragraphs == STORY_EN[:2]


def test_a_box_left_with_only_its_menus_title_goes_with_the_menu() -> None:
    # A table of contents inside the story: its <nav> is dropped, and the box it sat in
    # keeps only the title ("Inhaltsverzeichnis"), which went on as a line of the story.
    # A subheading beside a menu in a box with text of its own stays.
    items = "".join(f"<li><a href='#part-{n}'>Part {n} of the story</a></li>" for n in range(4))
    title = "<div class='box-t'><p class='t'>Inhaltsverzeichnis</p></div>"
    toc = f"<div class='box-c'>{title}<nav><ul>{items}</ul></nav></div>"
    kept = f"<div class='box-c'><h2>Die Verhandlungen</h2><nav><ul>{items}</ul></nav><p>{STORY_PT[0]}</p></div>"
    body = _body(f"<article><h1>Hafen</h1><p>{STORY_EN[0]}</p>{toc}{_ps(STORY_EN[1:])}{kept}</article>", "de")
    assert all(p in body for p in STORY_EN) and STORY_PT[0] in body
    assert "Inhaltsverzeichnis" not in body and "Die Verhandlungen" in body


def test_a_page_wrapped_in_one_form_keeps_its_story_and_a_sign_up_form_goes() -> None:
    # ASP.NET WebForms wraps the whole page in <form id="form1"> (with its hidden view state);
    # forms are dropped whole, so such a page lost everything. A form holding the headline
    # or story text is the page; a newsletter form inside the story is still dropped.
    signup = (
        "<form action='/subscribe' method='post'><label>Get the morning briefing by email every day</label>"
        "<input type='email' name='email'><button>Sign up</button></form>"
    )
    state = "<div class='aspNetHidden'><input type='hidden' name='__VIEWSTATE' id='__VIEWSTATE' value='/wEPDwUK'></div>"
    story = f"<div id='content'><h1>Port reopens</h1>{_ps(STORY_EN[:2])}{signup}{_ps(STORY_EN[2:])}</div>"
    page = f"<form method='post' action='./article.aspx?id=4711' id='form1'>\r\n{state}\r\n{story}</form>"
    body = _body(page)
    assert all(p in body for p in STORY_EN)
    assert "morning briefing" not in body
    short = (
        f"<form method='post' action='./item.aspx' id='form1'>{state}<h1>Port reopens</h1><p>{STORY_EN[0]}</p></form>"
    )
    assert STORY_EN[0] in _body(short)  # one short paragraph, held with the headline


def test_the_box_around_a_sign_up_form_goes_with_it() -> None:
    # A newsletter box (its title and pitch around the fields) and a donation appeal inside
    # the story: the form goes with the form tags, its box with it. A story paragraph beside
    # a form, in the same container, stays.
    newsletter = (
        "<div class='nl-section'><div class='container'><div class='display-1 title'>NEWS<br/>LETTERS</div>"
        "<div class='holder'><form action='#'><input type='text' name='email'>"
        "<span class='description'>* Mandatory fields</span><button>Go</button></form></div>"
        "<div class='text-holder'><span class='lead'>News, tips and trends: we have lots for you!</span></div>"
        "</div></div>"
    )
    appeal = (
        "<div class='c-flyout'><div class='o-media__body'><span class='h4'>Help us!</span>"
        "<p>Every small donation helps people in need around the world!</p></div>"
        "<div class='foot'><form action='/donate/now/' method='post'><input type='hidden' name='a' value='1'>"
        "<button type='submit'>Donate</button></form></div></div>"
    )
    search = "<form action='/search'><input name='q'><button>Search the archive</button></form>"
    story = f"<article><h1>Port reopens</h1>{_ps(STORY_EN[:2])}{newsletter}<div class='part'><p>{STORY_EN[2]}</p>"
    body = _body(f"{story}{search}</div>{appeal}<p>{STORY_EN[3]}</p></article>")
    assert all(p in body for p in STORY_EN)
    assert "LETTERS" not in body and "tips and trends" not in body
    assert "Help us" not in body and "small donation" not in body


def test_hover_cards_inside_a_paragraph_are_dropped() -> None:
    card = (
        "<span class='rollover-people'><a href='/people/x'>Jane Roe</a>"
        "<span class='rollover-people-block'><a href='/x/1'>Other headline about Jane Roe</a></span></span>"
    )
    paragraphs = [f"Talks were led by {card}, the union's negotiator, who said the deal was fair.", *STORY_EN]
    body = _body(f"<article><h1>Strike</h1>{_ps(paragraphs)}</article>")
    assert "Talks were led by Jane Roe, the union's negotiator" in body
    assert "Other headline" not in body


def test_the_footer_copyright_is_read_from_its_own_element() -> None:
    footer = (
        "<footer><div class='copyright'> © 2019 <a href='/'>Mensagens de Reflexão</a> <br></div>"
        "<div class='menu'><a href='/c'>Contato</a> <a href='/k'>Categorias</a></div></footer>"
    )
    story = parse_story(_page(f"<article><h1>Amor</h1>{_ps(STORY_PT)}</article>{footer}", "pt"), "p.html")
    assert story.copyright == "© 2019 Mensagens de Reflexão"
    assert story.copyright_year == 2019


def test_a_dated_meta_line_is_not_story_text() -> None:
    meta = "<small>05/10/2018 - Publicado por: Clarissa Borba - Categoria: Saúde</small><br>"
    body = _body(f"<div class='col'><p class='t'>Arrombamento</p>{meta}{' '.join(STORY_PT)}<br></div>", "pt")
    assert STORY_PT[0] in body
    assert "Publicado por" not in body


def test_an_orphaned_list_title_at_the_end_is_dropped() -> None:
    body = _body(f"<article><h1>Strike</h1>{_ps(STORY_EN)}<h3>More Great Stories</h3></article>")
    assert body.endswith(STORY_EN[-1])
    # Titles run longer than 40 characters; a last line that ends a sentence is story text.
    title = "<p class='subline'>Weitere aktuelle Themen aus der Arbeitswelt</p>"
    body = _body(f"<article><h1>Streik</h1>{_ps(STORY_EN)}{title}</article>", "de")
    assert body.endswith(STORY_EN[-1])
    last = "<p>Und am Ende blieb der Hafen dennoch offen.</p>"
    assert _body(f"<article><h1>Streik</h1>{_ps(STORY_EN)}{last}</article>", "de").endswith("dennoch offen.")


def test_a_comments_section_with_long_comments_is_not_story() -> None:
    comments = "".join(
        f"<div class='comment'><p class='author'>user{i}</p><p>I have worked in shipping for twenty years and strikes "
        f"like this one always end the same way, with a deal nobody likes but everybody signs, number {i}.</p>"
        f"<p>The real question is what happens to the backlog and whether shipping lines pass the cost on to "
        f"customers, which they always do in my experience, number {i}.</p></div>"
        for i in range(5)
    )
    post = f"<article class='post'><h1>Why ports matter</h1>{_ps(STORY_EN)}</article>"
    section = f"<section id='comments' class='comments-area'><h2>12 comments</h2>{comments}</section>"
    story = parse_story(_page(f"<main>{post}{section}</main>"), "blog.html")
    assert story.paragraphs == STORY_EN
    assert any("twenty years" in r.text for r in story.removed)


def test_a_polish_page_with_a_see_also_box() -> None:
    paragraphs = [
        f"Operatorzy dźwigów w porcie w Rotterdamie zaakceptowali w środę dwuletnie porozumienie płacowe, "
        f"kończąc strajk, który unieruchomił setki kontenerów, część {i}."
        for i in range(4)
    ]
    see_also = "<aside class='zobacz-takze'><h3>Zobacz także</h3><ul>" + "".join(
        f"<li><a href='/a{i}'>Inny artykuł o portach numer {i}</a></li>" for i in range(6)
    )
    story = parse_story(
        _page(f"<article><h1>Strajk zakończony</h1>{_ps(paragraphs)}</article>{see_also}</ul></aside>", "pl"), "p.html"
    )
    assert story.paragraphs == paragraphs
    assert story.language == "pl"


def test_nested_link_lists_are_recorded_once() -> None:
    def group(g: int) -> str:
        entries = "".join(f"<p><a href='/{g}/{i}'>Another story about ports, number {g}.{i}</a></p>" for i in range(4))
        return f"<div><p><a href='/g{g}'>Group {g} of other stories about the harbour</a></p><div>{entries}</div></div>"

    nested = "".join(group(g) for g in range(3))
    story = parse_story(_page(f"<article><h1>Strike</h1>{_ps(STORY_EN)}{nested}</article>"), "p.html")
    assert story.paragraphs == STORY_EN
    for g in range(3):
        for i in range(4):
            holders = [r.text for r in story.removed if f"number {g}.{i}" in r.text]
            assert len(holders) == 1, f"link {g}.{i} recorded {len(holders)} times: {holders}"


def test_cta_is_a_word_not_any_three_letters() -> None:
    # "produCTAmodomio", "aCTA", "oCTAne": a product text block named after the product.
    assert _kind_for_hints("productamodomio parbase section") is None
    assert _kind_for_hints("footer-cta") == "newsletter"
    story = f"<div class='productamodomio parbase'><h2>Zubereitung</h2>{_ps(STORY_EN)}</div>"
    assert STORY_EN[0] in _body(f"<h1>Kaffee</h1>{story}<div class='cta'><p>Jetzt bestellen!</p></div>", "de")


def test_a_header_that_swallowed_a_post_keeps_its_text() -> None:
    # libxml2 can leave a forum post's <header> open, so the post's text ends up inside it.
    # Without a headline and with that much unlinked text, it is not the page's header.
    posts = "".join(
        f"<article class='message'><header class='message-attribution'><a href='/p/{i}'>Sep {i}, 2020</a>"
        f"<div class='bb'>{'<br>'.join(STORY_EN + STORY_PT)} Post {i}.</div></header></article>"
        for i in range(1, 4)
    )
    head = "<header class='site'><h1>Patch notes</h1><p>A standfirst the header holds, not story.</p></header>"
    body = _body(f"{head}<div class='thread'>{posts}</div>")
    assert STORY_EN[0] in body and "Post 3." in body
    assert "not story." not in body


def test_numbered_story_blocks_are_joined() -> None:
    # A CMS writes each chunk of the story as its own block, div#block-<n>, nested deep enough
    # that paragraph scores never reach the blocks' common parent.
    def block(n: int, paragraphs: list[str]) -> str:
        inner = f"<div class='txt'>{_ps(paragraphs)}</div>"
        return f"<div id='blockid-46474{n:02d}'><section class='cs'><div class='w'><h3>Part {n}</h3>" + (
            f"<div class='row'><div class='col'>{inner}</div></div></div></section></div>"
        )

    chunks = [STORY_EN[:1], STORY_PT[:2], STORY_EN[1:3], STORY_PT[2:]]
    page = "<h1>Strike</h1><div class='container'>" + "".join(block(n, c) for n, c in enumerate(chunks))
    body = _body(page + "<div id='blockid-4647499'></div></div>")
    assert all(p in body for c in chunks for p in c)


def test_a_live_blog_is_its_list_of_entries() -> None:
    # Each update is a short entry built like the others (div.item ...); one entry wins the
    # scoring, but the story is the whole list. A list of linked teasers is not an entry list.
    # The real page's winner is an entry with a results table and comma-rich text; the short
    # updates around it score too little to join it as siblings.
    updates = [" ".join(STORY_EN)] + [f"Update {i}: the cranes at terminal {i} are moving again" for i in range(12)]
    kinds = ("item item--composite rendered", "item item--special", "item")
    entries = "".join(
        f"<div class='{kinds[i % 3]}'><div class='item__inner'><div class='item__copy'>{u}</div></div></div>"
        for i, u in enumerate(updates)
    )
    teasers = "<div class='more'>" + "".join(
        f"<div class='teaser'><a href='/t{i}'>Another live report, part {i}</a></div>" for i in range(8)
    )
    body = _body(f"<h1>Live: port strike</h1><div class='live'>{entries}</div>{teasers}</div>")
    assert all(u in body for u in updates)
    assert "Another live report" not in body


def test_a_story_naming_class_does_not_make_a_widget_the_story() -> None:
    # "accordion-content" names content; around one line of text it is a rating widget, and
    # the recipe's steps (in a box with no such name) are the story.
    widget = "<div class='accordion-content'><div>Bitte bewerte das Rezept, jetzt, hier, gern.</div></div>"
    steps = "<div class='box'>" + "".join(f"<p>{p}</p>" for p in STORY_PT) + "</div>"
    body = _body(f"<h1>Kuchen</h1><div class='right'>{widget}</div><div class='box-wrap'>{steps}</div>", "pt")
    assert STORY_PT[0] in body
    assert "bewerte" not in body


def test_a_page_after_server_warnings_is_html() -> None:
    # A PHP site printing its warnings before the page: more than 4 KB of "<br /><b>..." lines.
    warning = "<br />\n<b>Deprecated</b>:  Assigning the return value of new by reference is deprecated in <b>x.php</b>"
    warnings = "".join(f"{warning} on line <b>{n}</b><br />\n" for n in range(40))
    html = _page(f"<article><h1>Strike</h1>{_ps(STORY_EN)}</article>").decode()
    page = f"{warnings}<!DOCTYPE html>{html}".encode()
    story = parse_story(page, "blog")
    assert story.input_format == "html"
    assert story.paragraphs == STORY_EN


def test_a_comments_section_is_known_by_its_name_in_several_languages() -> None:
    # taz names its readers' comments "community page": "page" is a word that names the story,
    # so the name of the section must count on its own.
    comments = "".join(
        f"<div class='c'><p>Ich arbeite seit zwanzig Jahren im Hafen, und solche Streiks enden immer "
        f"gleich, mit einem Abschluss, den niemand mag, aber alle unterschreiben, Nummer {i}.</p>"
        f"<p>Die eigentliche Frage ist, was mit dem Rückstau passiert und wer die Kosten trägt, Nummer {i}.</p></div>"
        for i in range(5)
    )
    for name in ("full community page last", "kommentare", "comentarios"):
        post = f"<div class='full article page'><h1>Streik</h1>{_ps(STORY_EN)}</div>"
        story = parse_story(_page(f"<div id='pages'>{post}<div class='{name}'>{comments}</div></div>", "de"), "p")
        assert story.paragraphs == STORY_EN, name


def test_an_image_with_its_caption_in_plain_divs_is_a_figure() -> None:
    # No <figure>, no caption class: a block holding an image and a line of text is one.
    visual = (
        "<div class='visual inline'><picture><img src='x.jpg' alt=''></picture><div class='description'>"
        "<strong class='title'>Eine kleine runde Aussparung im Display.</strong><span>© Jon Prosser</span></div></div>"
    )
    body = _body(f"<article><h1>iPhone</h1>{_ps(STORY_EN[:2])}{visual}{_ps(STORY_EN[2:])}</article>")
    assert all(p in body for p in STORY_EN)
    assert "Aussparung" not in body and "Prosser" not in body
    # The image in a box of its own, the caption beside that box in the block around both.
    boxed = (
        "<div align='center'><div class='article-img'><img src='y.jpg' alt='The slimmer bezels'></div><br>"
        "<span class='minor2 small gray'>The slimmer bezels of the new laptop</span></div>"
    )
    body = _body(f"<article><h1>Laptop</h1>{_ps(STORY_EN[:2])}{boxed}{_ps(STORY_EN[2:])}</article>")
    assert all(p in body for p in STORY_EN)
    assert "bezels" not in body


def test_a_section_header_inside_the_story_is_a_subheading() -> None:
    # An FAQ accordion: each entry's <header> holds its question, the answer follows it. A
    # header over a list of links ("Trending") is still not story text.
    entries = "".join(
        f"<li class='acc'><header class='acc_head'><h3>Question {i}: what changes for shippers?</h3></header>"
        f"<div class='acc_answer'><p>{p}</p></div></li>"
        for i, p in enumerate(STORY_EN)
    )
    trending = "<div><header><h3>Trending</h3></header><ul>" + "".join(
        f"<li><a href='/t{i}'>Other story number {i} about ports</a></li>" for i in range(5)
    )
    page = (
        f"<article><h1>FAQ</h1><div class='faq-wrap'>{_ps(STORY_PT)}<ul class='faq'>{entries}</ul>{trending}</ul></div>"
    )
    body = _body(page + "</div></article>")
    assert "Question 2: what changes for shippers?" in body and STORY_EN[2] in body
    assert "Trending" not in body


def test_a_page_that_is_only_links_is_no_body_with_nothing_invented() -> None:
    # An index page: a menu, a list of headlines, a footer. No story text: quarantined.
    menu = "<nav>" + "".join(f"<a href='/s{i}'>Section {i}</a> " for i in range(8)) + "</nav>"
    headlines = "<ul class='list'>" + "".join(
        f"<li><a href='/story/{i}'>Port strike ends after three days, union says, part {i}</a></li>" for i in range(20)
    )
    with pytest.raises(ParseError) as raised:
        parse_story(_page(f"{menu}<h1>Latest news</h1>{headlines}</ul><footer>© 2026 Site</footer>"), "index.html")
    assert raised.value.reason == "no_body"


def test_a_forum_thread_yields_its_posts() -> None:
    # Not an article, but its main text is the posts (as the corpus expects), in order.
    posts = "".join(
        f"<div class='post' id='post-{i}'><div class='author'><a href='/u/{i}'>user{i}</a></div>"
        f"<div class='message'>{p}</div></div>"
        for i, p in enumerate(STORY_EN)
    )
    body = _body(f"<h1>Port strike thread</h1><div class='thread'>{posts}</div>")
    assert [p for p in STORY_EN if p in body] == STORY_EN
    assert body.index(STORY_EN[0]) < body.index(STORY_EN[-1])


def test_a_thread_whose_post_template_misnests_in_libxml2_yields_every_post() -> None:
    # XenForo's post template (as served) closes a <ul> it never opened and a <header> over
    # an open <div>. libxml2, an HTML4 parser, will not let </header> close the <div>, so
    # every post stays open and the next is parsed inside it. The first post, the thread's
    # subject, was then lost to the deepest one.
    def post(number: int, text: str) -> str:
        return (
            f'\n\t<article class="message message--post js-post" id="js-post-{number}">\n'
            '\t\t<div class="message-inner">\n'
            f'\t\t\t<div class="message-cell message-cell--user"><h4>user{number}</h4></div>\n'
            '\t\t\t<div class="message-cell message-cell--main">\n'
            '\t\t\t\t<header class="message-attribution"><a href="#">Sep 18, 2020</a>\n'
            '\t\t\t\t\t<div class="message-attribution-opposite">\n'
            f'\t\t\t\t\t\t<li><a href="#post-{number}">#{number}</a></li>\n'
            "\t\t\t\t\t</ul>\n\t\t\t\t</header>\n"
            f'\t\t\t\t<article class="message-body"><div class="bbWrapper">{text}</div></article>\n'
            "\t\t\t</div>\n\t\t</div>\n\t</article>\n"
        )

    # Posts long enough that a <header> which swallowed one is known to hold story text.
    texts = ["<br>".join(STORY_EN[n:] + STORY_PT + STORY_EN[:n]) for n in range(4)]
    posts = "".join(post(n, text) for n, text in enumerate(texts, start=1))
    page = f"<h1>Patch notes 4.47.4</h1><div class='block-body'>{posts}</div>"
    tree = etree.fromstring(page, etree.HTMLParser())
    assert len(tree.xpath("//article[@id='js-post-4']/ancestor::article[@id]")) == 3  # as libxml2 parses it
    body = _body(page)
    assert body.count(STORY_EN[0]) == 4 and body.count(STORY_PT[0]) == 4


def test_a_product_page_yields_its_description() -> None:
    # Not an article: its main text is the product's description; price, cart and the
    # other products' links are not text.
    shop = "<div class='buy'><span class='price'>4,99 €</span><button>In den Warenkorb</button></div>"
    others = "<div class='more'>" + "".join(f"<a href='/p/{i}'>Kaffee Nummer {i}</a>" for i in range(10)) + "</div>"
    description = f"<div class='product-info'><h2>Beschreibung</h2>{_ps(STORY_PT)}</div>"
    body = _body(f"<h1>Qualità Oro</h1>{shop}{description}{others}", "de")
    assert all(p in body for p in STORY_PT)
    assert "Warenkorb" not in body and "Kaffee Nummer" not in body


def test_a_reading_time_line_is_page_metadata_in_several_languages() -> None:
    # "4 Min Read" under the headline is the page's estimate, not the story; a sentence
    # that mentions minutes of reading stays.
    for estimate in ("4 Min Read", "Tempo de leitura: 1 minuto", "Lesezeit: 3 Minuten", "Reading time: 5 minutes"):
        body = _body(f"<h1>Qualità Oro</h1><p>{estimate}</p>{_ps(STORY_PT)}<p>It takes 4 min to read this.</p>", "pt")
        assert estimate not in body
        assert all(p in body for p in STORY_PT) and "It takes 4 min to read this." in body


def test_an_update_time_without_a_date_is_page_metadata() -> None:
    # "Updated at 1:23 p.m." closing a story is the page's stamp (nothing to parse into
    # published_at); a sentence that gives a time stays.
    for stamp in ("Updated at 1:23 p.m.", "Aktualisiert um 13:23 Uhr", "Mis à jour à 13h23"):
        body = _body(f"<h1>Qualità Oro</h1>{_ps(STORY_PT)}<p>The vote was updated at 1:23 p.m.</p><p>{stamp}</p>", "pt")
        assert stamp not in body
        assert all(p in body for p in STORY_PT) and "The vote was updated at 1:23 p.m." in body


def test_a_date_written_out_alone_on_its_line_is_page_metadata() -> None:
    # A weekday, a day, a month name and a year (a time after them or not), in a language
    # the date parser does not read, on a line of its own: the page's stamp. A sentence
    # that starts with a date stays, as does a line whose first word has no comma.
    stamps = ("segunda-feira, 22 de janeiro de 2018 às 0:13", "Montag, 3. März 2019", "12 de marzo de 2020")
    kept = ("Born 22 May 1950", "22 January 2018 was a Monday.")
    for stamp in stamps:
        body = _body(f"<h1>Qualità Oro</h1><p>{stamp}</p>{_ps(STORY_PT)}{_ps(kept)}", "pt")
        assert stamp not in body
        assert all(p in body for p in (*STORY_PT, *kept))


def test_a_lone_advert_line_is_an_advertisement() -> None:
    body = _body(f"<h1>Qualità Oro</h1>{_ps(STORY_PT[:1])}<p>Advert</p>{_ps(STORY_PT[1:])}", "pt")
    assert "Advert" not in body and all(p in body for p in STORY_PT)


STANDFIRST_DE = "Der Hafen hat nach drei Tagen Streik wieder geöffnet, die Gewerkschaft spricht von einem Erfolg."


def _story(body: str, lang: str = "en") -> Story:
    return parse_story(_page(body, lang), "page.html")


def test_the_summary_under_the_headline_is_the_standfirst_not_the_body() -> None:
    # The page's header (pruned whole as page furniture) holds the headline and a summary
    # sentence; the story region is the article next to it. The summary is lifted into
    # ``standfirst``, once: not in the body, not in ``removed``.
    lead = f"<p class='a-lead'>{STANDFIRST_DE}</p>"
    header = f"<header><h1>Hafen wieder offen</h1>{lead}<span>Von Anna Beck</span></header>"
    story = _story(f"<main>{header}<article>{_ps(STORY_EN)}</article></main>", "de")
    assert story.standfirst == STANDFIRST_DE
    assert STANDFIRST_DE not in story.body and story.body.startswith(STORY_EN[0])
    assert all(STANDFIRST_DE not in item.text for item in story.removed)


def test_a_first_paragraph_the_story_region_holds_is_not_a_standfirst() -> None:
    # Right after the <h1>, but it is the story's own first paragraph: body text, not lifted.
    story = _story(f"<article><h1>Rotterdam port reopens</h1>{_ps(STORY_EN)}</article>")
    assert story.standfirst is None and story.body.startswith(STORY_EN[0])


@pytest.mark.parametrize(
    "between",
    [
        # an image's caption, with no caption class: it comes right after the image
        f"<div class='hero'><img src='a.jpg'><p>{STANDFIRST_DE}</p></div>",
        # a caption class beside a story word is still a caption
        f"<div class='caption-text-block'><p>{STANDFIRST_DE}</p></div>",
        # a label that opens a list
        "<p>Besucher haben diese Seite mit folgenden Suchbegriffen und Themen gefunden:</p>",
        # a row of fields
        "<p>28.04.2021 - 07:18 | Quelle: dpa-afx | Lesedauer etwa vier Minuten und mehr</p>",
    ],
)
def test_captions_labels_and_field_rows_are_not_a_standfirst(between: str) -> None:
    header = f"<header><h1>Hafen wieder offen</h1>{between}</header>"
    story = _story(f"<main>{header}<article>{_ps(STORY_EN)}</article></main>", "de")
    assert story.standfirst is None


def test_a_headline_in_a_breadcrumb_or_a_one_word_site_name_does_not_lead_to_a_standfirst() -> None:
    crumbs = "<nav><ol><li><a href='/'>Start</a></li><li><h1>Hafen wieder offen</h1></li></ol></nav>"
    site = f"<div><h1>hafenblatt.de</h1><p>{STANDFIRST_DE}</p></div>"
    for head in (crumbs, site):
        story = _story(f"{head}<main><article>{_ps(STORY_EN)}</article></main>", "de")
        assert story.standfirst is None, head
    # The same sentence under the story's own headline further down is its standfirst.
    own = f"<header><h1>Rotterdam port reopens</h1><p>{STANDFIRST_DE}</p></header>"
    story = _story(f"{crumbs}<main>{own}<article>{_ps(STORY_EN)}</article></main>")
    assert story.standfirst == STANDFIRST_DE


def test_a_standfirst_beside_a_headline_nested_in_column_wrappers_is_found_but_not_a_footer() -> None:
    # The page's head nests its <h1> four wrappers deep (section > row > column > title
    # box); the summary sits in the head's next row. Where the head is followed by nothing
    # but the footer, the footer's copyright notice is not taken for a standfirst.
    title = "<div class='row'><div class='col'><div class='title'><h1>Hafen wieder offen</h1></div></div></div>"
    summary = f"<div class='row'><p>{STANDFIRST_DE}</p></div>"
    head = f"<section class='hero'><div class='inner'>{title}</div>{summary}</section>"
    story = _story(f"{head}<main><article>{_ps(STORY_EN)}</article></main>", "de")
    assert story.standfirst == STANDFIRST_DE
    notice = "The contents of this site are ©2019 Hafenblatt Publishing Corp., a subsidiary of Hafen Media, Inc."
    head = f"<section class='hero'><div class='inner'>{title}</div><div class='x'><p>{notice}</p></div></section>"
    story = _story(f"<main><article>{_ps(STORY_EN)}</article></main>{head}", "de")
    assert story.standfirst is None


def _described(description: str, body: str) -> bytes:
    head = f"<title>T</title><meta name='description' content='{description}'>"
    return f"<html lang='de'><head>{head}</head><body>{body}</body></html>".encode()


def test_the_pages_own_description_is_the_standfirst_only_where_the_page_prints_it() -> None:
    # The headline rule cannot read this page (its only <h1> is the breadcrumb's), but the
    # page declares its summary and prints it in its header: that is the standfirst.
    crumbs = "<nav><ol><li><h1>Hafen wieder offen</h1></li></ol></nav>"
    header = f"<header><h2>Hafen wieder offen</h2><p class='text-xl'>{STANDFIRST_DE}</p></header>"
    page = _described(STANDFIRST_DE, f"{crumbs}<main>{header}<article>{_ps(STORY_EN)}</article></main>")
    story = parse_story(page, "page.html")
    assert story.standfirst == STANDFIRST_DE
    assert all(STANDFIRST_DE not in item.text for item in story.removed)
    # A description the page does not print is never made a standfirst (nothing invented),
    page = _described(STANDFIRST_DE, f"{crumbs}<main><article>{_ps(STORY_EN)}</article></main>")
    assert parse_story(page, "page.html").standfirst is None
    # and one the body holds stays body text, even where the header prints it too.
    teaser = f"<header><h2>Hafen wieder offen</h2><p class='text-xl'>{STORY_EN[0]}</p></header>"
    page = _described(STORY_EN[0], f"{crumbs}<main>{teaser}<article>{_ps(STORY_EN)}</article></main>")
    story = parse_story(page, "page.html")
    assert story.standfirst is None and story.body.startswith(STORY_EN[0])


def test_a_description_cut_short_names_the_printed_block_it_begins() -> None:
    # CMSs cut a meta description at ~200 characters and end it with "...". Where the page
    # prints the block it begins (here in a header the region leaves out), that whole block
    # is the standfirst; a cut description that begins no printed block is never used.
    crumbs = "<nav><ol><li><h1>Hafen wieder offen</h1></li></ol></nav>"
    cut = STANDFIRST_DE[:80].rsplit(" ", 1)[0] + "..."
    header = f"<header><h2>Hafen wieder offen</h2><p class='text-xl'>{STANDFIRST_DE}</p></header>"
    page = _described(cut, f"{crumbs}<main>{header}<article>{_ps(STORY_EN)}</article></main>")
    story = parse_story(page, "page.html")
    assert story.standfirst == STANDFIRST_DE
    assert all(STANDFIRST_DE not in item.text for item in story.removed)
    elsewhere = f"<header><h2>Hafen wieder offen</h2><p class='text-xl'>Dazu: {STANDFIRST_DE}</p></header>"
    # (The header sits outside <main> here: inside it, its lone sentence paragraph above the
    # story would be the story's lead, test_a_lone_lead_paragraph_above_...)
    page = _described(cut, f"{crumbs}{elsewhere}<main><article>{_ps(STORY_EN)}</article></main>")
    assert parse_story(page, "page.html").standfirst is None


def test_a_block_bootstrap_hides_on_every_screen_is_not_story_text() -> None:
    # "d-none" hides a block unless a breakpoint class shows it again; "d-print-block" shows
    # it in print only. A print-only notice is dropped; a block hidden on phones only stays.
    notice = "Ce document est soumis au droit d'auteur. Aucune partie ne peut être reproduite sans permission écrite."
    desktop = "Les dockers ont repris le travail mardi matin après trois jours de grève, selon le syndicat."
    page = f"<article><h1>Grève</h1>{_ps(STORY_EN)}<div class='d-none d-md-block'><p>{desktop}</p></div>"
    page += f"<div class='d-none d-print-block'><div class='border p-3'>{notice}</div></div></article>"
    body = _body(page, "fr")
    assert desktop in body and notice not in body


def test_a_posts_tag_list_is_not_story_text_but_a_linked_word_in_a_sentence_is() -> None:
    # rel="tag" (the microformat WordPress and most blog engines print under a post) marks
    # a post's topics; a box whose text is mostly such links is the tag list, its label
    # included, whatever its language and however it is wrapped (here an inline <strong>
    # inside the story's own container, and a list of <li>s under a label).
    tags = ", ".join(f"<a href='/tag/t{i}' rel='tag'>Hafen {i}</a>" for i in range(6))
    inline_list = f"<strong>Schlagworte<br>{tags}</strong>"
    items = "".join(f"<li><a href='/tag/s{i}' rel='tag'>Streik {i}</a></li>" for i in range(4))
    boxed_list = f"<div><span>Themen:</span><ul>{items}</ul></div>"
    verdi = "<a href='/tag/verdi' rel='tag'>Verdi</a>"
    paragraphs = _ps(STORY_EN) + f"<p>Die Gewerkschaft {verdi} sprach von einem Erfolg für die Beschäftigten.</p>"
    story = parse_story(_page(f"<article>{paragraphs}{inline_list}{boxed_list}</article>", "de"), "page.html")
    assert all(p in story.body for p in STORY_EN)
    assert "Die Gewerkschaft Verdi sprach von einem Erfolg" in story.body
    for word in ("Schlagworte", "Hafen", "Themen", "Streik"):
        assert word not in story.body
    assert any(item.kind == "related_links" and "Hafen 3" in item.text for item in story.removed)


def test_a_custom_elements_name_is_read_like_its_class() -> None:
    # Web components name what they are in the tag itself ("pp-inline-teaser", "amp-ad"):
    # the name's words are hints like class words, so a teaser and an ad with no class go,
    # and a custom element that names the story stays.
    teaser = "<pp-inline-teaser><pp-link>Häufige Fragen</pp-link><div>Antworten auf Ihre Fragen zum Thema.</div>"
    teaser += "</pp-inline-teaser>"
    advert = "<amp-ad><div>Jetzt testen: das Abo für nur 1 Euro im ersten Monat, jederzeit kündbar.</div></amp-ad>"
    story = f"<article-body>{_ps(STORY_EN[:2])}{teaser}{advert}{_ps(STORY_EN[2:])}</article-body>"
    body = _body(story, "de")
    assert all(p in body for p in STORY_EN)
    assert "Häufige Fragen" not in body and "Antworten auf Ihre Fragen" not in body
    assert "Abo für nur 1 Euro" not in body


def test_a_paragraph_with_an_image_and_only_italic_text_is_a_caption() -> None:
    # Blogs set a figure's caption under the image in the same paragraph, in italics or
    # small type; a paragraph whose text is not all styled so is story text with an image.
    caption = "<p><img src='a.jpg'><br><em><sub>Abbildung 4: klassische Schwachschicht im Profil.</sub></em></p>"
    inline = f"<p><img src='b.jpg' align='left'>{STORY_EN[2]}</p>"
    mixed = "<p><img src='c.jpg'><em>Im Profil</em> sieht man die Schicht deutlich, sagte die Forscherin.</p>"
    body = _body(f"<article>{_ps(STORY_EN[:2])}{caption}{inline}{mixed}{_ps(STORY_EN[3:])}</article>", "de")
    assert all(p in body for p in STORY_EN)
    assert "Abbildung 4" not in body
    assert "Im Profil sieht man die Schicht deutlich, sagte die Forscherin." in body


def test_the_sites_name_in_an_h1_is_not_the_headline() -> None:
    # Blog themes print the site's name in an <h1> linking home above the post's own <h1>;
    # the post's is the headline even when og:title names the site ("Title | Site" is
    # shortened to the on-page headline, and the on-page headline must be the post's).
    head = "<header><h1 class='site-title'><a href='https://blog.example.org/'>Mäscot das Schaf</a></h1></header>"
    post = f"<article><h1>Kleine Schafskunde für den Winter</h1>{_ps(STORY_EN)}</article>"
    page = f"<html><head><title>Kleine Schafskunde für den Winter | Mäscot das Schaf</title></head><body>{head}{post}"
    story = parse_story(f"{page}</body></html>".encode(), "page.html")
    assert story.headline == "Kleine Schafskunde für den Winter"
    # The same for a site name in a <nav> and for the og:site_name, without a link.
    nav = "<nav><h1>Dwutygodnik - strona kultury</h1></nav>"
    meta = "<meta property='og:site_name' content='shingon-reiki.de'>"
    for chrome in (nav, "<div><h1>shingon-reiki.de</h1></div>"):
        page = f"<html><head><title>T</title>{meta}</head><body>{chrome}<h1>Winda w chmurach</h1>{_ps(STORY_EN)}"
        assert parse_story(f"{page}</body></html>".encode(), "page.html").headline == "Winda w chmurach"


def test_a_style_inside_the_headline_is_not_its_text() -> None:
    # CSS-in-JS pages put a <style> element inside the <h1>.
    h1 = "<h1><style>.css-umyvef{font-size:16px}</style><span class='css-umyvef'>Medienmitteilung des Amts</span></h1>"
    story = parse_story(_page(f"<main>{h1}{_ps(STORY_EN)}</main>"), "page.html")
    assert story.headline == "Medienmitteilung des Amts"


def test_a_quoted_tweet_is_story_text_even_in_a_box_named_social() -> None:
    # Twitter's embed code prints the post as <blockquote class="twitter-tweet">: a quote in
    # the story. Its box is often named "social-media-embed", which reads as a share widget;
    # a share widget without a quoted post still goes.
    tweet = (
        "<div class='social-media-embed'><blockquote class='twitter-tweet'><p>Yes, the state spent nearly half a "
        "million dollars on it.</p>— A. Reader (@reader) <a href='https://twitter.com/x/status/1'>Nov 18, 2019</a>"
        "</blockquote></div>"
    )
    share = "<div class='social-share'><a href='/s'>Share on Facebook</a> <a href='/t'>Tweet this</a></div>"
    body = _body(f"<article>{_ps(STORY_EN[:2])}{tweet}{share}{_ps(STORY_EN[2:])}</article>")
    assert "Yes, the state spent nearly half a million dollars on it." in body
    assert "Share on Facebook" not in body


def test_the_japanese_comma_counts_as_a_comma_in_the_scoring() -> None:
    # Paragraphs score by their commas ("," and its Arabic and fullwidth forms); Japanese
    # writes its comma as "、", so a Japanese story lost to a Latin-script box beside it.
    japanese = [
        "東京の港は、三日間のストライキの後、火曜日に再開し、組合によると、"
        "クレーン運転士の賃金は、二年間で六パーセント上がり、年金の交渉は、三月に再開する。",
        "海運会社は、数十隻の船を、アントワープと、ハンブルクに回し、配送の予定は、"
        "数日遅れたが、コンテナの運賃は、二週連続で上がり、滞貨は、ほぼ解消した。",
        "港湾局は、今週末までに、通常の処理能力に戻ると述べ、荷主には、"
        "予約の確認を、早めに行うよう求めており、倉庫の空きは、まだ少ない。",
    ]
    latin = [
        "Partner offers: flights, hotels and rental cars in Tokyo, booked in one place today.",
        "Travel insurance for your trip to Japan, with cover for delays and lost luggage.",
        "Rail passes for the whole country, delivered to your home, with free cancellation.",
    ]
    page = (
        f"<div class='col-a'><div class='text'>{_ps(japanese)}</div></div>"
        f"<div class='col-b'><div class='text'>{_ps(latin)}</div></div>"
    )
    body = _body(page, "ja")
    assert all(p in body for p in japanese) and not any(p in body for p in latin)


def test_a_paragraph_that_is_one_link_in_capitals_is_another_storys_title() -> None:
    # Set between the story's paragraphs: another story's headline in capitals, all link.
    # A paragraph that is one link in ordinary case stays (it may be the story's own
    # pointer to a document), as does a paragraph in capitals that links nothing.
    teaser = "<p><strong><a href='/other'>PORT STRIKE ENDS AFTER THREE DAYS OF TALKS</a></strong></p>"
    pointer = "<p><a href='/report'>The full agreement between the port and the union</a></p>"
    shout = "<p>THE UNION SAID THE STRIKE WOULD RESUME IF TALKS FAIL.</p>"
    page = f"<article><h1>Port</h1><p>{STORY_EN[0]}</p>{teaser}<p>{STORY_EN[1]}</p>{pointer}{shout}"
    body = _body(page + _ps(STORY_EN[2:]) + "</article>")
    assert all(p in body for p in STORY_EN)
    assert "PORT STRIKE ENDS" not in body
    assert "The full agreement" in body and "THE UNION SAID" in body


def test_a_layout_tables_menu_cell_beside_the_story_is_navigation() -> None:
    # An old table layout: a row with a cell of links (the site's menu) and the story's cell.
    # The row wins the scoring as a whole; the menu cell goes. A cell in the story's own
    # data table with one link (a source) stays.
    links = ("<a href='/a'>Sección uno</a>", "<a href='/b'>Sección dos</a>", "<a href='/c'>Archivo</a>")
    menu = f"<td class='left'>{'<br>'.join(links)}</td>"
    data = "<table><tr><th>Port</th><td><a href='/rtm'>Rotterdam</a></td><td>6%</td></tr></table>"
    story = f"<td><h1>Port</h1>{_ps(STORY_EN[:2])}{data}{_ps(STORY_EN[2:])}</td>"
    body = _body(f"<table><tr>{menu}{story}</tr></table>")
    assert all(p in body for p in STORY_EN)
    assert "Rotterdam" in body
    assert "Sección" not in body and "Archivo" not in body


def test_a_lone_lead_paragraph_above_the_story_region_in_its_article_is_the_standfirst() -> None:
    # No <h1> to find a standfirst under (a site that sets its headline in an <h2>): the
    # article's lone sentence paragraph in a box of its own above the body's column is
    # the page's summary, lifted into ``standfirst``; the body keeps only the story.
    meta = "<div class='meta'><span>Anna Beck</span> <time>28.04.2021</time></div>"
    intro = f"<div class='intro-box'><p>{STANDFIRST_DE}</p></div>"
    article = f"<article><h2>Hafen wieder offen</h2>{meta}{intro}<div class='content'>{_ps(STORY_EN)}</div></article>"
    story = _story(article, "de")
    assert story.standfirst == STANDFIRST_DE
    assert STANDFIRST_DE not in story.body and story.body.startswith(STORY_EN[0])
    # Two sentence paragraphs above the region are the story's beginning in another box,
    # not a summary: none is lifted (and the region's choice is not changed by this rule).
    second = "Die Reedereien hatten Dutzende Schiffe nach Antwerpen und Hamburg umgeleitet, hieß es."
    two = f"<div class='intro-box'><p>{STANDFIRST_DE}</p><p>{second}</p></div>"
    story = _story(article.replace(intro, two), "de")
    assert story.standfirst is None
    # An image's caption (right after the image) and a line in a caption box are not one.
    for caption in (
        f"<div class='hero'><img src='a.jpg'><p>{STANDFIRST_DE}</p></div>",
        f"<div class='photo-caption'><p>{STANDFIRST_DE}</p></div>",
    ):
        story = _story(article.replace(intro, caption), "de")
        assert story.standfirst is None, caption
    # Outside an <article> or <main>, a paragraph above the region is not read as its lead.
    story = _story(article.replace("<article>", "<div>").replace("</article>", "</div>"), "de")
    assert story.standfirst is None


def _with_json_ld(body: str, article_body: str) -> bytes:
    import json

    ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": "Port reopens",
        "articleBody": article_body,
    }
    head = f"<title>Port reopens</title><script type='application/ld+json'>{json.dumps(ld)}</script>"
    return f"<html lang='en'><head>{head}</head><body>{body}</body></html>".encode()


def test_a_page_a_script_renders_takes_its_story_from_the_json_ld_article_body() -> None:
    # The markup is a shell (a Next.js or Vue app's mount point): no text at all, so the
    # story was quarantined no_body though the page's JSON-LD carries all of it.
    shell = "<div id='__next'></div><script src='/_next/static/app.js'></script>"
    story = parse_story(_with_json_ld(shell, "\n".join(STORY_EN)), "spa.html")
    assert story.paragraphs == STORY_EN
    # Sites that put markup in it: its paragraphs, entities read.
    marked = "".join(f"<p>{p.replace(',', '&#44;')}</p>" for p in STORY_EN)
    assert parse_story(_with_json_ld("<div id='app'>Loading</div>", marked), "spa.html").paragraphs == STORY_EN


def test_where_the_markup_holds_the_story_the_json_ld_article_body_is_not_used() -> None:
    # The JSON-LD text is often cut or flattened: the page's own paragraphs win.
    flattened = " ".join(STORY_EN + STORY_EN)
    story = parse_story(_with_json_ld(f"<article><h1>Port reopens</h1>{_ps(STORY_EN)}</article>", flattened), "p.html")
    assert story.paragraphs == STORY_EN


def test_an_accordion_of_sections_is_the_story_with_the_content_blocks_built_like_its_own() -> None:
    # A CMS page (TYPO3's numbered content elements) in blocks built alike: an intro, two
    # sections, an accordion of five panels holding most of the text, a closing section,
    # then a block of links. The accordion wins as an entry list; the story's other blocks
    # are siblings of the block that holds it, and were lost (half the story).
    def block(number: int, inner: str) -> str:
        return f"<div id='c{number}' class='outer'><div class='container'><div class='row'>{inner}</div></div></div>"

    def text(paragraphs: list[str]) -> str:
        return "<div class='text'>" + "".join(f"<p>{p}</p>" for p in paragraphs) + "</div>"

    panels = "".join(
        f"<div class='panel panel-default'><div class='panel-heading'>Terminal {i}</div><div class='panel-body'>"
        + text([f"At terminal {i}, {s[0].lower()}{s[1:]}" for s in STORY_EN])
        + "</div></div>"
        for i in range(1, 6)
    )
    intro = "The harbour's owners, the city and the state, said on Monday that the work would start in spring."
    closing = "A second hearing, on the dredging of the channel, is set for April, the port authority said."
    links = "<ul>" + "".join(f"<li><a href='/p{i}'>Press release number {i} of the port</a></li>" for i in range(8))
    blocks = [
        block(101, text([intro, STORY_EN[0]])),
        block(102, text([STORY_EN[1], STORY_EN[2]])),
        block(104, f"<div class='panel-group'>{panels}</div>"),
        block(105, text([closing])),
        block(106, links + "</ul>"),
    ]
    body = _body("<h1>Port works</h1><div class='content'>" + "".join(blocks) + "</div>")
    assert intro in body and STORY_EN[2] in body and closing in body
    assert "At terminal 5, traders said" in body
    assert "Press release number" not in body


def test_a_box_named_for_related_articles_is_dropped_though_its_name_ends_in_article() -> None:
    # "relatedArticle", "related-post", "popular-story": the story word names what the
    # teaser links to. Read as the head of a compound ("post-ratings" is ratings), it made
    # these boxes story content, and each teaser's title and summary joined the story.
    teasers = "".join(
        f"<div class='{cls}'><h5><a href='/s{i}'>Port strike ends at terminal {i}</a></h5>"
        f"<p><span class='keyword'>Ports</span> The union and the operators agreed on wages after talks in the city"
        f" hall that ran until late on Monday night. <a href='/s{i}'>More...</a></p>"
        "<p><time>04.12.2019</time></p></div>"
        for i, cls in enumerate(("relatedArticle standard", "related-post", "popular-story"))
    )
    page = "<h1>Port works</h1><div class='story'>" + "".join(f"<p>{p}</p>" for p in STORY_EN) + "</div>"
    body = _body(page + f"<div class='contextBox'><h4>Articles on this</h4>{teasers}</div>")
    assert STORY_EN[3] in body
    assert "Port strike ends" not in body and "after talks in the city hall" not in body
    # A box so named that holds the story's own paragraphs is still the story.
    long = [p + " " + p for p in STORY_EN]
    held = _body("<h1>Port works</h1><div class='related-article'>" + "".join(f"<p>{p}</p>" for p in long) + "</div>")
    assert long[0] in held and long[3] in held


def test_paragraphs_written_as_bare_divs_between_parts_of_the_story_are_story_text() -> None:
    # CNN's layout: the lead in a box of its own, then paragraphs that are <div>s of bare
    # text with a video box between them, then the rest of the story in one container. The
    # lead and the container joined the region; the <div> paragraphs between them did not
    # (only <p> siblings did), and a third of the story was lost.
    rest = "".join(f"<div class='zn-body__paragraph'>{p} {p}</div>" for p in STORY_EN)
    lead = "(Wire) " + " ".join(STORY_EN[:3])  # a long lead, rich in commas: it scores on its own
    page = (
        "<h1>Port works</h1><section class='zn'><div class='l-container'>"
        "<div class='promo'>A deck of a line, above the story, and not in it.</div>"
        f"<div class='el__leafmedia'><p>{lead}</p></div>"
        "<div class='zn-body__paragraph'>You should not just believe them.</div>"
        "<div class='el__embedded'><a href='/v'>Watch the video</a></div>"
        "<div class='zn-body__paragraph'>Which is not to say that the strike was long, or even unusual for the port, "
        "the union's leaders said on Tuesday evening.</div>"
        f"<div class='zn-body__read-all'>{rest}</div></div></section>"
    )
    body = _body(page)
    assert body.index(lead) < body.index("You should not just believe them.") < body.index("Which is not to say")
    assert body.index("Which is not to say") < body.index(STORY_EN[3])
    assert "Watch the video" not in body and "A deck of a line" not in body


def test_element_texts_are_kept_only_while_the_region_is_found() -> None:
    """`find_article_region` reads the same elements' text again and again and keeps it;
    outside it (where the tree is cut) a text is read afresh, and each thread keeps its own."""
    import threading

    from parsers import html

    tree = etree.fromstring("<div><p>One two </p><p>three <b>four</b></p></div>", etree.HTMLParser())
    box = tree.find(".//div")
    with html._texts_kept():
        assert html._text(box) == "One two three four"
        seen: list[object] = []
        other = threading.Thread(target=lambda: seen.append(html._KEPT.texts))
        other.start()
        other.join()
        assert seen == [None]  # another thread keeps nothing
        box[0].getparent().remove(box[0])
        assert html._text(box) == "One two three four"  # kept: nothing here may cut the tree
    assert html._KEPT.texts is None
    assert html._text(box) == "three four"  # read afresh once outside


def test_a_post_s_own_paragraphs_beside_a_denser_quoted_block_are_kept() -> None:
    # A blog post written straight into its content box, then an earlier article quoted
    # below it, in a box of its own next to its source links: the quoted text, denser (more
    # commas), won the scoring, and the post's own paragraphs two boxes up were left out.
    post = [
        "Die Hafenbehörde hat am Dienstag bestätigt, dass der Betrieb nach drei Tagen wieder aufgenommen wurde.",
        "Nach Angaben der Gewerkschaft hatten die Kranführer für höhere Löhne und bessere Schichten gestreikt.",
        "Reedereien hatten Dutzende Schiffe nach Antwerpen und Hamburg umgeleitet, was Tage gekostet hat.",
        "Die Einigung sieht nach Angaben beider Seiten eine Erhöhung der Löhne um sechs Prozent vor.",
        "Wir dokumentieren unten den Bericht, der in der vergangenen Woche erschienen ist, in voller Länge.",
    ]
    quoted = [
        f"{sentence} Händler, Spediteure, Makler und Zöllner sagten, die Lage habe sich, wie erwartet, beruhigt."
        for sentence in STORY_EN * 2
    ]
    sources = "".join(
        f"<p><a href='https://example.org/{i}'>https://example.org/hafen/bericht/{i}</a></p>" for i in range(8)
    )
    quoted_box = f"<div>{sources}<div><div>{_ps(quoted)}</div></div></div>"
    page = f"<div class='post'><div class='entry'>{_ps(post)}{quoted_box}</div></div>"
    body = _body(page, "de")
    assert all(p in body for p in post)
    assert all(q in body for q in quoted)
    assert "example.org" not in body
    assert body.index(post[-1]) < body.index(quoted[0])  # in the page's order


@pytest.mark.parametrize(
    ("title", "heading", "text"),
    [
        ("503 Service Unavailable", "Service Unavailable", "The server is temporarily unable to service your request."),
        ("404 Not Found", "Not Found", "The requested URL was not found on this server."),
        ("Error 404 (Not Found)!!1", "404.", "That's an error. The requested URL was not found on this server."),
        ("Example News", "Fehler 404 - Seite nicht gefunden", "Die Seite existiert nicht. Zur Startseite"),
        ("502 Bad Gateway", "502 Bad Gateway", "nginx"),
    ],
)
def test_a_server_s_error_page_is_quarantined_saying_so(title: str, heading: str, text: str) -> None:
    # A poller that saved the server's answer instead of the story (or the feed): its
    # apology was a story row, headlined with the status.
    page = f"<html><head><title>{title}</title></head><body><h1>{heading}</h1><p>{text}</p></body></html>"
    with pytest.raises(ParseError) as caught:
        parse_story(page.encode(), "page.html")
    assert caught.value.reason == "error_page" and "fetch it again" in caught.value.detail


@pytest.mark.parametrize(
    ("title", "paragraphs"),
    [
        ("400 killed in quake", ["At least 400 people were killed when a strong earthquake struck, officials said."]),
        ("500 Days of Summer", ["The film opens in 500 cinemas on Friday, its distributor said on Tuesday."]),
        ("404 Not Found: why links die", STORY_EN * 3),  # about errors, and long: a story
    ],
)
def test_a_headline_with_a_number_or_about_errors_stays_a_story(title: str, paragraphs: list[str]) -> None:
    page = f"<html><head><title>{title}</title></head><body><h1>{title}</h1>{_ps(paragraphs)}</body></html>"
    story = parse_story(page.encode(), "page.html")
    assert story.headline == title and paragraphs[0] in story.body


@pytest.mark.parametrize(
    "credit", ["Reporting by Jane Smith; Editing by John Doe", "(Reporting by Jane Smith; Editing by John Doe)"]
)
def test_a_credit_line_closing_an_article_is_read_not_taken_for_a_list_s_title(credit: str) -> None:
    # A short unpunctuated last line is read as the title of a list that was dropped ("More
    # Great WIRED Stories"); Reuters' credit line closing its pages went that way, its names
    # unread (thirty-fifth session). A by-line after the text still goes as before.
    paragraphs = [
        f"The company said on Monday that sales rose {n} percent in the quarter, beating forecasts by analysts "
        "polled by LSEG, and raised its outlook for the year."
        for n in range(5)
    ]
    story = parse_story(
        _page(f"<article><h1>Company beats forecasts</h1>{_ps([*paragraphs, credit])}</article>"), "p.html"
    )
    assert (story.byline, story.editors) == (["Jane Smith"], ["John Doe"])
    assert ("contributor_line", credit) in [(r.kind, r.text) for r in story.removed]
    assert story.body.endswith("raised its outlook for the year.")
    listed = parse_story(
        _page(f"<article><h1>Company</h1>{_ps([*paragraphs, 'More Great WIRED Stories'])}</article>"), "p.html"
    )
    assert ("related_links", "More Great WIRED Stories") in [(r.kind, r.text) for r in listed.removed]
