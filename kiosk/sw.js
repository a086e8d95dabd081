// The kiosk's service worker: keeps the app's own files, so the app starts with the
// network gone. The content is not here: it lives in IndexedDB (data.js). Requests to the
// API are left alone.

/// <reference lib="webworker" />
const worker = /** @type {ServiceWorkerGlobalScope} */ (/** @type {unknown} */ (self));

/** Bumped with every release of the app's files: an old copy is dropped on activation. */
const CACHE = "clinic-kiosk-1";
const SHELL = [
  "./",
  "app.js",
  "data.js",
  "search.js",
  "i18n.js",
  "kiosk.css",
  "icon.svg",
  "manifest.webmanifest",
];

worker.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => worker.skipWaiting()),
  );
});

worker.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => worker.clients.claim()),
  );
});

worker.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  const scope = new URL(worker.registration.scope);
  if (event.request.method !== "GET" || url.origin !== scope.origin) return;
  if (!url.pathname.startsWith(scope.pathname)) return; // the API: IndexedDB covers it
  const key = url.pathname === scope.pathname ? "./" : url.pathname;
  // The stored copy at once, refreshed from the network for next time.
  event.respondWith(
    caches.open(CACHE).then(async (cache) => {
      const stored = await cache.match(key === "./" ? scope.href : key);
      const fresh = fetch(event.request)
        .then((response) => {
          if (response.ok) void cache.put(key === "./" ? scope.href : key, response.clone());
          return response;
        })
        .catch(() => stored ?? Response.error());
      if (stored) {
        event.waitUntil(fresh.then(() => undefined));
        return stored;
      }
      return fresh;
    }),
  );
});
