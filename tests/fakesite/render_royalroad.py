"""Write the static Royal Road sample pages the parser tests read.

Run from the repository root after changing the page builder:
    .venv/bin/python -m tests.fakesite.render_royalroad
"""

from __future__ import annotations

from pathlib import Path

from tests.fakesite import royalroad

SAMPLES_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "sites" / "royalroad"
SAMPLE_FICTION_ID = 4242
SAMPLE_TAGS = ["LitRPG", "Portal Fantasy / Isekai", "Slice of Life", "Sci-fi"]


def sample_fiction() -> royalroad.FakeFiction:
    """The fiction behind the samples: 4 chapters, completed, with warnings (even id)."""
    return royalroad.make_fiction(SAMPLE_FICTION_ID, 4, tags=SAMPLE_TAGS, status="COMPLETED")


def sample_pages() -> dict[str, str]:
    """File name -> page HTML for every sample."""
    fiction = sample_fiction()
    first, second = fiction.chapters[0], fiction.chapters[1]
    return {
        "fiction.html": royalroad.fiction_html(fiction),
        # Chapter 2: previous and next links, an author note after the content.
        "chapter.html": royalroad.chapter_html(fiction, second),
        # Chapter 1 as a stats-sheet table: a note before, no previous chapter.
        "chapter-with-table.html": royalroad.chapter_html(fiction, first, layout="table"),
        "not-found.html": royalroad.not_found_html(),
    }


def main() -> None:
    """Render every sample into tests/fixtures/sites/royalroad/."""
    SAMPLES_DIR.mkdir(parents=True, exist_ok=True)
    for name, page in sample_pages().items():
        (SAMPLES_DIR / name).write_text(page, encoding="utf-8")


if __name__ == "__main__":
    main()
