"""Keras losses (Huber, LogCosh, KLDivergence, CosineSimilarity, Hinge,
Poisson, CategoricalCrossentropy options) and metrics (AUC, Precision,
Recall, Sum, RootMeanSquaredError, accuracies).

Expected values were probed from tf_keras 2.21 (TF_USE_LEGACY_KERAS=1);
the tests run against it with FASTGRAD_TEST_BACKEND=tensorflow. A few
differ from fastgrad's in the last float32 bit (summation order,
softplus), hence rtol=1e-6.
"""
import numpy as np
import pytest

import fastgrad as tf
from _fgutil import fastgrad_only

keras = tf.keras

YT = np.array([[0., 1., 0.], [1., 0., 0.]], "float32")
YP = np.array([[0.1, 0.7, 0.2], [0.3, 0.3, 0.4]], "float32")
YR = np.array([[1.5, -0.5], [0.2, 2.0]], "float32")
PR = np.array([[0.5, 0.5], [1.7, -1.0]], "float32")

LOSSES = [
    (lambda: keras.losses.Huber(), 0.07333333790302277, 1.125),
    (lambda: keras.losses.Huber(delta=0.3), 0.059166669845581055, 0.4424999952316284),
    (lambda: keras.losses.LogCosh(), 0.0697941780090332, 1.008082628250122),
    (lambda: keras.losses.KLDivergence(), 0.780320942401886, 8.24467658996582),
    (lambda: keras.losses.CosineSimilarity(), -0.7335375547409058, -0.01423768699169159),
    (lambda: keras.losses.Hinge(), 1.0, 1.2899999618530273),
    (lambda: keras.losses.Poisson(), 0.5934412479400635, 1.0717551708221436),
    (lambda: keras.losses.CategoricalCrossentropy(label_smoothing=0.1),
     0.8288403749465942, 15.25581169128418),
    (lambda: keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2),
     0.9838425517082214, 2.7053165435791016),
]


@pytest.mark.parametrize("make, on_probs, on_reals", LOSSES)
def test_loss_classes(make, on_probs, on_reals):
    loss = make()
    assert float(loss(YT, YP)) == pytest.approx(on_probs, rel=1e-6)
    pred = np.abs(PR) if isinstance(loss, keras.losses.Poisson) else PR
    assert float(loss(YR, pred)) == pytest.approx(on_reals, rel=1e-6)


@pytest.mark.parametrize("name, expected", [
    ("huber", [0.023333333432674408, 0.12333333492279053]),
    ("log_cosh", [0.02306685782968998, 0.11652150005102158]),
    ("kl_divergence", [0.35667213797569275, 1.2039697170257568]),
    ("cosine_similarity", [-0.9525793790817261, -0.5144957900047302]),
    ("hinge", [0.8666667342185974, 1.1333333253860474]),
    ("poisson", [0.4522249400615692, 0.7346575260162354]),
])
def test_loss_functions_give_one_value_per_sample(name, expected):
    fn = getattr(keras.losses, name)
    np.testing.assert_allclose(fn(YT, YP).numpy(), expected, rtol=1e-6)


def test_hinge_keeps_labels_of_minus_one_and_one():
    got = keras.losses.hinge(np.array([[-1., 1.]], "float32"), np.array([[0.3, 0.4]], "float32"))
    np.testing.assert_allclose(got.numpy(), [0.949999988079071], rtol=1e-6)


def _scores():
    rng = np.random.default_rng(0)
    return (rng.random(50) > 0.5).astype("float32"), rng.random(50).astype("float32")


@pytest.mark.parametrize("make, expected", [
    (lambda: keras.metrics.AUC(), 0.49835798144340515),
    (lambda: keras.metrics.AUC(num_thresholds=7), 0.46551722288131714),
    (lambda: keras.metrics.AUC(summation_method="minoring"), 0.4958949387073517),
    (lambda: keras.metrics.Precision(), 0.5185185074806213),
    (lambda: keras.metrics.Recall(), 0.48275861144065857),
    (lambda: keras.metrics.Precision(thresholds=[0.3, 0.7]), [0.5675675868988037, 0.5909090638160706]),
    (lambda: keras.metrics.Recall(thresholds=0.8), 0.3103448152542114),
])
def test_confusion_metrics_accumulate_over_batches(make, expected):
    labels, scores = _scores()
    m = make()
    m.update_state(labels[:30], scores[:30])
    m.update_state(labels[30:], scores[30:])
    np.testing.assert_allclose(np.asarray(m.result()), expected, rtol=1e-6)
    m.reset_state()
    np.testing.assert_array_equal(np.asarray(m.result()), np.zeros_like(expected))


def test_sum_rmse_and_empty_means():
    m = keras.metrics.Sum()
    m.update_state([1., 2.])
    m.update_state(3.)
    assert float(m.result()) == 6.0
    m = keras.metrics.RootMeanSquaredError()
    m.update_state([[1.], [2.]], [[1.5], [0.]])
    assert float(m.result()) == pytest.approx(1.457737922668457, rel=1e-7)
    assert float(keras.metrics.Mean().result()) == 0.0
    assert float(keras.metrics.Precision().result()) == 0.0


@pytest.mark.parametrize("make, y_true, y_pred, expected", [
    (lambda: keras.metrics.Accuracy(), [1, 2, 3], [1, 2, 4], 0.6666666865348816),
    (lambda: keras.metrics.BinaryAccuracy(), [[1], [0]], [[0.6], [0.7]], 0.5),
    (lambda: keras.metrics.CategoricalAccuracy(), YT, YP, 0.5),
    (lambda: keras.metrics.SparseCategoricalAccuracy(), [1, 2], YP, 1.0),
])
def test_accuracies(make, y_true, y_pred, expected):
    m = make()
    m.update_state(y_true, y_pred)
    assert float(m.result()) == pytest.approx(expected, rel=1e-7)


@fastgrad_only  # replay: the result must not be a value guard
def test_metric_result_replays_without_a_value_guard():
    m = keras.metrics.Mean()

    @tf.function
    def step(x):
        m.update_state(x)
        return m.result()

    assert float(step(tf.constant([1.0, 3.0]))) == 2.0
    assert float(step(tf.constant([5.0, 7.0]))) == 4.0
    m.reset_state()
    assert float(m.result()) == 0.0
    assert float(step(tf.constant([2.0, 2.0]))) == 2.0
    assert step.experimental_get_tracing_count() == 1
