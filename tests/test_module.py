"""tf.Module and tf.name_scope: tracking, order, names (TF 2.21's, checked
side by side with FASTGRAD_TEST_BACKEND=tensorflow)."""
import pytest

import fastgrad as tf


class Dense(tf.Module):
    def __init__(self, n_in, n_out, name=None):
        super().__init__(name=name)
        self.w = tf.Variable(tf.ones([n_in, n_out]), name="w")
        self.b = tf.Variable(tf.zeros([n_out]), name="b")

    @tf.Module.with_name_scope
    def __call__(self, x):
        self.made = tf.Variable(1.0)
        return tf.nn.relu(tf.matmul(x, self.w) + self.b)


class Seq(tf.Module):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.dense_1 = Dense(3, 3)
        self.dense_2 = Dense(3, 2)
        self.lst = [Dense(1, 1, name="x"), {"a": tf.Variable(3.0, trainable=False)}]

    def __call__(self, x):
        return self.dense_2(self.dense_1(x))


def test_module_tracks_variables_in_tf_order():
    m = Seq(name="the_model")
    assert (m.name, m.name_scope.name) == ("the_model", "the_model/")
    # own attributes (sorted, nests flattened) first, then sub-modules breadth first
    assert [v.name for v in m.variables] == ["Variable:0", "b:0", "w:0", "b:0", "w:0", "b:0", "w:0"]
    assert [v.name for v in m.trainable_variables] == ["b:0", "w:0"] * 3
    assert [v.name for v in m.non_trainable_variables] == ["Variable:0"]
    assert [s.name for s in m.submodules] == ["dense", "dense", "x"]
    assert m.submodules[0] is m.dense_1
    assert isinstance(m.variables, tuple) and tf.Module().variables == ()
    m.t = (tf.Variable(5.0, name="t"),)
    m.c = tf.constant(1.0)  # tensors are not variables
    assert [v.name for v in m.variables][:2] == ["Variable:0", "t:0"]
    out = m(tf.ones([1, 3]))
    assert out.numpy().tolist() == [[9.0, 9.0]]
    assert m.dense_1.made.name == "dense/Variable:0"


def test_module_shares_variables_once_and_cuts_cycles():
    a, b = tf.Module(), tf.Module()
    v = tf.Variable(1.0)
    a.b, b.a = b, a          # a cycle
    a.v1, a.v2, b.v = v, v, v
    assert a.variables == (v,)
    assert list(a.submodules) == [b]
    assert list(b.submodules) == [a]
    paths = a._flatten(predicate=lambda x: isinstance(x, tf.Variable), with_path=True)
    # with paths nothing is deduplicated; the walk stops at the back edge to a
    assert [p for p, _ in paths] == [("v1",), ("v2",), ("b", "v"), ("b", "a", "v1"),
                                     ("b", "a", "v2")]


def test_module_private_attributes_count_and_properties_do_not():
    class WithProps(tf.Module):
        def __init__(self):
            super().__init__()
            self._hidden = tf.Variable(1.0, name="h")
            self.a = tf.Variable(2.0, name="a")

        @property
        def prop(self):
            return tf.Variable(9.0)

    assert [v.name for v in WithProps().variables] == ["h:0", "a:0"]


def test_module_names():
    class MyThingABC(tf.Module):
        pass

    assert MyThingABC().name == "my_thing_abc"
    assert tf.Module().name_scope.name == "module/"
    with pytest.raises(ValueError, match="'bad name' is not a valid module name. Module names "
                       "must be valid Python identifiers"):
        tf.Module(name="bad name")


def test_module_name_scope_nests_at_construction():
    class M(tf.Module):
        def __init__(self):
            super().__init__()
            with self.name_scope:
                self.v = tf.Variable(1.0)
            self.sub = tf.Module(name="inner_mod")

    m = M()
    assert (m.v.name, m.sub.name_scope.name) == ("m/Variable:0", "inner_mod/")
    with tf.name_scope("outer"):
        m = M()
        assert (m.v.name, m.name_scope.name) == ("outer/m/Variable:0", "outer/m/")
    with m.name_scope as scope:  # absolute: reopened from anywhere
        assert scope == "outer/m/"


def test_name_scope_rules_and_variable_names():
    with tf.name_scope("outer"):
        assert tf.Variable(1.0).name == "outer/Variable:0"
        assert tf.Variable(1.0, name="z").name == "outer/z:0"
        with tf.name_scope("inner") as s:
            assert s == "outer/inner/"
            assert tf.Variable(1.0, name="z").name == "outer/inner/z:0"
            assert tf.Variable(1.0, name="a/b").name == "outer/inner/a/b:0"
            assert tf.Variable(1.0, name="abs/").name == "abs:0"
            assert tf.Variable(1.0, name="").name == ":0"
        with tf.name_scope("inner/") as s:
            assert s == "inner/"
        with tf.name_scope("") as s:
            assert s == ""
            assert tf.Variable(1.0).name == "Variable:0"
    assert tf.name_scope("a").name == "a"
    for _ in range(2):  # eager scopes are not made unique
        with tf.name_scope("a") as s:
            assert s == "a/"
    with pytest.raises(ValueError, match="name for name_scope must be a string."):
        tf.name_scope(None)


def test_keras_layers_and_models_are_modules():
    keras = tf.keras
    model = keras.Sequential([keras.layers.Dense(2), keras.layers.Dense(1)])
    model(tf.ones([1, 3]))
    assert isinstance(model, tf.Module) and isinstance(model.layers[0], tf.Module)
    names = [v.name.split("/")[1] for v in model.variables]
    assert names == ["kernel:0", "bias:0", "kernel:0", "bias:0"]

    class Holder(tf.Module):
        def __init__(self):
            super().__init__()
            self.layer = keras.layers.Dense(3)
            self.v = tf.Variable(1.0)

    h = Holder()
    h.layer(tf.ones([1, 2]))
    assert [v.shape.as_list() for v in h.trainable_variables] == [[], [2, 3], [3]]
    assert [type(s).__name__ for s in h.submodules] == ["Dense"]
    d = keras.layers.Dense(2, name="dd")
    with tf.name_scope("outer"):
        d(tf.ones([1, 3]))
    assert [v.name for v in d.variables] == ["outer/dd/kernel:0", "outer/dd/bias:0"]

