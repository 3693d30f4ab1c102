"""Turn a site's raw chapter HTML into safe, tidy HTML; plain text, word counts, slugs, genres.

The cleaner is site-agnostic. Sites hand over raw HTML that carries its own `<style>` blocks
(Royal Road declares anti-theft classes there), so the hidden elements can be found again
from the stored raw HTML alone, e.g. when `CLEANER_VERSION` goes up and chapters are re-cleaned.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import urlsplit

import lxml.html
import nh3
from lxml import etree

# Bump when clean_html's output changes, so stored chapters can be re-cleaned from raw_html.
CLEANER_VERSION: int = 2  # 2: control characters are removed

ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "p", "br", "em", "strong", "i", "b", "u", "s", "sub", "sup", "hr", "blockquote",
        "ul", "ol", "li", "table", "thead", "tbody", "tfoot", "tr", "th", "td",
        "h1", "h2", "h3", "h4", "h5", "h6", "img", "a",
        # div is kept, bare: unwrapping it would glue the text of sibling blocks together
        # ("end.Start") wherever an author used divs as paragraphs. span is unwrapped.
        "div",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "img": {"src", "alt", "title", "width", "height"},
    "a": {"href", "title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
# Dropped together with their content (nh3 keeps the text of any other disallowed tag).
_DROP_WITH_CONTENT = frozenset(
    {"script", "style", "iframe", "noscript", "template", "object", "svg", "math", "select",
     "textarea", "button"}
)  # fmt: skip
_URL_SCHEMES = frozenset({"http", "https", "mailto"})
_LINK_REL = "nofollow noopener"

# Block elements (and <br>) separate words in plain text; inline elements do not.
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "caption", "center", "dd", "details",
        "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form",
        "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p",
        "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
    }
)  # fmt: skip
_TEXT_SKIP_TAGS = frozenset({"script", "style"})
# str.split() and \s already cover NBSP and U+202F; they are named to show it is on purpose.
_WHITESPACE = re.compile(r"[\s\u00a0\u202f]+")

# Characters lxml refuses (it raises on them) and no reader wants: C0 controls other than tab,
# newline and CR, lone surrogates, U+FFFE/U+FFFF. A binary body labelled text/html is full of them.
_UNREADABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_HIDING_DECLARATION = re.compile(
    r"(?:display\s*:\s*none|visibility\s*:\s*hidden|speak\s*:\s*never)\b", re.I
)
_CLASS_IN_SELECTOR = re.compile(r"\.(-?[_a-zA-Z][\w-]*)")


# --- hidden (anti-theft) elements -----------------------------------------------------------


def _css_rules(css: str) -> Iterable[tuple[str, str]]:
    """Top-level (selector, declarations) pairs; at-rule blocks such as @media are skipped."""
    css = _CSS_COMMENT.sub("", css)
    depth = 0
    start = 0
    selector = ""
    body_start = 0
    for index, char in enumerate(css):
        if char == "{":
            if depth == 0:
                selector = css[start:index].rsplit(";", 1)[-1].strip()  # after any @import;
                body_start = index + 1
            depth += 1
        elif char == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                if not selector.startswith("@"):
                    yield selector, css[body_start:index]
                start = index + 1


def _hidden_class_sets(css: str) -> set[frozenset[str]]:
    """Class combinations that a rule hides, e.g. {"abc"} for `.abc{display:none}`."""
    found: set[frozenset[str]] = set()
    for selectors, body in _css_rules(css):
        if not _HIDING_DECLARATION.search(body):
            continue
        for selector in selectors.split(","):
            compound = re.split(r"[\s>+~]+", selector.strip())[-1]
            # A pseudo-class, attribute or id makes the rule conditional or about one element
            # we cannot match by class alone: leave those elements in rather than guess.
            if any(mark in compound for mark in ":[#"):
                continue
            classes = _CLASS_IN_SELECTOR.findall(compound)
            if classes:
                found.add(frozenset(classes))
    return found


def _style_text(root: lxml.html.HtmlElement) -> str:
    return "\n".join(style.text_content() for style in root.iter("style"))


def hidden_classes(raw_html: str) -> list[str]:
    """The class names that the `<style>` blocks in `raw_html` declare hidden, sorted."""
    if not raw_html.strip():
        return []
    sets = _hidden_class_sets(_style_text(_parse_fragment(raw_html)))
    return sorted({name for combination in sets for name in combination})


def _drop_hidden(root: lxml.html.HtmlElement, hidden: set[frozenset[str]]) -> None:
    if not hidden:
        return
    doomed = []
    for element in root.iter(etree.Element):
        classes = set((element.get("class") or "").split())
        if classes and any(combination <= classes for combination in hidden):
            doomed.append(element)
    for element in doomed:
        element.drop_tree()  # keeps the element's tail text, which is not hidden


# --- cleaning --------------------------------------------------------------------------------


def _parse_fragment(markup: str) -> lxml.html.HtmlElement:
    """Parse HTML into a wrapper <div> whose children are the fragment's nodes."""
    return lxml.html.fragment_fromstring(_UNREADABLE.sub("", markup), create_parent="div")


def _only_child_wrapper(root: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    """The content container itself when the fragment is one <div> around everything."""
    children = list(root)
    if (
        len(children) == 1
        and children[0].tag == "div"
        and not (root.text or "").strip()
        and not (children[0].tail or "").strip()
    ):
        return children[0]
    return root


def _inner_html(root: lxml.html.HtmlElement) -> str:
    parts = [html_lib.escape(root.text or "", quote=False)]
    parts.extend(lxml.html.tostring(child, encoding="unicode") for child in root)
    return "".join(parts)


# Run on nh3's output, which is canonical (lower-case tags, no attributes on <p>/<div>),
# so these patterns are exact. Only ASCII whitespace counts as empty: a <p>&nbsp;</p>
# spacer is the author's deliberate spacing (scene breaks), so it is kept, and it is
# counted among a chapter's paragraphs, as the expected counts of the real pages do.
_EMPTY_BLOCK = re.compile(r"<(p|div)>[ \t\n\r\f]*</\1>")
_EDGE_BREAKS = re.compile(r"^(?:[ \t\n\r\f]|<br>)+|(?:[ \t\n\r\f]|<br>)+$")


def _drop_junk(markup: str) -> str:
    previous = None
    while previous != markup:  # an emptied <div> may hold only emptied <p>s
        previous = markup
        markup = _EMPTY_BLOCK.sub("", markup)
    return _EDGE_BREAKS.sub("", markup)


def clean_html(raw_html: str, base_url: str) -> str:
    """Safe chapter HTML: hidden anti-theft elements removed, allow-listed tags, absolute URLs."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"base_url must be an absolute http(s) URL, not {base_url!r}")
    if not raw_html.strip():
        return ""
    root = _parse_fragment(raw_html)
    _drop_hidden(root, _hidden_class_sets(_style_text(root)))
    for element in list(root.iter("style", "script")):
        element.drop_tree()
    markup = _inner_html(_only_child_wrapper(root))
    cleaned = nh3.clean(
        markup,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(_DROP_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(_URL_SCHEMES),
        link_rel=_LINK_REL,
        strip_comments=True,
        # nh3 makes relative img src / a href absolute; javascript: and other schemes go.
        url_relative=("rewrite_with_base", base_url),
    )
    return _drop_junk(cleaned)


# --- text ------------------------------------------------------------------------------------


def html_to_text(html: str) -> str:
    """Plain text: blocks and <br> separate, inline joins, whitespace collapsed, trimmed."""
    if not html.strip():
        return ""
    return element_text(_parse_fragment(html))


def element_text(root: etree._Element) -> str:
    """`html_to_text` of an element already parsed, its own tail left out.

    A parser that holds the element (a table-of-contents row's link) saves serialising it and
    parsing it again: ~50 us a row, a quarter of an update of a 5,000-chapter novel.
    """
    parts: list[str] = []
    # An explicit stack rather than recursion: web HTML can nest deeper than Python recurses.
    stack: list[tuple[etree._Element, bool]] = [(root, False)]
    while stack:
        element, closing = stack.pop()
        tag = element.tag if isinstance(element.tag, str) else None  # comments: a function
        # Nothing after the element itself leaks in.
        tail = "" if element is root else (element.tail or "")
        if closing:
            if tag in _BLOCK_TAGS:
                parts.append(" ")
            parts.append(tail)
            continue
        if tag is None or tag in _TEXT_SKIP_TAGS:
            parts.append(tail)
            continue
        if tag in _BLOCK_TAGS:
            parts.append(" ")
        parts.append(element.text or "")
        stack.append((element, True))
        stack.extend((child, False) for child in reversed(element))
    return _WHITESPACE.sub(" ", _UNREADABLE.sub("", "".join(parts))).strip()


def word_count(html: str) -> int:
    """Number of whitespace-separated words in the HTML's plain text."""
    return len(html_to_text(html).split())


def content_hash(clean_html: str) -> str:
    """SHA-256 hex digest of the cleaned HTML, to tell whether a chapter changed."""
    return hashlib.sha256(clean_html.encode("utf-8")).hexdigest()


# --- slugs and genres ------------------------------------------------------------------------


def slugify(text: str, max_length: int = 80) -> str:
    """ASCII, lower-case, hyphen-separated slug, cut at a word boundary; never empty."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    ascii_text = ascii_text.replace("'", "")  # "Life's" -> "lifes", as sites slug it
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > max_length:
        cut = slug[: max_length + 1]
        boundary = cut.rfind("-")
        slug = (cut[:boundary] if boundary > 0 else slug[:max_length]).strip("-")
    return slug or "untitled"


# slug -> (display name, other spellings sites and users use). Names and slugs are
# aliases of themselves. Distinct sub-genres (GameLit vs LitRPG, Wuxia vs Xianxia) stay apart.
_GENRES: dict[str, tuple[str, tuple[str, ...]]] = {
    "science-fiction": ("Science Fiction", ("Sci-fi", "SciFi", "Sci Fi", "SF", "science_fiction")),
    "litrpg": ("LitRPG", ("Lit RPG", "Lit-RPG", "Literary RPG")),
    "gamelit": ("GameLit", ("Game Lit", "Game-Lit", "Game Literature")),
    "isekai": (
        "Portal Fantasy / Isekai",
        ("Isekai", "Portal Fantasy", "Portal Fantasy/Isekai", "Summoned Hero", "Portal"),
    ),
    "slice-of-life": ("Slice of Life", ("SoL", "Slice-of-Life", "slice_of_life")),
    "romance": ("Romance", ("Romantic", "Romance Subplot")),
    "fantasy": ("Fantasy", ()),
    "high-fantasy": ("High Fantasy", ("Epic Fantasy",)),
    "low-fantasy": ("Low Fantasy", ()),
    "urban-fantasy": ("Urban Fantasy", ("Contemporary Fantasy",)),
    "dark-fantasy": ("Dark Fantasy", ("Grimdark",)),
    "progression": ("Progression", ("Progression Fantasy", "Prog Fantasy")),
    "cultivation": ("Cultivation", ()),
    "xianxia": ("Xianxia", ("Xian Xia",)),
    "wuxia": ("Wuxia", ("Wu Xia",)),
    "xuanhuan": ("Xuanhuan", ("Xuan Huan",)),
    "martial-arts": ("Martial Arts", ("Martial-Arts",)),
    "reincarnation": ("Reincarnation", ("Reincarnated", "Rebirth")),
    "time-loop": ("Time Loop", ("Loop", "Time-Loop", "Groundhog Day")),
    "time-travel": ("Time Travel", ()),
    "post-apocalyptic": ("Post Apocalyptic", ("Post-Apocalyptic", "Apocalypse", "Postapocalyptic")),
    "dystopia": ("Dystopia", ("Dystopian",)),
    "cyberpunk": ("Cyberpunk", ("Cyber Punk",)),
    "steampunk": ("Steampunk", ("Steam Punk",)),
    "space-opera": ("Space Opera", ()),
    "mecha": ("Mecha", ("Mech", "Mechs")),
    "virtual-reality": ("Virtual Reality", ("VR", "VRMMO", "VRMMORPG")),
    "dungeon": ("Dungeon", ("Dungeon Core", "Dungeon Crawler")),
    "action": ("Action", ()),
    "adventure": ("Adventure", ()),
    "comedy": ("Comedy", ("Humor", "Humour", "Humorous")),
    "drama": ("Drama", ()),
    "horror": ("Horror", ()),
    "mystery": ("Mystery", ("Detective", "Whodunit")),
    "thriller": ("Thriller", ("Suspense",)),
    "psychological": ("Psychological", ()),
    "tragedy": ("Tragedy", ()),
    "supernatural": ("Supernatural", ("Paranormal",)),
    "historical": ("Historical", ("Historical Fiction", "History")),
    "school-life": ("School Life", ("School", "Academy")),
    "sports": ("Sports", ("Sport",)),
    "harem": ("Harem", ()),
    "reverse-harem": ("Reverse Harem", ()),
    "boys-love": ("Boys Love", ("BL", "Yaoi", "Shounen Ai", "Shonen Ai", "Gay Romance")),
    "girls-love": ("Girls Love", ("GL", "Yuri", "Shoujo Ai", "Shojo Ai", "Lesbian Romance")),
    "lgbtq": ("LGBTQ+", ("LGBT", "LGBTQ", "LGBTQIA+", "Queer")),
    "female-lead": ("Female Lead", ("Female Protagonist", "Female MC", "FMC")),
    "male-lead": ("Male Lead", ("Male Protagonist", "Male MC", "MMC")),
    "non-human-lead": ("Non-Human Lead", ("Non-Human Protagonist", "Nonhuman Lead", "Monster MC")),
    "anti-hero-lead": ("Anti-Hero Lead", ("Antihero", "Anti-Hero", "Villain Protagonist")),
    "strategy": ("Strategy", ("Kingdom Building", "Base Building")),
    "magic": ("Magic", ("Magic System",)),
    "short-story": ("Short Story", ("Short Stories", "Oneshot", "One Shot", "One-Shot")),
    "fan-fiction": ("Fan Fiction", ("Fanfiction", "Fanfic", "Fan Fic")),
    "poetry": ("Poetry", ("Poems",)),
}

GENRE_NAMES: dict[str, str] = {slug: name for slug, (name, _) in _GENRES.items()}
GENRE_ALIASES: dict[str, str] = {
    spelling: slug
    for slug, (name, aliases) in _GENRES.items()
    for spelling in (slug, name, *aliases)
}


def _genre_key(name: str) -> str:
    """What two spellings of one genre share: ASCII letters and digits, lower-case."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9+]", "", ascii_name.lower().replace("&", "and"))


_ALIAS_LOOKUP: dict[str, str] = {_genre_key(alias): slug for alias, slug in GENRE_ALIASES.items()}


def genre_slug(name: str) -> str:
    """Canonical slug of a genre or tag; spellings of one genre share it ("Sci-fi", "SciFi")."""
    return _ALIAS_LOOKUP.get(_genre_key(name)) or slugify(name)


def genre_name(name: str) -> str:
    """Display name of a genre or tag: the canonical name if known, else the input tidied."""
    return GENRE_NAMES.get(genre_slug(name)) or " ".join(name.split()) or "Untitled"
