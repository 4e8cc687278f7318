"""Retry defaults live in RetryPolicy; the shipped luigi.cfg states the same numbers."""

from __future__ import annotations

import configparser
import dataclasses

from planexe_pipeline.defaults import PACKAGED_CONFIG
from planexe_pipeline.llm.executor import RetryPolicy
from planexe_pipeline.settings import retry_policy


def test_the_shipped_retry_section_states_the_code_defaults():
    shipped = configparser.ConfigParser()
    shipped.read(PACKAGED_CONFIG)
    defaults = RetryPolicy()
    for field in dataclasses.fields(RetryPolicy):
        if shipped.has_option("retry_policy", field.name):
            assert type(getattr(defaults, field.name))(shipped.get("retry_policy", field.name)) \
                == getattr(defaults, field.name), field.name


def test_the_luigi_settings_default_to_the_policy_defaults():
    for field in dataclasses.fields(RetryPolicy):
        param = getattr(retry_policy, field.name, None)
        if param is not None:
            assert param._default == getattr(RetryPolicy(), field.name), field.name
