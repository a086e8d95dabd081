"""channel=kiosk: plain text only, and nothing overdue for medical review."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.support import make_client

HTML_FIELDS = {"body_html", "answer_html", "toc"}


def test_kiosk_faqs_are_plain_text(client: TestClient[Any]) -> None:
    web = client.get("/v1/faqs", params={"limit": 100}).json()["data"]
    kiosk = client.get("/v1/faqs", params={"limit": 100, "channel": "kiosk"}).json()["data"]
    assert [f["slug"] for f in kiosk] == [f["slug"] for f in web]
    for faq in kiosk:
        assert not HTML_FIELDS & set(faq)
        assert faq["short_answer"]
        assert "<" not in faq["short_answer"]
        # The longer answer in plain text, for below the short one.
        assert faq["answer_text"]
        assert "<" not in faq["answer_text"]
    assert "answer_html" in web[0]


def test_kiosk_detail_has_no_html(client: TestClient[Any]) -> None:
    body = client.get("/v1/treatments/ketamine-infusion", params={"channel": "kiosk"}).json()
    assert not HTML_FIELDS & set(body)
    assert body["body_text"]
    faq = client.get(
        "/v1/faqs/what-is-ketamine", params={"channel": "kiosk", "locale": "es"}
    ).json()
    assert set(faq) >= {"question", "short_answer"}
    assert not HTML_FIELDS & set(faq)


def test_items_say_which_rendition_they_are(client: TestClient[Any]) -> None:
    """`rendition` is the discriminator typed clients narrow on before reading HTML: every
    item that has HTML says `full`, and its kiosk copy says `kiosk`, in details, lists,
    and included items alike."""
    for path in ("/v1/treatments/ketamine-infusion", "/v1/faqs/what-is-ketamine"):
        assert client.get(path).json()["rendition"] == "full"
        assert client.get(path, params={"channel": "kiosk"}).json()["rendition"] == "kiosk"
    for channel, rendition in (("website", "full"), ("kiosk", "kiosk")):
        faqs = client.get("/v1/faqs", params={"limit": 100, "channel": channel}).json()["data"]
        assert {f["rendition"] for f in faqs} == {rendition}
        crps = client.get(
            "/v1/conditions/crps", params={"include": "faqs", "channel": channel}
        ).json()
        assert {f["rendition"] for f in crps["included"]["faqs"]} == {rendition}
    # Summaries carry no HTML in any channel, so they have no rendition to tell apart.
    assert "rendition" not in client.get("/v1/articles").json()["data"][0]


def test_unknown_channel_is_a_400(client: TestClient[Any]) -> None:
    response = client.get("/v1/faqs", params={"channel": "tv"})
    assert response.status_code == 400
    assert response.json()["invalid_params"][0]["name"] == "channel"


@pytest.fixture
def overdue_client(content_copy: Path) -> Iterator[TestClient[Any]]:
    """content/ with one FAQ and one symptom whose review date has passed."""
    faqs = content_copy / "faqs" / "preparing-for-treatment.yaml"
    text = faqs.read_text(encoding="utf-8")
    text = text.replace(
        "  - slug: can-i-drive-home\n",
        "  - slug: can-i-drive-home\n    last_reviewed: 2024-01-10\n"
        "    next_review_due: 2025-01-10\n",
    )
    faqs.write_text(text, encoding="utf-8")
    symptom = content_copy / "symptoms" / "swelling.md"
    text = symptom.read_text(encoding="utf-8")
    text = text.replace("last_reviewed: 2026-11-02", "last_reviewed: 2024-11-02")
    text = text.replace("next_review_due: 2027-11-02", "next_review_due: 2025-11-02")
    symptom.write_text(text, encoding="utf-8")
    with make_client(content_copy) as client:
        yield client


def test_kiosk_leaves_out_overdue_items(overdue_client: TestClient[Any]) -> None:
    client = overdue_client
    # The editor channel is served overdue items; patient-facing ones are not.
    editor = {"limit": 100, "channel": "editor"}
    web = [f["slug"] for f in client.get("/v1/faqs", params=editor).json()["data"]]
    kiosk_list = client.get("/v1/faqs", params={"limit": 100, "channel": "kiosk"}).json()
    kiosk = [f["slug"] for f in kiosk_list["data"]]
    assert "can-i-drive-home" in web
    assert "can-i-drive-home" not in kiosk
    assert len(kiosk) == len(web) - 1
    assert kiosk_list["meta"]["total"] == len(kiosk)

    assert client.get("/v1/faqs/can-i-drive-home", params={"channel": "editor"}).status_code == 200
    gone = client.get("/v1/faqs/can-i-drive-home", params={"channel": "kiosk"})
    assert gone.status_code == 404
    assert "overdue for clinical review" in gone.json()["detail"]

    def found(channel: str) -> list[str]:
        params = {"q": "drive home", "channel": channel, "limit": 50}
        return [h["slug"] for h in client.get("/v1/search", params=params).json()["data"]]

    assert "can-i-drive-home" in found("editor")
    assert "can-i-drive-home" not in found("kiosk")
    faq_box = client.get(
        "/v1/search", params={"q": "drive home", "type": "faq", "channel": "kiosk"}
    ).json()
    assert "can-i-drive-home" not in [f["slug"] for f in faq_box["data"]]

    symptoms = client.get("/v1/conditions/crps", params={"include": "symptoms", "channel": "kiosk"})
    included = [s["slug"] for s in symptoms.json()["included"]["symptoms"]]
    assert "swelling" not in included
    assert "burning-pain" in included
