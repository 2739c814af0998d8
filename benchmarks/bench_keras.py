"""Training-step benchmarks, fastgrad.keras side by side with PyTorch (CPU).

    pytest benchmarks/bench_keras.py --benchmark-autosave

Two steps, each forward + loss + gradient + SGD update:

- seed004: the seed-004 custom loop, Dense(128, relu) -> Dense(1) on 8
  features, batch 32, mean squared error;
- mlp512: 64 features, two hidden Dense(512, relu) layers, Dense(1),
  batch 256.

The PyTorch twins are skipped when torch is not importable. The last test
prints µs per step for each and the fastgrad / torch ratio.
"""
import numpy as np
import pytest

import fastgrad as tf
from fastgrad import keras

CASES = {
    "seed004": dict(features=8, hidden=(128,), batch=32),
    "mlp512": dict(features=64, hidden=(512, 512), batch=256),
}
# ":relu" on the seed's output layer, as the tutorial has it
OUTPUT_ACTIVATION = {"seed004": "relu", "mlp512": None}

_medians = {}  # (case, framework) -> median seconds per step


def _data(case):
    cfg = CASES[case]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(cfg["batch"], cfg["features"])).astype(np.float32)
    y = rng.normal(size=(cfg["batch"],)).astype(np.float32)
    return x, y


def _record(benchmark, case, framework):
    stats = getattr(benchmark, "stats", None)
    if stats is not None:
        _medians[(case, framework)] = stats.stats.median


def fastgrad_step(case):
    cfg = CASES[case]
    tf.random.set_seed(0)
    model = keras.models.Sequential()
    for i, units in enumerate(cfg["hidden"]):
        kwargs = {"input_shape": (cfg["features"],)} if i == 0 else {}
        model.add(keras.layers.Dense(units, activation="relu", **kwargs))
    model.add(keras.layers.Dense(1, activation=OUTPUT_ACTIVATION[case]))
    optimizer = keras.optimizers.SGD(learning_rate=0.001)
    x, y = _data(case)
    x, y = tf.constant(x), tf.constant(y)
    variables = model.trainable_variables

    def step():
        with tf.GradientTape() as tape:
            y_hat = model(x)
            loss = tf.reduce_mean(keras.losses.mean_squared_error(y, y_hat))
        grads = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(grads, variables))
    return step


def torch_step(case):
    torch = pytest.importorskip("torch")
    cfg = CASES[case]
    torch.manual_seed(0)
    layers, width = [], cfg["features"]
    for units in cfg["hidden"]:
        layers += [torch.nn.Linear(width, units), torch.nn.ReLU()]
        width = units
    layers.append(torch.nn.Linear(width, 1))
    if OUTPUT_ACTIVATION[case] == "relu":
        layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.001)
    x, y = (torch.from_numpy(a) for a in _data(case))
    y = y[:, None]

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = torch.mean((model(x) - y) ** 2)
        loss.backward()
        optimizer.step()
    return step


@pytest.mark.parametrize("case", sorted(CASES))
def test_fastgrad_training_step(benchmark, case):
    step = fastgrad_step(case)
    for _ in range(5):
        step()
    benchmark(step)
    _record(benchmark, case, "fastgrad")


@pytest.mark.parametrize("case", sorted(CASES))
def test_torch_training_step(benchmark, case):
    step = torch_step(case)
    for _ in range(5):
        step()
    benchmark(step)
    _record(benchmark, case, "torch")


def test_print_ratios(capsys):
    """Runs last: µs per step and fastgrad/torch ratios."""
    lines = ["", "training step, µs (median)   fastgrad      torch   fastgrad/torch"]
    for case in sorted(CASES):
        fg = _medians.get((case, "fastgrad"))
        th = _medians.get((case, "torch"))
        fg_s = f"{fg * 1e6:10.1f}" if fg else f"{'-':>10}"
        th_s = f"{th * 1e6:10.1f}" if th else f"{'-':>10}"
        ratio = f"{fg / th:10.2f}" if fg and th else f"{'-':>10}"
        lines.append(f"{case:28s} {fg_s} {th_s} {ratio}")
    with capsys.disabled():
        print("\n".join(lines))
