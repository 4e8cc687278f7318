"""Provider prompt caches: the simulated cache (llm/sim_provider.PrefixCache) serves a prefix of
whole blocks it has seen, from 4,096 characters on; the total it serves does not depend on the
order calls arrive in; and the plan's prompts are laid out for it: the items of one fan-out share
their instructions and the plan before their own part."""

from __future__ import annotations

import itertools
import json
import os
from collections import defaultdict

import pytest
from support.plan_runs import cli_env, start_run

from planexe_pipeline.llm.sim_provider import PrefixCache, provider_prompt
from planexe_pipeline.telemetry.event_log import read_events

SHARED = "instructions and the plan. " * 200  # 5,400 characters
BLOCK = PrefixCache().block_chars


def test_a_seen_prefix_is_served_in_whole_blocks_once_it_is_long_enough():
    cache, seen = PrefixCache(), set()
    assert cache.serve(seen, SHARED + "item one") == 0  # nothing seen yet
    served = cache.serve(seen, SHARED + "item two")
    assert served == len(SHARED) // BLOCK * BLOCK and served >= cache.min_chars
    # Shorter than the cache's minimum: nothing is served, however much was seen.
    assert cache.serve(seen, SHARED[:3000] + "other") == 0


def test_the_schema_leads_the_prompt_so_another_schema_shares_nothing():
    cache, seen = PrefixCache(), set()
    messages = [SHARED, "the item"]
    first = provider_prompt({"format": {"type": "object", "title": "A"}}, messages)
    other = provider_prompt({"format": {"type": "object", "title": "B"}}, messages)
    cache.serve(seen, first)
    assert cache.serve(seen, other) == 0
    assert cache.serve(seen, first) >= cache.min_chars


def test_the_total_served_is_the_same_whatever_order_the_calls_arrive_in():
    prompts = [SHARED + "a" * 600 + "x", SHARED + "a" * 600 + "y", SHARED + "b" * 900, "c" * 5000, "c" * 5000 + "d"]
    totals = set()
    for order in itertools.permutations(prompts):
        seen: set[str] = set()
        totals.add(sum(PrefixCache().serve(seen, prompt) for prompt in order))
    assert len(totals) == 1 and totals.pop() > 0


@pytest.mark.slow
def test_the_items_of_a_fan_out_share_their_instructions_and_the_plan(tmp_path):
    config = tmp_path / "llm_config.json"
    config.write_text(json.dumps({"models": {"sim": {"class": "Simulated", "arguments": {"time_scale": 0}}}}))
    run = start_run(tmp_path / "run", config, ["sim"], env=cli_env(OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="true"))
    assert run.wait() == 0, run.stderr[-2000:]
    prompts: dict[str, dict[int, tuple[str, str]]] = defaultdict(dict)
    for call in read_events(tmp_path / "run", "llm_call"):
        if call.ok and call.item is not None:
            prompts[call.task_family][call.item] = call.messages
    fan_outs = {family: items for family, items in prompts.items() if len(items) > 1}
    assert len(fan_outs) >= 10
    # The project plan's parts are the exception: each part's own instructions end its system prompt.
    fan_outs.pop("ProjectPlanPartItem")
    for family, items in fan_outs.items():
        system, user = items[0]
        plan = user.split("\n\n# ", 1)[0]  # the user prompt leads with the plan (stages/markdown.user_prompt)
        shared = os.path.commonprefix(["\n".join(messages) for messages in items.values()])
        assert len(shared) >= len(system) + 1 + len(plan), f"{family}: its items diverge before their own part"
        # The system prompt and the plan are all the items' own calls do not repeat.
        assert any(len(items[i][1]) > len(plan) for i in items)
