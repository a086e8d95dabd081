"""GET /v1/sync: everything first, then exactly what changed, then nothing; a
cursor from a database rebuilt from scratch gets 410."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.support import make_client

NEW_SYMPTOM = """\
---
slug: fatigue
locale: en
title: "Tiredness"
summary: >-
  Long-lasting pain and poor sleep can leave you tired all day.
reviewed_by: daniel-ashford
last_reviewed: 2026-11-02
next_review_due: 2027-11-02
what_it_is: >-
  Feeling worn out most of the time, even after rest.
---

Tell your care team if tiredness stops you doing what you need to do.
"""


def sync_all(client: TestClient[Any], cursor: str | None = None, limit: int = 100) -> tuple[
    list[dict[str, Any]], str
]:  # fmt: skip
    """Follow has_more to the end, as a kiosk would; the changes and the cursor to keep."""
    changes: list[dict[str, Any]] = []
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        response = client.get("/v1/sync", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        changes += body["data"]
        cursor = body["meta"]["next_cursor"]
        pages += 1
        assert pages < 100
        if not body["meta"]["has_more"]:
            return changes, cursor


def test_sync_end_to_end(content_copy: Path, tmp_path: Path) -> None:
    with make_client(content_copy) as client:
        everything, cursor = sync_all(client, limit=7)  # several pages
        total = client.get("/v1/site").json()["content_revision"]
        keys = {(c["type"], c["slug"], c["locale"]) for c in everything}
        assert len(keys) == len(everything) == total  # a first build: one revision per item
        assert {c["op"] for c in everything} == {"upsert"}
        revisions = [c["revision"] for c in everything]
        assert revisions == sorted(revisions)
        faq = next(c for c in everything if c["slug"] == "can-i-drive-home" and c["locale"] == "en")
        assert faq["item"]["answer_html"].startswith("<p><strong>No.</strong>")
        assert ("symptom", "burning-pain", "es") in keys

        again, same = sync_all(client, cursor)
        assert again == []
        assert same == cursor

    # Edit one file, delete another, add a third, rebuild.
    swelling = content_copy / "symptoms" / "swelling.md"
    swelling.write_text(
        swelling.read_text(encoding="utf-8").replace(
            "Let us know if swelling gets worse quickly or spreads.",
            "Let us know if swelling gets worse quickly, spreads or keeps you awake.",
        ),
        encoding="utf-8",
    )
    (content_copy / "symptoms" / "burning-pain.es.md").unlink()
    (content_copy / "symptoms" / "fatigue.md").write_text(NEW_SYMPTOM, encoding="utf-8")

    with make_client(content_copy) as client:  # built again in place
        changes, newer = sync_all(client, cursor)
        summary = sorted((c["op"], c["type"], c["slug"], c["locale"]) for c in changes)
        assert summary == [
            ("delete", "symptom", "burning-pain", "es"),
            ("upsert", "symptom", "fatigue", "en"),
            ("upsert", "symptom", "swelling", "en"),
        ]
        edited = next(c for c in changes if c["slug"] == "swelling")
        assert "keeps you awake" in edited["item"]["body_text"]
        assert "body_html" in edited["item"]
        deleted = next(c for c in changes if c["op"] == "delete")
        assert "item" not in deleted
        assert [c["revision"] for c in changes] == sorted(c["revision"] for c in changes)

        assert sync_all(client, newer)[0] == []

        # The first cursor still works, and a fresh sync no longer has the deleted item.
        assert len(sync_all(client, cursor)[0]) == 3
        fresh, _ = sync_all(client)
        assert ("symptom", "burning-pain", "es") not in {
            (c["type"], c["slug"], c["locale"]) for c in fresh
        }
        assert {c["op"] for c in fresh} == {"upsert"}

    # The same content built from scratch is another lineage: the old cursor is refused.
    with make_client(content_copy, db_path=tmp_path / "rebuilt.db") as client:
        gone = client.get("/v1/sync", params={"cursor": newer})
        assert gone.status_code == 410
        assert gone.headers["content-type"] == "application/problem+json"
        problem = gone.json()
        assert problem["status"] == 410
        assert "sync again from the start" in problem["detail"]


@pytest.mark.parametrize("cursor", ["nope", "e30", "WyJ4Il0", "WyJ4IiwtMV0", "%%%", "x" * 600])
def test_sync_refuses_cursors_it_did_not_issue(client: TestClient[Any], cursor: str) -> None:
    response = client.get("/v1/sync", params={"cursor": cursor})
    assert response.status_code == 400
    assert response.json()["invalid_params"][0]["name"] == "cursor"


def test_sync_cursor_of_another_lineage_is_gone(client: TestClient[Any]) -> None:
    cursor = base64.urlsafe_b64encode(b'["0000000000000000",3]').decode().rstrip("=")
    response = client.get("/v1/sync", params={"cursor": cursor})
    assert response.status_code == 410
    assert "0000000000000000" in response.json()["detail"]


def test_an_article_made_a_draft_again_is_removed_from_offline_copies(content_copy: Path) -> None:
    """A published article that the content makes a draft again must leave every copy that
    synced it: the next sync sends its deletion, and its URL answers 404."""
    article = content_copy / "articles" / "ketamine-for-crps.md"
    with make_client(content_copy) as client:
        first = client.get("/v1/sync", params={"limit": 500}).json()
        assert "ketamine-for-crps" in {c["slug"] for c in first["data"]}
        cursor = first["meta"]["next_cursor"]
    text = article.read_text(encoding="utf-8")
    article.write_text(text.replace("---\n", "---\ndraft: true\n", 1), encoding="utf-8")
    with make_client(content_copy) as client:
        changes = client.get("/v1/sync", params={"cursor": cursor, "limit": 500}).json()["data"]
        gone = [c for c in changes if c["slug"] == "ketamine-for-crps"]
        assert [(c["op"], c.get("item")) for c in gone] == [("delete", None)]
        assert client.get("/v1/articles/ketamine-for-crps").status_code == 404
        # A copy syncing from scratch never hears of it at all.
        fresh = client.get("/v1/sync", params={"limit": 500}).json()["data"]
        assert "ketamine-for-crps" not in {c["slug"] for c in fresh}
