"""``cifar-edu data info`` and ``cifar-edu data fetch``."""

from __future__ import annotations

import argparse

import numpy as np

from cifar_edu.cli.common import CommandResult, add_common_options, add_data_option
from cifar_edu.errors import CifarEduError
from cifar_edu.data import (CLASS_NAMES, fetch, load_dataset, source_checksums,
                            train_val_indices)
from cifar_edu.data.sources import CifarData


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``data`` command group."""
    data = subparsers.add_parser("data", help="inspect or download CIFAR-10")
    sub = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    sub.required = True

    info = sub.add_parser("info", help="which dataset is used, counts per split and class, "
                                       "file checksums")
    add_data_option(info)
    add_common_options(info)
    info.add_argument("--val-fraction", type=float, default=0.1,
                      help="share of training images held out for validation (default 0.1)")
    info.set_defaults(handler=run_info)

    fetch_parser = sub.add_parser("fetch", help="download the official archive into the cache "
                                                "(SHA-256 verified)")
    fetch_parser.add_argument("--force", action="store_true", help="download again")
    add_common_options(fetch_parser)
    fetch_parser.set_defaults(handler=run_fetch)


def describe(data: CifarData, val_fraction: float = 0.1) -> dict:
    """Counts per split and class, the source and its checksums, as a JSON-safe dict."""
    train_idx, val_idx = train_val_indices(data.y_train, val_fraction)
    y_train = data.y_train.reshape(-1)

    def per_class(labels: np.ndarray) -> dict[str, int]:
        counts = np.bincount(labels.reshape(-1), minlength=len(CLASS_NAMES))
        return {name: int(c) for name, c in zip(CLASS_NAMES, counts)}

    splits = {
        "train": {"count": int(len(y_train)), "per_class": per_class(y_train)},
        "train_after_val_split": {"count": int(len(train_idx)),
                                  "per_class": per_class(y_train[train_idx])},
        "val": {"count": int(len(val_idx)), "per_class": per_class(y_train[val_idx])},
        "test": {"count": int(len(data.y_test)), "per_class": per_class(data.y_test)},
        "test_exact": {"count": int(len(data.exact_test_index)),
                       "per_class": per_class(data.exact_test()[1])},
    }
    return {
        "source": {"kind": data.source.kind, "location": data.source.location,
                   "offline_rebuild": data.source.offline_rebuild,
                   "description": data.source.description},
        "class_names": list(CLASS_NAMES),
        "image_shape": list(data.x_train.shape[1:]),
        "dtype": str(data.x_train.dtype),
        "val_fraction": val_fraction,
        "splits": splits,
        "sha256": source_checksums(data.source),
    }


def _text(info: dict) -> str:
    lines = [f"Using {info['source']['description']}."]
    if info["source"]["kind"] == "sample":
        lines.append("  (For the whole dataset set CIFAR10_DIR to a cifar-10-batches-py folder, "
                     "or run `cifar-edu data fetch`.)")
    if info["source"]["offline_rebuild"]:
        lines.append("  Offline rebuild: only the first 1,017 test images are byte-exact; "
                     "accuracy on them estimates real accuracy.")
    width = max(len(n) for n in info["class_names"])
    headers = {"train": "train", "train_after_val_split": "train-val", "val": "val",
               "test": "test", "test_exact": "test-exact"}
    lines.append("")
    lines.append(f"{'class':<{width}} " + " ".join(f"{h:>10}" for h in headers.values()))
    for cls in info["class_names"]:
        lines.append(f"{cls:<{width}} " + " ".join(
            f"{info['splits'][n]['per_class'][cls]:>10,}" for n in headers))
    lines.append(f"{'total':<{width}} " + " ".join(
        f"{info['splits'][n]['count']:>10,}" for n in headers))
    lines.append("(train-val: training images left after holding out the validation split)")
    lines.append("")
    lines.append("SHA-256:")
    lines += [f"  {digest}  {name}" for name, digest in info["sha256"].items()]
    return "\n".join(lines)


def run_info(args: argparse.Namespace) -> CommandResult:
    """Handler of ``cifar-edu data info``."""
    if not 0.0 < args.val_fraction < 1.0:
        raise CifarEduError(f"--val-fraction must be between 0 and 1, got {args.val_fraction}")
    info = describe(load_dataset(args.data), args.val_fraction)
    return CommandResult(info, _text(info))


def run_fetch(args: argparse.Namespace) -> CommandResult:
    """Handler of ``cifar-edu data fetch``."""
    path = fetch(force=args.force)
    return CommandResult({"path": str(path)}, f"CIFAR-10 is in {path}")
