"""``cifar-edu evaluate``: accuracy with a confidence interval, per-class metrics,
ROC-AUC and calibration of a trained model, optionally written to a report folder."""

from __future__ import annotations

import argparse

from cifar_edu.cli.common import (PRECISION_CHOICES, CommandResult, add_common_options,
                                  add_data_option)
from cifar_edu.errors import CifarEduError

# Splits, repeated here so that building the parser does not import TensorFlow.
_SPLITS = ("test", "exact", "val")
_TTA = ("none", "flip", "flip_translate")  # cifar_edu.evaluation.TTA_LEVELS


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``evaluate`` command."""
    parser = subparsers.add_parser(
        "evaluate", help="evaluate a trained model: accuracy with 95%% CI, per-class metrics, "
                         "ROC-AUC, calibration",
        description="Evaluate a model on CIFAR-10. On the offline rebuild of the dataset the "
                    "byte-exact test rows (the estimate of real accuracy) and the whole test set "
                    "(a lower bound) are both reported.")
    parser.add_argument("--model", default="pretrained", metavar="PATH|pretrained",
                        help="'pretrained' (default), 'pretrained-int8' (the shipped model "
                             "quantised to 8-bit integers), a .keras or .tflite file or a run "
                             "folder of `cifar-edu train`")
    add_data_option(parser)
    parser.add_argument("--split", choices=_SPLITS, default="test",
                        help="test (default): the test set; exact: only its byte-exact rows; "
                             "val: the validation split held out of the training images")
    parser.add_argument("--tta", nargs="?", choices=_TTA, const="flip_translate",
                        default="none", metavar="LEVEL",
                        help="test-time augmentation: 'flip' averages each image with its "
                             "mirror image (2 forward passes); 'flip_translate', the default "
                             "when --tta is given alone and the level of the shipped model's "
                             "card, also averages one-pixel shifts (6 passes); 'none' "
                             "(default without --tta)")
    parser.add_argument("--precision", choices=PRECISION_CHOICES, default="float32",
                        help="numeric precision of the forward passes: float32 (default, the "
                             "saved model's own), mixed_bfloat16 (faster on CPUs that have it; "
                             "the precision training runs evaluate in), or auto")
    parser.add_argument("--n-boot", type=int, default=1000, metavar="N",
                        help="bootstrap resamples of the accuracy interval (default 1000)")
    parser.add_argument("--report", metavar="DIR",
                        help="write metrics.json, summary.txt and PNG figures into DIR")
    add_common_options(parser)
    parser.set_defaults(handler=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> CommandResult:
    """Handler of ``cifar-edu evaluate``."""
    if args.n_boot < 1:
        raise CifarEduError(f"--n-boot must be at least 1 (1000 is usual), got {args.n_boot}")
    # Imported here: TensorFlow takes seconds to load, and other commands must not pay for it.
    from cifar_edu.data import load_dataset
    from cifar_edu.evaluation import evaluate_on_data, split_arrays, write_report
    from cifar_edu.model_store import load_predictor
    from cifar_edu.precision import cast_model, detect_precision
    from cifar_edu.quantization import LiteModel

    precision = detect_precision(args.precision).policy
    data = load_dataset(args.data)
    model = load_predictor(args.model)
    if isinstance(model, LiteModel):
        if precision != "float32":
            raise CifarEduError(f"--precision applies to Keras models; {args.model} is a "
                                "TensorFlow Lite model, which computes in the precision it was "
                                "converted to")
        precision = model.precision
    elif precision != "float32":
        model = cast_model(model, precision)
    reports = evaluate_on_data(model, data, args.split, tta=args.tta, n_boot=args.n_boot)

    result = {"model": str(args.model), "data": data.source.description,
              "offline_rebuild": data.source.offline_rebuild, "split": args.split,
              "tta": args.tta, "precision": precision,
              "reports": {name: r.to_dict() for name, r in reports.items()}}
    lines = [f"Model {args.model} on {data.source.description}, computing in {precision}", ""]
    lines += ["\n\n".join(r.summary() for r in reports.values())]
    if "exact" in reports and "test" in reports:
        exact, full = reports["exact"], reports["test"]
        lines += ["", f"Estimate of real test accuracy: {exact.accuracy:.2%} "
                      f"(95% CI {exact.accuracy_ci[0]:.2%} - {exact.accuracy_ci[1]:.2%}, "
                      f"{exact.n:,} byte-exact images); whole offline rebuild "
                      f"{full.accuracy:.2%} (lower bound)."]
    if args.report:
        images = {name: (split_arrays(data, "exact")[0] if name == "exact"
                         else split_arrays(data, args.split)[0]) for name in reports}
        written = write_report(reports, args.report, images=images,
                               extra={k: v for k, v in result.items() if k != "reports"})
        result["report_files"] = {k: str(p) for k, p in written.items()}
        lines += ["", f"Report written to {args.report}: "
                      + ", ".join(p.name for p in written.values())]
    return CommandResult(result, "\n".join(lines))
