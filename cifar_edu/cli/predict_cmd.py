"""``cifar-edu predict IMAGE...``: classify image files with a trained model."""

from __future__ import annotations

import argparse
import sys

from cifar_edu.cli.common import CommandResult, add_common_options
from cifar_edu.predict import (DEFAULT_UNSURE_THRESHOLD, Prediction, format_prediction,
                               gradcam_overlay, predict_images, save_image)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``predict`` command."""
    parser = subparsers.add_parser(
        "predict", help="classify image files (any format) with a trained model",
        description="Classify one or more images. Each is centre-cropped to a square and "
                    "resized to 32x32. A prediction whose top probability is below the "
                    "unsure threshold is flagged: the image may not show a CIFAR-10 class.")
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files to classify")
    parser.add_argument("--model", default="pretrained", metavar="MODEL",
                        help="'pretrained' (default, the shipped model), a .keras file or a "
                             "run folder made by `cifar-edu train`")
    parser.add_argument("--top-k", type=_top_k, default=3, metavar="K",
                        help="how many classes to show per image (1-10, default 3)")
    parser.add_argument("--unsure-threshold", type=_probability,
                        default=DEFAULT_UNSURE_THRESHOLD, metavar="P",
                        help="flag predictions whose top probability is below P "
                             f"(default {DEFAULT_UNSURE_THRESHOLD})")
    parser.add_argument("--gradcam", metavar="OUT.png", default=None,
                        help="also write the Grad-CAM overlay of the first readable image")
    add_common_options(parser)
    parser.set_defaults(handler=run_predict)


def run_predict(args: argparse.Namespace) -> CommandResult:
    """Classify ``args.images``; unreadable files are reported and give exit code 1."""
    from cifar_edu.model_store import load_model  # imports TensorFlow

    model = load_model(args.model)
    results = predict_images(model, args.images, top_k=args.top_k,
                             unsure_threshold=args.unsure_threshold, on_error="return")
    predictions = [r for r in results if isinstance(r, Prediction)]
    errors = [str(r) for r in results if not isinstance(r, Prediction)]
    for message in errors:  # one line per bad file, next to the good results
        print(f"cifar-edu: error: {message}", file=sys.stderr)

    gradcam_path = None
    if args.gradcam and predictions:
        gradcam_path = str(save_image(gradcam_overlay(model, predictions[0]), args.gradcam))
    elif args.gradcam:
        print("cifar-edu: no Grad-CAM written: no image could be read", file=sys.stderr)

    text = "\n".join(format_prediction(p) for p in predictions)
    if gradcam_path:
        text += f"\nGrad-CAM of {predictions[0].source} ({predictions[0].label}) written to " \
                f"{gradcam_path}"
    data = {"model": str(args.model), "predictions": [p.to_dict() for p in predictions],
            "errors": errors, "gradcam": gradcam_path}
    return CommandResult(data=data, text=text, exit_code=1 if errors else 0)


def _top_k(value: str) -> int:
    try:
        k = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if not 1 <= k <= 10:
        raise argparse.ArgumentTypeError(f"must be between 1 and 10, got {k}")
    return k


def _probability(value: str) -> float:
    try:
        p = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {value!r}") from None
    if not 0.0 <= p <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {p}")
    return p
