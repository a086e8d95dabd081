/**
 * A small consumer of the Clinic Content API: types generated from openapi/openapi.json by
 * openapi-typescript (generated/schema.ts), requests through openapi-fetch, checked with
 * `tsc --strict` and no type assertions, so every value below has the type the document gives.
 *
 * It walks what each channel really does: the website (lists page by page through the
 * `Link` header, details, `include`, the site, its sitemap and the event log), the
 * waiting-room kiosk (FAQs
 * by topic, search with a typo, Spanish, a full sync walk), the newsletter (each feed) and
 * the errors a client must read (404, 400 and 401 as problem details).
 *
 * Usage: node dist/src/consumer.js BASE_URL KEY FLOW; prints what the flow saw as JSON.
 */
import createClient from "openapi-fetch";
import type { components, paths } from "../generated/schema.js";

type Schemas = components["schemas"];
type Summary = Record<string, unknown>;

class ConsumerError extends Error {}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) {
    throw new ConsumerError(message);
  }
}

function api(baseUrl: string, key?: string) {
  const headers: Record<string, string> = key ? { Authorization: `Bearer ${key}` } : {};
  return createClient<paths>({ baseUrl, headers });
}

/** What openapi-fetch answers: the parsed body on success, the parsed error otherwise. */
interface Result<T, E> {
  data?: T;
  error?: E;
  response: Response;
}

/** The body of a successful answer. */
function ok<T, E>(result: Result<T, E>, what: string): T {
  const { data, error, response } = result;
  check(
    response.status === 200 && data !== undefined,
    `${what}: ${response.status} ${JSON.stringify(error)}`,
  );
  return data;
}

/** The problem details of a refused request, with the status they must carry. */
function problem<T, E>(result: Result<T, E>, status: number, what: string): E {
  const { error, response } = result;
  check(response.status === status, `${what}: ${response.status}, expected ${status}`);
  check(
    response.headers.get("Content-Type") === "application/problem+json",
    `${what}: ${response.headers.get("Content-Type")}`,
  );
  check(error !== undefined, `${what}: no problem details`);
  return error;
}

/** The target of `Link: <...>; rel="next"`, if any. */
function nextLink(response: Response): URL | null {
  for (const part of (response.headers.get("Link") ?? "").split(",")) {
    const [target, ...params] = part.split(";");
    if (target !== undefined && params.some((p) => p.trim() === 'rel="next"')) {
      return new URL(target.trim().replace(/^<|>$/g, ""), "http://relative.invalid");
    }
  }
  return null;
}

interface Page<T> {
  data: T[];
  meta: Schemas["ListMeta"];
}

/**
 * Every item of a list, following `Link` as given: `fetchPage` asks for the first page, or,
 * with a query serializer, for exactly the query the server linked to.
 */
async function everyPage<T, E>(
  path: string,
  fetchPage: (querySerializer?: () => string) => Promise<Result<Page<T>, E>>,
): Promise<{ items: T[]; pages: number }> {
  let result = await fetchPage();
  const items: T[] = [];
  let pages = 0;
  for (;;) {
    const page = ok(result, path);
    items.push(...page.data);
    pages += 1;
    const link = nextLink(result.response);
    if (link === null) {
      check(page.meta.next_cursor === null, `${path}: a next cursor but no Link`);
      return { items, pages };
    }
    check(link.pathname === path, `the Link leaves ${path}: ${link.pathname}`);
    check(link.searchParams.get("cursor") === page.meta.next_cursor, "Link and cursor differ");
    const query = link.searchParams.toString();
    result = await fetchPage(() => query);
  }
}

type Detail =
  | Schemas["ArticleDetail"]
  | Schemas["ArticleDetailKiosk"]
  | Schemas["ConditionDetail"]
  | Schemas["ConditionDetailKiosk"]
  | Schemas["SymptomDetail"]
  | Schemas["SymptomDetailKiosk"]
  | Schemas["TreatmentDetail"]
  | Schemas["TreatmentDetailKiosk"];

/**
 * The HTML to show, or null for the kiosk's plain-text copy. `rendition` is the document's
 * discriminator: after the check the compiler knows `body_html` is there, without a cast.
 */
function html(item: Detail): string | null {
  if (item.rendition === "full") {
    return item.body_html;
  }
  return null;
}

// The website.

async function website(baseUrl: string, key: string): Promise<Summary> {
  const client = api(baseUrl, key);
  const articles = await everyPage("/v1/articles", (querySerializer) =>
    client.GET("/v1/articles", { params: { query: { limit: 1 } }, querySerializer }),
  );
  const conditions = await everyPage("/v1/conditions", (querySerializer) =>
    client.GET("/v1/conditions", { params: { query: { limit: 1 } }, querySerializer }),
  );
  const symptoms = await everyPage("/v1/symptoms", (querySerializer) =>
    client.GET("/v1/symptoms", { params: { query: { limit: 3 } }, querySerializer }),
  );
  const treatments = await everyPage("/v1/treatments", (querySerializer) =>
    client.GET("/v1/treatments", { params: { query: { limit: 1 } }, querySerializer }),
  );
  const lists = { articles, conditions, symptoms, treatments };
  for (const [name, list] of Object.entries(lists)) {
    const slugs = list.items.map((item) => item.slug);
    check(slugs.length > 0, `no ${name}`);
    check(new Set(slugs).size === slugs.length, `${name}: an item came twice across pages`);
  }
  const first = (list: { items: { slug: string }[] }, name: string): string => {
    const item = list.items[0];
    check(item !== undefined, `no ${name}`);
    return item.slug;
  };

  // Details, each in its full rendition: HTML to show.
  const details: Detail[] = [
    ok(
      await client.GET("/v1/articles/{slug}", {
        params: { path: { slug: first(articles, "article") } },
      }),
      "article",
    ),
    ok(
      await client.GET("/v1/conditions/{slug}", {
        params: { path: { slug: first(conditions, "condition") } },
      }),
      "condition",
    ),
    ok(
      await client.GET("/v1/symptoms/{slug}", {
        params: { path: { slug: first(symptoms, "symptom") } },
      }),
      "symptom",
    ),
    ok(
      await client.GET("/v1/treatments/{slug}", {
        params: { path: { slug: first(treatments, "treatment") } },
      }),
      "treatment",
    ),
  ];
  const read: Record<string, string> = {};
  for (const detail of details) {
    const body = html(detail);
    check(body !== null && body.startsWith("<"), `${detail.slug}: no HTML in the full rendition`);
    read[detail.slug] = body.slice(0, 40);
  }

  // A condition page shows its symptoms and treatments, embedded and typed as summaries.
  const crps = ok(
    await client.GET("/v1/conditions/{slug}", {
      params: { path: { slug: "crps" }, query: { include: "symptoms,treatments" } },
    }),
    "crps",
  );
  check(crps.rendition === "full", `crps: rendition ${crps.rendition}`);
  const embeddedSymptoms = crps.included?.symptoms ?? [];
  const embeddedTreatments = crps.included?.treatments ?? [];
  check(
    embeddedSymptoms.map((s) => s.slug).join() === crps.symptoms.join(),
    "included symptoms differ from the condition's",
  );
  check(
    embeddedSymptoms.every((s) => s.type === "symptom" && s.what_it_is.length > 0),
    "an included symptom is not a symptom summary",
  );
  check(
    embeddedTreatments.map((t) => t.slug).sort().join() === [...crps.treatments].sort().join(),
    "included treatments differ from the condition's",
  );
  check(crps.included?.faqs === undefined, "faqs came without being asked for");

  const site = ok(await client.GET("/v1/site"), "site");
  const sitemap = ok(await client.GET("/v1/sitemap"), "sitemap");
  const mapped = new Set(sitemap.data.map((entry) => entry.slug));
  check(
    articles.items.every((a) => mapped.has(a.slug)),
    "an article is missing from the sitemap",
  );
  const xml = ok(await client.GET("/v1/sitemap.xml", { parseAs: "text" }), "sitemap.xml");
  check(
    xml.includes('<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'),
    "sitemap.xml is not a sitemaps.org urlset",
  );
  check(
    (xml.match(/<url>/g) ?? []).length === sitemap.data.length,
    "sitemap.xml and /v1/sitemap list different pages",
  );

  // What changed, to purge the CDN: the event log from its start, page by page.
  const kinds: Record<string, number> = {};
  let eventPages = 0;
  let cursor: string | undefined;
  for (;;) {
    const log = ok(
      await client.GET("/v1/events", { params: { query: { cursor, limit: 25 } } }),
      "events",
    );
    eventPages += 1;
    for (const event of log.data) {
      // `type` discriminates the events: only content.changed carries counts, not an item.
      if (event.type === "content.changed") {
        check(event.data.content_revision > 0, `${event.id}: no content revision`);
      } else {
        check(event.data.path.startsWith("/v1/"), `${event.id}: no API path`);
      }
      kinds[event.type] = (kinds[event.type] ?? 0) + 1;
    }
    cursor = log.meta.next_cursor;
    if (!log.meta.has_more) {
      break;
    }
  }
  const after = ok(await client.GET("/v1/events", { params: { query: { cursor } } }), "events");
  check(after.data.length === 0 && !after.meta.has_more, "events after reading the whole log");
  return {
    pages: Object.fromEntries(Object.entries(lists).map(([name, list]) => [name, list.pages])),
    items: Object.fromEntries(Object.entries(lists).map(([n, list]) => [n, list.items.length])),
    details: read,
    included: {
      symptoms: embeddedSymptoms.map((s) => s.slug),
      treatments: embeddedTreatments.map((t) => t.slug),
    },
    site: site.name,
    sitemap: sitemap.data.length,
    events: { pages: eventPages, types: kinds },
  };
}

// The kiosk.

async function kiosk(baseUrl: string, key: string): Promise<Summary> {
  const client = api(baseUrl, key);
  const home = ok(
    await client.GET("/v1/faq-topics", { params: { query: { channel: "kiosk" } } }),
    "topics",
  );
  const topic = ok(
    await client.GET("/v1/faq-topics/{slug}", { params: { path: { slug: "about-ketamine" } } }),
    "topic",
  );
  const homeTopic = home.data.find((t) => t.slug === "about-ketamine");
  check(
    homeTopic !== undefined &&
      homeTopic.count === topic.faqs.length &&
      homeTopic.title === topic.title,
    "the list of topics and the topic disagree",
  );
  const faqs = ok(
    await client.GET("/v1/faqs", {
      params: { query: { topic: "about-ketamine", channel: "kiosk", limit: 100 } },
    }),
    "kiosk FAQs",
  );
  check(
    faqs.data.map((f) => f.slug).join() === topic.faqs.map((f) => f.slug).join(),
    "the topic and the kiosk's list order the questions differently",
  );
  for (const faq of faqs.data) {
    check(faq.rendition === "kiosk", `${faq.slug}: rendition ${faq.rendition}`);
    check(
      typeof faq.short_answer === "string" && !faq.short_answer.includes("<"),
      `${faq.slug}: no plain short answer`,
    );
    check(!("answer_html" in faq), `${faq.slug}: HTML on the kiosk`);
  }

  // A visitor types with typos: the search says how it understood each word.
  const found = ok(
    await client.GET("/v1/search", {
      params: { query: { q: "ketamene side efects", channel: "kiosk" } },
    }),
    "search",
  );
  check(found.data.length > 0, "a search with typos found nothing");
  const understood = Object.fromEntries(found.meta.terms.map((t) => [t.typed, t.searched]));
  check(
    (understood["ketamene"] ?? []).includes("ketamine"),
    `ketamene read as ${JSON.stringify(understood)}`,
  );
  check(
    found.data.every((hit) => !hit.snippet.includes("<mark>")),
    "HTML in a kiosk snippet",
  );

  // The same kiosk in Spanish.
  const spanish = ok(
    await client.GET("/v1/search", {
      params: { query: { q: "inyeccion", locale: "es", channel: "kiosk" } },
    }),
    "Spanish search",
  );
  check(spanish.meta.locale === "es", `searched in ${spanish.meta.locale}`);
  check(
    spanish.data.some((hit) => hit.locale === "es"),
    "no Spanish hit for inyeccion",
  );
  const pregunta = ok(
    await client.GET("/v1/faqs/{slug}", {
      params: { path: { slug: "what-is-ketamine" }, query: { locale: "es", channel: "kiosk" } },
    }),
    "Spanish FAQ",
  );
  check(pregunta.rendition === "kiosk", `the kiosk got rendition ${pregunta.rendition}`);
  check(pregunta.locale === "es", `the Spanish FAQ came in ${pregunta.locale}`);
  check(pregunta.short_answer.length > 0, "no short answer");
  // An article beside the FAQ box, as the kiosk gets it: plain text.
  const listed = ok(
    await client.GET("/v1/articles", { params: { query: { channel: "kiosk", limit: 1 } } }),
    "kiosk articles",
  ).data[0];
  check(listed !== undefined, "no article for the kiosk");
  const plain = ok(
    await client.GET("/v1/articles/{slug}", {
      params: { path: { slug: listed.slug }, query: { channel: "kiosk" } },
    }),
    "kiosk article",
  );
  check(plain.rendition === "kiosk", `the kiosk got rendition ${plain.rendition}`);
  check(html(plain) === null && !("body_html" in plain), "HTML on the kiosk");
  check(plain.body_text.length > 0, "no plain text");

  // The offline copy: every change from the start, page by page, then nothing new.
  const copy = new Map<string, Schemas["SyncUpsert"]["item"]>();
  let cursor: string | undefined;
  let syncPages = 0;
  for (;;) {
    const page = ok(
      await client.GET("/v1/sync", { params: { query: { cursor, limit: 25 } } }),
      "sync",
    );
    syncPages += 1;
    for (const change of page.data) {
      const key = `${change.type}/${change.slug}/${change.locale}`;
      if (change.op === "upsert") {
        check(!copy.has(key), `${key} came twice in one walk`);
        const item = change.item;
        check(item.type === change.type && item.slug === change.slug, `${key}: another item`);
        // `type` discriminates the items: only FAQs have a question instead of a title.
        const heading = item.type === "faq" ? item.question : item.title;
        check(heading.length > 0, `${key}: no heading`);
        copy.set(key, item);
      } else {
        copy.delete(key);
      }
    }
    cursor = page.meta.next_cursor;
    if (!page.meta.has_more) {
      break;
    }
  }
  const after = ok(await client.GET("/v1/sync", { params: { query: { cursor } } }), "sync");
  check(after.data.length === 0 && !after.meta.has_more, "changes after a complete walk");
  const items = [...copy.values()];
  const types = [...new Set(items.map((item) => item.type))].sort();
  const locales = [...new Set(items.map((item) => item.locale))].sort();
  check(types.join() === "article,condition,faq,symptom,treatment", `types ${types.join()}`);
  check(locales.join() === "en,es", `locales ${locales.join()}`);
  return {
    topic: topic.faqs.map((f) => f.slug),
    search: found.data.slice(0, 3).map((hit) => hit.slug),
    understood,
    spanish: spanish.data.slice(0, 3).map((hit) => hit.slug),
    sync: { pages: syncPages, items: copy.size, types, locales },
  };
}

// The newsletter.

async function newsletter(baseUrl: string, key: string): Promise<Summary> {
  const client = api(baseUrl, key);
  const feed = ok(await client.GET("/v1/feeds/articles.json"), "JSON Feed");
  check(feed.version === "https://jsonfeed.org/version/1.1", `JSON Feed ${feed.version}`);
  check(feed.items.length > 0, "the JSON Feed has no items");
  const atom = ok(await client.GET("/v1/feeds/articles.atom", { parseAs: "text" }), "Atom");
  check(/<feed[^>]* xmlns="http:\/\/www\.w3\.org\/2005\/Atom"/.test(atom), "not an Atom feed");
  const rss = ok(await client.GET("/v1/feeds/articles.rss", { parseAs: "text" }), "RSS");
  check(/<rss[^>]* version="2.0"/.test(rss), "not an RSS 2.0 feed");
  const counts = {
    json: feed.items.length,
    atom: (atom.match(/<entry>/g) ?? []).length,
    rss: (rss.match(/<item>/g) ?? []).length,
  };
  check(counts.json === counts.atom && counts.atom === counts.rss, JSON.stringify(counts));
  // The newsletter puts each article's HTML in the e-mail: the full rendition.
  const item = feed.items[0];
  check(item !== undefined && item.url !== undefined && item.url !== null, "an item with no url");
  const article = ok(
    await client.GET("/v1/articles", { params: { query: { channel: "newsletter", limit: 1 } } }),
    "newsletter articles",
  ).data[0];
  check(article !== undefined, "no article for the newsletter");
  const detail = ok(
    await client.GET("/v1/articles/{slug}", {
      params: { path: { slug: article.slug }, query: { channel: "newsletter" } },
    }),
    "newsletter article",
  );
  const body = html(detail);
  check(body !== null, "the newsletter got no HTML");
  return { items: counts, titles: feed.items.map((i) => i.title ?? null), html: body.length };
}

// Errors: problem details, typed.

async function errors(baseUrl: string, key: string): Promise<Summary> {
  const client = api(baseUrl, key);
  const missing = problem(
    await client.GET("/v1/articles/{slug}", { params: { path: { slug: "no-such-article" } } }),
    404,
    "missing article",
  );
  check(missing.status === 404 && missing.detail.length > 0, JSON.stringify(missing));
  const refused = problem(
    await client.GET("/v1/articles", { params: { query: { limit: 1000 } } }),
    400,
    "limit=1000",
  );
  const params = refused.invalid_params ?? [];
  check(params.map((p) => p.name).join() === "limit", JSON.stringify(refused));
  const stranger = api(baseUrl, "not-a-key");
  const unauthorized = problem(await stranger.GET("/v1/articles"), 401, "a wrong key");
  check(unauthorized.status === 401, JSON.stringify(unauthorized));
  return {
    404: missing.detail,
    400: Object.fromEntries(params.map((p) => [p.name, p.reason])),
    401: unauthorized.detail,
  };
}

// Operations: what a deployment's probes read, without a key.

async function operations(baseUrl: string): Promise<Summary> {
  const anonymous = api(baseUrl);
  const health = ok(await anonymous.GET("/health"), "health");
  const ready = ok(await anonymous.GET("/ready"), "ready");
  check(health.status === "ok" && ready.status === "ok", "not healthy");
  check((ready.content_revision ?? 0) > 0, "ready without content");
  return { health: health.status, ready: ready.content_revision };
}

const flows: Record<string, (baseUrl: string, key: string) => Promise<Summary>> = {
  website,
  kiosk,
  newsletter,
  errors,
  operations,
};

async function main(argv: string[]): Promise<void> {
  const [baseUrl, key, name] = argv;
  check(baseUrl !== undefined && key !== undefined && name !== undefined, "usage: URL KEY FLOW");
  const flow = flows[name];
  check(flow !== undefined, `no flow ${name}: ${Object.keys(flows).join(", ")}`);
  console.log(JSON.stringify(await flow(baseUrl, key), null, 2));
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof ConsumerError ? `consumer: ${error.message}` : error);
  process.exitCode = 1;
});
