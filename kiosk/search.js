// Search over the local copy, as you type: forgiving typos and accents, in English and
// Spanish, with the network gone or not. Each word of the query is matched against the
// words of each question (its question, topic, short and long answers, weighted in that
// order): exactly, as the start of a word (the word being typed), or within an edit
// distance of 1 from 4 letters and 2 from 8 (as the API's own search).

/** @typedef {import("./data.js").Faq} Faq */
/** @typedef {{ faq: Faq, score: number }} Hit */

const STOP_WORDS = new Set(
  (
    "a an and are as at be by can do does for from how i if in is it my of on or the to what" +
    " when where which who why will with you your " +
    "el la los las un una unos unas y o de del al en es son que qué por para con se su sus" +
    " mi me lo le como cómo cuando cuándo donde dónde puedo hay"
  )
    .split(" ")
    .map(fold),
);
const FIELDS = /** @type {const} */ ([
  ["question", 4],
  ["topic_title", 2],
  ["short_answer", 1.5],
  ["answer_text", 1],
]);

/** Lower case without accents: "Inyección" → "inyeccion". @param {string} text */
export function fold(text) {
  return text.normalize("NFD").replace(/\p{M}+/gu, "").toLowerCase();
}

/** @param {string} text */
function words(text) {
  return fold(text).match(/[\p{L}\p{N}]+/gu) ?? [];
}

/**
 * Levenshtein distance, giving up beyond `limit`.
 * @param {string} a
 * @param {string} b
 * @param {number} limit
 */
function distance(a, b, limit) {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const value = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + cost,
      );
      current.push(value);
      best = Math.min(best, value);
    }
    if (best > limit) return limit + 1;
    previous = current;
  }
  return previous[b.length] ?? limit + 1;
}

/** @param {string} word */
function allowed(word) {
  return word.length >= 8 ? 2 : word.length >= 4 ? 1 : 0;
}

/**
 * How well a query word matches a word of the text: 1 exactly, less for a prefix or a typo.
 * @param {string} query
 * @param {string} word
 * @param {boolean} last the word still being typed
 */
function match(query, word, last) {
  if (query === word) return 1;
  if (last && query.length >= 2 && word.startsWith(query)) return 0.8;
  const limit = allowed(query);
  if (limit === 0) return 0;
  if (last && word.length > query.length) {
    // A typo in the part typed so far: compare with the word's start.
    const d = distance(query, word.slice(0, query.length), limit);
    if (d <= limit) return 0.6 - 0.1 * d;
  }
  const d = distance(query, word, limit);
  return d <= limit ? 0.7 - 0.1 * d : 0;
}

/** An index of the shown FAQs' words, built once per copy and locale. */
export class Index {
  /** @param {Faq[]} faqs */
  constructor(faqs) {
    this.entries = faqs.map((faq) => ({
      faq,
      fields: FIELDS.map(([name, weight]) => ({
        weight,
        words: [...new Set(words(String(faq[name] ?? "")))],
      })),
    }));
  }

  /**
   * The best matches, best first: questions that match more of the query's words, then by
   * where the words are.
   * @param {string} query
   * @param {number} limit
   * @returns {Hit[]}
   */
  search(query, limit = 6) {
    const all = words(query);
    const terms = all.filter((w) => !STOP_WORDS.has(w));
    const asked = terms.length ? terms : all;
    if (!asked.length) return [];
    const lastWord = all[all.length - 1];
    /** @type {Hit[]} */
    const hits = [];
    for (const entry of this.entries) {
      let matched = 0;
      let score = 0;
      for (const term of asked) {
        let best = 0;
        for (const field of entry.fields) {
          for (const word of field.words) {
            const m = match(term, word, term === lastWord) * field.weight;
            if (m > best) best = m;
          }
        }
        if (best > 0) matched++;
        score += best;
      }
      if (matched) hits.push({ faq: entry.faq, score: matched * 100 + score });
    }
    hits.sort((a, b) => b.score - a.score || a.faq.order - b.faq.order);
    return hits.slice(0, limit);
  }
}
