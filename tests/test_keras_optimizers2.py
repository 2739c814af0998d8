"""Adagrad, Adadelta, Adamax, Nadam, AdamW, Ftrl (fused C updates),
gradient clipping (clipnorm, clipvalue, global_clipnorm), weight decay,
learning-rate schedules and the LearningRateScheduler callback.

Expected values were probed from tf_keras 2.21 (TF_USE_LEGACY_KERAS=1):
fastgrad's float32 trajectories equal them bit for bit. The tests run
against it with FASTGRAD_TEST_BACKEND=tensorflow. Replays inside
fastgrad.function are checked bitwise against the eager steps.
"""
import warnings

import numpy as np
import pytest

import fastgrad as tf
from _fgutil import fastgrad_only

keras = tf.keras
O = keras.optimizers
S = keras.optimizers.schedules

OPTIMIZERS = {
    "adagrad": lambda: O.Adagrad(0.1),
    "adadelta": lambda: O.Adadelta(1.0),
    "adamax": lambda: O.Adamax(0.05),
    "nadam": lambda: O.Nadam(0.05),
    "adamw": lambda: O.AdamW(0.05, weight_decay=0.1),
    "ftrl": lambda: O.Ftrl(0.1, l1_regularization_strength=0.01, l2_regularization_strength=0.02,
                           l2_shrinkage_regularization_strength=0.01, beta=0.1),
    "sgd_clipnorm": lambda: O.SGD(0.1, clipnorm=0.5),
    "sgd_clipvalue": lambda: O.SGD(0.1, clipvalue=0.2),
    "sgd_global": lambda: O.SGD(0.1, global_clipnorm=0.5),
    "sgd_wd": lambda: O.SGD(0.1, weight_decay=0.05),
}

EXPECTED = {
    "adagrad": ([0.2841978073120117, -0.566973090171814, 1.5466077327728271],
                [0.06262514740228653]),
    "adadelta": ([0.4937761723995209, -0.98752760887146, 1.9866669178009033],
                 [0.29283666610717773]),
    "adamax": ([0.5062887072563171, -0.8317659497261047, 1.8447632789611816],
               [0.09219969063997269]),
    "nadam": ([0.3805629312992096, -0.7468544840812683, 1.7396206855773926],
              [0.12539702653884888]),
    "adamw": ([0.45203179121017456, -0.745418131351471, 1.7322388887405396],
              [0.0551878847181797]),
    "ftrl": ([0.22327107191085815, -0.4709685444831848, 1.1573158502578735],
             [0.03944932296872139]),
    "sgd_clipnorm": ([0.4924739897251129, -0.8358528017997742, 1.82080078125],
                     [0.05000000819563866]),
    "sgd_clipvalue": ([0.4439999759197235, -0.9000000953674316, 1.9000000953674316],
                      [0.20000000298023224]),
    "sgd_global": ([0.49182644486427307, -0.8389769792556763, 1.8226298093795776],
                   [0.2723293900489807]),
    "sgd_wd": ([-0.5772596597671509, 1.0758439302444458, -2.2303626537323],
               [0.002884739078581333]),
}


def _run(opt, steps=5, traced=False):
    w = tf.Variable(np.array([0.5, -1.0, 2.0], "float32"))
    b = tf.Variable(np.array([0.3], "float32"))

    def step(t):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(w * t - 1.0)) + tf.reduce_sum(b * b * 3.0)
        opt.apply_gradients(zip(tape.gradient(loss, [w, b]), [w, b]))

    f = tf.function(step) if traced else step
    for t in range(steps):
        f(tf.constant(np.float32(t + 1)))
    return w.numpy(), b.numpy()


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_trajectory_equals_tf_keras_bitwise(name):
    w, b = _run(OPTIMIZERS[name]())
    np.testing.assert_array_equal(w, np.float32(EXPECTED[name][0]))
    np.testing.assert_array_equal(b, np.float32(EXPECTED[name][1]))


@fastgrad_only  # replay inside fastgrad.function
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_replay_equals_eager_bitwise(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eager = _run(OPTIMIZERS[name](), steps=7)
        traced = _run(OPTIMIZERS[name](), steps=7, traced=True)
    for a, b in zip(eager, traced):
        np.testing.assert_array_equal(a, b)


@fastgrad_only
@pytest.mark.parametrize("name", ["adagrad", "adadelta", "adamax", "nadam", "adamw", "ftrl"])
def test_float64_replay_equals_eager_bitwise(name):
    def run(traced):
        w = tf.Variable(np.array([0.5, -1.0, 2.0]))
        opt = OPTIMIZERS[name]()

        def step():
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(tf.square(w - 1.0))
            opt.apply_gradients([(tape.gradient(loss, w), w)])
        f = tf.function(step) if traced else step
        for _ in range(6):
            f()
        return w.numpy()
    np.testing.assert_array_equal(run(False), run(True))


def test_clipnorm_and_global_clipnorm_are_exclusive():
    with pytest.raises(ValueError):
        O.SGD(0.1, clipnorm=1.0, global_clipnorm=1.0)


SCHEDULES = [
    (lambda: S.ExponentialDecay(0.1, 3, 0.5), "ExponentialDecay", 0),
    (lambda: S.ExponentialDecay(0.1, 3, 0.5, staircase=True), "ExponentialDecay", 1),
    (lambda: S.PiecewiseConstantDecay([2, 5], [1.0, 0.5, 0.1]), "PiecewiseConstantDecay", 0),
    (lambda: S.CosineDecay(0.1, 6), "CosineDecay", 0),
    (lambda: S.CosineDecay(0.1, 6, alpha=0.1, warmup_target=0.2, warmup_steps=2), "CosineDecay", 1),
    (lambda: S.InverseTimeDecay(0.1, 2, 0.5), "InverseTimeDecay", 0),
    (lambda: S.InverseTimeDecay(0.1, 2, 0.5, staircase=True), "InverseTimeDecay", 1),
    (lambda: S.PolynomialDecay(0.1, 4, 0.01, power=2.0), "PolynomialDecay", 0),
    (lambda: S.PolynomialDecay(0.1, 4, 0.01, cycle=True), "PolynomialDecay", 1),
]

SCHEDULE_VALUES = [
    [0.10000000149011612, 0.07937005162239075, 0.06299605220556259, 0.05000000074505806, 0.039685025811195374, 0.031498026102781296, 0.02500000037252903, 0.019842514768242836, 0.015749013051390648],
    [0.10000000149011612, 0.10000000149011612, 0.10000000149011612, 0.05000000074505806, 0.05000000074505806, 0.05000000074505806, 0.02500000037252903, 0.02500000037252903, 0.02500000037252903],
    [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.10000000149011612, 0.10000000149011612, 0.10000000149011612],
    [0.10000000149011612, 0.09330127388238907, 0.07500000298023224, 0.04999999701976776, 0.02499999664723873, 0.006698730867356062, 0.0, 0.0, 0.0],
    [0.10000000149011612, 0.15000000596046448, 0.20000000298023224, 0.1879422962665558, 0.1550000011920929, 0.10999999195337296, 0.06499999016523361, 0.032057713717222214, 0.020000001415610313],
    [0.10000000149011612, 0.07999999821186066, 0.06666667014360428, 0.05714285746216774, 0.05000000074505806, 0.04444444552063942, 0.03999999910593033, 0.036363635212183, 0.03333333507180214],
    [0.10000000149011612, 0.10000000149011612, 0.06666667014360428, 0.06666667014360428, 0.05000000074505806, 0.05000000074505806, 0.03999999910593033, 0.03999999910593033, 0.03333333507180214],
    [0.10000000149011612, 0.06062500178813934, 0.032499998807907104, 0.015625, 0.009999999776482582, 0.009999999776482582, 0.009999999776482582, 0.009999999776482582, 0.009999999776482582],
    [0.10000000149011612, 0.07750000059604645, 0.054999999701976776, 0.032499998807907104, 0.009999999776482582, 0.04375000298023224, 0.032499998807907104, 0.021250000223517418, 0.009999999776482582],
]


@pytest.mark.parametrize("i", range(len(SCHEDULES)))
def test_schedule_values_equal_tf_keras(i):
    sch = SCHEDULES[i][0]()
    got = [float(sch(tf.constant(s, tf.int64))) for s in range(9)]
    assert got == SCHEDULE_VALUES[i]


@fastgrad_only
@pytest.mark.parametrize("i", range(len(SCHEDULES)))
def test_schedule_replays_from_the_iterations_variable(i):
    """One trace serves every step: the schedule reads ``iterations`` in
    the replay, so the rates (hence the weights) match the eager run."""
    def run(traced):
        w = tf.Variable(np.array([1.0, -2.0], "float32"))
        opt = O.SGD(SCHEDULES[i][0]())

        def step():
            opt.apply_gradients([(tf.constant([1.0, 1.0]), w)])
        f = tf.function(step) if traced else step
        for _ in range(9):
            f()
        return w.numpy(), (f.experimental_get_tracing_count() if traced else 1)
    (eager, _), (traced, count) = run(False), run(True)
    np.testing.assert_array_equal(eager, traced)
    assert count == 1


def test_learning_rate_scheduler_sets_and_logs_the_rate():
    keras.backend.clear_session()
    model = keras.Sequential([keras.layers.Dense(1, kernel_initializer="ones", input_shape=(2,))])
    model.compile(O.SGD(0.1), "mse")
    x = np.ones((4, 2), "float32")
    y = np.zeros((4, 1), "float32")
    cb = keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5)
    h = model.fit(x, y, epochs=3, verbose=0, callbacks=[cb])
    np.testing.assert_allclose(h.history["lr"], [0.05, 0.025, 0.0125], rtol=1e-6)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0125)


def test_kernel_regularizer_adds_to_the_fit_loss():
    keras.backend.clear_session()
    model = keras.Sequential([keras.layers.Dense(
        1, kernel_initializer="ones", input_shape=(2,),
        kernel_regularizer=keras.regularizers.L1L2(l1=0.1, l2=0.2))])
    assert [float(l) for l in model.losses] == [pytest.approx(0.6000000238418579, abs=0)]
    model.compile(O.SGD(0.0), "mse")
    loss = model.evaluate(np.ones((4, 2), "float32"), np.zeros((4, 1), "float32"), verbose=0)
    assert loss == pytest.approx(4.6, rel=1e-6)
