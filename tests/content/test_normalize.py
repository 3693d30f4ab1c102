"""The cleaner, plain text, word counts, hashes, slugs and genre aliases."""

from __future__ import annotations

import lxml.html
import pytest

from chapterhouse.content.normalize import (
    CLEANER_VERSION,
    GENRE_ALIASES,
    GENRE_NAMES,
    clean_html,
    content_hash,
    element_text,
    genre_name,
    genre_slug,
    hidden_classes,
    html_to_text,
    slugify,
    word_count,
)

BASE = "https://novels.example.test/fiction/1/tale/chapter/10/one"
STYLE = "<style>\n  .hX9q{\n    display: none;\n    speak: never;\n  }\n</style>"


def test_cleaner_version_is_an_int() -> None:
    assert isinstance(CLEANER_VERSION, int) and CLEANER_VERSION >= 1


# --- hidden anti-theft elements --------------------------------------------------------------


def test_hidden_span_between_paragraphs_goes_and_nothing_else() -> None:
    raw = (
        f'{STYLE}<div class="chapter-content"><p class="rAnd0m">One.</p>'
        '<span class="hX9q"><br>Stolen text marker.<br></span>'
        '<p class="rAnd1m">Two <span class="kEep5">kept words</span> end.</p></div>'
    )
    cleaned = clean_html(raw, BASE)
    assert cleaned == "<p>One.</p><p>Two kept words end.</p>"
    assert hidden_classes(raw) == ["hX9q"]


def test_hidden_span_inside_a_paragraph_keeps_the_text_after_it() -> None:
    raw = f'{STYLE}<p>Before<span class="hX9q">marker</span> after.</p>'
    assert clean_html(raw, BASE) == "<p>Before after.</p>"


def test_hidden_span_in_a_table_cell_goes_and_the_table_stays() -> None:
    raw = (
        f"{STYLE}<table><tbody><tr>"
        '<td style="width: 10px"><p class="a1">Name</p>'
        '<span class="hX9q"><br>marker<br></span></td>'
        '<td colspan="2"><p class="a2">Value</p></td></tr></tbody></table>'
    )
    cleaned = clean_html(raw, BASE)
    assert "marker" not in cleaned
    assert cleaned == (
        '<table><tbody><tr><td><p>Name</p></td><td colspan="2"><p>Value</p></td></tr>'
        "</tbody></table>"
    )


def test_any_tag_with_a_hidden_class_goes_even_among_other_classes() -> None:
    raw = (
        "<style>.zz{visibility:hidden} .chapter .yy { display : none !important }</style>"
        '<div class="x zz">a</div><p class="yy other">b</p><em class="zz">c</em><p>d</p>'
    )
    assert clean_html(raw, BASE) == "<p>d</p>"
    assert hidden_classes(raw) == ["yy", "zz"]


def test_rules_that_do_not_hide_or_only_hide_conditionally_are_ignored() -> None:
    raw = (
        "<style>/* .c1{display:none} */ .c2{display:block} .c3:hover{display:none}"
        "@media print { .c4 { display: none } }</style>"
        '<p class="c1">one</p><p class="c2">two</p><p class="c3">three</p><p class="c4">four</p>'
    )
    assert clean_html(raw, BASE) == "<p>one</p><p>two</p><p>three</p><p>four</p>"
    assert hidden_classes(raw) == []


def test_inline_styles_are_dropped_but_do_not_remove_elements() -> None:
    raw = '<p style="display:none">shown once styles are gone</p>'
    assert clean_html(raw, BASE) == "<p>shown once styles are gone</p>"


# --- sanitiser -------------------------------------------------------------------------------


def test_scripts_handlers_javascript_urls_iframes_and_styles_go() -> None:
    raw = (
        "<p onclick=\"steal()\">Hi<script>alert('x')</script></p>"
        '<a href="javascript:alert(1)">bad link</a>'
        '<iframe src="https://ads.example.test/">frame text</iframe>'
        '<img src="x.png" onerror="steal()">'
        "<style>p{color:red}</style><object>obj</object>"
        '<p class="c" style="color: red" id="i" data-x="1">Styled</p>'
    )
    cleaned = clean_html(raw, BASE)
    for banned in ("script", "alert", "onclick", "onerror", "javascript", "iframe", "frame text",
                   "style", "color", "class=", "id=", "data-x", "obj"):  # fmt: skip
        assert banned not in cleaned, banned
    assert "<p>Hi</p>" in cleaned and "<p>Styled</p>" in cleaned
    assert '<a rel="nofollow noopener">bad link</a>' in cleaned


def test_allow_listed_tags_are_kept() -> None:
    raw = (
        "<h2>Title</h2><h6>small</h6><p><em>e</em><strong>s</strong><i>i</i><b>b</b><u>u</u>"
        "<s>x</s>H<sub>2</sub>O x<sup>2</sup></p><hr><blockquote><p>q</p></blockquote>"
        "<ul><li>one</li></ul><ol><li>two</li></ol>"
        "<table><thead><tr><th>h</th></tr></thead><tbody><tr><td>d</td></tr></tbody>"
        "<tfoot><tr><td>f</td></tr></tfoot></table><p>a<br>b</p>"
    )
    assert clean_html(raw, BASE) == raw


def test_divs_stay_as_plain_blocks_and_spans_are_unwrapped() -> None:
    raw = (
        '<div class="x"><div>First block</div><div>Second <span class="q">block</span></div></div>'
    )
    cleaned = clean_html(raw, BASE)
    assert cleaned == "<div>First block</div><div>Second block</div>"
    assert html_to_text(cleaned) == "First block Second block"


def test_links_and_images_become_absolute_and_links_get_rel() -> None:
    raw = (
        '<p><img src="/img/a.png" alt="A" width="10" height="5" title="t" class="z">'
        '<img src="b.png"><img src="//cdn.example.test/c.png">'
        '<img src="https://img.example.test/d.png"></p>'
        '<p><a href="../../2/two" title="next">rel</a> <a href="mailto:me@example.test">m</a>'
        ' <a href="ftp://example.test/f">ftp</a></p>'
    )
    cleaned = clean_html(raw, BASE)
    assert (
        '<img src="https://novels.example.test/img/a.png" alt="A" width="10" height="5" title="t">'
        in cleaned
    )
    assert 'src="https://novels.example.test/fiction/1/tale/chapter/10/b.png"' in cleaned
    assert 'src="https://cdn.example.test/c.png"' in cleaned
    assert 'src="https://img.example.test/d.png"' in cleaned
    assert (
        '<a href="https://novels.example.test/fiction/1/tale/2/two" title="next" '
        'rel="nofollow noopener">rel</a>'
    ) in cleaned
    assert 'href="mailto:me@example.test"' in cleaned
    assert "ftp:" not in cleaned


def test_empty_junk_goes_but_nbsp_spacers_and_image_paragraphs_stay() -> None:
    raw = (
        '<br><br><p class="a"></p><p> </p><p><span class="k"></span></p><div><p></p></div>'
        "<p>Text</p><p>&nbsp;</p><p><img src='/i.png'></p><p><br></p><br>\n<br>"
    )
    cleaned = clean_html(raw, BASE)
    assert cleaned == (
        '<p>Text</p><p>&nbsp;</p><p><img src="https://novels.example.test/i.png"></p><p><br></p>'
    )


def test_empty_input_and_bad_base_url() -> None:
    assert clean_html("  ", BASE) == ""
    with pytest.raises(ValueError, match="absolute http"):
        clean_html("<p>x</p>", "/relative/only")


# --- text, counts, hashes --------------------------------------------------------------------


def test_html_to_text_follows_the_text_convention() -> None:
    html = (
        "<p>Stop dig<em>ging</em>.</p><p>2. When\u00a0you</p>"
        "<table><tr><td>a</td><td>b</td></tr></table>"
        "line<br>break<script>x()</script><style>p{}</style><!-- note -->end"
        "<p>9:41\u202fPM &nbsp; \n\t spaced</p>"
    )
    # script, style and the comment are skipped without adding a separator: "breakend".
    assert html_to_text(html) == "Stop digging. 2. When you a b line breakend 9:41 PM spaced"
    assert html_to_text("") == ""


def test_element_text_reads_a_parsed_element_as_html_to_text_reads_its_markup() -> None:
    markup = '<a href="/c/1">Chapter 3: <em>Harbor</em>’s <script>x()</script>End</a>'
    row = lxml.html.fromstring(f"<table><tr><td>{markup} after the link</td></tr></table>")
    link = row.xpath(".//a")[0]
    # The link's tail (" after the link") is not the link's text.
    assert element_text(link) == html_to_text(markup) == "Chapter 3: Harbor’s End"


def test_word_count_counts_words_of_the_text() -> None:
    assert word_count("<p>One two</p><p>three<br>four&nbsp;five</p><p>&nbsp;</p>") == 5
    assert word_count("") == 0


def test_content_hash_is_sha256_hex_and_stable() -> None:
    digest = content_hash("<p>x</p>")
    assert digest == content_hash("<p>x</p>") != content_hash("<p>y</p>")
    assert len(digest) == 64 and int(digest, 16) >= 0


# --- slugs and genres ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Mother of Learning", "mother-of-learning"),
        ("2. Life’s Little Problems", "2-lifes-little-problems"),
        ("  Crème brûlée -- à la carte!  ", "creme-brulee-a-la-carte"),
        ("日本語", "untitled"),
        ("", "untitled"),
        ("!!!", "untitled"),
    ],
)
def test_slugify(text: str, slug: str) -> None:
    assert slugify(text) == slug


def test_slugify_cuts_at_a_word_boundary() -> None:
    slug = slugify("alpha beta gamma delta", max_length=13)
    assert slug == "alpha-beta"
    assert slugify("a" * 50, max_length=10) == "a" * 10
    assert len(slugify("word " * 40)) <= 80


@pytest.mark.parametrize(
    "name", ["Sci-fi", "SciFi", "Science Fiction", "science_fiction", "sci fi"]
)
def test_science_fiction_spellings_share_one_slug(name: str) -> None:
    assert genre_slug(name) == "science-fiction"
    assert genre_name(name) == "Science Fiction"


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("LitRPG", "litrpg"),
        ("Lit RPG", "litrpg"),
        ("Isekai", "isekai"),
        ("Portal Fantasy / Isekai", "isekai"),
        ("Slice of Life", "slice-of-life"),
        ("slice-of-life", "slice-of-life"),
        ("Romance", "romance"),
        ("Humour", "comedy"),
        ("Yuri", "girls-love"),
        ("GameLit", "gamelit"),
        ("Time Loop", "time-loop"),
        ("Some Brand-New Tag", "some-brand-new-tag"),
    ],
)
def test_genre_aliases(name: str, slug: str) -> None:
    assert genre_slug(name) == slug


def test_genre_tables_are_consistent() -> None:
    assert set(GENRE_ALIASES.values()) == set(GENRE_NAMES)
    for slug, name in GENRE_NAMES.items():
        assert slug == slugify(slug)
        assert genre_slug(name) == slug and genre_slug(slug) == slug
    assert genre_name("  unknown   thing ") == "unknown thing"
