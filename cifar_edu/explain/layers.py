"""Which layer to explain, and which class score to differentiate.

Grad-CAM needs a feature map: a layer whose output is ``(batch, h, w, channels)``.
On 32x32 CIFAR-10 images the choice matters more than on ImageNet: the last
convolution of a deep network is often only 4x4 (each cell covers 8x8 pixels), so
the map is coarse; an 8x8 layer is usually the better compromise between
resolution and semantics. :func:`default_layer` picks one and says why.

Tensors are found by walking the model's own graph back from its output, not
with ``layer.output``: that is the tensor of the layer's *first* call, and a
model loaded from a ``.keras`` file calls its layers several times while it is
rebuilt, so ``layer.output`` belongs to another graph and its gradient is None.

Limitation: only *top-level* layers are reachable. A layer inside a nested
submodel (e.g. a ``backbone`` Sequential inside the model) lives in the
submodel's own graph, so it cannot be explained by name; the submodel itself
is listed instead when it computes feature maps.
"""

from __future__ import annotations

import collections

import keras
from keras import ops

from cifar_edu.errors import CifarEduError

__all__ = ["conv_layers", "default_layer", "layer_resolution", "resolve_layer",
           "layer_output", "class_score_output", "check_model"]

# Layers whose 4-D output is a useful feature map. Pooling, dropout and
# preprocessing layers (Rescaling, Normalization, augmentation) are left out:
# pooling/dropout repeat the map before them, preprocessing is still the image.
_FEATURE_LAYERS = (
    keras.layers.Conv2D, keras.layers.SeparableConv2D, keras.layers.DepthwiseConv2D,
    keras.layers.Conv2DTranspose,
    keras.layers.Activation, keras.layers.ReLU, keras.layers.LeakyReLU, keras.layers.ELU,
    keras.layers.PReLU,
    keras.layers.BatchNormalization, keras.layers.LayerNormalization,
    keras.layers.GroupNormalization,
    keras.layers.Add, keras.layers.Concatenate,
)
_CONV_LAYERS = _FEATURE_LAYERS[:4]


def check_model(model: object) -> None:
    """Raise :class:`CifarEduError` unless ``model`` is a one-input, one-output graph model."""
    if not isinstance(model, keras.Model):
        raise CifarEduError(f"expected a keras.Model, got {type(model).__name__}; load one with "
                            "cifar_edu.model_store.load_model('pretrained') or build one")
    try:
        inputs, outputs = model.inputs, model.outputs
    except (AttributeError, ValueError):
        inputs = outputs = None
    if not inputs or not outputs:
        raise CifarEduError(
            f"model {model.name!r} has no symbolic inputs/outputs (a subclassed or unbuilt model); "
            "explanations need a Sequential or functional model that starts with keras.Input")
    if len(inputs) != 1 or len(outputs) != 1:
        raise CifarEduError(f"model {model.name!r} has {len(inputs)} inputs and {len(outputs)} "
                            "outputs; explanations need one image input and one probability output")


def _graph_tensors(model: keras.Model) -> dict[int, keras.KerasTensor]:
    """``id(layer) -> output tensor`` for every layer on the model's input-to-output path.

    Walks the DAG back from the output through each tensor's ``_keras_history``
    (the way Keras itself rebuilds it, see ``keras.src.ops.node``). A layer used
    twice keeps the call nearest the output.
    """
    found: dict[int, keras.KerasTensor] = {}
    seen: set[int] = set()
    queue = collections.deque(model.outputs)
    while queue:
        tensor = queue.popleft()
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        history = getattr(tensor, "_keras_history", None)
        if history is None or history.operation is None:
            continue
        found.setdefault(id(history.operation), tensor)
        queue.extend(history.operation._inbound_nodes[history.node_index].input_tensors)
    return found


def _is_backbone(layer: keras.layers.Layer) -> bool:
    # A nested submodel counts when it computes features (a backbone), not when it
    # only preprocesses (an augmentation Sequential).
    return isinstance(layer, keras.Model) and any(
        isinstance(inner, _FEATURE_LAYERS) for inner in _all_layers(layer))


def conv_layers(model: keras.Model) -> list[tuple[str, tuple[int, int]]]:
    """List the layers Grad-CAM can explain, with their spatial resolution.

    Parameters
    ----------
    model : keras.Model
        A Sequential or functional model.

    Returns
    -------
    list of (str, (int, int))
        ``(name, (height, width))`` of each top-level convolution, activation,
        normalisation or merge layer with a 4-D output, and of each nested
        submodel that computes feature maps, in model order (input to output).
    """
    check_model(model)
    tensors = _graph_tensors(model)
    found = []
    for layer in model.layers:
        tensor = tensors.get(id(layer))
        if tensor is None or not (isinstance(layer, _FEATURE_LAYERS) or _is_backbone(layer)):
            continue
        shape = tuple(tensor.shape)
        if len(shape) == 4 and shape[1] is not None:
            found.append((layer.name, (int(shape[1]), int(shape[2]))))
    return found


def layer_output(model: keras.Model, name: str | keras.layers.Layer | None) -> keras.KerasTensor:
    """The symbolic feature map of layer ``name`` in ``model``'s graph (use it, not ``.output``)."""
    layer = model.get_layer(resolve_layer(model, name))
    return _graph_tensors(model)[id(layer)]


def layer_resolution(model: keras.Model, name: str) -> tuple[int, int]:
    """Spatial resolution ``(height, width)`` of the feature map of layer ``name``."""
    shape = layer_output(model, name).shape
    return int(shape[1]), int(shape[2])


def default_layer(model: keras.Model, resolution: int = 8) -> str:
    """Pick the layer to explain: the last one with a ``resolution`` x ``resolution`` map.

    Parameters
    ----------
    model : keras.Model
        The model to explain.
    resolution : int
        Wanted side of the feature map: 8 (finer, the default) or 4 (deeper, coarser)
        for the course's 32x32 networks.

    Returns
    -------
    str
        The layer name. When no layer has exactly that resolution, the last layer at
        the nearest one is used (a 7x7 map for 8, say); :func:`conv_layers` lists them.
    """
    if not isinstance(resolution, int) or isinstance(resolution, bool) or resolution < 1:
        raise CifarEduError(f"resolution must be a positive integer such as 8 or 4, "
                            f"got {resolution!r}")
    candidates = conv_layers(model)
    if not candidates:
        raise CifarEduError(
            f"model {model.name!r} has no top-level convolution or activation layer with a 4-D "
            "output, so Grad-CAM has nothing to explain; use saliency() instead")
    # The last layer at the resolution nearest the one asked for (ties: the finer
    # map). Networks that downsample with valid convolutions have 7x7, not 8x8, maps.
    nearest = min({size[0] for _, size in candidates},
                  key=lambda side: (abs(side - resolution), -side))
    return [name for name, size in candidates if size[0] == nearest][-1]


def resolve_layer(model: keras.Model, layer: str | keras.layers.Layer | None) -> str:
    """Check a layer choice and return its name (None means :func:`default_layer`)."""
    check_model(model)
    if layer is None:
        return default_layer(model)
    name = layer.name if isinstance(layer, keras.layers.Layer) else layer
    if not isinstance(name, str):
        raise CifarEduError(f"layer must be a layer name such as 'conv2', got {layer!r}")
    top_level = {sub.name: sub for sub in model.layers}
    if name not in top_level:
        for sub in model.layers:
            if isinstance(sub, keras.Model) and any(inner.name == name
                                                     for inner in _all_layers(sub)):
                raise CifarEduError(
                    f"layer {name!r} sits inside the nested submodel {sub.name!r}, which Grad-CAM "
                    f"cannot reach; explain {sub.name!r} itself or a top-level layer: "
                    f"{_names(model)}")
        raise CifarEduError(f"model {model.name!r} has no layer {name!r}; choose one of "
                            f"{_names(model)}")
    tensor = _graph_tensors(model).get(id(top_level[name]))
    shape = None if tensor is None else tuple(tensor.shape)
    if shape is None or len(shape) != 4:
        what = "is not used by the model" if shape is None else f"outputs shape {shape}"
        raise CifarEduError(f"layer {name!r} {what}, not a feature map (batch, height, width, "
                            f"channels); choose one of {_names(model)}")
    return name


def _all_layers(model: keras.Model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)


def _names(model: keras.Model) -> str:
    listed = conv_layers(model)
    if not listed:
        return "(none: this model has no feature-map layer)"
    return ", ".join(f"{name} ({h}x{w})" for name, (h, w) in listed)


def _is_softmax(activation: object) -> bool:
    return activation is keras.activations.softmax or \
        getattr(activation, "__name__", "") == "softmax"


def class_score_output(model: keras.Model) -> tuple[keras.KerasTensor, str]:
    """The symbolic per-class score that explanations differentiate.

    Gradients of softmax probabilities saturate and mix in the other classes, so
    Grad-CAM and saliency use the pre-softmax logit. It is read off the graph
    *without changing the model* (tf-keras-vis' ``ReplaceToLinear`` would set the
    last activation to linear in place, and fails on Keras 3 Sequential models).

    Returns
    -------
    (KerasTensor, str)
        The ``(batch, classes)`` score tensor, connected to ``model.inputs``, and its
        kind: ``"logit"`` (found in the graph, or the model already outputs
        unnormalised scores) or ``"log_probability"`` (fallback when the softmax
        is hidden, e.g. inside a nested submodel; same ranking, similar gradients).
    """
    check_model(model)
    output = model.outputs[0]
    history = getattr(output, "_keras_history", None)
    last = history.operation if history is not None else None
    activation = getattr(last, "activation", None)
    if isinstance(last, (keras.layers.Dense, keras.layers.Softmax, keras.layers.Activation)):
        node_inputs = last._inbound_nodes[history.node_index].input_tensors
        x = node_inputs[0] if len(node_inputs) == 1 else None
        if x is not None and isinstance(last, keras.layers.Dense) and _is_softmax(activation):
            # Dense(softmax) = softmax(x @ kernel + bias): rebuild the part before softmax.
            logits = ops.matmul(x, ops.cast(last.kernel, x.dtype))
            if last.use_bias:
                logits = logits + ops.cast(last.bias, x.dtype)
            return logits, "logit"
        if x is not None and (isinstance(last, keras.layers.Softmax) or _is_softmax(activation)):
            return x, "logit"
    if getattr(activation, "__name__", "") == "linear":
        return output, "logit"
    return ops.log(ops.maximum(output, keras.config.epsilon())), "log_probability"
