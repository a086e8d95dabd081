from __future__ import annotations

from typing import Annotated

from litestar import Response, get

from api.controllers import pipeline as p
from api.controllers.responses import detail_responses, list_responses
from api.registry import ArticleSort, spec
from schemas.resources import ArticleDetail, ArticleList

SPEC = spec("article")
Fields = Annotated[str | None, p.fields_param(SPEC)]
Include = Annotated[str | None, p.include_param(SPEC)]


class ArticleController(p.ContentController):
    path = SPEC.path
    tags = (SPEC.segment,)

    @get("/", operation_id="listArticles", summary="List articles", responses=list_responses())
    async def list_articles(
        self,
        listing: p.ListDep,
        sort: p.Sort[ArticleSort] = None,
        fields: Fields = None,
        include: Include = None,
        tag: p.SlugFilter = None,
        condition: p.SlugFilter = None,
        treatment: p.SlugFilter = None,
        published_since: p.PublishedSince = None,
    ) -> Response[ArticleList]:
        """Articles, newest first; filter by tag, condition or treatment and page with `cursor`."""
        return await listing.answer(
            SPEC,
            sort=sort,
            fields=fields,
            include=include,
            tag=tag,
            condition=condition,
            treatment=treatment,
            published_since=published_since,
        )

    @get(
        "/{slug:str}",
        operation_id="getArticle",
        summary="Get an article",
        responses=detail_responses(),
    )
    async def get_article(
        self, item: p.ItemDep, include: Include = None
    ) -> Response[ArticleDetail]:
        """One article with its rendered body, table of contents and references."""
        return await item.answer(SPEC, include=include)
