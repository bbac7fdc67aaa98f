"""Calibration (tfc.calibrate): statistics collected through the interpreter, and the three
range methods against values computed by hand on small tensors and histograms."""

import io
import math

import numpy as np
import pytest

from tfc import calibrate as cal
from tfc.ir import FunctionBuilder, TensorType, dtypes as dt
from tfc.model import calibration_samples, load_model


def relu_function(batch=2, n=3):
    """main(x) -> relu(x) * 2, with the relu result observable."""
    fb = FunctionBuilder("main", [TensorType((batch, n), dt.float32)], ["x"])
    r = fb.op("nn.relu", fb.args[0])
    y = fb.op("math.mul", r, fb.constant(np.float32(2)))
    return fb.ret([y]), r


# minmax ---------------------------------------------------------------------------------------
def test_minmax_statistics_by_hand():
    function, r = relu_function()
    x = function.args[0]
    samples = [{"x": np.array([[-4.0, 1.0, 2.0], [0.5, -1.0, 3.0]], np.float32)},
               {"x": np.array([[1.0, 2.5, -0.5], [0.0, 0.0, 0.25]], np.float32)}]
    stats = cal.collect(function, samples, [x, r], method="minmax", progress=False)
    assert (stats[x].min, stats[x].max, stats[x].amax, stats[x].count) == (-4.0, 3.0, 4.0, 12)
    assert (stats[r].min, stats[r].max, stats[r].amax) == (0.0, 3.0, 3.0)
    assert stats[x].threshold("minmax") == 4.0
    assert stats[x].hist is None
    with pytest.raises(cal.CalibrationError, match="needs a histogram"):
        stats[x].threshold("percentile")


def test_nonfinite_values_are_counted_not_used():
    s = cal.TensorStats(bins=4)
    s.add_range(np.array([1.0, np.nan, -np.inf, -2.0]))
    assert (s.amax, s.min, s.max, s.nonfinite, s.count) == (2.0, -2.0, 1.0, 2, 2)


# percentile -----------------------------------------------------------------------------------
def test_percentile_bin_by_hand():
    hist = np.array([50, 30, 15, 4, 1])          # 100 values
    # cumulative 50, 80, 95, 99, 100
    assert cal.percentile_bin(hist, 50) == 1
    assert cal.percentile_bin(hist, 80) == 2
    assert cal.percentile_bin(hist, 90) == 3
    assert cal.percentile_bin(hist, 99) == 4
    assert cal.percentile_bin(hist, 99.5) == 5
    assert cal.percentile_bin(hist, 100) == 5
    with pytest.raises(cal.CalibrationError):
        cal.percentile_bin(hist, 0)


def test_percentile_threshold_through_collect():
    # |x| = 0.5, 1.5, ..., 9.5 (one value per bin of 10 bins over [0, 10]) plus one 10.0:
    # 11 values; 50% needs 5.5 -> 6 bins -> threshold 6.0; 90% needs 9.9 -> 10 bins -> 10.0.
    values = np.concatenate([np.arange(10) + 0.5, [10.0]]).astype(np.float32)
    values[::2] *= -1
    fb = FunctionBuilder("main", [TensorType((11,), dt.float32)], ["x"])
    function = fb.ret([fb.args[0]])
    x = function.args[0]
    stats = cal.collect(function, [{"x": values}], [x], method="percentile", bins=10, progress=False)[x]
    assert stats.hist_max == 10.0
    np.testing.assert_array_equal(stats.hist, [1, 1, 1, 1, 1, 1, 1, 1, 1, 2])
    assert stats.threshold("percentile", percentile=50) == pytest.approx(6.0)
    assert stats.threshold("percentile", percentile=90) == pytest.approx(10.0)
    assert stats.threshold("percentile", percentile=45) == pytest.approx(5.0)   # 4.95 -> 5 bins


# entropy --------------------------------------------------------------------------------------
def test_quantized_distribution_by_hand():
    # 4 bins into 2 levels: groups {0, 1} and {2, 3}; group sums 4 and 6 spread over the
    # non-empty bins: [2, 2] and [6 (bin 2 only), 0].
    np.testing.assert_allclose(cal.quantized_distribution(np.array([1.0, 3.0, 6.0, 0.0]), 2), [2, 2, 6, 0])
    # 3 bins into 2 levels: bin j in group j * 2 // 3 -> 0, 0, 1
    np.testing.assert_allclose(cal.quantized_distribution(np.array([2.0, 4.0, 5.0]), 2), [3, 3, 5])


def test_kl_divergence_by_hand():
    p = np.array([1.0, 3.0])
    q = np.array([2.0, 2.0])
    expected = 0.25 * math.log(0.25 / 0.5) + 0.75 * math.log(0.75 / 0.5)
    assert cal.kl_divergence(p, q) == pytest.approx(expected)
    assert cal.kl_divergence(np.array([1.0, 1.0]), np.array([1.0, 0.0])) == math.inf


def test_entropy_divergences_by_hand():
    # hist (after bin 0 := bin 1) = [4, 4, 2, 1, 1]; levels 2; candidates i = 2..5.
    hist = np.array([9, 4, 2, 1, 1])
    cands, kl = cal.entropy_divergences(hist, 2)
    assert list(cands) == [2, 3, 4, 5]
    h = np.array([4.0, 4, 2, 1, 1])

    def by_hand(i):
        p = h[:i].copy()
        p[-1] += h[i:].sum()
        groups = [j * 2 // i for j in range(i)]
        q = np.array([sum(h[k] for k in range(i) if groups[k] == groups[j]) /
                      sum(1 for k in range(i) if groups[k] == groups[j] and p[k] > 0) for j in range(i)])
        p, q = p / p.sum(), q / q.sum()      # no empty bins here: smoothing changes nothing
        return float(np.sum(p * np.log(p / q)))

    # i = 2: P = [4, 8], Q = [4, 4] (each bin its own level) -> normalized [1/3, 2/3] vs [1/2, 1/2]
    assert kl[0] == pytest.approx((1 / 3) * math.log(2 / 3) + (2 / 3) * math.log(4 / 3))
    for k, i in enumerate(cands):
        assert kl[k] == pytest.approx(by_hand(i))
    best = cands[np.argmin(kl)]
    assert cal.entropy_bin(hist, 2) == best


def test_smoothing_by_hand():
    # two empty bins get 1e-4 each, taken evenly from the two others (1e-4 each)
    np.testing.assert_allclose(cal.smooth(np.array([3.0, 0.0, 1.0, 0.0])), [3 - 1e-4, 1e-4, 1 - 1e-4, 1e-4])
    np.testing.assert_array_equal(cal.smooth(np.array([2.0, 5.0])), [2.0, 5.0])


def test_entropy_clipped_tail_in_an_empty_bin_stays_finite():
    # P's last bin holds the clipped outlier where the histogram is empty: Q is spread there too
    hist = np.array([5.0, 5, 5, 0, 0, 0, 0, 1])
    cands, kl = cal.entropy_divergences(hist, 2)
    assert np.all(np.isfinite(kl))
    q = cal.quantized_distribution(hist[:4], 2, mask=np.array([1, 1, 1, 1], bool))
    np.testing.assert_allclose(q, [5, 5, 2.5, 2.5])     # group {2, 3}: 5 counts over 2 bins


def test_entropy_clips_an_outlier():
    # |N(0, 1)| samples plus one outlier at 40: minmax keeps 40 (step 40/127 leaves the body
    # ~12 levels); entropy clips near 4.6 sigma, where P and its 128-level version agree best.
    rng = np.random.default_rng(0)
    x = np.append(rng.standard_normal(200_000), 40.0)
    s = cal.TensorStats()
    s.add_range(x)
    s.start_histogram()
    s.add_histogram(x)
    assert s.threshold("minmax") == 40.0
    assert 3.5 < s.threshold("entropy") < 6.0
    assert s.threshold("percentile", percentile=99.99) == pytest.approx(
        np.quantile(np.abs(x), 0.9999), abs=40 / 2048)


def test_entropy_with_more_levels_than_bins_is_the_max():
    s = cal.TensorStats(bins=16)
    s.add_range(np.linspace(-3, 5, 100))
    s.start_histogram()
    s.add_histogram(np.linspace(-3, 5, 100))
    assert s.threshold("entropy", levels=32768) == pytest.approx(5.0)
    assert s.threshold("entropy", levels=4) <= 5.0


def test_all_zero_tensor_has_zero_range():
    s = cal.TensorStats(bins=8)
    s.add_range(np.zeros(5))
    s.start_histogram()
    s.add_histogram(np.zeros(5))
    assert s.threshold("entropy") == 0.0 and s.threshold("percentile") == 0.0


# samples --------------------------------------------------------------------------------------
def test_rebatch_cuts_samples_to_the_model_batch():
    function, _ = relu_function(batch=2)
    samples = [{"x": np.arange(15, dtype=np.float32).reshape(5, 3)}]
    batches = cal.rebatch(function, samples)
    assert len(batches) == 2                                    # 5 rows -> 2 batches of 2, 1 dropped
    np.testing.assert_array_equal(batches[1][0], np.arange(6, 12).reshape(2, 3))
    with pytest.raises(cal.CalibrationError, match="no value for input"):
        cal.rebatch(function, [{"y": np.zeros((2, 3))}])
    with pytest.raises(cal.CalibrationError, match="the other dimensions must match"):
        cal.rebatch(function, [{"x": np.zeros((2, 4))}])
    with pytest.raises(cal.CalibrationError, match="at least one sample"):
        cal.rebatch(function, [])


def test_unknown_method_is_an_error():
    function, _ = relu_function()
    with pytest.raises(cal.CalibrationError, match="unknown calibration method"):
        cal.collect(function, [{"x": np.zeros((2, 3), np.float32)}], [], method="kl")


def test_progress_line_without_tqdm():
    out = io.StringIO()
    bar = cal.Progress(3, "calibrating", delay=0.0, stream=out)
    bar._tqdm = None
    for _ in range(3):
        bar.update()
    bar.close()
    assert "calibrating: 3/3" in out.getvalue() and out.getvalue().endswith("\n")
    quiet = io.StringIO()
    bar = cal.Progress(3, "x", delay=100.0, stream=quiet)
    bar.update()
    bar.close()
    assert quiet.getvalue() == ""


def test_calibration_samples_synthetic_and_from_the_model_file(tmp_path):
    loaded = load_model("models/mlp.py")
    a = calibration_samples(loaded, 3, 4, seed=5)
    b = calibration_samples(loaded, 3, 4, seed=5)
    assert len(a) == 3 and a[0]["x"].shape == (4, 784) and a[0]["x"].dtype == np.float32
    np.testing.assert_array_equal(a[2]["x"], b[2]["x"])
    assert not np.array_equal(a[0]["x"], calibration_samples(loaded, 1, 4, seed=6)[0]["x"])
    path = tmp_path / "m.py"
    path.write_text("import numpy as np\nimport tfc as tf\n"
                    "x = tf.placeholder(tf.float32, [None, 2], name='x')\n"
                    "inputs = {'x': x}\noutputs = {'y': x * 2.0}\n"
                    "def calibration_data():\n    return {'x': np.arange(20.0).reshape(10, 2)}\n")
    got = calibration_samples(load_model(str(path)), 2, 4)
    assert len(got) == 2
    np.testing.assert_array_equal(got[1]["x"], np.arange(8.0, 16.0).reshape(4, 2))
