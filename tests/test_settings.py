from __future__ import annotations

import pytest

from api.events.outbox import DEFAULT_SCHEDULE
from api.settings import RateLimit, Settings


def test_cache_settings_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "CLINIC_CACHE_MAX_AGE": "30",
            "CLINIC_CACHE_STALE_WHILE_REVALIDATE": "0",
            "CLINIC_CACHE_STALE_IF_ERROR": "600",
            "CLINIC_CACHE_MAX_BYTES": "1048576",
        }
    )
    assert settings.cache_max_age == 30
    assert settings.cache_stale_while_revalidate == 0
    assert settings.cache_stale_if_error == 600
    assert settings.cache_max_bytes == 1048576
    assert Settings.from_env({}).cache_max_age == 60


@pytest.mark.parametrize("value", ["soon", "-1", "1.5"])
def test_a_bad_cache_setting_names_the_variable(value: str) -> None:
    with pytest.raises(ValueError, match="CLINIC_CACHE_MAX_AGE"):
        Settings.from_env({"CLINIC_CACHE_MAX_AGE": value})


def test_unset_variables_give_the_dataclass_defaults() -> None:
    """Both come from one declaration per variable (api/settings.py), so they cannot drift."""
    assert Settings.from_env({}) == Settings()
    assert Settings().rate_limit_address == RateLimit(600, 60)
    assert Settings().webhook_retry_schedule == DEFAULT_SCHEDULE


def test_a_blank_value_means_the_default_only_where_it_always_did() -> None:
    blank = Settings.from_env(
        {"CLINIC_CACHE_MAX_AGE": " ", "CLINIC_RATE_LIMIT": "", "CLINIC_SERVE_OVERDUE": ""}
    )
    assert blank.cache_max_age == 60
    assert not blank.rate_limit_address.enabled
    assert blank.serve_overdue == frozenset()
