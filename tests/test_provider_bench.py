"""bench --provider-limit / --provider-rpm: what it reports (the runs themselves are the bench's)."""

from __future__ import annotations

import pytest

from planexe_pipeline.cli import main
from planexe_pipeline.bench.provider import ProviderRun, _summary, format_provider_bench


def test_summary_compares_each_variant_with_the_slots_n_run_of_its_round():
    runs = [ProviderRun("slots=N", 4, True, 10.0, 100, 0, 0, "a"),
            ProviderRun("slots=4N", 16, False, None, 60, 55, 16, "b"),
            ProviderRun("slots=4N adaptive", 16, True, 11.0, 100, 4, 5, "c")]
    summary = _summary(runs)
    assert summary["slots=4N adaptive"] == {"completed": "1/1", "makespan_over_slots_n": 1.1,
                                            "answered_429_share": 0.04}
    assert summary["slots=4N"]["completed"] == "0/1" and summary["slots=4N"]["makespan_over_slots_n"] is None
    text = format_provider_bench({"provider_limit": 4, "time_scale": 0.02, "requests_per_minute": 0, "minute_s": 60,
                                  "rate_bound_s": None, "runs": [r.__dict__ for r in runs], "summary": summary,
                                  "out_dir": "/tmp/x"})
    assert "provider admitting 4 in flight" in text and "NO" in text and "1.1" in text


def test_bad_rates_are_refused_in_one_line(capsys):
    assert main(["bench", "--provider-rpm", "0"]) == 2
    assert "--provider-rpm" in capsys.readouterr().err


@pytest.mark.parametrize("argv, named", [
    (["--provider-limit", "4", "--workers-list", "1,8"], "--workers-list has no effect with --provider-limit"),
    (["--provider-rpm", "30", "--repeat", "3", "--latency-model", "tokens"],
     "--latency-model, --repeat have no effect with --provider-rpm"),
])
def test_a_flag_the_provider_benchmarks_do_not_use_is_refused_not_ignored(argv, named, capsys):
    assert main(["bench", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and named in err
