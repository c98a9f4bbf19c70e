"""The optimizers of the fast recipes, beyond Keras' own.

:class:`BiasBoostSGD` is SGD with a larger learning rate for BatchNorm offsets
(airbench's "bias scaler"). Offsets (``beta``) are few and cheap to move; giving
them a learning rate 64 times larger than the weights' makes them keep up with
the fast one-cycle schedule (Page, *How to train your ResNet*, part 5; airbench).
Keras optimizers have one learning rate, so the offsets' gradients are scaled
instead: with SGD that is the same as a larger rate for them. Decoupled weight
decay is not scaled, as in airbench.

:class:`Muon` steps convolution kernels by orthogonalised momentum (Jordan
2024) and the rest by SGD, as airbench94_muon does. ``keras.optimizers.Muon``
exists, but it orthogonalises 2-D kernels only and hands convolutions to AdamW.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import ops

__all__ = ["BiasBoostSGD", "Muon", "orthogonalize"]


@keras.saving.register_keras_serializable(package="cifar_edu")
class BiasBoostSGD(keras.optimizers.SGD):
    """``keras.optimizers.SGD`` whose updates of some variables are ``bias_lr_scale`` times larger.

    Parameters
    ----------
    bias_lr_scale : float
        Factor applied to the gradients of the boosted variables.
    boosted_names : sequence of str
        Variable names to boost (``"beta"`` is every BatchNorm offset).
    **kwargs
        Passed to ``keras.optimizers.SGD`` (``learning_rate``, ``momentum``,
        ``nesterov``, ``weight_decay`` ...).
    """

    def __init__(self, *args, bias_lr_scale: float = 64.0,
                 boosted_names: Sequence[str] = ("beta",), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.bias_lr_scale = float(bias_lr_scale)
        self.boosted_names = tuple(boosted_names)

    def apply(self, grads, trainable_variables=None):  # noqa: D102 - Keras API
        variables = (self._trainable_variables if trainable_variables is None
                     else list(trainable_variables))
        grads = [g * self.bias_lr_scale if g is not None and v.name in self.boosted_names else g
                 for g, v in zip(grads, variables)]
        return super().apply(grads, trainable_variables)

    def get_config(self) -> dict:  # noqa: D102 - Keras API
        return {**super().get_config(), "bias_lr_scale": self.bias_lr_scale,
                "boosted_names": list(self.boosted_names)}


@keras.saving.register_keras_serializable(package="cifar_edu")
class Muon(keras.optimizers.Optimizer):
    """Muon for convolution kernels, SGD-Nesterov for the rest (airbench94_muon, Jordan 2024).

    Muon ("MomentUm Orthogonalized by Newton-schulz") replaces each kernel's
    momentum update by the nearest semi-orthogonal matrix: the update's singular
    values are all set to about one, so every direction of the filter bank
    learns at the same speed instead of the few largest ones dominating. Each
    kernel is also rescaled to a fixed norm before its step, so the step size is
    relative to the weights. BatchNorm offsets and the linear head, which are not
    filter banks, keep SGD with Nesterov momentum and an L2 penalty.

    ``learning_rate`` (a number or schedule) is Muon's; the SGD groups use
    ``learning_rate * bias_lr / peak_lr`` and ``learning_rate * head_lr / peak_lr``,
    so one schedule drives all three. The SGD rates are per example (airbench sums
    the loss over the batch; Keras averages it), hence ``batch_size``.

    Parameters
    ----------
    learning_rate : float or LearningRateSchedule
        Muon's rate (airbench: 0.24, decayed linearly to 0).
    peak_lr : float
        The schedule's largest value (ties the SGD rates to it).
    momentum : float
        Muon's Nesterov momentum.
    ns_steps : int
        Newton-Schulz iterations of the orthogonalisation.
    bias_lr, head_lr : float
        Peak SGD rates of BatchNorm offsets (rank-1 variables) and of the linear
        head (rank-2 kernels), per example of a summed loss.
    sgd_momentum : float
        Nesterov momentum of the SGD groups.
    weight_decay : float
        L2 penalty of the SGD groups per step and example: each step shrinks them by
        about ``weight_decay * batch_size`` times the schedule's fraction.
    batch_size : int
        Images per step (to turn the mean loss into airbench's summed loss).
    """

    def __init__(self, learning_rate=0.24, *, peak_lr: float = 0.24, momentum: float = 0.6,
                 ns_steps: int = 3, bias_lr: float = 0.053, head_lr: float = 0.67,
                 sgd_momentum: float = 0.85, weight_decay: float = 2e-6,
                 batch_size: int = 2000, name: str = "muon", **kwargs) -> None:
        # `weight_decay` is taken here, so Keras' own (decoupled) decay stays off.
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.peak_lr = float(peak_lr)
        self.momentum = float(momentum)
        self.ns_steps = int(ns_steps)
        self.bias_lr = float(bias_lr)
        self.head_lr = float(head_lr)
        self.sgd_momentum = float(sgd_momentum)
        self.l2 = float(weight_decay)
        self.batch_size = int(batch_size)

    def build(self, var_list):  # noqa: D102 - Keras API
        if self.built:
            return
        super().build(var_list)
        self._buffers = [self.add_variable_from_reference(v, name="momentum") for v in var_list]

    def update_step(self, gradient, variable, learning_rate):  # noqa: D102 - Keras API
        lr = ops.cast(learning_rate, variable.dtype)
        grad = ops.cast(gradient, variable.dtype)
        buffer = self._buffers[self._get_variable_index(variable)]
        if len(variable.shape) >= 3:  # a convolution kernel (rows, cols, in, out)
            self.assign(buffer, buffer * self.momentum + grad)
            grad = grad + self.momentum * buffer
            out = variable.shape[-1]
            # Fixed norm sqrt(out): unit-norm filters on average, as in airbench.
            norm = ops.sqrt(ops.sum(ops.square(variable)))
            self.assign(variable, variable * (out ** 0.5 / (norm + 1e-12)))
            update = orthogonalize(ops.reshape(grad, (-1, out)), self.ns_steps)
            self.assign_sub(variable, lr * ops.reshape(update, variable.shape))
            return
        group_lr = self.bias_lr if len(variable.shape) == 1 else self.head_lr
        grad = grad * self.batch_size + (self.l2 * self.batch_size / group_lr) * variable
        self.assign(buffer, buffer * self.sgd_momentum + grad)
        grad = grad + self.sgd_momentum * buffer
        self.assign_sub(variable, lr * (group_lr / self.peak_lr) * grad)

    def get_config(self) -> dict:  # noqa: D102 - Keras API
        return {**super().get_config(), "peak_lr": self.peak_lr, "momentum": self.momentum,
                "ns_steps": self.ns_steps, "bias_lr": self.bias_lr, "head_lr": self.head_lr,
                "sgd_momentum": self.sgd_momentum, "weight_decay": self.l2,
                "batch_size": self.batch_size}


def orthogonalize(matrix, steps: int = 3):
    """About the nearest semi-orthogonal matrix to ``matrix`` (Muon's Newton-Schulz step).

    A quintic iteration pushes every singular value towards one without an SVD;
    its coefficients trade exactness (values end between about 0.5 and 1.5) for
    speed, which does not hurt training (Jordan 2024).
    """
    a, b, c = 3.4445, -4.7750, 2.0315
    tall = matrix.shape[0] > matrix.shape[1]
    x = ops.transpose(matrix) if tall else matrix
    x = x / (ops.sqrt(ops.sum(ops.square(x))) + 1e-7)  # spectral norm <= Frobenius norm <= 1
    for _ in range(steps):
        gram = x @ ops.transpose(x)
        x = a * x + (b * gram + c * gram @ gram) @ x
    return ops.transpose(x) if tall else x
