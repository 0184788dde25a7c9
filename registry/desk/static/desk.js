"use strict";
// The window desk's page: checks permits in the browser, offline, with the trust material it synced from
// the published directory (../metadata/, ../targets/). A handheld scanner types the code and Enter into
// the focused box; the camera reads it where the browser has BarcodeDetector. Every word shown comes from
// the message catalog shared with the Python verifier (messages/<locale>.json, copied here at publish).
(function () {
  const LANG = "permit-desk-lang";
  const LOCALES = ["zh-CN", "en"];
  const FIELDS = ["number", "surname", "given_names", "chinese_name", "sex", "birth_date", "nationality",
    "category", "issue_date", "expiry_date", "card", "authority"];
  const SYNC_EVERY = 5 * 60 * 1000;
  const BASE = new URL("../", location.href).href;
  const $ = (id) => document.getElementById(id);
  const payload = $("payload");
  const nowSeconds = () => Math.floor(Date.now() / 1000);
  let messages = {};
  let countries = {}; // alpha-3 -> {en, zh-CN}: the nationality in the clerk's language
  let locale = "zh-CN";
  let last = null; // the last result shown, redrawn when the language changes
  let held = null; // what the checks use (PermitStore.held)
  let syncState = null; // {ok, at, reason}

  function t(key, params) {
    const template = Object.prototype.hasOwnProperty.call(messages, key) ? messages[key] : key;
    return template.replace(/\{([a-z_]+)\}/g, (m, name) => (params && name in params ? String(params[name]) : m));
  }
  function match(tag) { // zh, zh-CN, zh-Hans, zh-SG -> zh-CN; en-* -> en; traditional Chinese is not simplified
    const parts = String(tag || "").replace(/_/g, "-").toLowerCase().split("-");
    if (parts[0] === "zh") {
      const rest = parts.slice(1);
      return rest.some((p) => ["hant", "tw", "hk", "mo"].includes(p)) && !rest.includes("hans") ? null : "zh-CN";
    }
    return parts[0] === "en" ? "en" : null;
  }
  function chooseLocale() {
    const saved = localStorage.getItem(LANG);
    if (LOCALES.includes(saved)) return saved;
    for (const tag of navigator.languages || [navigator.language]) { const found = match(tag); if (found) return found; }
    return "zh-CN"; // Chinese first
  }
  function translatePage() {
    document.documentElement.lang = locale;
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    for (const el of document.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
    for (const el of document.querySelectorAll("[data-i18n-aria-label]")) el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
    for (const b of document.querySelectorAll("[data-lang]")) b.setAttribute("aria-pressed", String(b.dataset.lang === locale));
    showData();
    showCamera();
    if (last) show(last, false);
  }
  async function setLocale(wanted) {
    messages = await (await fetch("messages/" + wanted + ".json")).json();
    locale = wanted;
    translatePage();
  }
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.addEventListener("click", () => {
      localStorage.setItem(LANG, button.dataset.lang);
      setLocale(button.dataset.lang).then(() => payload.focus());
    });
  }

  // The scanner types into whatever has focus: after any click (a button, the page) focus goes back to the box.
  function keepFocus() { if (!(document.activeElement instanceof HTMLInputElement)) payload.focus(); }
  document.addEventListener("click", () => setTimeout(keepFocus, 0));
  payload.addEventListener("blur", () => setTimeout(keepFocus, 150));

  // Scanner text as the encoder wrote it (verifier/desk.py normalise_scan): NFKC, control characters
  // removed, outer spaces stripped, upper case (base45 has no lower case: this undoes Caps Lock).
  const normalise = (text) => text.normalize("NFKC").replace(/\p{C}/gu, "").trim().toUpperCase();

  function duration(seconds) {
    if (seconds < 120) return t("page.age.seconds", { n: seconds });
    if (seconds < 7200) return t("page.age.minutes", { n: Math.round(seconds / 60) });
    if (seconds < 172800) return t("page.age.hours", { n: Math.round(seconds / 3600) });
    return t("page.age.days", { n: Math.round(seconds / 86400) });
  }
  const when = (seconds) => new Date(seconds * 1000).toLocaleString(locale, { year: "numeric", month: "2-digit",
    day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
  function value(name, raw) {
    if (name === "sex") return t("sex." + raw);
    if (name === "category") return t("category." + raw);
    if (name === "nationality" && countries[raw]) {
      const local = countries[raw][locale] || countries[raw].en;
      return local ? local + " (" + raw + ")" : raw;
    }
    if (name === "authority" && Object.prototype.hasOwnProperty.call(messages, "authority." + raw)) return t("authority." + raw);
    return String(raw);
  }

  function show(result, fresh) {
    last = result;
    const box = $("result");
    const kind = result.action === "rescan" ? "rescan" : result.verdict;
    box.className = "result " + kind;
    if (fresh) { void box.offsetWidth; box.classList.add("flash"); } // a new check never looks like the last one
    $("verdict").textContent = t("verdict." + kind);
    $("message").textContent = t("reason." + result.reason);
    $("action").textContent = t("action." + result.action);
    const table = $("fields");
    table.replaceChildren();
    const permit = result.verdict === "valid" && result.permit ? result.permit : {}; // no holder data unless valid
    for (const name of FIELDS) {
      if (permit[name] === undefined || permit[name] === null) continue;
      const row = table.insertRow();
      const th = document.createElement("th");
      th.textContent = t("field." + name);
      row.appendChild(th);
      row.insertCell().textContent = value(name, permit[name]);
    }
    $("checked-at").textContent = t("page.checked_at", { time: when(result.checked_at) });
    $("age").textContent = result.status_age === null ? "" : t("page.status_age", { age: duration(result.status_age) });
    $("trust").textContent = held ? t("page.trust_list", { version: held.trust.version, time: when(held.trust.issuedAt) })
      : t("page.no_trust_list");
  }

  function showData() {
    const online = navigator.onLine;
    $("network").textContent = t(online ? "desk.online" : "desk.offline");
    $("network").className = online ? "" : "offline";
    $("held").textContent = !held ? t("desk.never_synced") : t("desk.held", { version: held.trust.version,
      time: when(held.info.last_sync), vouched: held.vouchedAt === null ? "-" : when(held.vouchedAt),
      age: held.vouchedAt === null ? "-" : duration(Math.max(0, nowSeconds() - held.vouchedAt)) });
    const state = $("sync-state");
    state.className = syncState && !syncState.ok ? "refused" : "";
    state.textContent = !syncState ? "" : syncState.busy ? t("desk.syncing") : syncState.ok ? t("desk.sync_ok", { time: when(syncState.at) })
      : t("desk.sync_refused", { reason: syncState.reason, message: t("reason." + syncState.reason) });
  }

  // -- checking -----------------------------------------------------------------------------------
  async function checkAt(text, at) {
    const result = await PermitVerify.check(text, held, at);
    result.message = t("reason." + result.reason);
    result.checked_at = at;
    return result;
  }
  async function scan(text) {
    text = normalise(text);
    if (!text) return;
    show(await checkAt(text, nowSeconds()), true);
  }
  $("scan-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = payload.value;
    payload.value = "";
    scan(text);
  });

  // -- syncing ------------------------------------------------------------------------------------
  let syncing = null;
  function sync(at) {
    if (syncing) return syncing;
    syncState = { busy: true };
    showData();
    syncing = (async () => {
      try {
        await PermitStore.sync(BASE, at === undefined ? nowSeconds() : at);
        held = await PermitStore.held();
        syncState = { ok: true, at: nowSeconds() };
      } catch (e) {
        if (!e.reason) console.error(e);
        syncState = { ok: false, reason: e.reason || "SYNC_INVALID", detail: e.message };
      } finally {
        syncing = null;
        showData();
      }
      return syncState;
    })();
    return syncing;
  }
  $("sync").addEventListener("click", () => { sync(); payload.focus(); });
  window.addEventListener("online", () => { showData(); sync(); });
  window.addEventListener("offline", showData);
  setInterval(() => { if (navigator.onLine) sync(); }, SYNC_EVERY);

  // -- the camera ----------------------------------------------------------------------------------
  const cameraWorks = "BarcodeDetector" in window && navigator.mediaDevices && navigator.mediaDevices.getUserMedia;
  let stream = null;
  function showCamera() {
    $("camera").disabled = !cameraWorks;
    $("camera").textContent = t(stream ? "desk.camera_stop" : "desk.camera_button");
    if (!cameraWorks) $("camera-note").textContent = t("desk.camera_unavailable");
  }
  async function startCamera() {
    try {
      const detector = new BarcodeDetector({ formats: ["qr_code"] });
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
      const video = $("video");
      video.srcObject = stream;
      video.hidden = false;
      await video.play();
      $("camera-note").textContent = "";
      showCamera();
      let seen = "";
      while (stream) {
        const codes = await detector.detect(video).catch(() => []);
        const text = codes.length ? codes[0].rawValue : "";
        if (text && text !== seen) { seen = text; await scan(text); }
        await new Promise((r) => setTimeout(r, 200));
      }
    } catch (e) {
      stopCamera();
      $("camera-note").textContent = t("desk.camera_denied");
    }
  }
  function stopCamera() {
    if (stream) for (const track of stream.getTracks()) track.stop();
    stream = null;
    $("video").hidden = true;
    showCamera();
  }
  $("camera").addEventListener("click", () => (stream ? stopCamera() : startCamera()));

  if ("serviceWorker" in navigator) navigator.serviceWorker.register("sw.js").catch(() => {});

  const ready = (async () => {
    countries = await fetch("messages/countries.json").then((r) => r.json()).catch(() => ({}));
    await setLocale(chooseLocale());
    held = await PermitStore.held().catch(() => null);
    showData();
    if (navigator.onLine) await sync();
  })();

  // For tests and integrators: checks and syncs at a given clock (epoch seconds), the full result.
  window.PermitDesk = {
    ready,
    sync: async (at) => { await ready; const state = await sync(at); return { ...state, held: held && held.info }; },
    check: async (text, at) => { await ready; return checkAt(text, at === undefined ? nowSeconds() : at); },
    reset: async () => { await ready; await PermitStore.clear(); held = null; syncState = null; showData(); },
  };
})();
