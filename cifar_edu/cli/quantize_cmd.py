"""``cifar-edu quantize``: a trained model as a full-integer (int8) TensorFlow Lite file,
with its accuracy and provenance next to it."""

from __future__ import annotations

import argparse
import sys

from cifar_edu.cli.common import CommandResult, add_common_options, add_data_option
from cifar_edu.errors import CifarEduError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``quantize`` command."""
    parser = subparsers.add_parser(
        "quantize", help="quantise a trained model to 8-bit integers (TensorFlow Lite)",
        description="Convert a trained model to a full-integer TensorFlow Lite file, calibrated "
                    "on training images, measure its test accuracy, and write both: OUT and "
                    "OUT's name with .json (provenance and accuracy). Evaluate or benchmark "
                    "the file with --model OUT.")
    parser.add_argument("--model", default="pretrained", metavar="PATH|pretrained",
                        help="'pretrained' (default), a .keras file or a run folder")
    parser.add_argument("--out", required=True, metavar="FILE.tflite",
                        help="the TensorFlow Lite file to write")
    add_data_option(parser)
    parser.add_argument("--calibration", type=int, default=500, metavar="N",
                        help="training images that calibrate the int8 ranges (default 500)")
    parser.add_argument("--seed", type=int, default=0,
                        help="which random training images calibrate (default 0)")
    add_common_options(parser)
    parser.set_defaults(handler=run_quantize)


def run_quantize(args: argparse.Namespace) -> CommandResult:
    """Handler of ``cifar-edu quantize``."""
    if args.calibration < 1:
        raise CifarEduError(f"--calibration must be at least 1 (500 is usual), got "
                            f"{args.calibration}")
    # Imported here: TensorFlow takes seconds to load, and other commands must not pay for it.
    from cifar_edu.quantization import quantize_model

    meta = quantize_model(args.model, args.out, source=args.data, calibration=args.calibration,
                          seed=args.seed, command=["cifar-edu", *sys.argv[1:]])
    acc = meta["accuracy"]
    exact, full = acc["test_exact"], acc["test_full"]
    source = meta["source_model"]
    lines = [f"Wrote {args.out} ({meta['size_bytes'] / 1e6:.1f} MB, from "
             f"{source['size_bytes'] / 1e6:.1f} MB) and its provenance "
             f"{meta['file'].rsplit('.', 1)[0]}.json",
             f"calibrated on {meta['calibration']['images']} training images",
             f"{'test images':<22}{'n':>7}{'no TTA':>9}{'mirror':>9}{'mirror+shift':>14}"]
    for label, block in (("byte-exact rows", exact), ("whole test set", full)):
        lines.append(f"{label:<22}{block['n']:>7,}{block['accuracy']:>9.2%}"
                     f"{block['accuracy_flip']:>9.2%}{block['accuracy_flip_translate']:>14.2%}")
    return CommandResult(meta, "\n".join(lines))
