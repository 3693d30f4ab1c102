"""Following novels: scheduled, cheap checks for new chapters."""

from __future__ import annotations

from fastapi import APIRouter

from chapterhouse import services
from chapterhouse.api.deps import RuntimeDep
from chapterhouse.api.errors import AUTH, NOT_FOUND, UNAVAILABLE
from chapterhouse.api.schemas import FollowOut

router = APIRouter(tags=["novels"], responses={**AUTH, **NOT_FOUND, **UNAVAILABLE})


@router.post("/novels/{slug}/follow")
def follow_novel(slug: str, rt: RuntimeDep) -> FollowOut:
    """Follow a stored novel: it is checked for new chapters on a schedule fitted to its rhythm."""
    return FollowOut.model_validate(services.follow_novel(rt, slug))


@router.delete("/novels/{slug}/follow")
def unfollow_novel(slug: str, rt: RuntimeDep) -> FollowOut:
    """Stop following a novel; its chapters stay."""
    return FollowOut.model_validate(services.unfollow_novel(rt, slug))


@router.get("/following")
def list_following(rt: RuntimeDep) -> list[FollowOut]:
    """Followed novels, the next to be checked first."""
    return [FollowOut.model_validate(novel) for novel in services.list_following(rt)]
