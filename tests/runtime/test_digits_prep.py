"""The drawing pad's preparation (runtime.data.digits_prep): a drawing made into a digits sample."""

import numpy as np

from runtime.data.digits_prep import area_resize, digit_bitmap, prepare_drawing


def stroke_pad(side: int = 160) -> np.ndarray:
    """A vertical bar drawn small in the top-left corner of an empty pad."""
    pad = np.zeros((side, side), np.float32)
    pad[10:50, 20:30] = 1.0
    return pad


def test_area_resize_keeps_the_mean_and_averages_blocks():
    a = np.arange(16, dtype=float).reshape(4, 4)
    assert np.allclose(area_resize(a, 2, 2), [[2.5, 4.5], [10.5, 12.5]])
    assert np.isclose(area_resize(a, 3, 7).mean(), a.mean())


def test_a_small_off_centre_drawing_is_fitted_to_the_box_and_centred_by_mass():
    bitmap = digit_bitmap(stroke_pad())
    rows, cols = np.nonzero(bitmap > 0.5)
    assert rows.min() == 0 and rows.max() == 31  # the tall side fills the 32x32 box
    assert abs(cols.mean() - 15.5) <= 1 and abs(rows.mean() - 15.5) <= 1


def test_the_sample_is_8x8_block_averages_in_0_to_16():
    sample = prepare_drawing(stroke_pad())
    assert sample.shape == (1, 8, 8) and sample.dtype == np.float32
    assert sample.min() >= 0 and sample.max() == 16.0
    assert np.allclose(sample[0].sum(axis=1), sample[0].sum(axis=1)[0])  # a bar: the same ink in every row


def test_an_empty_pad_is_an_empty_digit():
    assert not prepare_drawing(np.zeros((160, 160))).any()
