"""Integer (int8) quantisation of a trained model with TensorFlow Lite, and running it.

Post-training *full-integer* quantisation stores every weight and every activation as an
8-bit integer with a scale: a quarter of the float32 file, and integer arithmetic, which
a CPU does several times faster than float arithmetic (on x86, with VNNI instructions).
The scales of the activations come from *calibration*: a few hundred training images run
through the float model to see each layer's range. TensorFlow's converter does the
quantisation; the LiteRT interpreter (``ai-edge-litert``, the successor of
``tf.lite.Interpreter``) runs the result.

:class:`LiteModel` runs a ``.tflite`` file like a Keras model: raw 0-255 images in,
class probabilities out, so :func:`cifar_edu.evaluation.predict_proba`, the evaluation
reports and ``cifar-edu evaluate`` / ``cifar-edu benchmark inference`` take it as they
take a ``keras.Model``.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from cifar_edu._quiet_tensorflow import stderr_silenced
from cifar_edu.errors import CifarEduError
from cifar_edu.fileio import atomic_write_bytes, atomic_write_json, sha256_file

__all__ = ["LiteModel", "quantize_int8", "calibration_images", "quantize_model",
           "read_metadata"]


def calibration_images(x_train: np.ndarray, n: int = 500, seed: int = 0) -> np.ndarray:
    """A random sample of ``n`` training images to calibrate the quantisation with.

    Calibrate on training images only: test images would leak into the model.
    """
    x_train = np.asarray(x_train)
    if n < 1:
        raise CifarEduError(f"calibrate on at least 1 image (a few hundred is usual), got {n}")
    if len(x_train) == 0:
        raise CifarEduError("there are no training images to calibrate the quantisation with")
    index = np.random.default_rng(seed).choice(len(x_train), min(n, len(x_train)), replace=False)
    return x_train[np.sort(index)]


def quantize_int8(model: keras.Model, calibration: np.ndarray,
                  out: str | os.PathLike[str]) -> Path:
    """Convert a model to a full-integer TensorFlow Lite file.

    Parameters
    ----------
    model : keras.Model
        A cifar-edu model: raw images ``(N, 32, 32, 3)`` in 0-255 in, probabilities out.
    calibration : ndarray of uint8, shape (M, 32, 32, 3)
        Training images whose activations set the int8 ranges (see
        :func:`calibration_images`).
    out : path-like
        The ``.tflite`` file to write (atomically: an interrupted conversion leaves
        no file behind).

    Returns
    -------
    Path
        ``out``. The file takes uint8 images, exactly the raw pixels, and returns
        float32 probabilities.
    """
    import tensorflow as tf

    out = Path(out)
    if out.suffix != ".tflite":
        raise CifarEduError(f"{out} should end in .tflite")
    calibration = np.asarray(calibration)
    if calibration.ndim != 4 or calibration.shape[1:] != (32, 32, 3) or not len(calibration):
        raise CifarEduError(f"calibration images must have shape (M, 32, 32, 3), got "
                            f"{calibration.shape}")

    def representative():
        for image in calibration:
            yield [image[np.newaxis].astype(np.float32)]

    with tempfile.TemporaryDirectory(prefix="cifar-edu-export-") as folder:
        model.export(folder, format="tf_saved_model", verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(folder)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        # Raw pixels are integers 0-255, so a uint8 input with scale 1 loses nothing.
        converter.inference_input_type = tf.uint8
        try:
            with stderr_silenced():  # the converter prints C++ log lines no setting hides
                flatbuffer = converter.convert()
        except Exception as exc:  # the converter raises many types, all with a long log
            raise CifarEduError(f"TensorFlow Lite could not quantise the model "
                                f"({type(exc).__name__}: {str(exc).splitlines()[0]})") from None
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out, flatbuffer)
    return out


class LiteModel:
    """A ``.tflite`` classifier that predicts like a cifar-edu ``keras.Model``.

    Parameters
    ----------
    path : path-like
        A ``.tflite`` file, e.g. from :func:`quantize_int8`.
    num_threads : int, optional
        CPU threads of the interpreter; default all the CPUs this process may use.

    Examples
    --------
    >>> lite = LiteModel("model_int8.tflite")          # doctest: +SKIP
    >>> lite.predict_on_batch(x_test[:8]).shape          # doctest: +SKIP
    (8, 10)
    """

    input_shape = (None, 32, 32, 3)

    def __init__(self, path: str | os.PathLike[str], num_threads: int | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise CifarEduError(f"no TensorFlow Lite model at {self.path}")
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            raise CifarEduError("running a .tflite model needs the LiteRT interpreter: "
                                "pip install ai-edge-litert") from None
        if num_threads is None:
            num_threads = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                           else os.cpu_count() or 1)
        self.num_threads = int(num_threads)
        try:
            with stderr_silenced():  # "INFO: Created TensorFlow Lite XNNPACK delegate"
                self._interpreter = Interpreter(model_path=str(self.path),
                                                num_threads=self.num_threads)
        except (ValueError, RuntimeError) as exc:
            raise CifarEduError(f"{self.path} is not a TensorFlow Lite model ({exc})") from None
        self._input = self._interpreter.get_input_details()[0]
        self._output = self._interpreter.get_output_details()[0]
        if tuple(self._input["shape"][1:]) != (32, 32, 3):
            raise CifarEduError(f"{self.path} takes inputs of shape {self._input['shape']}; "
                                "cifar-edu models take (N, 32, 32, 3) images")
        self._batch = None
        self.name = self.path.stem
        self.metadata = read_metadata(self.path)

    @property
    def precision(self) -> str:
        """``"int8"`` for a quantised model (uint8 input), else ``"float32"``."""
        return "int8" if self.input_dtype == np.uint8 else "float32"

    @property
    def parameters(self) -> int | None:
        """Parameters of the model it was made from (from its metadata), if known."""
        return (self.metadata.get("source_model") or {}).get("parameters")

    @property
    def multiply_adds(self) -> int | None:
        """Multiply-adds per image of the model it was made from, if known."""
        return (self.metadata.get("source_model") or {}).get("multiply_adds")

    @property
    def input_dtype(self) -> np.dtype:
        """The dtype the file takes: uint8 for a quantised cifar-edu model."""
        return np.dtype(self._input["dtype"])

    def predict_on_batch(self, x: np.ndarray) -> np.ndarray:
        """Probabilities ``(N, K)`` of raw images ``x`` ``(N, 32, 32, 3)``, 0-255."""
        x = np.asarray(x)
        if self.input_dtype == np.uint8:
            if x.dtype != np.uint8:  # integer-valued floats (from the TTA views) are exact
                x = np.clip(np.rint(x), 0, 255)
            x = x.astype(np.uint8, copy=False)
        else:
            x = x.astype(self.input_dtype, copy=False)
        if self._batch != len(x):
            self._interpreter.resize_tensor_input(self._input["index"], [len(x), 32, 32, 3])
            with stderr_silenced():
                self._interpreter.allocate_tensors()
            self._batch = len(x)
        self._interpreter.set_tensor(self._input["index"], np.ascontiguousarray(x))
        self._interpreter.invoke()
        probs = np.array(self._interpreter.get_tensor(self._output["index"]), np.float32)
        # An int8 softmax comes out in steps of 1/256, so rows sum to 1 only within a few
        # steps; rescaling them keeps every caller's "probabilities sum to 1" true.
        return probs / np.maximum(probs.sum(axis=1, keepdims=True), np.finfo(np.float32).tiny)

    __call__ = predict_on_batch

    def __repr__(self) -> str:
        return f"LiteModel({str(self.path)!r}, input {self.input_dtype})"


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The provenance written next to a ``.tflite`` file (``<name>.json``), or ``{}``.

    A record whose SHA-256 is not the file's (left from another file) is ignored.
    """
    path = Path(path)
    try:
        record = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(record, dict) or record.get("sha256") != sha256_file(path):
        return {}
    return record


def quantize_model(model: str | os.PathLike[str], out: str | os.PathLike[str], *,
                   source: str | os.PathLike[str] = "auto", calibration: int = 500,
                   seed: int = 0, command: Sequence[str] | None = None) -> dict[str, Any]:
    """Quantise a saved model to int8, measure it, and record how it was made.

    What ``cifar-edu quantize`` runs. Writes ``out`` (a ``.tflite`` file) and, next
    to it, ``<name>.json``: the source model (file, SHA-256, parameters,
    multiply-adds), the calibration images (how many, which seed, from which
    data), the int8 model's test accuracy at every test-time augmentation level
    on the byte-exact rows and on the whole test set, and the command, machine,
    versions and time.

    Parameters
    ----------
    model : str or path-like
        ``"pretrained"``, a ``.keras`` file or a run folder.
    out : path-like
        The ``.tflite`` file to write.
    source : str or path-like
        The data: training images calibrate, test images measure.
    calibration : int
        How many training images calibrate the activation ranges.
    seed : int
        Which random training images calibrate.
    command : sequence of str, optional
        The command line, recorded as provenance.

    Returns
    -------
    dict
        The metadata written next to the file.
    """
    from cifar_edu.data import load_dataset
    from cifar_edu.model_store import load_model, resolve_model_path
    from cifar_edu.training.run import evaluate_run_model

    out = Path(out)
    if out.suffix != ".tflite":
        raise CifarEduError(f"--out {out} should end in .tflite")
    model_path = resolve_model_path(model)
    keras_model = load_model(model_path)
    data = load_dataset(source)
    # Converted and measured under a temporary name: an interrupted run leaves the old
    # file (or none) in place, never a new model without its measurements.
    partial = out.with_name(f".{out.stem}.partial.tflite")
    try:
        start = time.perf_counter()
        quantize_int8(keras_model, calibration_images(data.x_train, calibration, seed), partial)
        convert_s = time.perf_counter() - start
        lite = LiteModel(partial)
        accuracy = evaluate_run_model(lite, data, tta=2)
        # Also on the shipped sample, which the tests can re-measure anywhere.
        sample = data if data.source.kind == "sample" else load_dataset("sample")
        accuracy["sample_test"] = {
            "n": int(len(sample.y_test)),
            "accuracy": float(np.mean(lite.predict_on_batch(sample.x_test).argmax(1)
                                      == sample.y_test.reshape(-1)))}
        metadata = _metadata(out, partial, model, model_path, keras_model, data, calibration,
                             seed, accuracy, convert_s, command)
        atomic_write_json(out.with_suffix(".json"), metadata)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return metadata


def _metadata(out: Path, written: Path, model: Any, model_path: Path, keras_model: keras.Model,
              data: Any, calibration: int, seed: int, accuracy: dict[str, Any],
              convert_s: float, command: Sequence[str] | None) -> dict[str, Any]:
    from cifar_edu.benchmark.compute import layer_costs
    from cifar_edu.training.provenance import data_provenance, hardware, package_versions, utc_now

    return {
        "kind": "int8",
        "file": out.name,
        "sha256": sha256_file(written),
        "size_bytes": written.stat().st_size,
        "source_model": {"spec": str(model), "file": model_path.name,
                         "sha256": sha256_file(model_path),
                         "size_bytes": model_path.stat().st_size,
                         "parameters": int(keras_model.count_params()),
                         "multiply_adds": sum(r["multiply_adds"] for r in layer_costs(keras_model))},
        "calibration": {"images": int(min(calibration, len(data.x_train))), "seed": seed,
                        "from": "training images"},
        "data": data_provenance(data),
        "accuracy": accuracy,
        "convert_s": convert_s,
        "command": " ".join(command) if command else None,
        "created": utc_now(),
        "machine": hardware(),
        "versions": package_versions(),
    }
