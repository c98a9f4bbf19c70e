"""Interpretability: Grad-CAM, Grad-CAM++, saliency and SmoothGrad for any course model.

>>> from cifar_edu.explain import gradcam, overlay, conv_layers  # doctest: +SKIP
>>> conv_layers(model)            # which layers, at which resolution  # doctest: +SKIP
>>> maps = gradcam(model, x_test[:8])                                  # doctest: +SKIP
>>> picture = overlay(x_test[0], maps[0], scale=8)                     # doctest: +SKIP

Every function takes a course model (raw 0-255 images in, probabilities out)
and never modifies it. Maps are ``(N, 32, 32)`` float32 in [0, 1].
Figures live in :mod:`cifar_edu.explain_plots`.
"""

from __future__ import annotations

from cifar_edu.explain.examples import ExplainedExamples, explain_correct_and_wrong
from cifar_edu.explain.gradcam_scratch import gradcam_from_scratch
from cifar_edu.explain.layers import (class_score_output, conv_layers, default_layer,
                                      layer_output, layer_resolution, resolve_layer)
from cifar_edu.explain.maps import gradcam, saliency, score_model
from cifar_edu.explain.overlay import overlay, save_overlay_png
from cifar_edu.explain.sanity import METHODS, explain, randomized_copy, sanity_check

__all__ = [
    "conv_layers", "default_layer", "layer_resolution", "resolve_layer", "layer_output",
    "class_score_output",
    "gradcam", "saliency", "score_model", "gradcam_from_scratch", "explain", "METHODS",
    "overlay", "save_overlay_png", "randomized_copy", "sanity_check",
    "ExplainedExamples", "explain_correct_and_wrong",
]
