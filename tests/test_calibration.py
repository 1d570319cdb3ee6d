"""Temperature scaling, expected calibration error and the out-of-set rule, on data whose calibration is known."""
import numpy as np
import pytest

from neuralogram.calibration import (apply_temperature, calibration_report, expected_calibration_error,
                                     fit_temperature, out_of_set, reliability)


def _multilabel(n=4000, c=20, seed=0, scale=1.0):
    """Logits whose sigmoid is the true probability of each label, then multiplied by ``scale``."""
    rng = np.random.default_rng(seed)
    z = rng.normal(-1.0, 2.0, size=(n, c))
    y = rng.random((n, c)) < 1 / (1 + np.exp(-z))
    return z * scale, y


def test_ece_small_when_calibrated_large_when_overconfident():
    z, y = _multilabel()
    p = apply_temperature(z, 1.0)
    assert expected_calibration_error(p, y) < 0.03
    assert expected_calibration_error(p, y, kind="all") < 0.01
    over = apply_temperature(z * 4, 1.0)
    assert expected_calibration_error(over, y) > 0.08


def test_ece_by_hand():
    # two clips: top tag p=0.9 right, p=0.3 wrong -> bins hold (0.9, 1) and (0.3, 0): ECE = (0.1 + 0.3) / 2
    p = np.array([[0.9, 0.1], [0.2, 0.3]])
    y = np.array([[1, 0], [1, 0]])
    assert expected_calibration_error(p, y, n_bins=15) == pytest.approx(0.2)
    r = reliability(p, y, n_bins=15)
    assert r["count"].sum() == 2 and len(r["edges"]) == 16


@pytest.mark.parametrize("scale", [0.5, 3.0])
def test_fit_temperature_recovers_the_scale(scale):
    z, y = _multilabel(scale=scale, seed=1)
    assert fit_temperature(z, y) == pytest.approx(scale, rel=0.1)


def test_temperature_keeps_the_ranking_and_report_improves_ece():
    z, y = _multilabel(scale=3.0, seed=2)
    p1, p3 = apply_temperature(z, 1.0), apply_temperature(z, 3.0)
    assert np.array_equal(np.argsort(p1, axis=1), np.argsort(p3, axis=1))
    rep = calibration_report(z, y)
    assert rep["temperature"] == pytest.approx(3.0, rel=0.1)
    assert rep["ece_after"] < 0.03 < rep["ece_before"]
    assert rep["ece_after_2fold"] < 0.04
    assert rep["nll_after"] < rep["nll_before"]


def test_top_objective_calibrates_the_top_tag():
    z, y = _multilabel(scale=3.0, seed=4)
    T = fit_temperature(z, y, objective="top")
    assert T == pytest.approx(3.0, rel=0.2)
    assert expected_calibration_error(apply_temperature(z, T), y) < 0.03
    with pytest.raises(ValueError):
        fit_temperature(z, y, objective="best")


def test_softmax_temperature():
    z = np.array([[2.0, 0.0, -1.0]])
    p = apply_temperature(z, 2.0, loss="mse")
    assert p.sum() == pytest.approx(1.0)
    assert p[0, 0] == pytest.approx(np.exp(1) / (np.exp(1) + 1 + np.exp(-0.5)))


def test_out_of_set_rule():
    assert out_of_set(np.array([0.1, 0.4, 0.2])) is True
    assert out_of_set(np.array([0.1, 0.6])) is False
    assert out_of_set(np.array([0.1, 0.6]), threshold=0.7) is True
    np.testing.assert_array_equal(out_of_set(np.array([[0.1, 0.2], [0.9, 0.0]])), [True, False])
    with pytest.raises(ValueError):
        out_of_set(np.array([0.5]), threshold=1.5)
    with pytest.raises(ValueError):
        out_of_set(np.array([np.nan, 0.1]))


def test_bad_input():
    with pytest.raises(ValueError):
        expected_calibration_error(np.array([[1.2]]), np.array([[1]]))
    with pytest.raises(ValueError):
        expected_calibration_error(np.ones((2, 2)) * 0.5, np.ones((2, 3)))
    with pytest.raises(ValueError):
        apply_temperature(np.zeros((1, 2)), 0.0)
    with pytest.raises(ValueError):
        fit_temperature(np.full((2, 2), np.inf), np.ones((2, 2)))
