"""Learning-rate schedules: warm-up then linear decay (the "one-cycle" triangle).

The rate rises linearly from ``start_factor * peak`` to ``peak`` during the
warm-up, then falls linearly to ``end_factor * peak`` at the last step. With a
short warm-up this is the one-cycle policy of Smith & Topin (2017) as used by the
fast CIFAR-10 trainers (Page's ResNet-9, airbench: warm-up over the first 23% of
steps from 0.2x, decay to 0.07x).
"""

from __future__ import annotations

import keras
from keras import ops

__all__ = ["WarmupLinearDecay", "one_cycle"]


@keras.saving.register_keras_serializable(package="cifar_edu")
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to ``peak``, then linear decay until ``total_steps``.

    Parameters
    ----------
    peak : float
        Highest learning rate, reached at the end of the warm-up.
    total_steps : int
        Number of optimizer steps of the whole training; later steps keep the end value.
    warmup_fraction : float
        Share of the steps spent warming up (0 = start at the peak).
    start_factor : float
        Rate at step 0 as a fraction of ``peak``.
    end_factor : float
        Rate at the last step as a fraction of ``peak``.
    """

    def __init__(self, peak: float, total_steps: int, warmup_fraction: float = 0.23,
                 start_factor: float = 0.2, end_factor: float = 0.07) -> None:
        if total_steps < 1:
            raise ValueError(f"total_steps must be at least 1, got {total_steps}")
        if not 0.0 <= warmup_fraction < 1.0:
            raise ValueError(f"warmup_fraction must be in [0, 1), got {warmup_fraction}")
        self.peak = float(peak)
        self.total_steps = int(total_steps)
        self.warmup_fraction = float(warmup_fraction)
        self.start_factor = float(start_factor)
        self.end_factor = float(end_factor)

    @property
    def warmup_steps(self) -> int:
        """Step at which the rate peaks."""
        return int(self.warmup_fraction * self.total_steps)

    def __call__(self, step):  # noqa: D102 - Keras API
        step = ops.cast(step, "float32")
        warmup = float(max(self.warmup_steps, 1))
        rise = self.start_factor + (1.0 - self.start_factor) * step / warmup
        decay_steps = float(max(self.total_steps - self.warmup_steps, 1))
        progress = ops.clip((step - self.warmup_steps) / decay_steps, 0.0, 1.0)
        fall = 1.0 + (self.end_factor - 1.0) * progress
        factor = ops.where(step < self.warmup_steps, rise, fall)
        return self.peak * factor

    def get_config(self) -> dict:  # noqa: D102 - Keras API
        return {"peak": self.peak, "total_steps": self.total_steps,
                "warmup_fraction": self.warmup_fraction, "start_factor": self.start_factor,
                "end_factor": self.end_factor}


def one_cycle(peak: float, total_steps: int, warmup_fraction: float = 0.3) -> WarmupLinearDecay:
    """The classic one-cycle triangle: from ``peak/25`` up to ``peak`` and down to nearly 0."""
    return WarmupLinearDecay(peak, total_steps, warmup_fraction, start_factor=0.04,
                             end_factor=0.0)
