"""The two list shapes: studio slices (keyset: ``offset`` is the last id seen) and loyalty/admin
pages (``page``/``perPage``)."""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from openbenefits.kit.errors import InvalidRequest
from openbenefits.kit.schemas import INT64_MAX

T = TypeVar("T")
R = TypeVar("R")
# Ids are 64-bit; a longer number could not be compared with them in the database.
_OFFSET = re.compile(r"^[0-9]{1,18}$")
MAX_PER_PAGE = 500
# So that the rows skipped, (page - 1) * perPage, fit the database's 64-bit OFFSET.
MAX_PAGE = INT64_MAX // MAX_PER_PAGE


def slice_offset(offset: str) -> int:
    """The id a slice starts after: the ``offset`` the previous slice answered."""
    if not _OFFSET.match(offset):
        raise InvalidRequest(
            "offset is the last id of the previous slice.",
            code="INVALID_OFFSET",
            reference="offset",
        )
    return int(offset)


class Slice(BaseModel, Generic[T]):
    result: list[T]
    hasNext: bool  # noqa: N815 - the reference's wire name
    offset: str


def make_slice(
    rows: Sequence[R],
    size: int,
    previous_offset: str | None,
    render: Callable[[R], T],
    key: Callable[[R], object],
) -> Slice[T]:
    """Build a slice from up to ``size + 1`` rows fetched in key order; the extra row only tells
    whether another slice follows."""
    visible = list(rows[:size])
    offset = str(key(visible[-1])) if visible else (previous_offset or "")
    return Slice(result=[render(r) for r in visible], hasNext=len(rows) > size, offset=offset)


class Page(BaseModel, Generic[T]):
    items: list[T]
    page: int
    perPage: int  # noqa: N815 - wire name shared with the loyalty API
    totalItems: int  # noqa: N815


@dataclass(frozen=True)
class PageParams:
    page: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


async def page_params(
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="1-based page number")] = 1,
    per_page: Annotated[int, Query(alias="perPage", ge=1, le=MAX_PER_PAGE)] = 50,
) -> PageParams:
    return PageParams(page=page, per_page=per_page)


async def fetch_page(
    session: AsyncSession, statement: Select[R], params: PageParams
) -> tuple[list[R], int]:
    """One page of ``statement`` (which must be ordered) and the total row count."""
    total = await session.scalar(
        select(func.count()).select_from(statement.order_by(None).subquery())
    )
    rows = await session.scalars(statement.limit(params.per_page).offset(params.offset))
    return list(rows), total or 0


ModelT = TypeVar("ModelT", bound=BaseModel)


def page_of(
    model: type[ModelT], rows: Sequence[object], total: int, params: PageParams
) -> Page[ModelT]:
    return Page[ModelT](
        items=[model.model_validate(row) for row in rows],
        page=params.page,
        perPage=params.per_page,
        totalItems=total,
    )
