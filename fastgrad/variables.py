"""``tf.VariableSynchronization`` and ``tf.VariableAggregation``: accepted
by ``fastgrad.Variable`` for code written for distribution strategies (on
one device there is nothing to synchronise or aggregate).

>>> import fastgrad as tf
>>> tf.Variable(1.0, aggregation=tf.VariableAggregation.MEAN).aggregation
<VariableAggregationV2.MEAN: 2>
"""
import enum

__all__ = ["VariableSynchronization", "VariableAggregation"]


class VariableSynchronization(enum.Enum):
    """When a distributed variable is synchronised (TF's values)."""
    AUTO = 0
    NONE = 1
    ON_WRITE = 2
    ON_READ = 3


class VariableAggregationV2(enum.Enum):
    """How a distributed variable's replica updates combine (TF's values)."""
    NONE = 0
    SUM = 1
    MEAN = 2
    ONLY_FIRST_REPLICA = 3


VariableAggregation = VariableAggregationV2
