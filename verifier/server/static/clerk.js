"use strict";
// The clerk's page: a handheld scanner types the payload and Enter into the focused box. Every word shown
// comes from the message catalog (/messages/<locale>.json, shared with the Python verifier).
(function () {
  const KEY = "permit-verifier-key";
  const LANG = "permit-verifier-lang";
  const LOCALES = ["zh-CN", "en"];
  const FIELDS = ["number", "surname", "given_names", "chinese_name", "sex", "birth_date", "nationality",
    "category", "issue_date", "expiry_date", "card", "authority"];
  const $ = (id) => document.getElementById(id);
  const payload = $("payload");
  let messages = {};
  let locale = "zh-CN";
  let last = null; // the last result shown, redrawn when the language changes

  function t(key, params) {
    const template = Object.prototype.hasOwnProperty.call(messages, key) ? messages[key] : key;
    return template.replace(/\{([a-z_]+)\}/g, (m, name) => (params && name in params ? String(params[name]) : m));
  }

  // zh, zh-CN, zh-Hans, zh-SG -> zh-CN; en-* -> en; traditional-script Chinese is not simplified Chinese.
  function match(tag) {
    const parts = String(tag || "").replace(/_/g, "-").toLowerCase().split("-");
    if (parts[0] === "zh") {
      const rest = parts.slice(1);
      const traditional = rest.some((p) => ["hant", "tw", "hk", "mo"].includes(p)) && !rest.includes("hans");
      return traditional ? null : "zh-CN";
    }
    return parts[0] === "en" ? "en" : null;
  }

  function chooseLocale() {
    const saved = localStorage.getItem(LANG);
    if (LOCALES.includes(saved)) return saved;
    for (const tag of navigator.languages || [navigator.language]) {
      const found = match(tag);
      if (found) return found;
    }
    return "zh-CN"; // Chinese first
  }

  function translatePage() {
    document.documentElement.lang = locale;
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    for (const el of document.querySelectorAll("[data-i18n-placeholder]")) {
      el.placeholder = t(el.dataset.i18nPlaceholder);
    }
    for (const el of document.querySelectorAll("[data-i18n-aria-label]")) {
      el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
    }
    for (const button of document.querySelectorAll("[data-lang]")) {
      button.setAttribute("aria-pressed", String(button.dataset.lang === locale));
    }
    showKeyState();
    if (last) show(last, false);
  }

  async function setLocale(wanted) {
    const response = await fetch("/messages/" + wanted + ".json");
    messages = await response.json();
    locale = wanted;
    translatePage();
  }

  for (const button of document.querySelectorAll("[data-lang]")) {
    button.addEventListener("click", () => {
      localStorage.setItem(LANG, button.dataset.lang);
      setLocale(button.dataset.lang).then(() => payload.focus());
    });
  }

  function keepFocus() {
    if (document.activeElement !== $("api-key") && document.activeElement !== $("image")) payload.focus();
  }
  document.addEventListener("click", () => setTimeout(keepFocus, 0));
  payload.addEventListener("blur", () => setTimeout(keepFocus, 150));

  function showKeyState() {
    $("key-state").textContent = t(sessionStorage.getItem(KEY) ? "page.key_set" : "page.key_none");
  }
  $("key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const value = $("api-key").value.trim();
    if (value) sessionStorage.setItem(KEY, value);
    $("api-key").value = "";
    showKeyState();
    payload.focus();
  });

  // What a scanner typed, as the encoder wrote it: full-width forms folded, control characters (CR, LF,
  // tab) removed, outer spaces stripped, upper case (base45 has no lower case: this undoes Caps Lock).
  function normalise(text) {
    return text.normalize("NFKC").replace(/\p{C}/gu, "").trim().toUpperCase();
  }

  function duration(seconds) {
    if (seconds < 120) return t("page.age.seconds", { n: seconds });
    if (seconds < 7200) return t("page.age.minutes", { n: Math.round(seconds / 60) });
    if (seconds < 172800) return t("page.age.hours", { n: Math.round(seconds / 3600) });
    return t("page.age.days", { n: Math.round(seconds / 86400) });
  }

  function when(date) {
    return date.toLocaleString(locale, { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
      minute: "2-digit", second: "2-digit" });
  }

  function value(name, raw) {
    if (name === "sex") return t("sex." + raw);
    if (name === "category") return t("category." + raw);
    return String(raw);
  }

  function show(result, fresh) {
    last = result;
    const box = $("result");
    const kind = result.action === "rescan" ? "rescan" : result.verdict;
    box.className = "result " + kind;
    if (fresh) { void box.offsetWidth; box.classList.add("flash"); } // a new check never looks like the last one
    $("verdict").textContent = t("verdict." + kind);
    $("message").textContent = result.reason ? t("reason." + result.reason) : result.text || "";
    $("action").textContent = result.action ? t("action." + result.action) : "";
    const table = $("fields");
    table.replaceChildren();
    const permit = result.verdict === "valid" && result.permit ? result.permit : {};
    for (const name of FIELDS) {
      if (permit[name] === undefined || permit[name] === null) continue;
      const row = table.insertRow();
      const th = document.createElement("th");
      th.textContent = t("field." + name);
      row.appendChild(th);
      row.insertCell().textContent = value(name, permit[name]);
    }
    $("checked-at").textContent = result.checked_at ? t("page.checked_at", { time: when(new Date(result.checked_at)) }) : "";
    $("age").textContent = result.status_age === null || result.status_age === undefined ? ""
      : t("page.status_age", { age: duration(result.status_age) });
    showTrust();
  }

  let health = null;
  function showTrust() {
    if (!health) { $("trust").textContent = ""; return; }
    $("trust").textContent = health.trust_list_version === undefined ? t("page.no_trust_list")
      : t("page.trust_list", { version: health.trust_list_version,
        time: when(new Date(health.trust_list_issued_at * 1000)) });
  }
  async function refreshHealth() {
    try {
      health = await (await fetch("/health")).json();
    } catch (err) {
      health = null;
    }
    showTrust();
  }

  function problem(status, body, key) {
    const text = key ? t(key, { status }) : (body && (body.detail || body.title)) || t("page.error", { status });
    show({ verdict: "indeterminate", text, checked_at: new Date().toISOString() }, true);
  }

  async function send(request) {
    const key = sessionStorage.getItem(KEY);
    if (!key) { problem(401, null, "page.no_key"); return; }
    $("result").classList.add("busy");
    try {
      const response = await request({ Authorization: "Bearer " + key, "Accept-Language": locale });
      const body = await response.json().catch(() => null);
      if (response.ok) show(body, true); else problem(response.status, body);
    } catch (err) {
      problem(0, null, "page.unreachable");
    } finally {
      $("result").classList.remove("busy");
      refreshHealth();
    }
  }

  $("scan-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = normalise(payload.value);
    payload.value = "";
    if (!text) return;
    send((headers) => fetch("/v1/verify", {
      method: "POST", headers: { ...headers, "Content-Type": "application/json" },
      body: JSON.stringify({ payload: text }),
    }));
  });

  $("image").addEventListener("change", () => {
    const file = $("image").files[0];
    if (!file) return;
    const form = new FormData();
    form.append("image", file);
    send((headers) => fetch("/v1/verify-image", { method: "POST", headers, body: form }));
    $("image").value = "";
    payload.focus();
  });

  setLocale(chooseLocale()).then(refreshHealth);
})();
