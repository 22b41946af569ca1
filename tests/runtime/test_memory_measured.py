"""The memory estimate against one real training step of every template on the CPU, within 25 %.

runtime.train.step_memory runs the trainer's own step twice under torch's profiler
(profile_memory=True) and reads the allocator's running total; graph_builder.memory estimates
the same step from the graph alone.
"""

from pathlib import Path

import pytest

from graph_builder.memory import estimate_project
from graph_builder.project import load_project
from runtime.train import measure_step

TEMPLATES = sorted((Path(__file__).parents[2] / "resources" / "templates").glob("*.json"))
# A packed recurrent layer (output last_unpadded, the sentiment template) keeps only the real steps of each
# text; the estimate counts every padded step, about 2.5x the measured peak. Known, not yet modelled: the
# mark is strict, so this test fails once the estimate learns packing and the mark must go.
PACKED = pytest.mark.xfail(strict=True, reason="the estimate does not model packed sequences yet")


@pytest.mark.parametrize("path", [pytest.param(p, marks=PACKED) if p.stem == "sentiment_lstm" else p
                                  for p in TEMPLATES], ids=[p.stem for p in TEMPLATES])
def test_the_estimate_is_within_a_quarter_of_the_measured_step_peak(path):
    project = load_project(path)
    measured = measure_step(project, project_path=path)
    estimate = estimate_project(project)
    assert estimate.params == measured.params and estimate.grads == measured.grads
    assert abs(estimate.state - measured.state) <= 16 * len(estimate.rows)  # Adam's step counters
    assert 0.75 * measured.peak <= estimate.peak <= 1.25 * measured.peak, (estimate.peak, measured.peak)


def test_a_larger_batch_measures_and_estimates_more():
    path = next(p for p in TEMPLATES if p.stem == "lenet_digits")
    project = load_project(path)
    small, large = measure_step(project, 16, project_path=path), measure_step(project, 64, project_path=path)
    assert large.peak > 2 * (small.peak - small.resident)
    assert 0.75 * large.peak <= estimate_project(project, 64).peak <= 1.25 * large.peak
