"use strict";
// The clerk's page: a handheld scanner types the payload and Enter into the focused box.
(function () {
  const KEY = "permit-verifier-key";
  const LABELS = {
    number: "Permit No.", surname: "Surname", given_names: "Given names", chinese_name: "Chinese name",
    sex: "Sex", birth_date: "Date of birth", nationality: "Nationality", category: "Category",
    issue_date: "Valid from", expiry_date: "Valid until", card: "Card serial", authority: "Issuing authority",
  };
  const $ = (id) => document.getElementById(id);
  const payload = $("payload");

  function keepFocus() {
    if (document.activeElement !== $("api-key") && document.activeElement !== $("image")) payload.focus();
  }
  document.addEventListener("click", () => setTimeout(keepFocus, 0));
  payload.addEventListener("blur", () => setTimeout(keepFocus, 150));

  function showKeyState() {
    $("key-state").textContent = sessionStorage.getItem(KEY) ? "key set" : "no key";
  }
  $("key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const value = $("api-key").value.trim();
    if (value) sessionStorage.setItem(KEY, value);
    $("api-key").value = "";
    showKeyState();
    payload.focus();
  });
  showKeyState();

  function age(seconds) {
    if (seconds === null || seconds === undefined) return "";
    if (seconds < 120) return `Revocation status checked ${seconds} s ago.`;
    if (seconds < 7200) return `Revocation status is ${Math.round(seconds / 60)} minutes old.`;
    return `Revocation status is ${Math.round(seconds / 3600)} hours old.`;
  }

  function show(result) {
    const box = $("result");
    box.className = "result " + result.verdict;
    $("verdict").textContent = result.verdict === "valid" ? "VALID"
      : result.verdict === "invalid" ? "NOT VALID" : "CANNOT CONFIRM";
    $("message").textContent = result.message || result.detail || "";
    $("age").textContent = age(result.status_age);
    const table = $("fields");
    table.replaceChildren();
    const permit = result.permit || {};
    for (const [name, label] of Object.entries(LABELS)) {
      if (permit[name] === undefined || permit[name] === null) continue;
      const row = table.insertRow();
      const th = document.createElement("th");
      th.textContent = label;
      row.appendChild(th);
      row.insertCell().textContent = String(permit[name]);
    }
  }

  function problem(status, body) {
    show({ verdict: "indeterminate", message: (body && (body.detail || body.title)) || `Error ${status}` });
  }

  async function send(request) {
    const key = sessionStorage.getItem(KEY);
    if (!key) { problem(401, { detail: "Enter your organisation key first (top right)." }); return; }
    $("result").classList.add("busy");
    try {
      const response = await request({ Authorization: "Bearer " + key });
      const body = await response.json().catch(() => null);
      if (response.ok) show(body); else problem(response.status, body);
    } catch (err) {
      problem(0, { detail: "The verification service cannot be reached." });
    } finally {
      $("result").classList.remove("busy");
    }
  }

  $("scan-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = payload.value.trim();
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
})();
