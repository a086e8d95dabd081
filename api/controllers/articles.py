from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get

from api.controllers.pipeline import (
    ContentController,
    ItemParamsDep,
    ListParamsDep,
    PublishedSince,
    SlugFilter,
    Sort,
    StoreDep,
    fields_param,
    get_item,
    include_param,
    links,
    list_items,
)
from api.controllers.responses import detail_responses, list_responses
from api.registry import ArticleSort, spec
from schemas.resources import ArticleDetail, ArticleList

SPEC = spec("article")


class ArticleController(ContentController):
    path = SPEC.path
    tags = (SPEC.segment,)

    @get(
        "/",
        operation_id="listArticles",
        summary="List articles",
        responses=list_responses(),
    )
    async def list_articles(
        self,
        request: Request[Any, Any, Any],
        store: StoreDep,
        params: ListParamsDep,
        sort: Sort[ArticleSort] = None,
        fields: Annotated[str | None, fields_param(SPEC)] = None,
        include: Annotated[str | None, include_param(SPEC)] = None,
        tag: SlugFilter = None,
        condition: SlugFilter = None,
        treatment: SlugFilter = None,
        published_since: PublishedSince = None,
    ) -> Response[ArticleList]:
        """Articles, newest first; filter by tag, condition or treatment and page with `cursor`."""
        return await list_items(
            store,
            SPEC,
            params,
            request,
            sort=sort,
            fields=fields,
            include=include,
            links=links(tag=tag, condition=condition, treatment=treatment),
            published_since=published_since,
        )

    @get(
        "/{slug:str}",
        operation_id="getArticle",
        summary="Get an article",
        responses=detail_responses(),
    )
    async def get_article(
        self,
        request: Request[Any, Any, Any],
        store: StoreDep,
        item: ItemParamsDep,
        include: Annotated[str | None, include_param(SPEC)] = None,
    ) -> Response[ArticleDetail]:
        """One article with its rendered body, table of contents and references."""
        return await get_item(store, SPEC, item, request, include=include)
