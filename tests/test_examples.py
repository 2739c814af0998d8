"""Every script in examples/ runs to completion with ``import fastgrad as
tf`` and prints the numbers the seed tutorials print; so does the tour,
``python -m fastgrad``."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import fastgrad
from _fgutil import fastgrad_only

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
# The scripts import the fastgrad these tests import: the checkout's in-place
# build, or an installed wheel (tests run from an sdist or by cibuildwheel,
# whose checkout holds the uncompiled sources). `python -m` puts the working
# directory first on sys.path, so the runs start there too.
IMPORT_ROOT = (Path(fastgrad.__file__).resolve().parents[1]
               if fastgrad.__name__ == "fastgrad" else ROOT)


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(IMPORT_ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return env


def run(args, timeout=300):
    proc = subprocess.run([sys.executable, *args], cwd=IMPORT_ROOT, env=_env(),
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (
        f"{args} exited {proc.returncode}\nstdout:\n{proc.stdout}\n"
        f"stderr:\n{proc.stderr}")
    return proc.stdout


def run_example(name):
    return run([str(EXAMPLES / name)])


def numbers_after(label, text):
    m = re.search(re.escape(label) + r"\s*(-?[\d.]+(?:e[-+]?\d+)?)", text)
    assert m, f"{label!r} not found in:\n{text}"
    return float(m.group(1))


def test_every_example_is_tested():
    scripts = sorted(p.name for p in EXAMPLES.glob("*.py"))
    assert scripts == sorted(EXPECTED), scripts


def check_numeric_derivative(out):
    lines = out.splitlines()
    assert lines[0] == "7.999999999999119"
    assert lines[1] == "(8.999999999993236, 41.999999999994486)"
    assert lines[2] == "7.999999999999119"
    assert "8.0" in lines[3]


def check_gradient_tape(out):
    assert "(9.0, shape=(), dtype=float32)" in out
    assert ("A non-persistent GradientTape can only be used to compute one "
            "set of gradients (or jacobians)") in out
    assert "[None, None]" in out
    assert re.search(r"\[<[^>]*numpy=9\.0>, <[^>]*numpy=42\.0>\]", out)
    assert re.search(r"\[<[^>]*numpy=4\.0>, <[^>]*numpy=27\.0>\]", out)
    assert "(13.0, shape=(), dtype=float32)" in out
    assert "dz/dx = [[8.0, 8.0], [8.0, 8.0]]  dz/dy = 8.0" in out
    assert "control flow: 12.0 12.0 4.0" in out
    assert re.search(r"\[\[ ?0\.\]\s*\[ ?4\.\]\s*\[ ?8\.\]\s*\[12\.\]\]", out)


def check_persistent_nested(out):
    assert "(9.0, shape=(), dtype=float32)" in out and "(42.0, shape=()" in out
    assert "(27.0, shape=()" in out
    assert "108.0 6.0" in out
    assert "[0.0, 4.0, 32.0, 108.0] [0.0, 2.0, 4.0, 6.0]" in out
    assert re.search(r"\[\[None, <[^>]*numpy=6\.0>\], \[<[^>]*numpy=6\.0>, "
                     r"<[^>]*numpy=14\.0>\]\]", out)
    assert re.search(r"\[\[<[^>]*numpy=2\.0>, None\], \[None, None\]\]", out)
    assert "3.0 6.0" in out
    assert "[[256.0, 2048.0], [4.0, 32.0]]" in out
    assert "[[192.0, 768.0], [12.0, 48.0]]" in out
    assert "[[2048.0], [32.0]]" in out
    assert "[[0.0, 768.0], [0.0, 48.0]]" in out
    for name, value in [("g1", 0.01973224), ("g2", 0.00986612),
                        ("gg1", -0.07853862), ("ggg1", 0.31104344)]:
        # 1 - tanh(3)**2 in float32 cancels: the last 4 of the 7 digits
        # depend on how tanh(3) rounded (TF's Eigen tanh vs ours; float64
        # gives g1 = 0.019732074, between the two)
        assert numbers_after(f"\n{name}", out) == pytest.approx(value, rel=2e-4)
    assert "eager tf.gradients: RuntimeError" in out


def check_gradient_descent(out):
    values = re.findall(r"numpy=(-?[\d.]+)", out)
    assert len(values) == 4, out
    assert values[0].startswith("-0.333333") and values[1].startswith("-0.333333")
    assert float(values[2]) == pytest.approx(0.9999999, abs=2e-7)
    assert float(values[3]) == pytest.approx(0.9999999, abs=2e-7)
    assert "Variable:0" in out


def check_custom_loop(out):
    assert "(1.0, shape=(), dtype=float32)" in out
    assert "(2.5, shape=(), dtype=float32)" in out
    assert "EPOCH: 0 train_mse" in out and "EPOCH: 99 train_mse" in out
    variance = numbers_after("variance of y_val:", out)
    # the tutorial's broadcasting loss learns only the mean, as in TF 2 ...
    assert 0.8 * variance < numbers_after("tutorial loop valid mse:", out) < 1.5 * variance
    # ... labels shaped like the predictions learn
    assert numbers_after("final valid mse:", out) < 0.6 * variance


def check_digits(out):
    assert "Epoch 1/" in out and "accuracy:" in out
    assert numbers_after("test accuracy:", out) >= 0.95
    assert numbers_after("predicted classes match", out) >= 0.95


def check_gaussian_process(out):
    initial = numbers_after("initial negative log marginal likelihood:", out)
    final = numbers_after("final negative log marginal likelihood:", out)
    assert final < initial - 40  # 403 -> 355 when written
    rmse, baseline = (float(v) for v in re.search(r"test rmse: ([\d.]+) \(predicting the training mean: ([\d.]+)\)", out).groups())
    assert rmse < 0.9 * baseline  # 57.7 against 70.5 when written


def check_digits_cnn(out):
    assert "Epoch 12," in out
    assert numbers_after("test accuracy:", out) >= 0.97


def check_distributed_digits(out):
    # without mpirun: a group of one process (tests/test_distribute.py runs it on 2)
    assert "workers: 1" in out
    assert numbers_after("test accuracy:", out) >= 0.95
    assert "identical weights on every worker: True" in out


EXPECTED = {
    "01_numeric_derivative.py": check_numeric_derivative,
    "02_gradient_tape.py": check_gradient_tape,
    "03_persistent_and_nested_tapes.py": check_persistent_nested,
    "04_gradient_descent.py": check_gradient_descent,
    "05_custom_training_loop.py": check_custom_loop,
    "06_digits_classifier.py": check_digits,
    "07_gaussian_process.py": check_gaussian_process,
    "digits_cnn.py": check_digits_cnn,
    "distributed_digits.py": check_distributed_digits,
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example(name):
    EXPECTED[name](run_example(name))


def test_tour():
    out = run(["-m", "fastgrad"])
    assert "7.999999999999119" in out
    assert "Epoch 1/" in out and "val_loss:" in out
    step = numbers_after("one training step:", out)
    assert step > 0
    # what a user sees: no internal words, a unit chosen by magnitude
    assert "seed" not in out.lower()
    assert "TensorFlow tutorial examples" in main_help()
    m = re.search(r"one training step: ([\d.]+) (ns|µs|ms|s) eager, ([\d.]+) (ns|µs|ms|s) as", out)
    assert m and 1 <= float(m.group(1)) < 1000 and 1 <= float(m.group(3)) < 1000, out
    assert numbers_after("validation MSE", out) < numbers_after("variance of the target", out)


def main_help():
    return run(["-m", "fastgrad", "--help"])


@fastgrad_only
def test_tour_durations_read_in_the_unit_of_their_magnitude():
    from fastgrad.tour import _duration
    assert [_duration(t) for t in (8.5e-7, 1.23e-5, 0.0289596, 1.25)] == [
        "850 ns", "12.3 µs", "29.0 ms", "1.2 s"]


def test_tour_plot_without_or_with_matplotlib(tmp_path):
    target = tmp_path / "curves.png"
    proc = subprocess.run([sys.executable, "-m", "fastgrad", "--plot", str(target)],
                          cwd=IMPORT_ROOT, env=_env(), capture_output=True, text=True,
                          timeout=300)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert proc.returncode == 2
        assert "matplotlib" in proc.stderr and "pip install matplotlib" in proc.stderr
        assert not target.exists()
    else:
        assert proc.returncode == 0, proc.stderr
        assert target.stat().st_size > 1000
