"""Crawl writes on PostgreSQL and SQLite alike: upserts keyed by the site's ids, nothing twice."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import func, select

from chapterhouse.db import store
from chapterhouse.db.models import Chapter, Genre, Novel, NovelGenre
from chapterhouse.domain import ChapterData, ChapterRef, NovelData
from chapterhouse.services import Runtime


def novel_data(site_id: str = "11", title: str = "The Lantern Road", **extra: object) -> NovelData:
    data = NovelData(
        site="royalroad",
        site_novel_id=site_id,
        url=f"https://www.royalroad.com/fiction/{site_id}/x",
        title=title,
        author="Quill",
        tags=["Fantasy", "Sci-fi"],
    )
    for key, value in extra.items():
        setattr(data, key, value)
    return data


def ref(number: int, title: str | None = None) -> ChapterRef:
    return ChapterRef(
        site_chapter_id=str(1000 + number),
        number=number,
        title=title or f"Chapter {number}",
        url=f"https://www.royalroad.com/fiction/11/x/chapter/{1000 + number}/c",
        published_at=datetime(2024, 1, number, tzinfo=UTC),
    )


def chapter(number: int, text: str = "Some words here.") -> ChapterData:
    return ChapterData(
        ref=ref(number), raw_html=f'<div class="chapter-content"><p>{text}</p></div>'
    )


def test_upserting_a_novel_twice_keeps_one_row_and_its_slug(any_runtime: Runtime) -> None:
    with any_runtime.sessions() as session:
        first = store.upsert_novel(session, novel_data())
        session.commit()
        again = store.upsert_novel(session, novel_data(title="The Lantern Road (revised)"))
        session.commit()
        assert first.id == again.id
        assert again.slug == "the-lantern-road"
        assert again.title == "The Lantern Road (revised)"
        assert session.scalar(select(func.count(Novel.id))) == 1


def test_same_title_on_two_novels_gets_two_slugs(any_runtime: Runtime) -> None:
    with any_runtime.sessions() as session:
        a = store.upsert_novel(session, novel_data("11"))
        b = store.upsert_novel(session, novel_data("12"))
        session.commit()
        assert a.slug != b.slug and b.slug.startswith("the-lantern-road")


def test_genres_are_normalised_and_shared_between_novels(any_runtime: Runtime) -> None:
    with any_runtime.sessions() as session:
        store.upsert_novel(session, novel_data("11", tags=["Sci-fi", "Fantasy"]))
        store.upsert_novel(session, novel_data("12", tags=["Science Fiction", "fantasy"]))
        session.commit()
        slugs = session.scalars(select(Genre.slug).order_by(Genre.slug)).all()
        assert slugs == ["fantasy", "science-fiction"]
        assert session.scalar(select(func.count()).select_from(NovelGenre)) == 4


def test_two_workers_creating_the_same_genre_both_succeed(runtime: Runtime) -> None:
    # Worker A has inserted "fantasy" but not committed when worker B stores another novel
    # with that genre: B must wait and reuse the row, not fail its job on the unique slug.
    errors: list[BaseException] = []
    with runtime.sessions() as first:
        store.upsert_novel(first, novel_data("11"))

        def second_worker() -> None:
            try:
                with runtime.sessions() as second:
                    store.upsert_novel(second, novel_data("12", title="Another"))
                    second.commit()
            except BaseException as exc:  # reported to the test thread below
                errors.append(exc)

        thread = threading.Thread(target=second_worker)
        thread.start()
        thread.join(0.5)
        first.commit()
    thread.join(10)
    assert not errors
    with runtime.sessions() as session:
        assert session.scalar(select(func.count(Genre.id))) == 2
        assert session.scalar(select(func.count()).select_from(NovelGenre)) == 4


def test_saving_a_chapter_twice_updates_in_place(any_runtime: Runtime) -> None:
    with any_runtime.sessions() as session:
        novel = store.upsert_novel(session, novel_data())
        assert store.save_chapter(session, novel.id, chapter(1)) == "new"
        session.commit()
        assert store.save_chapter(session, novel.id, chapter(1)) == "unchanged"
        assert store.save_chapter(session, novel.id, chapter(1, "Edited words.")) == "updated"
        session.commit()
        rows = session.scalars(select(Chapter)).all()
        assert len(rows) == 1
        assert "Edited words." in rows[0].content and rows[0].word_count == 2
        assert rows[0].raw_html and rows[0].content_hash


def test_only_new_or_changed_listings_need_fetching(any_runtime: Runtime) -> None:
    with any_runtime.sessions() as session:
        novel = store.upsert_novel(session, novel_data())
        for n in (1, 2):
            store.save_chapter(session, novel.id, chapter(n))
        session.commit()
        held = store.stored_listing(session, novel.id)
    assert not store.needs_fetch(ref(1), held.get(ref(1).site_chapter_id))
    assert store.needs_fetch(ref(2, "Chapter 2 (rewritten)"), held.get(ref(2).site_chapter_id))
    assert store.needs_fetch(ref(3), held.get(ref(3).site_chapter_id))


def test_totals_count_stored_chapters_and_words(any_runtime: Runtime) -> None:
    with any_runtime.sessions() as session:
        novel = store.upsert_novel(session, novel_data())
        store.save_chapter(session, novel.id, chapter(1, "one two three"))
        store.save_chapter(session, novel.id, chapter(2, "four five"))
        store.refresh_totals(session, novel.id)
        session.commit()
        assert (novel.chapter_count, novel.word_count) == (2, 5)


def test_following_the_listing_flags_withdrawn_restores_returned_and_renumbers(
    any_runtime: Runtime,
) -> None:
    with any_runtime.sessions() as session:
        novel = store.upsert_novel(session, novel_data())
        for n in (1, 2, 3):
            store.save_chapter(session, novel.id, chapter(n))
        session.commit()
        # Chapter 2 disappears from the site; chapter 3 moves up to position 2.
        moved = ChapterRef("1003", 2, "Chapter 3", ref(3).url, ref(3).published_at)
        assert store.sync_listing(session, novel.id, [ref(1), moved]) == 1
        session.commit()
        rows = {c.site_chapter_id: c for c in session.scalars(select(Chapter))}
        assert rows["1002"].withdrawn_at is not None and rows["1002"].number == 2
        assert rows["1003"].number == 2 and rows["1003"].withdrawn_at is None
        # It comes back at its old place: no longer withdrawn, counted as nothing new.
        assert store.sync_listing(session, novel.id, [ref(1), ref(2), ref(3)]) == 0
        session.commit()
        session.expire_all()
        rows = {c.site_chapter_id: c for c in session.scalars(select(Chapter))}
        assert [(rows[k].number, rows[k].withdrawn_at) for k in ("1001", "1002", "1003")] == [
            (1, None),
            (2, None),
            (3, None),
        ]
