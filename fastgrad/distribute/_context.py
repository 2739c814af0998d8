"""Which tf.distribute strategy's ``scope()`` is open (no MPI imported here).

Keras optimizers created inside a strategy's scope aggregate their
gradients across its workers; fastgrad.keras asks this module, cheaply,
at optimizer construction.
"""
import threading

_state = threading.local()


def current():
    """The innermost open strategy scope on this thread, or None."""
    stack = getattr(_state, "stack", None)
    return stack[-1] if stack else None


def current_aggregation():
    """How an optimizer built now combines gradients across processes
    (the open strategy's), or None."""
    strategy = current()
    return None if strategy is None else strategy._aggregation


def push(strategy):
    if getattr(_state, "stack", None) is None:
        _state.stack = []
    _state.stack.append(strategy)


def pop(strategy):
    stack = getattr(_state, "stack", None)
    if not stack or stack[-1] is not strategy:
        raise RuntimeError("strategy scopes must be exited in the reverse order of entry")
    stack.pop()
