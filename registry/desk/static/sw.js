"use strict";
// The desk page's service worker: keeps the page itself (HTML, scripts, catalog) so that it opens with the
// network cut. Network first, so a new publish reaches the desk on its next load; the cache when offline.
// Trust material is not served from here: the page syncs it with `cache: "no-store"` and keeps the last
// verified copy in IndexedDB, so a cut network never passes off old metadata as a fresh sync.
const VERSION = "__DESK_VERSION__";
const CACHE = "permit-desk-" + VERSION;
const SHELL = ["./", "index.html", "desk.css", "cbor.js", "verify.js", "tuf.js", "store.js", "desk.js",
  "manifest.webmanifest", "icon.svg", "messages/zh-CN.json", "messages/en.json",
  "messages/countries.json"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL.map((p) => new Request(p, { cache: "reload" }))))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys().then((names) => Promise.all(names.filter((n) => n.startsWith("permit-desk-") && n !== CACHE)
    .map((n) => caches.delete(n)))).then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const scope = self.registration.scope;
  if (request.method !== "GET" || !request.url.startsWith(scope)) return; // ../metadata, ../targets: the network only
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const response = await fetch(request, { cache: "no-cache" });
      if (response.ok) cache.put(request, response.clone());
      return response;
    } catch (error) {
      const kept = await cache.match(request, { ignoreSearch: true });
      if (kept) return kept;
      if (request.mode === "navigate") {
        const page = await cache.match("./");
        if (page) return page;
      }
      throw error;
    }
  })());
});
