"""The kiosk's rendition: with `channel=kiosk`, plain text only — no HTML bodies; FAQs keep
their short answer and their plain-text answer (a kiosk shows the short one large and the
longer one below it, as items keep `body_text`). Which channels get overdue items is the
review policy's business (api/review.py); by default the kiosk does not.
"""

from __future__ import annotations

from typing import Any

#: Fields the kiosk never gets: HTML and the anchors of HTML headings.
KIOSK_DROPS = frozenset({"body_html", "answer_html", "toc"})

KIOSK_RENDITION = (
    " `kiosk` is also a rendition: plain text only — no `body_html`, `answer_html` or"
    " `toc`; FAQs keep `short_answer` (at most 280 characters) and `answer_text`, and search"
    " snippets carry no `<mark>` tags. Items that have HTML to leave out say which rendition"
    " they are in `rendition`: `full` or `kiosk`."
)


def is_kiosk(channel: str | None) -> bool:
    return channel == "kiosk"


def kiosk_rendition(doc: dict[str, Any]) -> dict[str, Any]:
    rendition = {k: v for k, v in doc.items() if k not in KIOSK_DROPS}
    if "rendition" in rendition:
        # The discriminator typed clients narrow on: the fields above are gone.
        rendition["rendition"] = "kiosk"
    included = rendition.get("included")
    if isinstance(included, dict):
        rendition["included"] = {
            name: [kiosk_rendition(item) for item in items] for name, items in included.items()
        }
    return rendition
