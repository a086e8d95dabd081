"""schema.org JSON-LD for the website's pages, and a serialization safe inside <script>.

Built from plain values (what msgspec.to_builtins gives), so the build (pages) and the
request path (FAQ topics) share one implementation. Every URL in the output is absolute.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec

CONTEXT = "https://schema.org"
PATIENT_AUDIENCE = {"@type": "MedicalAudience", "audienceType": "Patient"}
CODING_SYSTEMS = {"icd10cm": "ICD-10-CM", "snomed_ct": "SNOMED CT"}

Doc = dict[str, Any]
_SCRIPT_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def script(doc: Mapping[str, Any]) -> str:
    """JSON text that cannot end or confuse a <script> element: `<`, `>` and `&` only ever
    occur inside JSON strings, where their \\u escapes mean the same characters."""
    return msgspec.json.encode(doc).decode("utf-8").translate(_SCRIPT_ESCAPES)


def person(p: Mapping[str, Any]) -> Doc:
    doc: Doc = {"@type": "Person", "name": p["name"]}
    if p.get("credentials"):
        doc["honorificSuffix"] = p["credentials"]
    if p.get("job_title"):
        doc["jobTitle"] = p["job_title"]
    if p.get("url"):
        doc["url"] = p["url"]
    return doc


def organization(name: str, base_url: str) -> Doc:
    return {"@type": "MedicalClinic", "name": name, "url": base_url.rstrip("/") + "/"}


def citation(ref: Mapping[str, Any]) -> Doc:
    doc: Doc = {"@type": "CreativeWork", "name": ref["title"], "url": ref["url"]}
    if ref.get("publisher"):
        doc["publisher"] = {"@type": "Organization", "name": ref["publisher"]}
    if ref.get("year"):
        doc["datePublished"] = str(ref["year"])
    same_as = []
    if ref.get("doi"):
        same_as.append(f"https://doi.org/{ref['doi']}")
    if ref.get("pmid"):
        same_as.append(f"https://pubmed.ncbi.nlm.nih.gov/{ref['pmid']}/")
    if ref.get("pmcid"):
        same_as.append(f"https://www.ncbi.nlm.nih.gov/pmc/articles/{ref['pmcid']}/")
    if same_as:
        doc["sameAs"] = same_as
    return doc


def entity(type_: str, name: str, url: str) -> Doc:
    return {"@type": type_, "name": name, "url": url}


def image(img: Mapping[str, Any]) -> Doc:
    doc: Doc = {"@type": "ImageObject", "url": img["url"], "caption": img["alt"]}
    for key in ("width", "height"):
        if img.get(key):
            doc[key] = img[key]
    return doc


def _reviewed_page(
    *,
    url: str,
    locale: str,
    last_reviewed: str,
    reviewed_by: Mapping[str, Any],
    publisher: Doc,
    references: Sequence[Mapping[str, Any]] = (),
) -> Doc:
    """The MedicalWebPage an entity is the main entity of: where the review data lives."""
    doc: Doc = {
        "@type": "MedicalWebPage",
        "@id": url,
        "url": url,
        "inLanguage": locale,
        "lastReviewed": last_reviewed,
        "reviewedBy": person(reviewed_by),
        "medicalAudience": PATIENT_AUDIENCE,
        "publisher": publisher,
    }
    if references:
        doc["citation"] = [citation(ref) for ref in references]
    return doc


def web_page(page: Mapping[str, Any], *, url: str, publisher: Doc) -> Doc:
    """A page of a type without a schema.org type of its own: a reviewed MedicalWebPage
    for patients, with its references when it has them."""
    doc = _reviewed_page(
        url=url,
        locale=page["locale"],
        last_reviewed=page["last_reviewed"],
        reviewed_by=page["reviewed_by"],
        publisher=publisher,
        references=page.get("references") or (),
    )
    return {
        "@context": CONTEXT,
        **doc,
        "name": page["title"],
        "description": page["summary"],
        "dateModified": page["updated_at"],
    }


def medical_web_page(
    article: Mapping[str, Any],
    *,
    url: str,
    publisher: Doc,
    about: Iterable[Doc],
    mentions: Iterable[Doc],
) -> Doc:
    """An article: MedicalWebPage about its conditions, reviewed, cited and for patients."""
    doc: Doc = {
        "@context": CONTEXT,
        "@type": "MedicalWebPage",
        "@id": url,
        "url": url,
        "name": article["title"],
        "headline": article["title"],
        "description": article["summary"],
        "inLanguage": article["locale"],
        "datePublished": article["published_at"],
        "dateModified": article["updated_at"],
        "lastReviewed": article["last_reviewed"],
        "reviewedBy": person(article["reviewed_by"]),
        "author": person(article["author"]),
        "publisher": publisher,
        "medicalAudience": PATIENT_AUDIENCE,
        "about": list(about),
        "citation": [citation(ref) for ref in article["references"]],
    }
    mentioned = list(mentions)
    if mentioned:
        doc["mentions"] = mentioned
    if article["tags"]:
        doc["keywords"] = ", ".join(article["tags"])
    if article.get("hero_image"):
        doc["image"] = image(article["hero_image"])
    return doc


def medical_condition(
    condition: Mapping[str, Any],
    *,
    url: str,
    publisher: Doc,
    symptoms: Iterable[Doc],
    treatments: Iterable[Doc],
) -> Doc:
    codes = condition.get("codes") or {}
    doc: Doc = {
        "@context": CONTEXT,
        "@type": "MedicalCondition",
        "@id": url + "#condition",
        "url": url,
        "name": condition["title"],
        "description": condition["summary"],
        "signOrSymptom": list(symptoms),
        "possibleTreatment": list(treatments),
        "code": [
            {"@type": "MedicalCode", "codeValue": value, "codingSystem": system}
            for key, system in CODING_SYSTEMS.items()
            for value in codes.get(key, [])
        ],
        "mainEntityOfPage": _reviewed_page(
            url=url,
            locale=condition["locale"],
            last_reviewed=condition["last_reviewed"],
            reviewed_by=condition["reviewed_by"],
            publisher=publisher,
            references=condition["references"],
        ),
    }
    if condition["also_known_as"]:
        doc["alternateName"] = list(condition["also_known_as"])
    return doc


def sign_or_symptom(symptom: Mapping[str, Any], *, url: str, publisher: Doc) -> Doc:
    return {
        "@context": CONTEXT,
        "@type": "MedicalSignOrSymptom",
        "@id": url + "#symptom",
        "url": url,
        "name": symptom["title"],
        "description": symptom["what_it_is"],
        "mainEntityOfPage": _reviewed_page(
            url=url,
            locale=symptom["locale"],
            last_reviewed=symptom["last_reviewed"],
            reviewed_by=symptom["reviewed_by"],
            publisher=publisher,
        ),
    }


def medical_therapy(treatment: Mapping[str, Any], *, url: str, publisher: Doc) -> Doc:
    doc: Doc = {
        "@context": CONTEXT,
        "@type": "MedicalTherapy",
        "@id": url + "#therapy",
        "url": url,
        "name": treatment["title"],
        "description": treatment["summary"],
        "howPerformed": treatment["how_it_works"],
        "mainEntityOfPage": _reviewed_page(
            url=url,
            locale=treatment["locale"],
            last_reviewed=treatment["last_reviewed"],
            reviewed_by=treatment["reviewed_by"],
            publisher=publisher,
            references=treatment["references"],
        ),
    }
    if treatment["before"]:
        doc["preparation"] = " ".join(treatment["before"])
    if treatment["after"]:
        doc["followup"] = " ".join(treatment["after"])
    if treatment["side_effects"]:
        doc["adverseOutcome"] = [
            {"@type": "MedicalEntity", "name": effect["name"], "description": effect["description"]}
            for effect in treatment["side_effects"]
        ]
    return doc


def faq_page(
    *, title: str, url: str, locale: str, publisher: Doc, faqs: Sequence[Mapping[str, Any]]
) -> Doc:
    """An FAQ topic: FAQPage whose main entities are its questions, each with its answer."""
    doc: Doc = {
        "@context": CONTEXT,
        "@type": "FAQPage",
        "@id": url,
        "url": url,
        "name": title,
        "inLanguage": locale,
        "publisher": publisher,
        # FAQPage is a WebPage, not a MedicalWebPage: the audience goes in `audience`.
        "audience": PATIENT_AUDIENCE,
        "mainEntity": [
            {
                "@type": "Question",
                "name": faq["question"],
                "acceptedAnswer": {"@type": "Answer", "text": faq["answer_html"]},
            }
            for faq in faqs
        ],
    }
    if faqs:
        latest = max(faqs, key=lambda faq: str(faq["last_reviewed"]))
        doc["lastReviewed"] = latest["last_reviewed"]
        reviewers = {faq["reviewed_by"]["slug"]: faq["reviewed_by"] for faq in faqs}
        doc["reviewedBy"] = [person(p) for _, p in sorted(reviewers.items())]
    return doc
