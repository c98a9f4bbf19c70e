"""Checks of exercise 3 (a first CNN): parameter counts, a CNN within a parameter budget,
compiling it, and the callbacks of a long training.

The references are Keras itself (``count_params`` of real layers) and the conventions of
lesson 3 and of :mod:`cifar_edu.models`.
"""

from __future__ import annotations

import keras
import numpy as np

from cifar_edu.checks import (Fail, NotDone, Pass, call_learner, check, describe,
                              require_value)
from cifar_edu.checks.ex02_preprocessing_augmentation import check_model_scales_inside

__all__ = ["check_conv_params", "check_cnn_budget", "check_compiled", "check_callbacks"]

# (kernel, input channels, filters) of the convolutions the parameter formula is tried on.
_CONV_CASES = ((3, 3, 32), (3, 32, 64), (5, 16, 8), (1, 64, 10))


def _keras_conv_params(kernel: int, c_in: int, c_out: int) -> int:
    layer = keras.layers.Conv2D(c_out, kernel)
    layer.build((None, 32, 32, c_in))
    return int(layer.count_params())


@check("Task 1, parameters of a convolution")
def check_conv_params(conv_params: object) -> Pass:
    """Check ``conv_params(kernel, c_in, c_out)`` against Keras on a few convolutions."""
    for kernel, c_in, c_out in _CONV_CASES:
        value = call_learner(conv_params, kernel, c_in, c_out, name="conv_params",
                             hint="conv_params(kernel, c_in, c_out) takes three integers.")
        expected = _keras_conv_params(kernel, c_in, c_out)
        if not isinstance(value, (int, np.integer, float)) or value != expected:
            case = f"a {kernel}x{kernel} convolution from {c_in} to {c_out} channels"
            if value == kernel * kernel * c_in * c_out:
                raise Fail(f"for {case} you count {value:,}; Keras counts {expected:,}.",
                           "every filter also has one bias: (k * k * c_in + 1) * c_out.")
            if value == (kernel * kernel + 1) * c_out:
                raise Fail(f"for {case} you count {value:,}; Keras counts {expected:,}.",
                           "each filter has one k x k kernel PER INPUT CHANNEL: "
                           "k * k * c_in weights, plus one bias.")
            if value == kernel * kernel * c_in + 1:
                raise Fail(f"for {case} you count {value:,}: the parameters of one filter.",
                           "multiply by the number of filters, c_out.")
            raise Fail(f"for {case} you count {describe(value)}; Keras counts {expected:,}.",
                       "(kernel * kernel * c_in + 1) * c_out.")
    return Pass("the same counts as Keras for 3x3, 5x5 and 1x1 convolutions.")


@check("Task 2, a CNN within a parameter budget")
def check_cnn_budget(model: object, x: np.ndarray, budget: int) -> Pass:
    """Check a CNN that takes raw images, has at least two convolutions and ``<= budget`` weights.

    Parameters
    ----------
    model : keras.Model
    x : ndarray, shape (N, 32, 32, 3)
        Raw training images to try it on.
    budget : int
        Maximum number of parameters.
    """
    require_value(model, "model")
    # The rules of exercise 2 (raw images in, scaled inside, probabilities out), unprinted.
    inside = check_model_scales_inside.__wrapped__(model, x)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    if len(convs) < 2:
        raise Fail(f"the model has {len(convs)} convolution(s).",
                   "a CNN needs convolutions: at least two Conv2D layers, each followed by "
                   "ReLU, with pooling in between.")
    n = model.count_params()
    if n > budget:
        biggest = max(model.layers, key=lambda layer: layer.count_params())
        share = biggest.count_params() / n
        hint = (f"{biggest.name} holds {share:.0%} of them. "
                + ("A Dense layer after Flatten connects every value of the last feature "
                   "map to every unit: pool once more, or use GlobalAveragePooling2D."
                   if isinstance(biggest, keras.layers.Dense) else
                   "use fewer filters in the widest convolutions."))
        raise Fail(f"the model has {n:,} parameters; the budget is {budget:,}.", hint)
    return Pass(f"{len(convs)} convolutions, {n:,} parameters (budget {budget:,}); "
                f"{inside.text[:1].lower() + inside.text[1:]}")


def _loss_name(loss: object) -> tuple[str, bool]:
    if isinstance(loss, str):
        return loss, False
    config = loss.get_config() if hasattr(loss, "get_config") else {}
    name = config.get("name") or getattr(loss, "__name__", type(loss).__name__)
    return str(name), bool(config.get("from_logits", False))


@check("Task 3, compiling the model")
def check_compiled(model: object) -> Pass:
    """Check that the model is compiled with Adam, sparse categorical cross-entropy and accuracy."""
    require_value(model, "model")
    if not isinstance(model, keras.Model):
        raise Fail(f"`model` should be a keras.Model, but it is {describe(model)}.",
                   "compile the model of task 2.")
    if not getattr(model, "compiled", False):
        raise NotDone("`model` is not compiled yet: call model.compile(optimizer=..., "
                      "loss=..., metrics=...) in place of `# Your code here`.")
    name, from_logits = _loss_name(model.loss)
    if "sparse" not in name and "categorical" in name:
        raise Fail(f"the loss is {name}, which expects one-hot labels.",
                   "the labels are integers 0-9: use 'sparse_categorical_crossentropy'.")
    if "sparse_categorical" not in name and "crossentropy" not in name:
        raise Fail(f"the loss is {name}.", "a classifier is trained with cross-entropy: "
                                           "'sparse_categorical_crossentropy'.")
    if from_logits:
        raise Fail("the loss is told that the outputs are logits, but the model ends with a "
                   "softmax.", "keep from_logits=False (the default) for a softmax output.")
    optimizer = type(model.optimizer).__name__
    if optimizer.lower() != "adam":
        raise Fail(f"the optimizer is {optimizer}; the task asks for Adam.",
                   "optimizer=keras.optimizers.Adam(learning_rate=lr).")
    metrics = [str(m) for m in (model.get_compile_config().get("metrics") or [])]
    if not any("acc" in m for m in metrics):
        raise Fail("the model does not report accuracy.", "metrics=['accuracy'].")
    lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    return Pass(f"Adam (learning rate {lr:g}), sparse categorical cross-entropy, accuracy.")


@check("Task 4, early stopping and checkpointing")
def check_callbacks(callbacks: object, patience: int) -> Pass:
    """Check an EarlyStopping and a ModelCheckpoint that both follow the validation accuracy."""
    require_value(callbacks, "callbacks")
    if not isinstance(callbacks, (list, tuple)):
        raise Fail(f"`callbacks` should be a list, but it is {describe(callbacks)}.",
                   "callbacks = [keras.callbacks.EarlyStopping(...), "
                   "keras.callbacks.ModelCheckpoint(...)].")
    stops = [c for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping)]
    saves = [c for c in callbacks if isinstance(c, keras.callbacks.ModelCheckpoint)]
    if not stops:
        raise Fail("there is no EarlyStopping callback.",
                   "keras.callbacks.EarlyStopping(monitor='val_accuracy', mode='max', "
                   f"patience={patience}, restore_best_weights=True).")
    stop = stops[0]
    if stop.monitor in ("accuracy", "loss"):
        raise Fail(f"EarlyStopping watches the TRAINING {stop.monitor}, which keeps improving "
                   "while the model overfits.", "monitor='val_accuracy': decide on the "
                                                "validation split.")
    if stop.monitor != "val_accuracy":
        raise Fail(f"EarlyStopping watches {stop.monitor!r}.", "monitor='val_accuracy'.")
    if stop.mode == "min":
        raise Fail("EarlyStopping waits for the accuracy to go DOWN (mode='min').",
                   "accuracy should go up: mode='max'.")
    if stop.patience != patience:
        raise Fail(f"the patience is {stop.patience}; the task asks for {patience}.",
                   f"patience={patience}: the number of epochs without improvement to wait.")
    if not stop.restore_best_weights:
        raise Fail("when it stops, the model keeps the weights of the LAST epoch.",
                   "restore_best_weights=True gives back the best epoch's weights.")
    if not saves:
        raise Fail("there is no ModelCheckpoint callback.",
                   "keras.callbacks.ModelCheckpoint(path, monitor='val_accuracy', "
                   "mode='max', save_best_only=True): a crash or a power cut then loses "
                   "nothing.")
    save = saves[0]
    if save.monitor != "val_accuracy" or not save.save_best_only:
        raise Fail(f"the checkpoint follows {save.monitor!r} with save_best_only="
                   f"{save.save_best_only}.", "monitor='val_accuracy', mode='max', "
                                              "save_best_only=True: keep the best epoch.")
    if not str(save.filepath).endswith(".keras"):
        raise Fail(f"the checkpoint file {save.filepath} is not a .keras file.",
                   "save the whole model in Keras' format: a path ending in .keras.")
    return Pass(f"stops after {patience} epochs without a better validation accuracy, keeps "
                "the best weights, and saves the best epoch as it goes.")

