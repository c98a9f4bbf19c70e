"""What JPEG compression costs a CIFAR-10 classifier, measured on images known to be originals.

The offline rebuild of CIFAR-10 that this course's machines use (lesson 1) keeps
rows 0-1016 of every batch file as byte-exact originals and decoded every other
image from a JPEG copy. :func:`jpeg_reencode` repeats that compression exactly
(Pillow, quality 75, 4:2:0 chroma subsampling: re-encoding an image of the
rebuild gives it back unchanged), so its cost can be measured on the original
rows, image by image:

* at test time, the same model on the original test images and on their
  compressed copies;
* at training time (:func:`run_jpeg_study`), the same recipe and seeds trained on
  the original training rows, on a copy compressed like the rebuild (nine images
  in ten) and on a copy compressed throughout, each evaluated on the original and
  on the compressed test rows.

``cifar-edu jpeg-study run --out runs/jpeg-study --data full`` trains the study;
``cifar-edu jpeg-study export runs/jpeg-study`` ships its ``jpeg_study.json`` in
the saved results, where :func:`load_jpeg_study` reads it (no TensorFlow needed).
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from cifar_edu.data.sample import EXACT_ROWS
from cifar_edu.errors import CifarEduError
from cifar_edu.fileio import atomic_write_json, check_output_folder, replace_folder

__all__ = ["JPEG_QUALITY", "CONDITIONS", "jpeg_reencode", "original_train_rows",
           "run_jpeg_study", "JpegStudy", "load_jpeg_study", "export_jpeg_study"]

#: The rebuild's JPEG quality (with 4:2:0 chroma subsampling, Pillow's default).
JPEG_QUALITY = 75
#: Training images of the study: original, compressed like the rebuild, compressed throughout.
CONDITIONS = ("original", "rebuild", "compressed")
#: Name of the study's file, and of the shipped study in the saved results.
STUDY_FILE = "jpeg_study.json"
RESULT_NAME = "jpeg-study"
_BATCH_ROWS = 10_000  # rows of one CIFAR-10 training batch file
# The rebuild kept 1,017 original rows in every 10,000; the study keeps the same share.
_REBUILD_ORIGINAL_SHARE = EXACT_ROWS / _BATCH_ROWS
_MIX_SEED = 0  # which training images stay original in the "rebuild" condition


def jpeg_reencode(images: np.ndarray, quality: int = JPEG_QUALITY) -> np.ndarray:
    """Compress images as JPEG and decode them again, as the offline rebuild did.

    Parameters
    ----------
    images : ndarray of uint8, shape (N, 32, 32, 3) or (32, 32, 3)
        RGB images.
    quality : int
        JPEG quality, 1-95; the rebuild used 75 (with 4:2:0 chroma subsampling).

    Returns
    -------
    ndarray of uint8
        The decoded images, in the shape given. At quality 75 they differ from
        the originals by about 30 dB PSNR: fine detail and colour edges are
        smoothed, as in nine of ten images of the rebuild.
    """
    x = np.asarray(images)
    single = x.ndim == 3
    if single:
        x = x[np.newaxis]
    if x.ndim != 4 or x.shape[-1] != 3 or x.dtype != np.uint8:
        raise CifarEduError(f"expected uint8 RGB images (N, H, W, 3), got {x.dtype} {x.shape}; "
                            "pass images as the loader returns them (0-255, uint8)")
    if not 1 <= int(quality) <= 95:
        raise CifarEduError(f"JPEG quality must be between 1 and 95, got {quality}")
    out = np.empty_like(x)
    for i, image in enumerate(x):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, "JPEG", quality=int(quality), subsampling="4:2:0")
        buffer.seek(0)
        with Image.open(buffer) as decoded:
            out[i] = np.asarray(decoded.convert("RGB"))
    return out[0] if single else out


def original_train_rows(num_train: int) -> np.ndarray:
    """Indices of the training images that hold original pixels in the offline rebuild.

    With the 50,000 training images of the full dataset: rows 0-1016 of each of
    the five batch files (5,085 images; in the real archive every row is
    original, and the study uses the same rows so that its protocol does not
    change). With fewer (the shipped sample, cut from those rows): all of them.
    """
    if num_train != 5 * _BATCH_ROWS:
        return np.arange(num_train)
    return np.concatenate([np.arange(b * _BATCH_ROWS, b * _BATCH_ROWS + EXACT_ROWS)
                           for b in range(5)])


def run_jpeg_study(out_dir: str | os.PathLike[str], source: str | os.PathLike[str] = "auto", *,
                   seeds: Sequence[int] = (0, 1, 2), recipe: str = "fast90",
                   num_epochs: int = 40, precision: str = "auto", verbose: int | str = 0,
                   command: list[str] | None = None, data=None,
                   progress: Callable[[str], None] | None = print) -> JpegStudy:
    """Train one recipe on original and on JPEG-compressed training images, and compare.

    Every seed trains the recipe three times on the original training rows
    (:func:`original_train_rows`), differing only in the pixels: ``original``, as
    they are; ``rebuild``, nine in ten compressed (the rebuild's share, the same
    images for every seed); ``compressed``, all of them. Each model is evaluated,
    without test-time augmentation, on the original test rows and on their
    compressed copies, with the recipe's test-time augmentation, so every comparison is
    paired: same images, same seed.

    Parameters
    ----------
    out_dir : path-like
        Folder of the study; each run goes to ``runs/<condition>-seed<k>/`` inside it
        and a finished run is reused, so an interrupted study continues.
    source : str or path-like
        Data source (see :func:`cifar_edu.data.load_dataset`).
    seeds : sequence of int
        Seeds; each trains the three conditions.
    recipe : str
        The recipe (one with a fixed schedule; ``fast90`` trains in about a minute
        per run on 5,085 images for 40 epochs on two cores).
    num_epochs : int
        Epochs of every run (the training rows are a tenth of the dataset).
    precision, verbose, command, data
        As for :func:`cifar_edu.training.train`.
    progress : callable, optional
        Called with one line per run (default ``print``; ``None`` = silent).

    Returns
    -------
    JpegStudy
    """
    import keras

    from cifar_edu.data import load_dataset
    from cifar_edu.evaluation.inference import predict_proba
    from cifar_edu.evaluation.tta import TTA_LEVELS
    from cifar_edu.model_store import load_model
    from cifar_edu.training import get_recipe
    from cifar_edu.training.provenance import collect_provenance, utc_now
    from cifar_edu.training.run import read_run, run_status, train

    seeds = [int(s) for s in seeds]
    if not seeds:
        raise CifarEduError("the study needs at least one seed")
    if int(num_epochs) < 1:
        raise CifarEduError(f"the number of epochs must be at least 1, got {num_epochs}")
    the_recipe = get_recipe(recipe).replace(num_epochs=int(num_epochs))
    out_dir = check_output_folder(out_dir, {"runs", STUDY_FILE}, "a JPEG study's")
    data = data if data is not None else load_dataset(source)
    rows = original_train_rows(len(data.y_train))
    x_original, y_train = data.x_train[rows], data.y_train[rows]
    x_compressed = jpeg_reencode(x_original)
    stays = np.random.default_rng(_MIX_SEED).random(len(rows)) < _REBUILD_ORIGINAL_SHARE
    pixels = {"original": x_original, "compressed": x_compressed,
              "rebuild": np.where(stays[:, None, None, None], x_original, x_compressed)}
    x_test, y_test = data.exact_test()
    y_test = np.asarray(y_test).reshape(-1)
    test_sets = {"original": x_test, "compressed": jpeg_reencode(x_test)}

    started, t0 = utc_now(), time.perf_counter()
    records, first_precision = [], None
    for seed in seeds:
        for condition in CONDITIONS:
            run_dir = out_dir / "runs" / f"{condition}-seed{seed}"
            if run_status(run_dir) == "finished":
                metrics, prov = read_run(run_dir)
                if metrics.get("num_epochs") != the_recipe.num_epochs or prov.get("seed") != seed \
                        or metrics.get("recipe") != the_recipe.name:
                    raise CifarEduError(f"{run_dir} holds a run with other settings; use a new "
                                        "--out for a different protocol")
                model = load_model(run_dir)
            else:
                # The test rows of the run's own metrics are the original test rows.
                run_data = dataclasses.replace(
                    data, x_train=pixels[condition], y_train=y_train, x_test=x_test,
                    y_test=y_test.reshape(-1, 1), exact_test_index=np.arange(len(y_test)))
                result = train(the_recipe, run_dir, seed=seed, precision=precision,
                               resume=run_status(run_dir) == "interrupted", verbose=verbose,
                               command=command, data=run_data)
                model, metrics, prov = result.model, result.metrics, result.provenance
            first_precision = first_precision or prov.get("precision")
            record: dict[str, Any] = {"condition": condition, "seed": seed}
            for test_name, images in test_sets.items():
                predicted = predict_proba(model, images, batch_size=500,
                                          tta=the_recipe.tta).argmax(1)
                record[f"test_{test_name}"] = float(np.mean(predicted == y_test))
            record.update(val_accuracy=metrics.get("val_accuracy"),
                          train_s=prov.get("timing", {}).get("train_s"),
                          train_images=prov.get("train_images"))
            records.append(record)
            if progress is not None:
                progress(f"{condition:<10} seed {seed}: {record['test_original']:.2%} on the "
                         f"original test rows, {record['test_compressed']:.2%} on their "
                         "compressed copies")
            del model
            keras.backend.clear_session()

    provenance = collect_provenance(recipe=the_recipe.to_dict(), data=data, seed=None,
                                    precision=first_precision, command=command)
    provenance.pop("seed")
    protocol = {
        "recipe": the_recipe.name, "num_epochs": the_recipe.num_epochs, "seeds": seeds,
        "conditions": list(CONDITIONS), "tta": TTA_LEVELS[the_recipe.tta],
        "jpeg_quality": JPEG_QUALITY,
        "original_rows": int(len(rows)), "train_images": records[0]["train_images"],
        "val_images": int(len(rows) - records[0]["train_images"]),
        "rebuild_originals": int(stays.sum()), "test_images": int(len(y_test)),
        # Reused runs are not trained again: their own timings add up to the cost.
        "train_s_total": float(sum(r["train_s"] or 0.0 for r in records)),
    }
    summary = {"protocol": protocol, "runs": records, "provenance": {
        **provenance, "started": started, "finished": utc_now(),
        "wall_time_s": time.perf_counter() - t0}}
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out_dir / STUDY_FILE, summary)  # last: marks the study finished
    return JpegStudy(summary, out_dir)


class JpegStudy:
    """A finished JPEG study: what compressed training and test images cost.

    Attributes
    ----------
    summary : dict
        The contents of ``jpeg_study.json`` (``protocol``, ``runs``, ``provenance``).
    path : Path
        The folder it was read from.
    """

    def __init__(self, summary: dict[str, Any], path: Path) -> None:
        self.summary = summary
        self.path = Path(path)

    @property
    def protocol(self) -> dict[str, Any]:
        """Recipe, epochs, seeds, image counts and JPEG quality."""
        return self.summary["protocol"]

    @property
    def provenance(self) -> dict[str, Any]:
        """Command, data, versions, hardware and times of the study."""
        return self.summary["provenance"]

    def accuracies(self, condition: str, test: str = "original") -> list[float]:
        """Test accuracy of each seed trained on ``condition``, on the ``test`` images.

        ``test`` is ``"original"`` (the byte-exact test rows) or ``"compressed"``
        (their JPEG copies).
        """
        if condition not in CONDITIONS:
            raise CifarEduError(f"unknown condition {condition!r}; choose one of "
                                f"{', '.join(CONDITIONS)}")
        if test not in ("original", "compressed"):
            raise CifarEduError(f"test must be 'original' or 'compressed', got {test!r}")
        runs = sorted((r for r in self.summary["runs"] if r["condition"] == condition),
                      key=lambda r: r["seed"])
        return [r[f"test_{test}"] for r in runs]

    def cost(self, condition: str = "rebuild", test: str = "original") -> dict[str, Any]:
        """Accuracy lost by training on ``condition`` instead of the original images.

        Returns
        -------
        dict
            ``per_seed`` (original minus ``condition``, same seed and test images),
            ``mean`` and ``std`` (sample standard deviation; 0 for one seed).
        """
        diffs = np.subtract(self.accuracies("original", test), self.accuracies(condition, test))
        return {"per_seed": diffs.tolist(), "mean": float(diffs.mean()),
                "std": float(diffs.std(ddof=1)) if len(diffs) > 1 else 0.0}

    def table(self) -> list[dict[str, Any]]:
        """Mean and spread over seeds for every training condition and test set."""
        rows = []
        for condition in CONDITIONS:
            row: dict[str, Any] = {"condition": condition}
            for test in ("original", "compressed"):
                acc = np.array(self.accuracies(condition, test))
                row[f"{test}_mean"] = float(acc.mean())
                row[f"{test}_std"] = float(acc.std(ddof=1)) if len(acc) > 1 else 0.0
            rows.append(row)
        return rows

    def table_text(self) -> str:
        """:meth:`table` as aligned text."""
        lines = [f"{'trained on':<12} {'original test rows':>20} {'compressed test rows':>22}"]
        for row in self.table():
            lines.append(f"{row['condition']:<12} "
                         f"{row['original_mean']:>12.1%} +- {row['original_std']:.1%} "
                         f"{row['compressed_mean']:>14.1%} +- {row['compressed_std']:.1%}")
        return "\n".join(lines)

    def describe(self) -> str:
        """How the study was made, in one paragraph."""
        p, prov = self.protocol, self.provenance
        command = " ".join(prov.get("command") or []) or "(unknown)"
        hw = prov.get("hardware", {})
        epochs = f"{p['num_epochs']} epoch" + ("s" if p["num_epochs"] != 1 else "")
        return (f"{p['recipe']} for {epochs}, seeds "
                f"{', '.join(map(str, p['seeds']))}, on {p['train_images']:,} original training "
                f"images ({p['val_images']:,} held out), JPEG quality {p['jpeg_quality']}; "
                f"{p['test_images']:,} test images, {p['tta'].replace('_', ' + ')} TTA; data: "
                f"{prov.get('data', {}).get('description', '?')}; made by `{command}` on "
                f"{hw.get('cpu', '?')} ({hw.get('cpu_count', '?')} cores), "
                f"{p.get('train_s_total', 0) / 60:.0f} min of training in all, finished "
                f"{prov.get('finished', '?')}")


def load_jpeg_study(path: str | os.PathLike[str] | None = None) -> JpegStudy:
    """Read a finished study: a folder, or by default the shipped one.

    The shipped one lives in the saved results (:func:`cifar_edu.results.results_dir`,
    which ``CIFAR_EDU_RESULTS_DIR`` overrides) under ``jpeg-study/``.
    """
    from cifar_edu.results import results_dir

    folder = Path(path).expanduser() if path is not None else results_dir() / RESULT_NAME
    if not (folder / STUDY_FILE).is_file():
        raise CifarEduError(f"{folder} holds no finished JPEG study (no {STUDY_FILE}); make one "
                            f"with `cifar-edu jpeg-study run --out {folder}`")
    try:
        summary = json.loads((folder / STUDY_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CifarEduError(f"cannot read the JPEG study in {folder} ({exc}); make it again "
                            "with `cifar-edu jpeg-study run`") from None
    return JpegStudy(summary, folder)


def export_jpeg_study(study_dir: str | os.PathLike[str],
                      dest: str | os.PathLike[str] | None = None) -> Path:
    """Copy a finished study's ``jpeg_study.json`` into ``<results folder>/jpeg-study/``."""
    from cifar_edu.results import results_dir

    source = Path(study_dir).expanduser()
    load_jpeg_study(source)  # refuse an unfinished or damaged study before touching the target
    root = Path(dest).expanduser() if dest is not None else results_dir()
    return replace_folder(root / RESULT_NAME, {STUDY_FILE: (source / STUDY_FILE).read_bytes()})
