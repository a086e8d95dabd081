"""A small consumer of the Clinic Content API, written against the client that
openapi-python-client generates from openapi/openapi.json (the package `clinic_client`).

It walks what each channel really does: the website (lists page by page through the `Link`
header, details, `include`, the site, its sitemap and the event log), the waiting-room
kiosk (FAQs by topic, search with a typo, Spanish, a full sync walk), the newsletter (each
feed) and the errors a client must read (404, 400 and 401 as problem details). Every JSON
answer must parse into the generated model its operation documents, never stay a plain
dict: `expect()` checks the parsed type. Nothing here knows the API beyond what the document says.

Usage: `python consumer.py BASE_URL KEY FLOW` with `clinic_client` importable (the test
suite generates it into a temporary folder); prints what the flow saw as JSON.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qs, urlsplit

from clinic_client import AuthenticatedClient, Client
from clinic_client.api.articles import get_article, list_articles
from clinic_client.api.conditions import get_condition, list_conditions
from clinic_client.api.events import list_events
from clinic_client.api.faqs import get_faq, get_faq_topic, list_faq_topics, list_faqs
from clinic_client.api.feeds import (
    get_articles_atom_feed,
    get_articles_json_feed,
    get_articles_rss_feed,
)
from clinic_client.api.operations import get_health, get_ready
from clinic_client.api.search import search_content
from clinic_client.api.site import get_site, get_sitemap, get_sitemap_xml
from clinic_client.api.symptoms import get_symptom, list_symptoms
from clinic_client.api.sync import sync_content
from clinic_client.api.treatments import get_treatment, list_treatments
from clinic_client.models import (
    ArticleDetail,
    ArticleDetailKiosk,
    ArticleList,
    ArticleSummary,
    ConditionDetail,
    ConditionList,
    ConditionSummary,
    ContentChanged,
    EventPage,
    Faq,
    FaqKiosk,
    FaqList,
    FaqTopic,
    FaqTopicIndex,
    GetArticleChannelType1,
    GetFaqChannelType1,
    Health,
    ItemPublished,
    ItemUnpublished,
    ItemUpdated,
    JsonFeed,
    ListFaqsChannelType1,
    ListFaqTopicsChannelType1,
    ListMeta,
    Locale,
    Problem,
    ReviewDue,
    ReviewOverdue,
    SearchContentChannelType1,
    SearchResults,
    Site,
    Sitemap,
    SymptomDetail,
    SymptomList,
    SymptomSummary,
    SyncDelete,
    SyncPage,
    SyncUpsert,
    TreatmentDetail,
    TreatmentList,
    TreatmentSummary,
)
from clinic_client.types import UNSET, Response, Unset

M = TypeVar("M")
Summary = dict[str, Any]


class Page(Protocol):
    """A page of a list: its items and where the next page starts."""

    @property
    def meta(self) -> ListMeta: ...


P = TypeVar("P", bound=Page)


class ConsumerError(AssertionError):
    """The API answered something this consumer cannot use."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise ConsumerError(message)


def expect(response: Response[Any], model: type[M], status: int = 200) -> M:
    """The parsed body of `response`, which must be a `model` (a generated class)."""
    parsed = response.parsed
    check(
        response.status_code == status,
        f"status {response.status_code}, expected {status}: {response.content[:300]!r}",
    )
    check(
        isinstance(parsed, model),
        f"parsed as {type(parsed).__name__}, expected {model.__name__}",
    )
    assert isinstance(parsed, model)  # for the type checker; check() has raised otherwise
    return parsed


def next_link(headers: Mapping[str, str]) -> str | None:
    """The target of `Link: <...>; rel="next"`, if any."""
    for part in headers.get("link", "").split(","):
        target, _, params = part.partition(";")
        if 'rel="next"' in params:
            return target.strip().strip("<>")
    return None


# The website.


def website(base_url: str, key: str) -> Summary:
    """Index pages of every type, walked page by page through `Link`; each type's first item
    in full with its HTML; a condition with its symptoms and treatments embedded; the site's
    settings and sitemap."""
    with AuthenticatedClient(base_url=base_url, token=key) as client:
        return _website(client)


def _website(client: AuthenticatedClient) -> Summary:
    pages: dict[str, int] = {}
    read: dict[str, str] = {}

    def walk(
        response: Response[Any], model: type[P], parse: Callable[[Any], P], name: str
    ) -> list[P]:
        """Every page of a list, following `Link` as given; each page is a `model`."""
        lists = [expect(response, model)]
        link = next_link(response.headers)
        while link is not None:
            check(urlsplit(link).path == f"/v1/{name}", f"Link leaves the list: {link}")
            check(
                parse_qs(urlsplit(link).query)["cursor"] == [lists[-1].meta.next_cursor],
                "the Link's cursor is not meta.next_cursor",
            )
            following = client.get_httpx_client().get(link)
            check(following.status_code == 200, f"{link}: {following.status_code}")
            lists.append(parse(following.json()))
            link = next_link(following.headers)
        pages[name] = len(lists)
        return lists

    articles = [
        a
        for page in walk(
            list_articles.sync_detailed(client=client, limit=1),
            ArticleList,
            ArticleList.from_dict,
            "articles",
        )
        for a in page.data
    ]
    conditions = [
        c
        for page in walk(
            list_conditions.sync_detailed(client=client, limit=2),
            ConditionList,
            ConditionList.from_dict,
            "conditions",
        )
        for c in page.data
    ]
    symptoms = [
        s
        for page in walk(
            list_symptoms.sync_detailed(client=client, limit=3),
            SymptomList,
            SymptomList.from_dict,
            "symptoms",
        )
        for s in page.data
    ]
    treatments = [
        t
        for page in walk(
            list_treatments.sync_detailed(client=client, limit=2),
            TreatmentList,
            TreatmentList.from_dict,
            "treatments",
        )
        for t in page.data
    ]
    summaries: dict[str, tuple[list[Any], type]] = {
        "articles": (articles, ArticleSummary),
        "conditions": (conditions, ConditionSummary),
        "symptoms": (symptoms, SymptomSummary),
        "treatments": (treatments, TreatmentSummary),
    }
    for name, (items, summary) in summaries.items():
        check(bool(items), f"no {name}")
        for item in items:
            check(isinstance(item, summary), f"{name}: a {type(item).__name__} in the list")
        slugs = [item.slug for item in items]
        check(len(set(slugs)) == len(slugs), f"{name}: an item came twice across pages")

    # Details, each in its full rendition: HTML to show.
    article = expect(get_article.sync_detailed(articles[0].slug, client=client), ArticleDetail)
    condition = expect(
        get_condition.sync_detailed(conditions[0].slug, client=client), ConditionDetail
    )
    symptom = expect(get_symptom.sync_detailed(symptoms[0].slug, client=client), SymptomDetail)
    treatment = expect(
        get_treatment.sync_detailed(treatments[0].slug, client=client), TreatmentDetail
    )
    details: list[ArticleDetail | ConditionDetail | SymptomDetail | TreatmentDetail] = [
        article,
        condition,
        symptom,
        treatment,
    ]
    for detail in details:
        check(detail.rendition == "full", f"{detail.slug}: rendition {detail.rendition}")
        check(detail.body_html.startswith("<"), f"{detail.slug}: body_html is not HTML")
        read[detail.slug] = detail.body_html[:40]

    # A condition page shows its symptoms and treatments: embedded, typed as summaries.
    crps = expect(
        get_condition.sync_detailed("crps", client=client, include="symptoms,treatments"),
        ConditionDetail,
    )
    included = crps.included
    check(not isinstance(included, Unset), "include= gave no `included`")
    assert not isinstance(included, Unset)
    embedded_symptoms = included.symptoms
    embedded_treatments = included.treatments
    check(isinstance(embedded_symptoms, list), "no included symptoms")
    check(isinstance(embedded_treatments, list), "no included treatments")
    assert isinstance(embedded_symptoms, list)
    assert isinstance(embedded_treatments, list)
    check(
        all(isinstance(s, SymptomSummary) for s in embedded_symptoms),
        "an included symptom is not a SymptomSummary",
    )
    check(
        [s.slug for s in embedded_symptoms] == crps.symptoms,
        "included symptoms differ from the condition's",
    )
    check(
        sorted(t.slug for t in embedded_treatments) == sorted(crps.treatments),
        "included treatments differ from the condition's",
    )
    check(included.faqs is UNSET, "faqs came without being asked for")

    site = expect(get_site.sync_detailed(client=client), Site)
    sitemap = expect(get_sitemap.sync_detailed(client=client), Sitemap)
    check(
        {e.slug for e in sitemap.data} >= {a.slug for a in articles},
        "an article is missing from the sitemap",
    )
    sitemap_xml = get_sitemap_xml.sync_detailed(client=client)
    check(sitemap_xml.status_code == 200, f"sitemap.xml: {sitemap_xml.status_code}")
    urls = ET.fromstring(sitemap_xml.content)
    check(
        urls.tag == "{http://www.sitemaps.org/schemas/sitemap/0.9}urlset",
        f"sitemap.xml is a {urls.tag}",
    )
    check(len(urls) == len(sitemap.data), "sitemap.xml and /v1/sitemap list different pages")

    # What changed, to purge the CDN: the event log from its start, page by page.
    kinds: dict[str, int] = {}
    event_pages = 0
    cursor: str | Unset = UNSET
    while True:
        log = expect(list_events.sync_detailed(client=client, cursor=cursor, limit=25), EventPage)
        event_pages += 1
        for event in log.data:
            model = EVENT_MODELS[str(event.type_)]
            check(isinstance(event, model), f"{event.type_} parsed as {type(event).__name__}")
            if not isinstance(event, ContentChanged):
                check(event.data.path.startswith("/v1/"), f"{event.id}: no API path")
            kinds[str(event.type_)] = kinds.get(str(event.type_), 0) + 1
        cursor = log.meta.next_cursor
        if not log.meta.has_more:
            break
    after = expect(list_events.sync_detailed(client=client, cursor=cursor), EventPage)
    check(not after.data and not after.meta.has_more, "events after reading the whole log")
    return {
        "pages": pages,
        "items": {name: len(items) for name, (items, _) in summaries.items()},
        "details": read,
        "included": {
            "symptoms": [s.slug for s in embedded_symptoms],
            "treatments": [t.slug for t in embedded_treatments],
        },
        "site": site.name,
        "sitemap": len(sitemap.data),
        "events": {"pages": event_pages, "types": kinds},
    }


EVENT_MODELS: dict[str, type] = {
    "item.published": ItemPublished,
    "item.updated": ItemUpdated,
    "item.unpublished": ItemUnpublished,
    "review.due": ReviewDue,
    "review.overdue": ReviewOverdue,
    "content.changed": ContentChanged,
}


# The kiosk.


def kiosk(base_url: str, key: str) -> Summary:
    """The kiosk's home (its list of topics), FAQs of a topic in the kiosk's plain-text
    rendition, the topic itself, search with a
    typo, the same in Spanish, and a full sync walk for the kiosk's offline copy."""
    with AuthenticatedClient(base_url=base_url, token=key) as client:
        return _kiosk(client)


def _kiosk(client: AuthenticatedClient) -> Summary:
    home = expect(
        list_faq_topics.sync_detailed(client=client, channel=ListFaqTopicsChannelType1.KIOSK),
        FaqTopicIndex,
    )
    topic = expect(get_faq_topic.sync_detailed("about-ketamine", client=client), FaqTopic)
    listed = {t.slug: t for t in home.data}
    check("about-ketamine" in listed, "the kiosk's home does not list the topic")
    check(
        listed["about-ketamine"].count == len(topic.faqs)
        and listed["about-ketamine"].title == topic.title,
        "the list of topics and the topic disagree",
    )
    faqs = expect(
        list_faqs.sync_detailed(
            client=client, topic="about-ketamine", channel=ListFaqsChannelType1.KIOSK, limit=100
        ),
        FaqList,
    )
    check(
        [f.slug for f in faqs.data] == [f.slug for f in topic.faqs],
        "the topic and the kiosk's list order the questions differently",
    )
    for faq in faqs.data:
        check(isinstance(faq, FaqKiosk), f"a kiosk FAQ parsed as {type(faq).__name__}")
        assert isinstance(faq, FaqKiosk)
        check(faq.rendition == "kiosk", f"{faq.slug}: rendition {faq.rendition}")
        check("<" not in faq.short_answer, f"{faq.slug}: HTML in the short answer")

    # A visitor types with typos: the search says how it understood each word.
    found = expect(
        search_content.sync_detailed(
            client=client, q="ketamene side efects", channel=SearchContentChannelType1.KIOSK
        ),
        SearchResults,
    )
    check(bool(found.data), "a search with typos found nothing")
    understood = {term.typed: term.searched for term in found.meta.terms}
    check("ketamine" in understood.get("ketamene", []), f"ketamene was read as {understood}")
    check(all("<mark>" not in hit.snippet for hit in found.data), "HTML in a kiosk snippet")

    # The same kiosk in Spanish.
    spanish = expect(
        search_content.sync_detailed(
            client=client, q="inyeccion", locale=Locale.ES, channel=SearchContentChannelType1.KIOSK
        ),
        SearchResults,
    )
    check(spanish.meta.locale == "es", f"searched in {spanish.meta.locale}")
    check(any(hit.locale == "es" for hit in spanish.data), "no Spanish hit for inyeccion")
    pregunta = expect(
        get_faq.sync_detailed(
            "what-is-ketamine", client=client, locale=Locale.ES, channel=GetFaqChannelType1.KIOSK
        ),
        FaqKiosk,
    )
    check(pregunta.locale == "es", f"the Spanish FAQ came in {pregunta.locale}")
    full = expect(get_faq.sync_detailed("what-is-ketamine", client=client, locale=Locale.ES), Faq)
    check(full.answer_html.startswith("<"), "the full FAQ has no HTML answer")
    plain = expect(
        get_article.sync_detailed(
            expect(list_articles.sync_detailed(client=client, limit=1), ArticleList).data[0].slug,
            client=client,
            channel=GetArticleChannelType1.KIOSK,
        ),
        ArticleDetailKiosk,
    )
    check(plain.rendition == "kiosk" and bool(plain.body_text), "no plain-text article")

    # The offline copy: every change from the start, page by page, then nothing new.
    copy: dict[tuple[str, str, str], Any] = {}
    sync_pages = 0
    cursor: str | Unset = UNSET
    while True:
        page = expect(sync_content.sync_detailed(client=client, cursor=cursor, limit=25), SyncPage)
        sync_pages += 1
        for change in page.data:
            key = (str(change.type_), change.slug, change.locale)
            if isinstance(change, SyncUpsert):
                check(key not in copy, f"{key} came twice in one walk")
                item = change.item
                model = SYNC_MODELS[str(change.type_)]
                check(isinstance(item, model), f"{key} parsed as {type(item).__name__}")
                check((item.slug, item.locale) == key[1:], f"{key}: the item is another one")
                copy[key] = item
            else:
                check(isinstance(change, SyncDelete), f"{key}: neither upsert nor delete")
                copy.pop(key, None)
        cursor = page.meta.next_cursor
        if not page.meta.has_more:
            break
    after = expect(sync_content.sync_detailed(client=client, cursor=cursor), SyncPage)
    check(not after.data and not after.meta.has_more, "changes after a complete walk")
    types = sorted({key[0] for key in copy})
    locales = sorted({key[2] for key in copy})
    check(types == sorted(SYNC_MODELS), f"the offline copy has only {types}")
    check(locales == ["en", "es"], f"the offline copy has locales {locales}")
    return {
        "topic": [f.slug for f in topic.faqs],
        "search": [hit.slug for hit in found.data[:3]],
        "understood": understood,
        "spanish": [hit.slug for hit in spanish.data[:3]],
        "sync": {"pages": sync_pages, "items": len(copy), "types": types, "locales": locales},
    }


SYNC_MODELS: dict[str, type] = {
    "article": ArticleDetail,
    "condition": ConditionDetail,
    "faq": Faq,
    "symptom": SymptomDetail,
    "treatment": TreatmentDetail,
}


# The newsletter.

ATOM = "{http://www.w3.org/2005/Atom}"


def newsletter(base_url: str, key: str) -> Summary:
    """Each feed of the articles; the JSON Feed parses into its model, Atom and RSS (which the
    generator cannot type) are read as XML. All three list the same articles."""
    with AuthenticatedClient(base_url=base_url, token=key) as client:
        return _newsletter(client)


def _newsletter(client: AuthenticatedClient) -> Summary:
    feed = expect(get_articles_json_feed.sync_detailed(client=client), JsonFeed)
    check(feed.version == "https://jsonfeed.org/version/1.1", f"JSON Feed {feed.version}")
    check(bool(feed.items), "the JSON Feed has no items")
    atom_response = get_articles_atom_feed.sync_detailed(client=client)
    check(atom_response.status_code == 200, f"Atom: {atom_response.status_code}")
    atom = ET.fromstring(atom_response.content)
    check(atom.tag == f"{ATOM}feed", f"the Atom feed is a {atom.tag}")
    rss_response = get_articles_rss_feed.sync_detailed(client=client)
    check(rss_response.status_code == 200, f"RSS: {rss_response.status_code}")
    rss = ET.fromstring(rss_response.content)
    check(rss.tag == "rss", f"the RSS feed is a {rss.tag}")
    titles = {
        "json": [item.title for item in feed.items],
        "atom": [e.findtext(f"{ATOM}title") for e in atom.iter(f"{ATOM}entry")],
        "rss": [i.findtext("title") for i in rss.iter("item")],
    }
    check(titles["json"] == titles["atom"] == titles["rss"], f"the feeds differ: {titles}")
    return {"items": len(feed.items), "titles": titles["json"]}


# Errors: problem details, typed.


def errors(base_url: str, key: str) -> Summary:
    """A missing item (404), a refused parameter (400) and a wrong key (401), each read as
    the generated `Problem` model."""
    with AuthenticatedClient(base_url=base_url, token=key) as client:
        return _errors(client, AuthenticatedClient(base_url=base_url, token="not-a-key"))


def _errors(client: AuthenticatedClient, stranger: AuthenticatedClient) -> Summary:
    missing = expect(get_article.sync_detailed("no-such-article", client=client), Problem, 404)
    check(missing.status == 404 and bool(missing.detail), f"404 as {missing}")
    refused = expect(list_articles.sync_detailed(client=client, limit=1000), Problem, 400)
    params = refused.invalid_params
    check(not isinstance(params, Unset), "a 400 without invalid_params")
    assert not isinstance(params, Unset)
    check([p.name for p in params] == ["limit"], f"400 names {[p.name for p in params]}")
    unauthorized = expect(list_articles.sync_detailed(client=stranger), Problem, 401)
    check(unauthorized.status == 401, f"401 as {unauthorized}")
    return {
        "404": missing.detail,
        "400": {p.name: p.reason for p in params},
        "401": unauthorized.detail,
    }


# Operations: what a deployment's probes read, without a key.


def operations(base_url: str, key: str) -> Summary:
    """Liveness and readiness, which need no key."""
    anonymous = Client(base_url=base_url)
    health = expect(get_health.sync_detailed(client=anonymous), Health)
    ready = expect(get_ready.sync_detailed(client=anonymous), Health)
    check(health.status == ready.status == "ok", "not healthy")
    revision = ready.content_revision
    check(isinstance(revision, int) and revision > 0, f"ready at revision {revision}")
    return {"health": health.status, "ready": revision}


FLOWS: dict[str, Callable[[str, str], Summary]] = {
    "website": website,
    "kiosk": kiosk,
    "newsletter": newsletter,
    "errors": errors,
    "operations": operations,
}


def main(argv: list[str]) -> int:
    base_url, key, flow = argv
    print(json.dumps(FLOWS[flow](base_url, key), ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
