// The waiting-room kiosk: screens drawn from the local copy (data.js), labels from
// i18n.js, search from search.js. No framework, no build step: plain ES modules.

import { Copy, LOCALES, Syncer, loadSettings, saveSettings, visible } from "./data.js";
import { LABELS } from "./i18n.js";
import { Index } from "./search.js";

/** @typedef {import("./data.js").Faq} Faq */
/** @typedef {import("./data.js").Item} Item */
/** @typedef {import("./data.js").Kept} Kept */
/** @typedef {import("./data.js").Locale} Locale */
/** @typedef {import("./data.js").Schemas["UrgentCare"]} UrgentCare */
/**
 * @typedef {{ name: "home" } | { name: "topic", topic: string }
 *   | { name: "question", slug: string, from: string | null }
 *   | { name: "urgent" } | { name: "setup" }} Screen
 */
/** @typedef {{ slug: string, title: string, count: number }} Topic */

/** How long the clinic name must be held to open the set-up screen. */
const LONG_PRESS_MS = 3000;
/** How often to check whether an item has reached its hide_after or review date. */
const EXPIRY_CHECK_MS = 15000;

/**
 * An element with attributes and children; text is always set as text, never as HTML.
 * @param {string} tag
 * @param {Record<string, string | boolean | ((event: Event) => void)>} [attrs]
 * @param {(Node | string | null | undefined | false)[]} children
 * @returns {HTMLElement}
 */
function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === "function") element.addEventListener(name, value);
    else if (value === true) element.setAttribute(name, "");
    else if (value !== false) element.setAttribute(name, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) element.append(child);
  }
  return element;
}

/** @param {string} id */
function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from the page`);
  return element;
}

class Kiosk {
  /** @param {Copy} copy */
  constructor(copy) {
    this.copy = copy;
    this.settings = loadSettings();
    /** @type {Locale} */
    this.locale = "en";
    /** @type {Screen} */
    this.screen = location.hash === "#setup" ? { name: "setup" } : { name: "home" };
    this.query = "";
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.idleTimer = undefined;
    this.shownKey = "";
    /** @type {{ locale: Locale, key: string, index: Index } | null} */
    this.index = null;
    this.syncer = new Syncer(copy, () => this.settings, (changed) => this.synced(changed));
    this.main = byId("main");
  }

  get labels() {
    return LABELS[this.locale];
  }

  start() {
    this.bindChrome();
    this.render();
    performance.mark("kiosk-ready");
    this.syncer.start();
    setInterval(() => this.checkExpiry(), EXPIRY_CHECK_MS);
    this.touched();
  }

  /** The header's language buttons, the long press, the idle timer and #setup. */
  bindChrome() {
    for (const button of document.querySelectorAll("[data-locale]")) {
      button.addEventListener("click", () => {
        const locale = LOCALES.find((l) => l === button.getAttribute("data-locale"));
        if (locale) this.setLocale(locale);
      });
    }
    const brand = byId("brand");
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let press;
    // The tap that ends a long press is not a tap on "home".
    let pressed = false;
    brand.addEventListener("click", () => {
      if (!pressed) this.go({ name: "home" });
      pressed = false;
    });
    brand.addEventListener("pointerdown", () => {
      pressed = false;
      press = setTimeout(() => {
        pressed = true;
        this.go({ name: "setup" });
      }, LONG_PRESS_MS);
    });
    for (const name of ["pointerup", "pointerleave", "pointercancel"]) {
      brand.addEventListener(name, () => clearTimeout(press));
    }
    brand.addEventListener("contextmenu", (event) => event.preventDefault());
    for (const name of ["pointerdown", "keydown", "input"]) {
      document.addEventListener(name, () => this.touched(), { capture: true, passive: true });
    }
    window.addEventListener("hashchange", () => {
      if (location.hash === "#setup") this.go({ name: "setup" });
    });
  }

  /** A patient touched the screen: start the idle countdown again. */
  touched() {
    clearTimeout(this.idleTimer);
    const seconds = Math.max(5, this.settings.idleSeconds);
    this.idleTimer = setTimeout(() => this.reset(), seconds * 1000);
  }

  /** Nobody for a while: the next patient gets the home screen, not the last question. */
  reset() {
    if (this.screen.name === "setup") return;
    this.query = "";
    this.locale = this.defaultLocale();
    this.go({ name: "home" });
  }

  defaultLocale() {
    const site = this.copy.sites.en ?? this.copy.sites.es;
    return LOCALES.find((l) => l === site?.default_locale) ?? "en";
  }

  /** @param {Locale} locale */
  setLocale(locale) {
    this.locale = locale;
    this.render();
  }

  /** @param {Screen} screen */
  go(screen) {
    this.screen = screen;
    if (screen.name !== "setup" && location.hash === "#setup") {
      history.replaceState(null, "", location.pathname);
    }
    this.render();
  }

  /** @param {boolean} changed */
  synced(changed) {
    if (changed) this.render();
    else this.renderChrome();
  }

  checkExpiry() {
    if (this.visibleKey() !== this.shownKey) this.render();
  }

  // The copy, as the patient may see it now.

  visibleKey() {
    const now = Date.now();
    return this.copy.items
      .filter((item) => visible(item, now))
      .map((item) => `${item.type}/${item.locale}/${item.slug}/${item.revision}`)
      .join();
  }

  /**
   * Shown items of a type in the current language, falling back item by item to the
   * default one where there is no translation (as the API does).
   * @param {Item["type"]} type
   * @returns {Item[]}
   */
  shown(type) {
    const now = Date.now();
    /** @type {Map<string, Kept>} */
    const bySlug = new Map();
    const fallback = this.defaultLocale();
    for (const item of this.copy.items) {
      if (item.type !== type || !visible(item, now)) continue;
      if (item.locale !== this.locale && item.locale !== fallback) continue;
      const have = bySlug.get(item.slug);
      if (!have || item.locale === this.locale) bySlug.set(item.slug, item);
    }
    return [...bySlug.values()];
  }

  /** @returns {Faq[]} */
  faqs() {
    return /** @type {Faq[]} */ (this.shown("faq"));
  }

  /** Topics in the editors' order, counting only the questions shown now. @returns {Topic[]} */
  topicList() {
    const faqs = this.faqs();
    const listed = this.copy.topics[this.locale] ?? this.copy.topics.en ?? [];
    const order = new Map(listed.map((t, i) => [t.slug, i]));
    /** @type {Map<string, Topic>} */
    const topics = new Map();
    for (const faq of faqs) {
      const topic = topics.get(faq.topic) ?? { slug: faq.topic, title: faq.topic_title, count: 0 };
      topic.count++;
      if (faq.locale === this.locale) topic.title = faq.topic_title;
      topics.set(faq.topic, topic);
    }
    const rank = (/** @type {Topic} */ t) => order.get(t.slug) ?? listed.length;
    return [...topics.values()].sort((a, b) => rank(a) - rank(b) || a.title.localeCompare(b.title));
  }

  /** @param {string} topic */
  questionsOf(topic) {
    return this.faqs()
      .filter((f) => f.topic === topic)
      .sort((a, b) => a.order - b.order);
  }

  /** @returns {{ item: Item, care: UrgentCare }[]} */
  urgentCare() {
    /** @type {{ item: Item, care: UrgentCare }[]} */
    const found = [];
    for (const type of /** @type {const} */ (["condition", "treatment"])) {
      for (const item of this.shown(type)) {
        const care = "urgent_care" in item ? item.urgent_care : null;
        if (care) found.push({ item, care });
      }
    }
    return found;
  }

  searchIndex() {
    const key = this.visibleKey();
    if (!this.index || this.index.locale !== this.locale || this.index.key !== key) {
      this.index = { locale: this.locale, key, index: new Index(this.faqs()) };
    }
    return this.index.index;
  }

  // Drawing.

  renderChrome() {
    const labels = this.labels;
    const site = this.copy.sites[this.locale];
    document.documentElement.lang = this.locale;
    byId("brand-name").textContent = site?.name ?? "";
    byId("brand").setAttribute("aria-label", `${site?.name ?? ""} — ${labels.home}`);
    byId("languages").setAttribute("aria-label", labels.language);
    for (const button of document.querySelectorAll("[data-locale]")) {
      button.setAttribute("aria-pressed", String(button.getAttribute("data-locale") === this.locale));
    }
    const state = this.copy.state;
    const status = byId("status");
    if (state.syncedAt) {
      const when = new Intl.DateTimeFormat(this.locale, {
        dateStyle: "medium",
        timeStyle: "short",
      }).format(new Date(state.syncedAt));
      status.textContent = labels.asOf(when) + (state.failures ? ` · ${labels.offline}` : "");
    } else {
      status.textContent = state.failures ? labels.offline : labels.loading;
    }
  }

  render() {
    this.renderChrome();
    this.shownKey = this.visibleKey();
    const screen = this.screen;
    let view;
    if (screen.name === "setup") view = this.setupView();
    else if (!this.copy.items.length) view = [h("h1", {}, this.labels.loading), h("p", {}, this.labels.empty)];
    else if (screen.name === "topic") view = this.topicView(screen.topic);
    else if (screen.name === "question") view = this.questionView(screen.slug, screen.from);
    else if (screen.name === "urgent") view = this.urgentView();
    else view = this.homeView();
    this.main.replaceChildren(...view.filter((v) => v !== null));
    this.main.dataset["screen"] = this.screen.name;
  }

  homeView() {
    const labels = this.labels;
    const site = this.copy.sites[this.locale];
    const input = /** @type {HTMLInputElement} */ (
      h("input", {
        id: "search",
        type: "search",
        autocomplete: "off",
        autocorrect: "off",
        spellcheck: "false",
        enterkeyhint: "search",
        "aria-describedby": "search-hint",
        "aria-controls": "suggestions",
      })
    );
    input.value = this.query;
    const suggestions = h("ul", { id: "suggestions", class: "suggestions", "aria-label": labels.suggestions });
    const suggest = () => {
      this.query = input.value;
      suggestions.replaceChildren(...this.suggestionItems());
    };
    input.addEventListener("input", suggest);
    suggest();
    const topics = this.topicList().map((topic) =>
      h(
        "li",
        {},
        h(
          "button",
          { class: "topic", type: "button", click: () => this.go({ name: "topic", topic: topic.slug }) },
          h("span", { class: "topic-title" }, topic.title),
          h("span", { class: "topic-count" }, labels.questions(topic.count)),
        ),
      ),
    );
    return [
      this.urgentButton(),
      h(
        "form",
        { class: "search", role: "search", submit: (/** @type {Event} */ e) => e.preventDefault() },
        h("label", { for: "search", class: "search-label" }, labels.search),
        input,
        h("p", { id: "search-hint", class: "hint" }, labels.searchHint),
        suggestions,
      ),
      h("h1", { class: "topics-heading" }, labels.topics),
      h("ul", { class: "topics" }, ...topics),
      site ? h("section", { class: "disclaimer", "aria-label": labels.disclaimer }, h("p", {}, site.disclaimer)) : null,
    ];
  }

  suggestionItems() {
    if (!this.query.trim()) return [];
    const hits = this.searchIndex().search(this.query);
    if (!hits.length) return [h("li", { class: "no-match" }, this.labels.noMatch)];
    return hits.map((hit) =>
      h(
        "li",
        {},
        h(
          "button",
          {
            type: "button",
            class: "suggestion",
            lang: hit.faq.locale,
            click: () => this.go({ name: "question", slug: hit.faq.slug, from: null }),
          },
          hit.faq.question,
        ),
      ),
    );
  }

  urgentButton() {
    if (!this.urgentCare().length) return null;
    return h("button", { type: "button", class: "urgent-button", click: () => this.go({ name: "urgent" }) }, this.labels.urgent);
  }

  /** @param {() => void} action */
  backButton(action) {
    return h("button", { type: "button", class: "back", click: action }, `← ${this.labels.back}`);
  }

  /** @param {string} topic */
  topicView(topic) {
    const questions = this.questionsOf(topic);
    if (!questions.length) return this.homeView();
    const title = this.topicList().find((t) => t.slug === topic)?.title ?? topic;
    return [
      this.backButton(() => this.go({ name: "home" })),
      h("h1", {}, title),
      h(
        "ul",
        { class: "questions" },
        ...questions.map((faq) =>
          h(
            "li",
            {},
            h(
              "button",
              {
                type: "button",
                class: "question",
                lang: faq.locale,
                click: () => this.go({ name: "question", slug: faq.slug, from: topic }),
              },
              faq.question,
            ),
          ),
        ),
      ),
      this.urgentButton(),
    ];
  }

  /**
   * @param {string} slug
   * @param {string | null} from the topic it was opened from; null from search
   */
  questionView(slug, from) {
    const faq = this.faqs().find((f) => f.slug === slug);
    if (!faq) return from ? this.topicView(from) : this.homeView();
    const longer = "answer_text" in faq ? faq.answer_text : "";
    const paragraphs = longer
      .split(/\n\s*\n/)
      .map((p) => p.trim())
      .filter(Boolean);
    return [
      this.backButton(() => this.go(from ? { name: "topic", topic: from } : { name: "home" })),
      h(
        "article",
        { class: "answer", lang: faq.locale },
        h("p", { class: "answer-topic" }, faq.topic_title),
        h("h1", { id: "question" }, faq.question),
        h("p", { class: "short-answer" }, faq.short_answer),
        paragraphs.length ? h("h2", {}, this.labels.moreDetail) : null,
        ...paragraphs.map((p) => h("p", { class: "long-answer" }, p)),
      ),
      this.urgentButton(),
    ];
  }

  urgentView() {
    const sections = this.urgentCare().map(({ item, care }) =>
      h(
        "section",
        { class: "urgent", lang: item.locale },
        h("h2", {}, "title" in item ? String(item.title) : care.title),
        // The guidance's own heading, unless it only repeats the screen's.
        care.title !== this.labels.urgentTitle ? h("p", { class: "urgent-about" }, care.title) : null,
        h("ul", {}, ...care.when.map((w) => h("li", {}, w))),
        h("p", { class: "urgent-action" }, care.action),
      ),
    );
    return [
      this.backButton(() => this.go({ name: "home" })),
      h("h1", { class: "urgent-heading" }, this.labels.urgentTitle),
      ...sections,
    ];
  }

  setupView() {
    const labels = this.labels;
    const s = this.settings;
    /**
     * @param {string} id
     * @param {string} label
     * @param {string} value
     * @param {string} type
     */
    const field = (id, label, value, type) =>
      h("p", { class: "field" }, h("label", { for: id }, label), h("input", { id, type, value, autocomplete: "off" }));
    const value = (/** @type {string} */ id) => /** @type {HTMLInputElement} */ (byId(id)).value.trim();
    const save = (/** @type {Event} */ event) => {
      event.preventDefault();
      this.settings = {
        ...s,
        baseUrl: value("setup-base") || location.origin,
        key: value("setup-key"),
        syncSeconds: Math.max(1, Number(value("setup-sync")) || 60),
      };
      saveSettings(this.settings);
      this.syncer.start();
      this.go({ name: "home" });
    };
    const state = this.copy.state;
    return [
      h("h1", {}, labels.setup),
      h(
        "form",
        { class: "setup", submit: save },
        field("setup-base", labels.baseUrl, s.baseUrl, "url"),
        field("setup-key", labels.key, s.key, "password"),
        field("setup-sync", labels.syncSeconds, String(s.syncSeconds), "number"),
        h("p", {}, h("button", { type: "submit", class: "primary" }, labels.save)),
      ),
      h("p", {}, labels.items(this.copy.items.length)),
      h("p", {}, `${labels.asOf(state.syncedAt ? new Date(state.syncedAt).toISOString() : labels.never)}`),
      state.lastError ? h("p", {}, `${labels.lastError}: ${state.lastError}`) : null,
      h("p", {}, h("button", { type: "button", click: () => void this.syncer.run() }, labels.syncNow)),
      h("p", {}, h("button", { type: "button", click: () => this.go({ name: "home" }) }, labels.close)),
    ];
  }
}

async function main() {
  if ("serviceWorker" in navigator) {
    // The app keeps working offline once the worker holds its files.
    navigator.serviceWorker.register("sw.js", { scope: "./" }).catch(() => undefined);
  }
  const copy = await Copy.open();
  const kiosk = new Kiosk(copy);
  kiosk.locale = kiosk.defaultLocale();
  kiosk.start();
  /** @type {{ kiosk?: Kiosk }} */ (/** @type {unknown} */ (window)).kiosk = kiosk;
}

void main();
