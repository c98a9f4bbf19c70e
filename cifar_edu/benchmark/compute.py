"""What a network costs and what this machine delivers: multiply-adds layer by layer
(:func:`layer_costs`) and the rate of one large convolution (:func:`conv_rate`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from cifar_edu.benchmark.measure import time_calls

__all__ = ["layer_costs", "conv_rate"]


def layer_costs(model: Any) -> list[dict[str, Any]]:
    """Parameters and multiply-adds of one image's forward pass, layer by layer.

    A ``Conv2D``'s multiply-adds are (output height x output width x output
    channels) x (kernel height x kernel width x input channels / groups); a
    ``Dense`` layer's, inputs x units (at every position, for inputs with more
    than one axis). Element-wise layers (normalisation, batch
    normalisation, activations, pooling) cost a few operations per value and
    are counted as 0; one multiply-add is two floating-point operations (FLOPs).

    Parameters
    ----------
    model : keras.Model
        A built functional or sequential model.

    Returns
    -------
    list of dict
        One per layer: ``name``, ``type``, ``output_shape`` (without the batch
        axis), ``parameters`` and ``multiply_adds``.
    """
    import keras

    rows = []
    for layer in model.layers:
        try:
            shape = tuple(int(d) for d in layer.output.shape[1:])
        except (AttributeError, ValueError, TypeError):
            shape = None
        macs = 0
        if isinstance(layer, keras.layers.Conv2D) and shape is not None:
            kernel = tuple(layer.kernel.shape)  # (kh, kw, c_in / groups, c_out)
            macs = int(np.prod(shape)) * int(np.prod(kernel[:3]))
        elif isinstance(layer, keras.layers.Dense):
            macs = int(np.prod(layer.kernel.shape))
            if shape is not None and len(shape) > 1:  # applied at every position
                macs *= int(np.prod(shape[:-1]))
        rows.append({"name": layer.name, "type": type(layer).__name__, "output_shape": shape,
                     "parameters": int(layer.count_params()), "multiply_adds": macs})
    return rows


def conv_rate(precision: str = "auto", *, batch: int = 64, size: int = 16,
              channels: int = 384, min_time_s: float = 1.0) -> float:
    """Billions of multiply-adds per second in one large 3x3 convolution on this machine.

    A CNN's time goes into convolutions like this one; here there is a single
    large one, with nothing else in the way, so its rate is about the most the
    network's convolutions can reach. A network that already runs near it gets
    faster only by doing fewer multiply-adds.

    Parameters
    ----------
    precision : str
        ``"auto"`` or a policy name; the convolution uses the policy's compute dtype.
    batch, size, channels : int
        Input ``(batch, size, size, channels)``, ``channels`` filters, "same" padding.
    min_time_s : float
        Time at least this many seconds of calls (and at least three).

    Returns
    -------
    float
        Multiply-adds of one call over the median time of a call, in billions.
    """
    import keras
    import tensorflow as tf

    from cifar_edu.precision import detect_precision

    dtype = keras.mixed_precision.Policy(detect_precision(precision).policy).compute_dtype
    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal((batch, size, size, channels)), dtype)
    kernel = tf.constant(0.01 * rng.standard_normal((3, 3, channels, channels)), dtype)

    @tf.function
    def convolve():
        return tf.nn.conv2d(x, kernel, 1, "SAME")[0, 0, 0, 0]  # fetch one value, not all

    for _ in range(2):
        convolve().numpy()
    median = float(np.median(time_calls(lambda: convolve().numpy(), min_time_s, 3)))
    return batch * size * size * channels * 9 * channels / median / 1e9
