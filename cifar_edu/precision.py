"""Choosing the numeric precision of training and inference.

Mixed precision computes in 16-bit floats and keeps weights in float32:

* ``mixed_bfloat16`` on CPUs with native bfloat16 instructions (AVX512-BF16 or
  AMX), about 2x faster than float32 there, with float32's range (no loss scaling);
* ``mixed_float16`` on GPUs (Keras adds loss scaling by itself);
* ``float32`` everywhere else: where 16-bit math is emulated it is slower than float32.

Under ``mixed_bfloat16`` the activation layers (GELU, ReLU, ...) still compute in
float32 (:func:`layer_dtype`): TensorFlow's CPU kernel for GELU is several times
slower on bfloat16 tensors than on float32 ones, while the convolutions are where
bfloat16 pays. Measured on a two-core AVX512-BF16 CPU, batch 1,000: airbench94's
network predicted 1,405 images/s this way against 968 with bfloat16 GELUs (862 in
float32), airbench95's 627 against 485, and airbench94 trained 11% faster.

The choice can be forced with an argument or the ``CIFAR_EDU_PRECISION``
environment variable; every training run records which policy it used and why.

Reproducibility: with the same seed on the same machine, float32 and
``mixed_bfloat16`` training both repeat bit for bit, because the package has
TensorFlow run one operation at a time (see :mod:`cifar_edu.reproducibility`;
without that, bfloat16 runs drifted 0.3-0.4 points apart).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import keras

from cifar_edu.errors import CifarEduError

__all__ = ["POLICIES", "ENV_PRECISION", "PrecisionChoice", "cpu_flags", "detect_precision",
           "precision_scope", "cast_model", "layer_dtype", "uncompiled"]

POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")
ENV_PRECISION = "CIFAR_EDU_PRECISION"
_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


@dataclass(frozen=True)
class PrecisionChoice:
    """The chosen Keras dtype policy and why.

    Attributes
    ----------
    policy : str
        One of :data:`POLICIES`.
    requested : str
        What was asked for: ``"auto"`` or a policy name.
    reason : str
        One human sentence, e.g. "the CPU has avx512_bf16".
    """

    policy: str
    requested: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        """The choice as a plain dict (for provenance records)."""
        return asdict(self)


def cpu_flags(cpuinfo: str | os.PathLike[str] = "/proc/cpuinfo") -> set[str]:
    """The CPU feature flags listed in ``cpuinfo`` (empty where there is no such file)."""
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        return set()
    flags: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):  # x86 and ARM spellings
            flags.update(value.split())
    return flags


def _gpu_names() -> list[str]:
    import tensorflow as tf

    return [device.name for device in tf.config.list_physical_devices("GPU")]


def detect_precision(requested: str | None = "auto", *,
                     cpuinfo: str | os.PathLike[str] = "/proc/cpuinfo",
                     gpus: list[str] | None = None) -> PrecisionChoice:
    """Choose the dtype policy for this machine.

    Parameters
    ----------
    requested : str or None
        ``"auto"`` (default) or one of :data:`POLICIES` to force it. ``None`` or
        ``"auto"`` defer to the ``CIFAR_EDU_PRECISION`` environment variable, if set.
    cpuinfo : path-like
        Where to read the CPU flags (tests pass a fake file).
    gpus : list of str, optional
        The GPUs present; found with TensorFlow when not given.

    Returns
    -------
    PrecisionChoice

    Raises
    ------
    CifarEduError
        ``requested`` (or the environment variable) names no known policy.
    """
    requested = requested or "auto"
    env = os.environ.get(ENV_PRECISION, "").strip()
    if requested == "auto" and env:
        requested, origin = env, f"{ENV_PRECISION}={env}"
    else:
        origin = "requested"
    if requested not in ("auto", *POLICIES):
        raise CifarEduError(f"unknown precision {requested!r} ({origin}); use auto, "
                            + ", ".join(POLICIES))
    if requested != "auto":
        return PrecisionChoice(requested, requested, f"{origin}")
    gpus = _gpu_names() if gpus is None else gpus
    if gpus:
        return PrecisionChoice("mixed_float16", "auto", f"a GPU is present ({gpus[0]})")
    found = sorted(cpu_flags(cpuinfo).intersection(_BF16_FLAGS))
    if found:
        return PrecisionChoice("mixed_bfloat16", "auto", f"the CPU has {' and '.join(found)}")
    return PrecisionChoice("float32", "auto", "no GPU and no bfloat16 instructions on the CPU")


@contextlib.contextmanager
def precision_scope(policy: str) -> Iterator[None]:
    """Set Keras' global dtype policy inside the block and restore the old one after.

    Models built inside the block compute in ``policy``.
    """
    if policy not in POLICIES:
        raise CifarEduError(f"unknown precision {policy!r}; use one of {', '.join(POLICIES)}")
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def cast_model(model: keras.Model, policy: str) -> keras.Model:
    """Return a copy of ``model`` that computes in ``policy``, with the same weights.

    The output layer stays float32, so probabilities are never rounded to 16
    bits, and so do activation layers under ``mixed_bfloat16`` (see
    :func:`layer_dtype`). Use it to run a float32-saved model fast on a bfloat16
    CPU, or to make a portable float32 copy of a model trained in mixed precision.

    Parameters
    ----------
    model : keras.Model
        A functional or sequential model.
    policy : str
        One of :data:`POLICIES`.
    """
    if policy not in POLICIES:
        raise CifarEduError(f"unknown precision {policy!r}; use one of {', '.join(POLICIES)}")
    output_names = {node.operation.name for node in _output_nodes(model)}

    def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
        config = layer.get_config()
        config["dtype"] = layer_dtype(layer, policy, output=layer.name in output_names)
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    return uncompiled(copy)


def layer_dtype(layer: keras.layers.Layer, policy: str, output: bool = False) -> str:
    """The dtype policy one layer of a model computing in ``policy`` should have.

    Parameters
    ----------
    layer : keras.layers.Layer
        The layer.
    policy : str
        The model's policy, one of :data:`POLICIES`.
    output : bool
        The layer produces the model's output.

    Returns
    -------
    str
        ``"float32"`` for an output layer, and for an ``Activation`` layer under
        ``mixed_bfloat16`` (a float32 GELU is several times faster on a CPU than
        a bfloat16 one, and more accurate); ``policy`` otherwise.
    """
    if output or (policy == "mixed_bfloat16" and isinstance(layer, keras.layers.Activation)):
        return "float32"
    return policy


def uncompiled(model: keras.Model) -> keras.Model:
    """The same layers and weights as a new, uncompiled functional model.

    ``clone_model`` compiles its copy like the original; a model saved for
    prediction needs no optimizer state (it would double the file's size).
    """
    if not model.compiled:
        return model
    # A single input/output stays a tensor, not a one-element list, as in the original.
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    outputs = model.outputs[0] if len(model.outputs) == 1 else model.outputs
    return keras.Model(inputs, outputs, name=model.name)


def _output_nodes(model: keras.Model) -> list:
    return [output._keras_history for output in keras.tree.flatten(model.outputs)]
