"""The shared set-up in conftest.py: the profile CI runs with, and the conformance folder."""

from __future__ import annotations

import pytest
from conftest import ACME, NO_ACME, _profile
from hypothesis import settings


@pytest.mark.parametrize("env, profile", [
    ({}, "dev"),
    ({"CI": "true"}, "ci"),
    ({"CI": "false"}, "dev"),
    ({"CI": "true", "HYPOTHESIS_PROFILE": "dev"}, "dev"),
    ({"HYPOTHESIS_PROFILE": "ci"}, "ci"),
])
def test_the_environment_picks_the_profile(monkeypatch, env, profile):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("HYPOTHESIS_PROFILE", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert _profile() == profile


def test_the_ci_profile_is_reproducible_and_draws_more():
    ci, dev = settings.get_profile("ci"), settings.get_profile("dev")
    assert ci.derandomize and ci.database is None and ci.deadline is None
    assert ci.max_examples > dev.max_examples
    assert not dev.derandomize


def test_the_skip_message_names_the_folder():
    assert str(ACME) in NO_ACME and "FUNNEL_CONFORMANCE" in NO_ACME
