"""`tf.losses` (TF 2.21's `tf.compat.v1.losses`): per-element losses reduced by
`compute_weighted_loss` with TF1's `Reduction` rules (default SUM_BY_NONZERO_WEIGHTS), each
result added to the LOSSES collection.

The graphs keep TF's scopes and main op names (`mean_squared_error/SquaredDifference`, `.../Mul`,
`.../Sum`, `.../num_present`, `.../value`); the static `assert_broadcastable` checks raise TF's
errors at build time but add no ops.
"""

from __future__ import annotations

import numpy as np

from tfc.ir import dtypes as dt

from ..framework import GraphKeys, Tensor, TensorShape, convert_to_tensor, get_default_graph
from . import array_ops, math_ops, nn_ops
from .core import make_op, op_scope, outputs
from .nn_ops import _div_no_nan


class Reduction:
    """How `compute_weighted_loss` reduces the weighted losses."""

    NONE = "none"
    SUM = "weighted_sum"
    SUM_OVER_BATCH_SIZE = "weighted_sum_over_batch_size"
    MEAN = "weighted_mean"
    SUM_BY_NONZERO_WEIGHTS = "weighted_sum_by_nonzero_weights"
    SUM_OVER_NONZERO_WEIGHTS = SUM_BY_NONZERO_WEIGHTS

    @classmethod
    def all(cls):
        return (cls.NONE, cls.SUM, cls.MEAN, cls.SUM_OVER_BATCH_SIZE, cls.SUM_OVER_NONZERO_WEIGHTS,
                cls.SUM_BY_NONZERO_WEIGHTS)

    @classmethod
    def validate(cls, key):
        if key not in cls.all():
            raise ValueError(f"Invalid Reduction Key {key}. Key should be one of {cls.all()}.")


_PREFIX = "weights can not be broadcast to values."


def _assert_broadcastable(weights, values: Tensor) -> None:
    """TF's static `assert_broadcastable`: weights of rank 0, or of values' rank with each
    dim 1 or equal to values'."""
    w = weights.shape if isinstance(weights, Tensor) else TensorShape(np.shape(weights))
    v = values.shape
    if w.ndims == 0 or w.ndims is None or v.ndims is None:
        return
    received = f"Received weights={weights}, values={values}"
    if w.ndims != v.ndims:
        raise ValueError(f"{_PREFIX} values.rank={v.ndims}. weights.rank={w.ndims}. "
                         f"values.shape={v}. weights.shape={w}. {received}")
    for i, (a, b) in enumerate(zip(w.as_list(), v.as_list())):
        if a is not None and b is not None and a not in (1, b):
            raise ValueError(f"{_PREFIX} Mismatch at dim {i}. values.shape={np.array(v.as_list())}, "
                             f"weights.shape={np.array(w.as_list())}. {received}")


def _safe_mean(losses, num_present):
    total = math_ops.reduce_sum(losses)
    return _div_no_nan(total, num_present, name="value")


def _num_present(losses, weights):
    with op_scope(None, "num_present", [losses, weights]) as scope:
        weights = math_ops.cast(weights, dt.float32)
        present = _select(math_ops.equal(weights, 0.0), array_ops.zeros_like(weights),
                          array_ops.ones_like(weights))
        with op_scope(None, "broadcast_weights", [present, losses]) as bw:
            if not (present.shape.is_fully_defined() and losses.shape.is_fully_defined()
                    and present.shape.is_compatible_with(losses.shape)):
                present = math_ops.multiply(present, array_ops.ones_like(losses), name=bw)
        return math_ops.reduce_sum(present, name=scope)


def _select(condition, x, y):
    """TF1's `tf.where(condition, x, y)`: a Select op (the condition has x's shape)."""
    where = getattr(array_ops, "where", None)
    if where is not None:
        return where(condition, x, y)
    return outputs(make_op("Select", [condition, x, y],
                           lambda ctx, op, c, a, b: ctx.b.op("math.select", c, a, b)))


def _num_elements(losses):
    with op_scope(None, "num_elements", [losses]) as scope:
        size = losses.shape.num_elements()
        if size is None:
            raise ValueError("tfc needs losses of a fully known shape for "
                             "SUM_OVER_BATCH_SIZE")
        count = array_ops.constant(np.int32(size), name=scope)
        return math_ops.cast(count, losses.dtype)


def compute_weighted_loss(losses, weights=1.0, scope=None, loss_collection=GraphKeys.LOSSES,
                          reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """`tf.losses.compute_weighted_loss`: losses * weights reduced by `reduction`, added to
    `loss_collection`."""
    Reduction.validate(reduction)
    with op_scope(scope, "weighted_loss", [losses, weights]):
        get_default_graph()._last_loss_reduction = reduction
        losses = convert_to_tensor(losses)
        input_dtype = losses.dtype
        _assert_broadcastable(weights, losses)
        losses = math_ops.cast(losses, dt.float32)
        weights = math_ops.cast(weights, dt.float32)
        weighted = math_ops.multiply(losses, weights, name="Mul")
        if reduction == Reduction.NONE:
            loss = weighted
        else:
            loss = math_ops.reduce_sum(weighted)
            if reduction == Reduction.MEAN:
                loss = _safe_mean(loss, math_ops.reduce_sum(
                    math_ops.multiply(array_ops.ones_like(losses), weights, name="mul")))
            elif reduction == Reduction.SUM_BY_NONZERO_WEIGHTS:
                loss = _safe_mean(loss, _num_present(losses, weights))
            elif reduction == Reduction.SUM_OVER_BATCH_SIZE:
                loss = _safe_mean(loss, _num_elements(losses))
        loss = math_ops.cast(loss, input_dtype)
        add_loss(loss, loss_collection)
        return loss


def _check_args(labels, predictions, what="predictions"):
    if labels is None:
        raise ValueError("Argument `labels` must not be None.")
    if predictions is None:
        raise ValueError(f"Argument `{what}` must not be None.")


def _float_pair(predictions, labels):
    predictions = math_ops.cast(predictions, dt.float32)
    labels = math_ops.cast(labels, dt.float32)
    predictions.shape.assert_is_compatible_with(labels.shape)
    return predictions, labels


def absolute_difference(labels, predictions, weights=1.0, scope=None,
                        loss_collection=GraphKeys.LOSSES, reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """`tf.losses.absolute_difference`: |predictions - labels|, weighted and reduced."""
    _check_args(labels, predictions)
    with op_scope(scope, "absolute_difference", [predictions, labels, weights]) as scope:
        predictions, labels = _float_pair(predictions, labels)
        losses = math_ops.abs(math_ops.subtract(predictions, labels))
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction=reduction)


def mean_squared_error(labels, predictions, weights=1.0, scope=None,
                       loss_collection=GraphKeys.LOSSES, reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """`tf.losses.mean_squared_error`: (predictions - labels) ** 2, weighted and reduced."""
    _check_args(labels, predictions)
    with op_scope(scope, "mean_squared_error", [predictions, labels, weights]) as scope:
        predictions, labels = _float_pair(predictions, labels)
        losses = math_ops.squared_difference(predictions, labels)
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction=reduction)


def log_loss(labels, predictions, weights=1.0, epsilon=1e-7, scope=None,
             loss_collection=GraphKeys.LOSSES, reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """`tf.losses.log_loss`: -labels * log(p + eps) - (1 - labels) * log(1 - p + eps)."""
    _check_args(labels, predictions)
    with op_scope(scope, "log_loss", [predictions, labels, weights]) as scope:
        predictions, labels = _float_pair(predictions, labels)
        log, mul, sub, add = math_ops.log, math_ops.multiply, math_ops.subtract, math_ops.add
        positive = math_ops.negative(mul(labels, log(add(predictions, epsilon, name="add")), name="Mul"))
        negative = mul(sub(1.0, labels, name="sub"),
                       log(add(sub(1.0, predictions, name="sub"), epsilon, name="add")), name="Mul")
        losses = sub(positive, negative, name="sub")
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction=reduction)


def huber_loss(labels, predictions, weights=1.0, delta=1.0, scope=None,
               loss_collection=GraphKeys.LOSSES, reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """`tf.losses.huber_loss`: 0.5 * min(|e|, delta) ** 2 + delta * (|e| - min(|e|, delta))."""
    _check_args(labels, predictions)
    with op_scope(scope, "huber_loss", [predictions, labels, weights]) as scope:
        predictions, labels = _float_pair(predictions, labels)
        abs_error = math_ops.abs(math_ops.subtract(predictions, labels))
        quadratic = math_ops.minimum(abs_error, delta)
        linear = math_ops.subtract(abs_error, quadratic)
        half = convert_to_tensor(0.5, dtype=quadratic.dtype)
        losses = math_ops.add(math_ops.multiply(half, math_ops.multiply(quadratic, quadratic)),
                              math_ops.multiply(delta, linear), name="Add")
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction=reduction)


def sigmoid_cross_entropy(multi_class_labels, logits, weights=1.0, label_smoothing=0, scope=None,
                          loss_collection=GraphKeys.LOSSES,
                          reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """`tf.losses.sigmoid_cross_entropy`: sigmoid cross entropy of logits against labels
    smoothed towards 1/2 by `label_smoothing`."""
    _check_args(multi_class_labels, logits, "logits")
    with op_scope(scope, "sigmoid_cross_entropy_loss", [logits, multi_class_labels, weights]) as scope:
        logits = convert_to_tensor(logits)
        labels = math_ops.cast(multi_class_labels, logits.dtype)
        logits.shape.assert_is_compatible_with(labels.shape)
        if label_smoothing > 0:
            labels = math_ops.add(math_ops.multiply(labels, 1 - label_smoothing, name="mul"),
                                  0.5 * label_smoothing, name="add")
        losses = nn_ops.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits,
                                                          name="xentropy")
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction=reduction)


def softmax_cross_entropy(onehot_labels, logits, weights=1.0, label_smoothing=0, scope=None,
                          loss_collection=GraphKeys.LOSSES,
                          reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """`tf.losses.softmax_cross_entropy`: softmax cross entropy against one-hot labels smoothed
    by `label_smoothing` (towards 1 / num_classes)."""
    _check_args(onehot_labels, logits, "logits")
    with op_scope(scope, "softmax_cross_entropy_loss", [logits, onehot_labels, weights]) as scope:
        logits = convert_to_tensor(logits)
        labels = math_ops.cast(onehot_labels, logits.dtype)
        logits.shape.assert_is_compatible_with(labels.shape)
        if label_smoothing > 0:
            classes = labels.shape[-1].value if labels.shape.ndims else None
            if classes is None:
                raise ValueError("tfc's label smoothing needs the number of classes to be known")
            num_classes = convert_to_tensor(np.asarray(classes, logits.dtype.numpy), name="Cast")
            smooth_negatives = math_ops.truediv(label_smoothing, num_classes)
            labels = math_ops.add(math_ops.multiply(labels, 1.0 - label_smoothing, name="mul"),
                                  smooth_negatives, name="add")
        labels = array_ops.stop_gradient(labels, name="labels_stop_gradient")
        losses = nn_ops.softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits,
                                                             name="xentropy")
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction=reduction)


def sparse_softmax_cross_entropy(labels, logits, weights=1.0, scope=None,
                                 loss_collection=GraphKeys.LOSSES,
                                 reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """`tf.losses.sparse_softmax_cross_entropy`: softmax cross entropy against class ids
    (labels of shape [batch] or [batch, 1])."""
    _check_args(labels, logits, "logits")
    with op_scope(scope, "sparse_softmax_cross_entropy_loss", [logits, labels, weights]) as scope:
        labels = convert_to_tensor(labels)
        logits = convert_to_tensor(logits)
        weights = convert_to_tensor(weights) if not isinstance(weights, Tensor) else weights
        # TF's _remove_squeezable_dimensions with expected_rank_diff=1.
        if labels.shape.ndims is not None and logits.shape.ndims is not None \
                and labels.shape.ndims == logits.shape.ndims and labels.shape[-1].value == 1:
            with op_scope(None, "remove_squeezable_dimensions", [labels, logits]):
                labels = array_ops.squeeze(labels, [-1])
        losses = nn_ops.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits,
                                                                 name="xentropy")
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction=reduction)


# The LOSSES collection -------------------------------------------------------------------------------------
def add_loss(loss, loss_collection=GraphKeys.LOSSES):
    """`tf.losses.add_loss`: add `loss` to `loss_collection` (if that is not None)."""
    if loss_collection:
        get_default_graph().add_to_collection(loss_collection, loss)


def get_losses(scope=None, loss_collection=GraphKeys.LOSSES):
    """`tf.losses.get_losses`: the losses in `loss_collection` (names matching `scope`)."""
    return get_default_graph().get_collection(loss_collection, scope)


def get_regularization_losses(scope=None):
    return get_default_graph().get_collection(GraphKeys.REGULARIZATION_LOSSES, scope)


def get_regularization_loss(scope=None, name="total_regularization_loss"):
    """The sum of the regularization losses, or a 0.0 constant when there are none."""
    losses = get_regularization_losses(scope)
    if losses:
        return math_ops.add_n(losses, name=name)
    return array_ops.constant(0.0)


def get_total_loss(add_regularization_losses=True, name="total_loss", scope=None):
    """`tf.losses.get_total_loss`: the sum (AddN, or Identity for one) of the LOSSES collection
    and, by default, the regularization losses."""
    losses = get_losses(scope=scope)
    if add_regularization_losses:
        losses = losses + get_regularization_losses(scope=scope)
    return math_ops.add_n(losses, name=name)


__all__ = [
    "Reduction",
    "compute_weighted_loss",
    "absolute_difference",
    "mean_squared_error",
    "log_loss",
    "huber_loss",
    "sigmoid_cross_entropy",
    "softmax_cross_entropy",
    "sparse_softmax_cross_entropy",
    "add_loss",
    "get_losses",
    "get_regularization_losses",
    "get_regularization_loss",
    "get_total_loss",
]
