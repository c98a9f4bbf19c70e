"""SGD with a larger learning rate for BatchNorm offsets (airbench's "bias scaler").

BatchNorm offsets (``beta``) are few and cheap to move; giving them a learning
rate 64 times larger than the weights' makes them keep up with the fast
one-cycle schedule (Page, *How to train your ResNet*, part 5; airbench). Keras
optimizers have one learning rate, so the offsets' gradients are scaled
instead: with SGD that is the same as a larger rate for them. Decoupled weight
decay is not scaled, as in airbench.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

__all__ = ["BiasBoostSGD"]


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
