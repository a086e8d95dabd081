from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get
from litestar.params import QueryParameter

from api.controllers.pipeline import (
    DEFAULT_LIMIT,
    SORT_DESCRIPTION,
    ChannelParam,
    Cursor,
    Limit,
    ListParams,
    LocaleParam,
    PublishedSince,
    Related,
    ReviewStatusFilter,
    SlugFilter,
    SlugPath,
    StoreDep,
    TypeSpec,
    UpdatedSince,
    get_item,
    list_items,
)
from api.controllers.preview_links import AT_PARAMETERS, PreviewToken
from api.controllers.responses import detail_responses, list_responses
from schemas.resources import ArticleDetail, ArticleList, ArticleSummary

SPEC = TypeSpec(
    type="article",
    path="/v1/articles",
    sorts=("-published_at", "published_at", "-updated_at", "updated_at", "title", "-title"),
    default_sort="-published_at",
    fields=frozenset(ArticleSummary.__struct_fields__) - {"included"},
    includes={
        "conditions": Related("condition", from_field="conditions"),
        "treatments": Related("treatment", from_field="treatments"),
    },
)
ArticleSort = Literal[
    "-published_at", "published_at", "-updated_at", "updated_at", "title", "-title"
]


class ArticleController(Controller):
    path = SPEC.path
    tags = ("articles",)
    parameters = AT_PARAMETERS

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
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
        sort: Annotated[ArticleSort | None, QueryParameter(description=SORT_DESCRIPTION)] = None,
        fields: Annotated[str | None, SPEC.fields_param] = None,
        include: Annotated[str | None, SPEC.include_param] = None,
        locale: LocaleParam = None,
        tag: SlugFilter = None,
        condition: SlugFilter = None,
        treatment: SlugFilter = None,
        updated_since: UpdatedSince = None,
        published_since: PublishedSince = None,
        review_status: ReviewStatusFilter = None,
        channel: ChannelParam = None,
    ) -> Response[ArticleList]:
        """Articles, newest first; filter by tag, condition or treatment and page with `cursor`."""
        links = [
            (rel, v)
            for rel, v in (("tag", tag), ("condition", condition), ("treatment", treatment))
            if v
        ]
        params = ListParams(
            limit,
            cursor,
            sort,
            fields,
            include,
            locale,
            links,
            updated_since,
            published_since=published_since,
            review_status=review_status,
            channel=channel,
        )
        return await list_items(store, SPEC, params, request)

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
        slug: SlugPath,
        locale: LocaleParam = None,
        include: Annotated[str | None, SPEC.include_param] = None,
        channel: ChannelParam = None,
        preview_token: PreviewToken = None,
    ) -> Response[ArticleDetail]:
        """One article with its rendered body, table of contents and references."""
        return await get_item(store, SPEC, slug, locale, include, request, channel)
