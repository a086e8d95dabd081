// The kiosk's local copy of the content: IndexedDB, filled and kept current by /v1/sync.
//
// The copy holds every item sync sends (FAQs, and the conditions and treatments whose
// urgent-care guidance the home screen links to), the site's words per locale and the
// list of FAQ topics (for their order, which an FAQ does not carry). Everything the patient
// sees is read from it, so the app works the same with the network gone.

/** @typedef {import("./types/api").components["schemas"]} Schemas */
/** @typedef {Schemas["Faq"] | Schemas["FaqKiosk"]} Faq */
/** @typedef {Schemas["ConditionDetail"] | Schemas["ConditionDetailKiosk"]} Condition */
/** @typedef {Schemas["TreatmentDetail"] | Schemas["TreatmentDetailKiosk"]} Treatment */
/** @typedef {Schemas["SyncUpsert"]["item"] | Faq | Condition | Treatment} Item */
/** @typedef {Schemas["SyncUpsert"] | Schemas["SyncDelete"]} Change */
/**
 * An item as the copy keeps it: with the upsert's `hide_after` (when the channel stops
 * showing it) and whether it came from the kiosk's own stream, where the API has already
 * put the review falling overdue into `hide_after`.
 * @typedef {Item & { hide_after?: string | null, for_channel?: boolean }} Kept
 */
/** @typedef {Schemas["SyncPage"]} SyncPage */
/** @typedef {Schemas["Site"]} Site */
/** @typedef {Schemas["FaqTopicSummary"]} TopicSummary */
/** @typedef {Schemas["Problem"]} Problem */
/**
 * What the set-up screen keeps on the device: where the API is, the kiosk's key (if the
 * deployment has keys) and how often to sync. Nothing about any patient.
 * @typedef {{ baseUrl: string, key: string, syncSeconds: number, idleSeconds: number }} Settings
 */
/**
 * Where the copy is: the cursor of its sync stream, which stream (`channel`: the kiosk's,
 * `/v1/sync?channel=kiosk`; `all`: an API whose sync has no channel yet) and when that
 * was last found out.
 * @typedef {{ cursor: string | null, mode: "channel" | "all", probedAt?: number,
 *   syncedAt: number | null, failures: number, lastError: string | null }} SyncState
 */

const DB_NAME = "clinic-kiosk";
/** How often a copy on the `all` stream asks whether the kiosk's stream exists yet. */
const PROBE_MS = 86_400_000;
const SETTINGS_KEY = "clinic-kiosk.settings";
export const LOCALES = /** @type {const} */ (["en", "es"]);
/** @typedef {(typeof LOCALES)[number]} Locale */

/** @returns {Settings} */
export function loadSettings() {
  /** @type {Settings} */
  const defaults = { baseUrl: location.origin, key: "", syncSeconds: 60, idleSeconds: 60 };
  try {
    const raw = localStorage.getItem(SETTINGS_KEY);
    const stored = raw ? /** @type {Partial<Settings>} */ (JSON.parse(raw)) : {};
    return { ...defaults, ...stored };
  } catch {
    return defaults;
  }
}

/** @param {Settings} settings */
export function saveSettings(settings) {
  localStorage.setItem(SETTINGS_KEY, JSON.stringify(settings));
}

/** @returns {Promise<IDBDatabase>} */
function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => {
      const db = request.result;
      db.createObjectStore("items");
      db.createObjectStore("meta");
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/**
 * @template T
 * @param {IDBRequest<T>} request
 * @returns {Promise<T>}
 */
function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** @param {IDBTransaction} tx */
function committed(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve(undefined);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

/** @param {{ type: string, slug: string, locale: string }} key */
function itemKey(key) {
  return `${key.type}/${key.locale}/${key.slug}`;
}

/**
 * The local copy, read into memory once and after each sync that changed it (a clinic's
 * content is a few hundred items: every screen and search reads memory, not the disk).
 */
export class Copy {
  /** @param {IDBDatabase} db */
  constructor(db) {
    this.db = db;
    /** @type {Kept[]} */
    this.items = [];
    /** @type {Partial<Record<Locale, Site>>} */
    this.sites = {};
    /** @type {Partial<Record<Locale, TopicSummary[]>>} */
    this.topics = {};
    /** @type {SyncState} */
    this.state = { cursor: null, mode: "channel", syncedAt: null, failures: 0, lastError: null };
  }

  static async open() {
    const copy = new Copy(await open());
    await copy.reload();
    return copy;
  }

  async reload() {
    const tx = this.db.transaction(["items", "meta"], "readonly");
    const items = /** @type {Kept[]} */ (await done(tx.objectStore("items").getAll()));
    const meta = tx.objectStore("meta");
    const state = /** @type {SyncState | undefined} */ (await done(meta.get("sync")));
    const sites = /** @type {Copy["sites"] | undefined} */ (await done(meta.get("sites")));
    const topics = /** @type {Copy["topics"] | undefined} */ (await done(meta.get("topics")));
    this.items = items;
    this.sites = sites ?? {};
    this.topics = topics ?? {};
    if (state) this.state = state;
  }

  /**
   * Store a page of changes and where it ends, in one transaction: a copy is never half
   * way between two pages.
   * @param {Change[]} changes
   * @param {SyncState} state
   * @param {boolean} replace drop everything first (a first sync, or after 410 Gone)
   */
  async apply(changes, state, replace) {
    const tx = this.db.transaction(["items", "meta"], "readwrite");
    const items = tx.objectStore("items");
    if (replace) items.clear();
    const forChannel = state.mode === "channel";
    for (const change of changes) {
      if (change.op === "upsert") {
        /** @type {Kept} */
        const kept = { ...change.item, hide_after: change.hide_after, for_channel: forChannel };
        items.put(kept, itemKey(change));
      } else items.delete(itemKey(change));
    }
    tx.objectStore("meta").put(state, "sync");
    await committed(tx);
    this.state = state;
  }

  /**
   * @param {Copy["sites"]} sites
   * @param {Copy["topics"]} topics
   */
  async keepWords(sites, topics) {
    const tx = this.db.transaction(["meta"], "readwrite");
    tx.objectStore("meta").put(sites, "sites");
    tx.objectStore("meta").put(topics, "topics");
    await committed(tx);
  }

  /** @param {SyncState} state */
  async keepState(state) {
    const tx = this.db.transaction(["meta"], "readwrite");
    tx.objectStore("meta").put(state, "sync");
    await committed(tx);
    this.state = state;
  }
}

/**
 * Whether an item may be shown at `now` (milliseconds), judged on the device so that an
 * item disappears on time with the network gone. One with `hide_after` is hidden from that
 * moment. From the kiosk's stream that is all: the API put the review falling overdue into
 * `hide_after` (and sends an item overdue already as a deletion). From an API whose sync
 * has no channel, the review is judged here: hidden from the day after `next_review_due`
 * (UTC), or when sync already said `overdue`.
 * @param {Kept} item
 * @param {number} now
 */
export function visible(item, now) {
  const hideAfter = item.hide_after;
  if (typeof hideAfter === "string" && now >= Date.parse(hideAfter)) return false;
  if (item.for_channel) return true;
  if (item.review_status === "overdue") return false;
  const today = new Date(now).toISOString().slice(0, 10);
  return !(item.next_review_due && item.next_review_due < today);
}

/** Thrown for an answer that says the request itself is wrong (a 4xx but 408 and 429). */
class Refused extends Error {
  /**
   * @param {number} status
   * @param {Problem | null} problem
   */
  constructor(status, problem) {
    super(problem?.detail ?? `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

/**
 * Keeps the copy current: a sync now, then one every `syncSeconds`, backing off
 * exponentially (up to ten minutes) while the API cannot be reached.
 */
export class Syncer {
  /**
   * @param {Copy} copy
   * @param {() => Settings} settings
   * @param {(changed: boolean) => void} onSynced
   */
  constructor(copy, settings, onSynced) {
    this.copy = copy;
    this.settings = settings;
    this.onSynced = onSynced;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
    this.running = false;
  }

  start() {
    void this.run();
  }

  /** @param {number} seconds */
  schedule(seconds) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.run(), seconds * 1000);
  }

  async run() {
    if (this.running) return;
    this.running = true;
    const every = Math.max(1, this.settings().syncSeconds);
    try {
      const changed = await this.syncOnce();
      this.onSynced(changed);
      this.schedule(every);
    } catch (error) {
      const failures = this.copy.state.failures + 1;
      const message = error instanceof Error ? error.message : String(error);
      await this.copy.keepState({ ...this.copy.state, failures, lastError: message });
      this.onSynced(false);
      // Exponential backoff with jitter, so kiosks do not all come back at once.
      const backoff = Math.min(600, every * 2 ** Math.min(failures, 10));
      this.schedule(backoff * (0.75 + Math.random() * 0.5));
    } finally {
      this.running = false;
    }
  }

  /**
   * @param {string} path
   * @returns {Promise<unknown>}
   */
  async get(path) {
    const { baseUrl, key } = this.settings();
    /** @type {Record<string, string>} */
    const headers = { Accept: "application/json" };
    if (key) headers["X-API-Key"] = key;
    const response = await fetch(new URL(path, baseUrl), { headers, cache: "no-store" });
    if (response.ok) return response.json();
    const retryable = response.status >= 500 || response.status === 408 || response.status === 429;
    if (retryable) throw new Error(`HTTP ${response.status}`);
    const problem = /** @type {Problem | null} */ (await response.json().catch(() => null));
    throw new Refused(response.status, problem);
  }

  /** One sync: every page of changes, then the site's words and the topics. */
  async syncOnce() {
    let state = this.copy.state;
    let changed = false;
    if (state.mode === "all" && Date.now() - (state.probedAt ?? 0) > PROBE_MS) {
      // The API may have learnt the kiosk's stream since: if so, start a copy from it.
      const probed = await this.get("/v1/sync?channel=kiosk&limit=1").then(
        () => true,
        (error) => (error instanceof Refused ? false : Promise.reject(error)),
      );
      state = probed
        ? { ...state, mode: "channel", cursor: null }
        : { ...state, probedAt: Date.now() };
    }
    for (;;) {
      let page;
      try {
        page = /** @type {SyncPage} */ (await this.get(this.syncPath(state)));
      } catch (error) {
        if (!(error instanceof Refused)) throw error;
        const named = (error.problem?.invalid_params ?? []).map((p) => p.name);
        if (error.status === 400 && state.mode === "channel" && named.some(isSyncParam)) {
          // An API whose sync has no channel or locale yet: take everything, every locale.
          state = { ...state, mode: "all", cursor: null, probedAt: Date.now() };
          continue;
        }
        if (error.status === 410) {
          // The database was rebuilt from scratch: the cursor means nothing there.
          state = { ...state, cursor: null };
          continue;
        }
        throw error;
      }
      const replace = state.cursor === null;
      const changes = page.data.filter((c) => LOCALES.some((l) => l === c.locale));
      state = { ...state, cursor: page.meta.next_cursor, failures: 0, lastError: null };
      if (!page.meta.has_more) state.syncedAt = Date.now();
      await this.copy.apply(changes, state, replace);
      changed = changed || replace || changes.length > 0;
      if (!page.meta.has_more) break;
    }
    /** @type {Copy["sites"]} */
    const sites = {};
    /** @type {Copy["topics"]} */
    const topics = {};
    for (const locale of LOCALES) {
      sites[locale] = /** @type {Site} */ (await this.get(`/v1/site?locale=${locale}`));
      const list = /** @type {Schemas["FaqTopicIndex"]} */ (
        await this.get(`/v1/faq-topics?channel=kiosk&locale=${locale}`)
      );
      topics[locale] = list.data;
    }
    await this.copy.keepWords(sites, topics);
    if (changed) await this.copy.reload();
    else {
      this.copy.sites = sites;
      this.copy.topics = topics;
    }
    return changed;
  }

  /** @param {SyncState} state */
  syncPath(state) {
    const query = new URLSearchParams({ limit: "500" });
    if (state.mode === "channel") query.set("channel", "kiosk");
    if (state.cursor) query.set("cursor", state.cursor);
    return `/v1/sync?${query}`;
  }
}

/** @param {string} name */
function isSyncParam(name) {
  return name === "channel" || name === "locale";
}
