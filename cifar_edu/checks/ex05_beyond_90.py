"""Checks of exercise 5 (beyond 90%): a one-cycle learning-rate schedule, as a function and as
a Keras schedule, label smoothing, and test-time augmentation.

The references are :func:`cifar_edu.training.schedules.one_cycle` (linear warm-up from
``peak / 25`` to ``peak``, then linear decay to 0), Keras' own label smoothing formula and
:func:`cifar_edu.evaluation.predict_proba` with ``tta=True``.
"""

from __future__ import annotations

import keras
import numpy as np

from cifar_edu.checks import (Fail, NotDone, Pass, as_float_array, call_learner, check,
                              describe, require_value)
from cifar_edu.evaluation import predict_proba
from cifar_edu.training.schedules import one_cycle

__all__ = ["check_one_cycle_lr", "check_schedule", "check_smooth_labels", "check_predict_tta"]

# (peak, total_steps, warmup_fraction) of the schedules the functions are tried on.
_SCHEDULES = ((0.4, 1000, 0.3), (2.0, 97, 0.25))


def _steps(total: int) -> np.ndarray:
    warmup = int(0.3 * total)
    return np.unique(np.clip([0, 1, warmup // 2, warmup - 1, warmup, warmup + 1,
                              (warmup + total) // 2, total - 2, total - 1, total], 0, total))


def _reference(peak: float, total: int, fraction: float, steps: np.ndarray) -> np.ndarray:
    schedule = one_cycle(peak, total, fraction)
    return np.array([float(schedule(int(s))) for s in steps])


def _diagnose(values: np.ndarray, expected: np.ndarray, peak: float, total: int,
              fraction: float, steps: np.ndarray, name: str) -> Fail:
    warmup = int(fraction * total)
    where = int(steps[np.argmax(np.abs(values - expected))])
    if np.isclose(values[0], 0.0) and not np.isclose(expected[0], 0.0):
        return Fail(f"`{name}` starts at 0.", f"the warm-up starts at peak / 25 "
                                              f"({peak / 25:g} here), not at 0.")
    if np.isclose(values.max(), peak) and not np.isclose(values[steps == warmup][0], peak):
        at = int(steps[np.argmax(values)])
        return Fail(f"`{name}` peaks at step {at}; the peak belongs at step {warmup} "
                    f"(warmup_fraction x total_steps, rounded down).",
                    "warmup_steps = int(warmup_fraction * total_steps).")
    if values[-1] > 1e-6 * peak and np.isclose(expected[-1], 0.0):
        return Fail(f"at the last step `{name}` is still {values[-1]:.3g}.",
                    "after the warm-up the rate falls linearly to 0 at total_steps: "
                    "peak * (1 - (step - warmup_steps) / (total_steps - warmup_steps)).")
    if where < warmup:
        return Fail(f"during the warm-up, at step {where}, `{name}` gives "
                    f"{values[steps == where][0]:.4g} instead of "
                    f"{expected[steps == where][0]:.4g}.",
                    "a straight line from peak / 25 at step 0 to peak at warmup_steps.")
    return Fail(f"during the decay, at step {where}, `{name}` gives "
                f"{values[steps == where][0]:.4g} instead of {expected[steps == where][0]:.4g}.",
                "a straight line from peak at warmup_steps to 0 at total_steps.")


@check("Task 1, the one-cycle schedule")
def check_one_cycle_lr(one_cycle_lr: object) -> Pass:
    """Check ``one_cycle_lr(step, total_steps, peak, warmup_fraction)`` (plain Python numbers)."""
    for peak, total, fraction in _SCHEDULES:
        steps = _steps(total)
        values = np.array([float(call_learner(one_cycle_lr, int(s), total, peak, fraction,
                                              name="one_cycle_lr"))
                           for s in steps])
        expected = _reference(peak, total, fraction, steps)
        if not np.allclose(values, expected, rtol=1e-4, atol=1e-7):
            raise _diagnose(values, expected, peak, total, fraction, steps, "one_cycle_lr")
    return Pass("the same learning rates as cifar_edu.training.schedules.one_cycle at every "
                "tested step.")


@check("Task 2, a Keras learning-rate schedule")
def check_schedule(schedule_class: object) -> Pass:
    """Check a ``LearningRateSchedule`` subclass built as ``schedule_class(peak, total_steps,
    warmup_fraction)`` that an optimizer can use."""
    require_value(schedule_class, "OneCycle")
    if isinstance(schedule_class, type) and not {"__init__", "__call__"} & set(
            vars(schedule_class)):
        raise NotDone("the class `OneCycle` has no methods yet: write __init__, __call__ and "
                      "get_config in place of `# Your code here`.")
    peak, total, fraction = _SCHEDULES[0]
    schedule = call_learner(schedule_class, peak, total, fraction, name="OneCycle",
                            hint="the class takes (peak, total_steps, warmup_fraction) in its "
                                 "__init__.")
    if not isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
        raise Fail(f"`OneCycle(...)` gives {describe(schedule)}, not a LearningRateSchedule.",
                   "class OneCycle(keras.optimizers.schedules.LearningRateSchedule): ...")
    steps = _steps(total)
    try:
        values = np.array([float(keras.ops.convert_to_numpy(
            schedule(keras.ops.convert_to_tensor(int(s), dtype="int64")))) for s in steps])
    except Exception as exc:  # noqa: BLE001 - Python control flow on tensors fails here
        raise Fail(f"calling the schedule with a step tensor raised {type(exc).__name__}: "
                   f"{exc}", "inside __call__, step is a tensor: use keras.ops (ops.cast, "
                             "ops.where, ops.clip) instead of Python's if and min.") from None
    expected = _reference(peak, total, fraction, steps)
    if not np.allclose(values, expected, rtol=1e-4, atol=1e-7):
        raise _diagnose(values, expected, peak, total, fraction, steps, "OneCycle")
    if not isinstance(schedule.get_config(), dict) or not schedule.get_config():
        raise Fail("the schedule has no configuration, so a model that uses it cannot be "
                   "saved.", "add get_config() returning {'peak': ..., 'total_steps': ..., "
                             "'warmup_fraction': ...}.")
    optimizer = keras.optimizers.SGD(learning_rate=schedule)
    variable = keras.Variable(1.0)
    optimizer.apply_gradients([(keras.ops.convert_to_tensor(1.0), variable)])
    if not np.isclose(float(keras.ops.convert_to_numpy(variable)), 1.0 - expected[0],
                      rtol=1e-4):
        raise Fail("an SGD optimizer with this schedule does not take a step of the first "
                   "learning rate.", "__call__(self, step) must return the rate of that step.")
    return Pass("a LearningRateSchedule with the one-cycle rates, usable by an optimizer and "
                "saved with the model.")


@check("Task 3, label smoothing")
def check_smooth_labels(smooth_labels: object, num_classes: int = 10,
                        smoothing: float = 0.1) -> Pass:
    """Check ``smooth_labels(y, num_classes, smoothing)``: integer labels to smoothed targets."""
    y = np.array([3, 0, 9, 3])
    value = call_learner(smooth_labels, y.copy(), num_classes, smoothing, name="smooth_labels",
                         hint="smooth_labels(y, num_classes, smoothing) takes integer labels "
                              "of shape (N,).")
    targets = as_float_array(value, "the result of smooth_labels")
    one_hot = np.eye(num_classes)[y]
    expected = one_hot * (1 - smoothing) + smoothing / num_classes
    if targets.shape != expected.shape:
        raise Fail(f"for {len(y)} labels the targets have shape {targets.shape}; expected "
                   f"{expected.shape}.", "one row per label, one column per class: start from "
                                         "np.eye(num_classes)[y].")
    if np.allclose(targets, expected):
        return Pass(f"the true class gets {1 - smoothing + smoothing / num_classes:.2f}, every "
                    f"other class {smoothing / num_classes:.2f}, as Keras' label_smoothing "
                    "does.")
    if np.allclose(targets, one_hot * (1 - smoothing) + (1 - one_hot) * smoothing
                   / (num_classes - 1)):
        raise Fail("the smoothing mass is spread over the other classes only.",
                   "Keras spreads it over ALL classes, the true one included: "
                   "one_hot * (1 - smoothing) + smoothing / num_classes.")
    if np.allclose(targets, one_hot + smoothing / num_classes):
        raise Fail("the rows add up to more than 1.",
                   "scale the one-hot part down: one_hot * (1 - smoothing) + smoothing / "
                   "num_classes.")
    if not np.allclose(targets.sum(axis=1), 1.0):
        raise Fail("the rows of the targets do not add up to 1.",
                   "one_hot * (1 - smoothing) + smoothing / num_classes.")
    raise Fail("the targets differ from Keras' label smoothing.",
               "one_hot * (1 - smoothing) + smoothing / num_classes.")


@check("Task 4, test-time augmentation")
def check_predict_tta(predict_tta: object, model: keras.Model, x: np.ndarray) -> Pass:
    """Check ``predict_tta(model, x)``: the mean probabilities of ``x`` and its mirror image."""
    value = call_learner(predict_tta, model, x.copy(), name="predict_tta",
                         hint="predict_tta(model, x) takes the model and a batch of raw "
                              "images (N, 32, 32, 3).")
    probs = as_float_array(value, "the result of predict_tta")
    expected = predict_proba(model, x, tta=True).astype(np.float64)
    if probs.shape != expected.shape:
        raise Fail(f"for {len(x)} images the result has shape {probs.shape}; expected "
                   f"{expected.shape}.", "return the averaged probabilities, one row per "
                                         "image (not the predicted classes).")
    if np.allclose(probs, expected, atol=1e-4):
        return Pass("the mean of the probabilities of each image and its mirror image.")
    plain = predict_proba(model, x).astype(np.float64)
    upside_down = predict_proba(model, np.ascontiguousarray(x[:, ::-1])).astype(np.float64)
    if np.allclose(probs, (plain + upside_down) / 2, atol=1e-4):
        raise Fail("the images are flipped upside down (axis 1 is the height).",
                   "mirror left to right, as in training: x[:, :, ::-1] (axis 2, the width).")
    if np.allclose(probs, plain, atol=1e-4):
        raise Fail("these are the probabilities of the images alone.",
                   "also run the model on the mirrored images x[:, :, ::-1] and average "
                   "the two.")
    raise Fail("the probabilities differ from the mean of the images' and their mirrors'.",
               "(model.predict_on_batch(x) + model.predict_on_batch(x[:, :, ::-1])) / 2 "
               "(as float32).")
