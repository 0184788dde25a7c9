"""A desk that does not mislead, through the API: a misread says `rescan` (never a forgery's red), scanner
text is normalised before decoding, each result says when it was checked, an invalid result carries no
holder data, and messages follow Accept-Language while reason codes stay the interface."""

from __future__ import annotations

import json

from helpers import NOW, Issuer, make_permit
from hypothesis import given, settings
from hypothesis import strategies as st
from test_server import _post, service  # noqa: F401 - the service fixture

from verifier import i18n
from verifier.desk import normalise_scan


def _verify(client, key: str, payload: object, lang: str | None = None):
    headers = {"Authorization": f"Bearer {key}"}
    if lang:
        headers["Accept-Language"] = lang
    return client.post("/v1/verify", json={"payload": payload}, headers=headers)


def test_caps_lock_scan_reads_as_the_permit(service, issuer: Issuer) -> None:  # noqa: F811
    client, keys, _ = service
    out = _verify(client, keys["bank"], issuer.sign().lower()).get_json()
    assert (out["verdict"], out["reason"]) == ("valid", "VALID")


def test_scanner_line_endings_tabs_and_full_width_ime_input_read_as_the_permit(service, issuer: Issuer) -> None:  # noqa: F811
    client, keys, _ = service
    text = issuer.sign()
    full_width = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)  # an IME in full-width mode
    for typed in ("\r\n" + text + "\r\n", "\t" + text + "\n", text[:50] + "\r\n" + text[50:], full_width):
        out = _verify(client, keys["bank"], typed).get_json()
        assert out["reason"] == "VALID", repr(typed[:8])


def test_truncated_scan_asks_for_a_rescan_and_keeps_its_reason(service, issuer: Issuer) -> None:  # noqa: F811
    client, keys, _ = service
    for misread in (issuer.sign()[:100], "hello", "PR1:", "https://example.com/"):
        out = _verify(client, keys["bank"], misread, "en").get_json()
        assert (out["verdict"], out["reason"], out["action"]) == ("invalid", "MALFORMED", "rescan")
        assert out["permit"] is None


def test_forged_signature_is_refused_not_rescanned(service, issuer: Issuer) -> None:  # noqa: F811
    client, keys, _ = service
    from cryptography.hazmat.primitives.asymmetric import ec

    from keys import algorithms
    from keys.permit import encode_permit

    forger = ec.generate_private_key(ec.SECP256R1())
    forged = encode_permit(make_permit(), forger, algorithms.key_id(issuer.permit_key.public_key()))
    out = _verify(client, keys["bank"], forged).get_json()
    assert (out["reason"], out["action"]) == ("BAD_SIGNATURE", "refuse")


def test_revoked_result_withholds_holder_data(service, issuer: Issuer) -> None:  # noqa: F811
    client, keys, _ = service
    out = _verify(client, keys["bank"], issuer.sign(make_permit(status_index=77)), "en").get_json()
    assert (out["verdict"], out["reason"], out["action"]) == ("invalid", "REVOKED", "refuse")
    assert out["permit"] is None
    assert "SMITH" not in json.dumps(out) and "2036" not in json.dumps(out)


def test_every_result_says_when_it_was_checked(service, issuer: Issuer) -> None:  # noqa: F811
    client, keys, _ = service
    out = _post(client, "/v1/verify", keys["bank"], {"payloads": [issuer.sign(), "x"]}).get_json()
    stamp = "2023-11-23T12:00:00Z" if NOW == 1700740800 else None
    for result in out["results"]:
        assert result["checked_at"].endswith("Z") and (stamp is None or result["checked_at"] == stamp)
    assert out["results"][0]["status_age"] == 60 and out["results"][0]["action"] == "compare"


def test_message_follows_accept_language_and_reason_codes_do_not(service, issuer: Issuer) -> None:  # noqa: F811
    client, keys, _ = service
    text = issuer.sign()
    en = _verify(client, keys["bank"], text, "en-GB,en;q=0.9")
    zh = _verify(client, keys["bank"], text, "zh-CN,zh;q=0.9")
    default = _verify(client, keys["bank"], text)
    assert en.get_json()["message"] == i18n.text("reason.VALID", "en")
    assert zh.get_json()["message"] == default.get_json()["message"] == i18n.text("reason.VALID", "zh-CN")
    assert en.get_json()["reason"] == zh.get_json()["reason"] == "VALID"
    assert en.headers["Content-Language"] == "en" and "Accept-Language" in en.headers["Vary"]


def test_problems_are_in_the_callers_language(service) -> None:  # noqa: F811
    client, _, _ = service
    en = client.post("/v1/verify", json={"payload": "x"}, headers={"Accept-Language": "en"})
    zh = client.post("/v1/verify", json={"payload": "x"}, headers={"Accept-Language": "zh-CN"})
    assert en.status_code == zh.status_code == 401
    assert en.get_json()["title"] == "Unauthorized" and zh.get_json()["title"] == "未授权"
    assert "API" in zh.get_json()["detail"] and "机构" in zh.get_json()["detail"]
    missing = client.get("/nowhere", headers={"Accept-Language": "zh"})
    assert missing.status_code == 404 and missing.get_json()["title"] == "未找到"


def test_catalog_is_served_to_the_page_and_nothing_else(service) -> None:  # noqa: F811
    client, _, _ = service
    assert client.get("/messages/zh-CN.json").get_json() == dict(i18n.catalog("zh-CN"))
    assert client.get("/messages/..%2Fi18n.py.json").status_code == 404
    assert client.get("/messages/fr.json").status_code == 404


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:", min_size=1, max_size=300))
def test_normalising_never_changes_a_genuine_payload(body: str) -> None:
    text = "PR1:" + body.strip()
    assert normalise_scan(text) == text  # inner spaces are base45 digits: kept
