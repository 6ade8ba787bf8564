"""The benchmark harness's verdicts: a ratio is called only when the measurement's own noise allows it."""

from __future__ import annotations

from bench.harness import INCONCLUSIVE, MET, MISSED, Result, describe


def test_a_ratio_clear_of_the_noise_is_met_or_missed():
    steady = [1.00, 1.01, 1.02]  # the baseline's IQR is 1 % of its median
    assert Result("fast", 0.90, 1.01, "base", target=1.05, baseline_runs=steady).verdict == MET
    assert Result("slow", 1.20, 1.01, "base", target=1.05, baseline_runs=steady).verdict == MISSED


def test_a_ratio_inside_the_baselines_spread_is_inconclusive():
    noisy = [0.80, 1.00, 1.20]  # IQR 20 % of the median: a 3 % margin to the target means nothing
    result = Result("agent", 1.02, 1.00, "without", target=1.05, baseline_runs=noisy)
    assert result.verdict == INCONCLUSIVE
    assert "inconclusive" in describe(result) and "IQR 900.00-1100.00, n=3" in describe(result)


def test_a_fixed_target_is_judged_by_the_subjects_own_spread():
    assert Result("p95", 0.24, 0.25, "target", target=1.0, subject_runs=[0.20, 0.24, 0.28]).verdict == INCONCLUSIVE
    assert Result("p95", 0.10, 0.25, "target", target=1.0, subject_runs=[0.09, 0.10, 0.11]).verdict == MET
    assert Result("api", 2.0, 1.0, "bare view").verdict == ""  # no target: a ratio, no verdict
