"""Retry defaults live in RetryPolicy; the shipped luigi.cfg states the same numbers, and every knob
of the policy can be set from luigi.cfg."""

from __future__ import annotations

import configparser
import dataclasses

from planexe_pipeline.defaults import PACKAGED_CONFIG
from planexe_pipeline.llm.executor import RetryPolicy
from planexe_pipeline.settings import retry_policy

FIELDS = [field.name for field in dataclasses.fields(RetryPolicy)]


def test_the_shipped_retry_section_states_every_code_default():
    shipped = configparser.ConfigParser()
    shipped.read(PACKAGED_CONFIG)
    assert sorted(shipped.options("retry_policy")) == sorted(FIELDS)
    defaults = RetryPolicy()
    for name in FIELDS:
        assert type(getattr(defaults, name))(shipped.get("retry_policy", name)) == getattr(defaults, name), name


def test_every_knob_of_the_policy_is_a_luigi_setting_that_defaults_to_it():
    assert [name for name in FIELDS if getattr(retry_policy, name, None) is None] == []
    for name in FIELDS:
        assert getattr(retry_policy, name)._default == getattr(RetryPolicy(), name), name


def test_each_setting_reaches_its_own_field_of_the_policy():
    """policy() passes the settings by position: a swapped pair would pass the tests above."""
    values = {name: index + 2 for index, name in enumerate(FIELDS)}  # distinct, valid for every field
    assert dataclasses.asdict(retry_policy(**values).policy()) == values
