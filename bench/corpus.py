"""A deterministic synthetic corpus in the content/ format, for load and scale benchmarks.

The same arguments always write the same files, byte for byte, so figures from two runs
(or two machines) are measured on the same content.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

FAQS_PER_TOPIC = 500
CONDITIONS = 20
SYMPTOMS = 40
TREATMENTS = 20

_WORD_TEXT = """
pain nerve limb swelling doctor nurse infusion session dose treatment therapy clinic
patient skin hand foot arm leg joint muscle sleep mood stress body brain signal spinal
cord receptor medicine research study trial result week month day hour team plan question
answer care support family home work rest movement exercise stretch warm cold touch
burning throbbing stiffness colour temperature change symptom sign blood pressure heart
rate monitor chair room light music calm relaxed gentle slow steady careful regular short
long early late first next last small large common rare safe clear simple better worse
often usually sometimes rarely always never help ease
"""
_VERB_TEXT = """
helps eases explains shows means reduces supports changes starts follows improves protects
calms guides checks measures describes affects lowers raises keeps
"""
_WORDS = _WORD_TEXT.split()
_VERBS = _VERB_TEXT.split()


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(6, 14))]
    words.insert(rng.randint(1, len(words) - 1), rng.choice(_VERBS))
    return " ".join(words).capitalize() + "."


def _paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(_sentence(rng) for _ in range(sentences))


def _title(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(n)).capitalize()


def _body(rng: random.Random, words: int) -> str:
    """Markdown of about `words` words: sections with paragraphs, a list and a link."""
    parts: list[str] = []
    count = 0
    section = 0
    while count < words:
        section += 1
        parts.append(f"## {_title(rng, 4)} {section}")
        for _ in range(3):
            text = _paragraph(rng, rng.randint(4, 7))
            parts.append(text)
            count += len(text.split())
        items = [f"- {_sentence(rng)}" for _ in range(4)]
        parts.append("\n".join(items))
        count += sum(len(i.split()) for i in items)
        parts.append(
            f"Read more in [the clinic guide](https://www.example-clinic.org/guides/{section})."
        )
    return "\n\n".join(parts) + "\n"


def _yaml_list(name: str, values: list[str]) -> str:
    if not values:
        return f"{name}: []\n"
    return f"{name}:\n" + "".join(f"  - {v}\n" for v in values)


REVIEW = "reviewed_by: dr-reviewer\nlast_reviewed: 2026-01-10\nnext_review_due: 2027-01-10\n"


def generate(out: Path, articles: int, faqs: int, seed: int = 5, words: int = 1500) -> Path:
    """Write a corpus of `articles` articles and `faqs` FAQs into `out` (replaced)."""
    if out.exists():
        shutil.rmtree(out)
    for folder in ("articles", "conditions", "symptoms", "treatments", "faqs"):
        (out / folder).mkdir(parents=True)
    (out / "site.yaml").write_text(
        'name: "Bench Clinic"\nbase_url: "https://bench.example.org"\n'
        'description: "A synthetic clinic for benchmarks."\n'
        'disclaimer: "Synthetic content for load tests; not medical advice."\n'
        "default_locale: en\nlocales:\n  - en\n",
        encoding="utf-8",
    )
    (out / "people.yaml").write_text(
        "people:\n"
        '  - slug: dr-reviewer\n    name: "Dr. Rev Iewer"\n    role: medical-reviewer\n'
        '  - slug: writer\n    name: "Wri Ter"\n    role: author\n',
        encoding="utf-8",
    )
    rng = random.Random(seed)
    conditions = [f"condition-{i}" for i in range(CONDITIONS)]
    symptoms = [f"symptom-{i}" for i in range(SYMPTOMS)]
    treatments = [f"treatment-{i}" for i in range(TREATMENTS)]
    for i, slug in enumerate(conditions):
        (out / "conditions" / f"{slug}.md").write_text(
            f'---\nslug: {slug}\ntitle: "{_title(rng, 3)}"\nsummary: "{_sentence(rng)}"\n'
            f"{REVIEW}{_yaml_list('symptoms', symptoms[i % SYMPTOMS : i % SYMPTOMS + 3])}"
            f"{_yaml_list('treatments', [treatments[i % TREATMENTS]])}---\n\n{_body(rng, 300)}",
            encoding="utf-8",
        )
    for i, slug in enumerate(symptoms):
        (out / "symptoms" / f"{slug}.md").write_text(
            f'---\nslug: {slug}\ntitle: "{_title(rng, 2)}"\nsummary: "{_sentence(rng)}"\n'
            f'{REVIEW}what_it_is: "{_sentence(rng)}"\n'
            f"{_yaml_list('conditions', [conditions[i % CONDITIONS]])}---\n\n{_body(rng, 150)}",
            encoding="utf-8",
        )
    for i, slug in enumerate(treatments):
        (out / "treatments" / f"{slug}.md").write_text(
            f'---\nslug: {slug}\ntitle: "{_title(rng, 3)}"\nsummary: "{_sentence(rng)}"\n'
            f'{REVIEW}how_it_works: "{_paragraph(rng, 3)}"\n'
            f"{_yaml_list('conditions', [conditions[i % CONDITIONS]])}---\n\n{_body(rng, 300)}",
            encoding="utf-8",
        )
    for i in range(articles):
        arng = random.Random(f"{seed}-article-{i}")
        day = 1 + i % 28
        month = 1 + (i // 28) % 12
        year = 2020 + (i // 336) % 6
        tags = sorted({f"tag-{arng.randrange(50)}" for _ in range(3)})
        (out / "articles" / f"article-{i:05d}.md").write_text(
            f'---\nslug: article-{i:05d}\ntitle: "{_title(arng, 6)}"\n'
            f'summary: "{_sentence(arng)} {_sentence(arng)}"\n'
            f"author: writer\n{REVIEW}"
            f"published_at: {year}-{month:02d}-{day:02d}T{i % 24:02d}:{i % 60:02d}:00Z\n"
            f"{_yaml_list('tags', tags)}"
            f"{_yaml_list('conditions', [conditions[i % CONDITIONS]])}"
            f"{_yaml_list('treatments', [treatments[i % TREATMENTS]])}"
            f"---\n\n{_body(arng, words)}",
            encoding="utf-8",
        )
    for t in range((faqs + FAQS_PER_TOPIC - 1) // FAQS_PER_TOPIC):
        frng = random.Random(f"{seed}-topic-{t}")
        count = min(FAQS_PER_TOPIC, faqs - t * FAQS_PER_TOPIC)
        lines = [f'topic: topic-{t}\ntitle: "{_title(frng, 3)}"\norder: {t}\n{REVIEW}faqs:\n']
        for q in range(count):
            lines.append(
                f"  - slug: faq-{t}-{q}\n    order: {q}\n"
                f'    question: "{_title(frng, 7)}?"\n'
                f'    answer: "{_paragraph(frng, 4)}"\n'
                f'    short_answer: "{_sentence(frng)}"\n'
                f"    condition: {conditions[q % CONDITIONS]}\n"
            )
        (out / "faqs" / f"topic-{t:03d}.yaml").write_text("".join(lines), encoding="utf-8")
    return out
