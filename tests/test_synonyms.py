"""content/synonyms.yaml is content: `check` reports its problems as path: field: reason."""

from __future__ import annotations

from pathlib import Path

from api.build import check


def errors_with(content: Path, synonyms: str) -> list[str]:
    (content / "synonyms.yaml").write_text(synonyms, encoding="utf-8")
    return [str(e) for e in check(content).errors]


def test_clinic_synonyms_check_clean(content_copy: Path) -> None:
    assert [str(e) for e in check(content_copy).errors] == []


def test_a_term_in_two_groups(content_copy: Path) -> None:
    errors = errors_with(
        content_copy,
        "groups:\n  - terms: [CRPS, RSD]\n  - terms: [rsd, causalgia]\n",
    )
    assert errors == [
        "synonyms.yaml: groups[1].terms[0]: 'rsd' is already at groups[0].terms[1]"
        " (case and accents do not count); a term belongs to one group"
    ]


def test_accents_do_not_make_another_term(content_copy: Path) -> None:
    errors = errors_with(content_copy, "groups:\n  - terms: [inyección, inyeccion]\n")
    assert errors == [
        "synonyms.yaml: groups[0].terms[1]: 'inyeccion' is already at groups[0].terms[0]"
        " (case and accents do not count); a term belongs to one group"
    ]


def test_terms_need_words(content_copy: Path) -> None:
    errors = errors_with(content_copy, 'groups:\n  - terms: [ketamine, "***"]\n')
    assert errors == ["synonyms.yaml: groups[0].terms[1]: has no letters or digits"]


def test_shape_errors(content_copy: Path) -> None:
    assert errors_with(content_copy, "groups:\n  - terms: [alone]\n") == [
        "synonyms.yaml: groups[0].terms: Expected array of length >= 2"
    ]
    assert errors_with(content_copy, "groups:\n  - terms: [a1, b2]\n    notes: x\n") == [
        "synonyms.yaml: groups[0].notes: unknown field (check the spelling)"
    ]
    assert errors_with(content_copy, "grups: []\n") == [
        "synonyms.yaml: groups: required field is missing",
        "synonyms.yaml: grups: unknown field (check the spelling)",
    ]


def test_synonyms_file_is_optional(content_copy: Path) -> None:
    (content_copy / "synonyms.yaml").unlink()
    assert [str(e) for e in check(content_copy).errors] == []
