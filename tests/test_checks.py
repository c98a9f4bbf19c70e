"""Tests of the exercise checks (cifar_edu.checks): for every check, the reference answer
passes, an untouched task reports "not done yet", and a typical wrong answer gets its
specific hint. Fast: the sample and the session's tiny model."""

from __future__ import annotations

import io

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from scipy import ndimage, stats
from sklearn import metrics as skm

from cifar_edu import checks
from cifar_edu.augment import Cutout, build_augmentation
from cifar_edu.checks import CheckFailedError, CheckResult, Fail, NotDone, Pass, check
from cifar_edu.checks import ex01_dataset as ex01
from cifar_edu.checks import ex02_preprocessing_augmentation as ex02
from cifar_edu.checks import ex03_first_cnn as ex03
from cifar_edu.checks import ex05_beyond_90 as ex05
from cifar_edu.checks import ex06_evaluation as ex06
from cifar_edu.checks import ex07_interpretability as ex07
from cifar_edu.checks import ex09_try_it_yourself as ex09
from cifar_edu.data import CLASS_NAMES, NUM_CLASSES, train_val_split
from cifar_edu.explain import class_score_output, gradcam, layer_output
from cifar_edu.pipeline import make_dataset
from cifar_edu.stats import channel_mean_std
from tests.check_helpers import _failed, _lenient, _not_done, _passed  # noqa: F401


@pytest.fixture(scope="module")
def splits(sample):
    return train_val_split(sample.x_train, sample.y_train, val_fraction=0.1, seed=0)


# -- the machinery ---------------------------------------------------------------------------

@check("Task 0, demo")
def _demo(value):
    if value is None:
        raise NotDone("`value` is still None.")
    if value == "crash":
        return {}["missing"]  # a bug of the check's input: must become a verdict
    if value != 42:
        raise Fail(f"got {value}.", "the answer is 42.")
    return Pass("the answer.")


def test_verdicts_are_printed_once_and_returned(capsys):
    result = _demo(42)
    out = capsys.readouterr().out
    assert out.count("✅ Task 0, demo: passed. The answer.") == 1
    assert isinstance(result, CheckResult) and result.task == "Task 0, demo"
    result._ipython_display_()  # a notebook showing the result prints nothing more
    assert capsys.readouterr().out == ""
    _failed(_demo(7), "got 7", "42")
    _not_done(_demo(None))


def test_an_error_inside_a_check_becomes_a_failed_verdict():
    _failed(_demo("crash"), "could not use your answer", "KeyError")


def test_strict_mode_raises_on_anything_but_a_pass(monkeypatch):
    monkeypatch.setenv(checks.STRICT_ENV, "1")
    _passed(_demo(42))
    with pytest.raises(CheckFailedError, match="Got 7"):
        _demo(7)
    with pytest.raises(CheckFailedError, match="not done yet"):
        _demo(None)


def test_call_learner_turns_placeholders_and_errors_into_verdicts():
    @check("Task 0, function")
    def run(function):
        return Pass(str(checks.call_learner(function, 2, name="f")))

    def untouched(x):
        """Docstring only: returns None."""

    def raises(x):
        raise NotImplementedError

    _passed(run(lambda x: x + 1))
    _not_done(run(None))
    _not_done(run(untouched))
    _not_done(run(raises))
    _failed(run(lambda x: x / 0), "ZeroDivisionError")
    _failed(run(3), "should be a function")


# -- exercise 1 ------------------------------------------------------------------------------

def test_ex01_class_counts(splits):
    (_, y_tr), _ = splits
    _passed(ex01.check_class_counts(np.bincount(y_tr.reshape(-1), minlength=NUM_CLASSES), y_tr))
    _not_done(ex01.check_class_counts(None, y_tr))
    _failed(ex01.check_class_counts(np.bincount(y_tr.reshape(-1))[:7], y_tr), "minlength")
    shares = np.bincount(y_tr.reshape(-1), minlength=NUM_CLASSES) / len(y_tr)
    _failed(ex01.check_class_counts(shares, y_tr), "shares")


def test_ex01_channel_stats(splits, sample):
    (x_tr, _), _ = splits
    mean, std = x_tr.mean(axis=(0, 1, 2)), x_tr.std(axis=(0, 1, 2))
    _passed(ex01.check_channel_stats(mean, std, x_tr))
    _not_done(ex01.check_channel_stats(None, None, x_tr))
    _failed(ex01.check_channel_stats(mean / 255, std / 255, x_tr), "0-1 scale")
    _failed(ex01.check_channel_stats(x_tr.mean(axis=(1, 2)), std, x_tr), "per-image")
    _failed(ex01.check_channel_stats(mean, x_tr.std(axis=(1, 2)).mean(axis=0), x_tr),
            "within* each image")
    # Statistics of all training images (validation included) instead of the split.
    _failed(ex01.check_channel_stats(sample.x_train.mean(axis=(0, 1, 2)), std, x_tr),
            "training split")


def _chunked(x, chunk_size=1000):
    total, total_sq = np.zeros(3), np.zeros(3)
    for start in range(0, len(x), chunk_size):
        chunk = x[start:start + chunk_size].astype(np.float64)
        total += chunk.sum(axis=(0, 1, 2))
        total_sq += np.square(chunk).sum(axis=(0, 1, 2))
    n = x.shape[0] * x.shape[1] * x.shape[2]
    mean = total / n
    return mean, np.sqrt(total_sq / n - mean**2)


def test_ex01_chunked_channel_stats():
    def whole(x, chunk_size=1000):
        pixels = x.astype(np.float64)
        return pixels.mean(axis=(0, 1, 2)), pixels.std(axis=(0, 1, 2))

    def mean_of_chunk_stds(x, chunk_size=1000):
        parts = [x[i:i + chunk_size].astype(np.float64) for i in range(0, len(x), chunk_size)]
        total = sum(p.sum(axis=(0, 1, 2)) for p in parts)
        mean = total / (x.shape[0] * x.shape[1] * x.shape[2])
        return mean, np.mean([p.std(axis=(0, 1, 2)) for p in parts], axis=0)

    def untouched(x, chunk_size=1000):
        """Docstring only."""

    _passed(ex01.check_chunked_channel_stats(_chunked))
    _not_done(ex01.check_chunked_channel_stats(untouched))
    _failed(ex01.check_chunked_channel_stats(whole), "one chunk", "at a time")
    _failed(ex01.check_chunked_channel_stats(mean_of_chunk_stds), "chunks' standard deviations")


def test_ex01_normalization_layer(splits, sample):
    (x_tr, _), _ = splits
    mean, std = channel_mean_std(x_tr)
    _passed(ex01.check_normalization_layer(
        keras.layers.Normalization(mean=mean, variance=std**2), x_tr))
    _not_done(ex01.check_normalization_layer(None, x_tr))
    _failed(ex01.check_normalization_layer(
        keras.layers.Normalization(mean=mean, variance=std), x_tr), "variance")
    _failed(ex01.check_normalization_layer(
        keras.layers.Normalization(mean=mean / 255, variance=(std / 255) ** 2), x_tr), "0-1")
    leak_mean, leak_std = channel_mean_std(sample.x_train)
    _failed(ex01.check_normalization_layer(
        keras.layers.Normalization(mean=leak_mean, variance=leak_std**2), x_tr), "x_tr only")


# -- exercise 2 ------------------------------------------------------------------------------

def _small_model(first_layers):
    return keras.Sequential([keras.Input((32, 32, 3)), *first_layers,
                             keras.layers.Conv2D(4, 3, activation="relu"),
                             keras.layers.GlobalAveragePooling2D(),
                             keras.layers.Dense(NUM_CLASSES, activation="softmax")])


def test_ex02_model_scales_inside(splits):
    (x_tr, _), _ = splits
    mean, std = channel_mean_std(x_tr)
    _passed(ex02.check_model_scales_inside(
        _small_model([keras.layers.Normalization(mean=mean, variance=std**2)]), x_tr))
    _passed(ex02.check_model_scales_inside(_small_model([keras.layers.Rescaling(1 / 255)]), x_tr))
    _not_done(ex02.check_model_scales_inside(None, x_tr))
    _failed(ex02.check_model_scales_inside(_small_model([]), x_tr), "scale inside the model")
    _failed(ex02.check_model_scales_inside(_small_model([keras.layers.Rescaling(255)]), x_tr),
            "1 / 255")


def test_ex02_augmentation():
    _passed(ex02.check_augmentation(build_augmentation(flip=True, translate=3, cutout=8, seed=0)))
    by_hand = keras.Sequential([keras.layers.RandomFlip("horizontal"),
                                keras.layers.RandomTranslation(3 / 32, 3 / 32), Cutout(8)])
    _passed(ex02.check_augmentation(by_hand))
    _not_done(ex02.check_augmentation(None))
    vertical = keras.Sequential([keras.layers.RandomFlip("vertical"),
                                 keras.layers.RandomTranslation(3 / 32, 3 / 32), Cutout(8)])
    _failed(ex02.check_augmentation(vertical), "vertical", "horizontal")
    pixels = keras.Sequential([keras.layers.RandomFlip("horizontal"),
                               keras.layers.RandomTranslation(0.3, 0.3), Cutout(8)])
    _failed(ex02.check_augmentation(pixels), "3/32")
    _failed(ex02.check_augmentation(build_augmentation(translate=3, cutout=8, rotation=10)),
            "RandomRotation")


def test_ex02_pipelines(splits):
    (x_tr, y_tr), (x_val, y_val) = splits
    augment = build_augmentation(flip=True, translate=3, cutout=8, seed=0)
    train = make_dataset(x_tr, y_tr, batch_size=64, shuffle=True, augment=augment)
    val = make_dataset(x_val, y_val, batch_size=256)
    _passed(ex02.check_pipelines(train, val, x_tr, y_tr, x_val, y_val))
    _not_done(ex02.check_pipelines(None, None, x_tr, y_tr, x_val, y_val))
    augmented_val = make_dataset(x_val, y_val, batch_size=256, augment=augment)
    _failed(ex02.check_pipelines(train, augmented_val, x_tr, y_tr, x_val, y_val),
            "never augment the validation")
    in_order = make_dataset(x_tr, y_tr, batch_size=64, augment=augment)
    _failed(ex02.check_pipelines(in_order, val, x_tr, y_tr, x_val, y_val), "shuffle=True")


def test_ex02_safe_augmentations():
    _passed(ex02.check_safe_augmentations(dict(ex02.SAFE_AUGMENTATIONS)))
    _not_done(ex02.check_safe_augmentations({k: None for k in ex02.SAFE_AUGMENTATIONS}))
    wrong = {**ex02.SAFE_AUGMENTATIONS, "vertical flip": True}
    _failed(ex02.check_safe_augmentations(wrong), "upside-down")


# -- exercise 6 ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def predictions(tiny_model, sample):
    x, y = sample.x_test[:200], sample.y_test[:200].reshape(-1)
    pred_a = tiny_model.predict_on_batch(x.astype("float32")).argmax(axis=1)
    # Model B: right on the first 30 images, wrong on the next 10, else the same as A.
    pred_b = pred_a.copy()
    pred_b[:30] = y[:30]
    pred_b[30:40] = (y[30:40] + 1) % NUM_CLASSES
    return y, pred_a, pred_b


def _prf(cm):
    tp = np.diag(cm).astype(float)
    predicted, actual = cm.sum(axis=0), cm.sum(axis=1)
    p = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    r = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    f = np.divide(2 * p * r, p + r, out=np.zeros_like(tp), where=(p + r) > 0)
    return p, r, f


def test_ex06_confusion_matrix(predictions):
    y, pred, _ = predictions
    cm = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=int)
    np.add.at(cm, (y, pred), 1)
    _passed(ex06.check_confusion_matrix(cm, y, pred))
    _not_done(ex06.check_confusion_matrix(None, y, pred))
    _failed(ex06.check_confusion_matrix(cm.T, y, pred), "transposed")


def test_ex06_precision_recall_f1(predictions):
    y, pred, _ = predictions

    def swapped(cm):
        p, r, f = _prf(cm)
        return r, p, f

    def arithmetic(cm):
        p, r, _ = _prf(cm)
        return p, r, (p + r) / 2

    def nan_for_unpredicted(cm):
        with np.errstate(all="ignore"):
            tp = np.diag(cm)
            p, r = tp / cm.sum(axis=0), tp / cm.sum(axis=1)
            return p, r, 2 * p * r / (p + r)

    def untouched(cm):
        """Docstring only."""

    _passed(ex06.check_precision_recall_f1(_prf, y, pred))
    _not_done(ex06.check_precision_recall_f1(untouched, y, pred))
    _failed(ex06.check_precision_recall_f1(swapped, y, pred), "swapped")
    _failed(ex06.check_precision_recall_f1(arithmetic, y, pred), "harmonic")
    _failed(ex06.check_precision_recall_f1(nan_for_unpredicted, y, pred), "zero_division")


def test_ex06_averages(predictions):
    y, pred, _ = predictions
    keep = (y == 0) | (np.arange(len(y)) % 5 == 0)
    y, pred = y[keep], pred[keep]
    labels = np.arange(NUM_CLASSES)
    macro = skm.f1_score(y, pred, labels=labels, average="macro", zero_division=0)
    weighted = skm.f1_score(y, pred, labels=labels, average="weighted", zero_division=0)
    assert not np.isclose(macro, weighted)  # the subset is lopsided enough to tell them apart
    _passed(ex06.check_averages(macro, weighted, y, pred))
    _not_done(ex06.check_averages(None, None, y, pred))
    _failed(ex06.check_averages(weighted, macro, y, pred), "swapped")
    _failed(ex06.check_averages(np.mean(y == pred), weighted, y, pred), "micro")


def _mcnemar_by_hand(y, pred_a, pred_b):
    right_a, right_b = pred_a == y, pred_b == y
    b, c = int(np.sum(right_a & ~right_b)), int(np.sum(~right_a & right_b))
    p = stats.binomtest(min(b, c), b + c, 0.5).pvalue if b + c else 1.0
    return b, c, p


def test_ex06_mcnemar(predictions):
    y, pred_a, pred_b = predictions
    b, c, p = _mcnemar_by_hand(y, pred_a, pred_b)
    assert b != c and b + c > 0
    _passed(ex06.check_mcnemar(b, c, p, y, pred_a, pred_b))
    _not_done(ex06.check_mcnemar(None, None, None, y, pred_a, pred_b))
    _failed(ex06.check_mcnemar(c, b, p, y, pred_a, pred_b), "swapped")
    _failed(ex06.check_mcnemar(b, c, stats.binomtest(min(b, c), len(y), 0.5).pvalue, y, pred_a,
                               pred_b), "b + c")


def test_ex06_mcnemar_verdict():
    # 400 images both right, B alone right on 20: a clear difference (p ~ 2e-6).
    y = np.zeros(500, dtype=int)
    pred_a, pred_b = np.ones(500, dtype=int), np.ones(500, dtype=int)
    pred_a[:400] = pred_b[:420] = 0
    _passed(ex06.check_mcnemar_verdict("B is better", y, pred_a, pred_b))
    _not_done(ex06.check_mcnemar_verdict(None, y, pred_a, pred_b))
    _failed(ex06.check_mcnemar_verdict("no evidence", y, pred_a, pred_b), "below")
    _failed(ex06.check_mcnemar_verdict("A is better", y, pred_a, pred_b), "other direction")
    # 45 against 55: within luck.
    pred_a, pred_b = np.ones(500, dtype=int), np.ones(500, dtype=int)
    pred_a[:355] = pred_b[:355] = 0
    pred_a[355:400] = 0
    pred_b[400:455] = 0
    _passed(ex06.check_mcnemar_verdict("no evidence", y, pred_a, pred_b))
    _failed(ex06.check_mcnemar_verdict("B is better", y, pred_a, pred_b), "not evidence")


# -- exercise 7 ------------------------------------------------------------------------------

LAYER = "conv2"  # the tiny model's 16x16 layer


@pytest.fixture(scope="module")
def images(sample):
    return sample.x_test[:4]


def _my_gradcam(*, relu=True, logits=True, classes=None, upsample=True):
    def my_gradcam(model, images, layer):
        x = tf.constant(images, dtype=tf.float32)
        score = class_score_output(model)[0] if logits else model.outputs[0]
        grad_model = keras.Model(model.inputs, [layer_output(model, layer), score])
        with tf.GradientTape() as tape:
            features, scores = grad_model([x], training=False)
            chosen = tf.argmax(scores, axis=1) if classes is None else tf.fill(
                [len(images)], classes)
            class_scores = tf.gather(scores, chosen, axis=1, batch_dims=1)
        grads = tape.gradient(class_scores, features)
        weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
        cam = tf.reduce_sum(weights * features, axis=-1)
        cam = (tf.nn.relu(cam) if relu else cam).numpy()
        if upsample:
            cam = ndimage.zoom(cam, (1, 32 / cam.shape[1], 32 / cam.shape[2]), order=1)
        cam -= cam.min(axis=(1, 2), keepdims=True)
        return cam / (cam.max(axis=(1, 2), keepdims=True) + 1e-7)
    return my_gradcam


def test_ex07_grad_model(tiny_model, images):
    logits, _ = class_score_output(tiny_model)
    features = layer_output(tiny_model, LAYER)
    _passed(ex07.check_grad_model(keras.Model(tiny_model.inputs, [features, logits]), tiny_model,
                                  LAYER, images))
    _not_done(ex07.check_grad_model(None, tiny_model, LAYER, images))
    probabilities = keras.Model(tiny_model.inputs, [features, tiny_model.outputs[0]])
    _failed(ex07.check_grad_model(probabilities, tiny_model, LAYER, images), "before the softmax")


def test_ex07_gradcam(tiny_model, images):
    def untouched(model, images, layer):
        """Docstring only."""

    _passed(ex07.check_gradcam(_my_gradcam(), tiny_model, images, LAYER))
    _not_done(ex07.check_gradcam(untouched, tiny_model, images, LAYER))
    _failed(ex07.check_gradcam(_my_gradcam(relu=False), tiny_model, images, LAYER), "relu")
    _failed(ex07.check_gradcam(_my_gradcam(upsample=False), tiny_model, images, LAYER),
            "upsample")


def test_ex07_class_maps(tiny_model, images):
    cat = CLASS_NAMES.index("cat")
    maps = _my_gradcam(classes=cat)(tiny_model, images, LAYER)
    _passed(ex07.check_class_maps(maps, tiny_model, images, LAYER, class_index=cat))
    _not_done(ex07.check_class_maps(None, tiny_model, images, LAYER, class_index=cat))
    predicted = _my_gradcam()(tiny_model, images, LAYER)
    # Only meaningful if the tiny model does not predict "cat" for all four images.
    assert not np.all(tiny_model.predict_on_batch(images.astype("float32")).argmax(1) == cat)
    _failed(ex07.check_class_maps(predicted, tiny_model, images, LAYER, class_index=cat),
            "predicted")


def test_ex07_agreement(tiny_model, images):
    ours = _my_gradcam()(tiny_model, images, LAYER)
    library = gradcam(tiny_model, images, layer=LAYER)
    per_image = [np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(ours, library)]
    assert min(per_image) > ex07.MIN_CORRELATION  # our recipe matches tf-keras-vis
    _passed(ex07.check_agreement(per_image, ours, library))
    _not_done(ex07.check_agreement(None, ours, library))
    pooled = np.corrcoef(ours.ravel(), library.ravel())[0, 1]
    _failed(ex07.check_agreement(pooled, ours, library), "per image")


# -- exercise 9 ------------------------------------------------------------------------------

def _read_rgb(data):
    with Image.open(io.BytesIO(data)) as picture:
        return np.asarray(picture.convert("RGB"))


def _to_input(image):
    height, width = image.shape[:2]
    side = min(height, width)
    left, top = (width - side) // 2, (height - side) // 2
    square = Image.fromarray(image).crop((left, top, left + side, top + side))
    return np.asarray(square.resize((32, 32), Image.Resampling.LANCZOS))


def _predict_png(scale=1.0, batch=True):
    def predict_png(model, data, top_k=3):
        image = _to_input(_read_rgb(data)) * scale
        x = image[np.newaxis] if batch else image
        probabilities = model.predict_on_batch(x.astype("float32"))[0]
        order = np.argsort(-probabilities)[:top_k]
        return [(CLASS_NAMES[k], float(probabilities[k])) for k in order]
    return predict_png


def test_ex09_read_rgb():
    def keeps_mode(data):
        with Image.open(io.BytesIO(data)) as picture:
            return np.asarray(picture)

    _passed(ex09.check_read_rgb(_read_rgb))
    _not_done(ex09.check_read_rgb(None))
    _failed(ex09.check_read_rgb(keeps_mode), "one channel", "convert('RGB')")


def test_ex09_to_input():
    def squash(image):
        return np.asarray(Image.fromarray(image).resize((32, 32), Image.Resampling.LANCZOS))

    _passed(ex09.check_to_input(_to_input))
    _not_done(ex09.check_to_input(None))
    _failed(ex09.check_to_input(squash), "squashed", "centre square")


@pytest.fixture(scope="module")
def decisive_model():
    """Raw images in, confident probabilities out: the answer depends on the brightness."""
    keras.utils.set_random_seed(3)
    return keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Rescaling(1 / 255),
                             keras.layers.GlobalAveragePooling2D(),
                             keras.layers.Dense(NUM_CLASSES, activation="softmax",
                                                kernel_initializer=keras.initializers.RandomNormal(
                                                    stddev=20.0))])


def test_ex09_predict_png(decisive_model):
    _passed(ex09.check_predict_png(_predict_png(), decisive_model))
    _not_done(ex09.check_predict_png(None, decisive_model))
    _failed(ex09.check_predict_png(_predict_png(scale=1 / 255), decisive_model),
            "raw 0-255 pixels")
    _failed(ex09.check_predict_png(_predict_png(batch=False), decisive_model), "batch axis")


def test_ex09_unsure():
    _passed(ex09.check_unsure(lambda p, threshold=0.5: bool(np.max(p) < threshold)))
    _not_done(ex09.check_unsure(None))
    _failed(ex09.check_unsure(lambda p, threshold=0.5: bool(np.max(p) <= threshold)), "<=")
    _failed(ex09.check_unsure(lambda p, threshold=0.5: bool(np.max(p) > threshold)), "below")


# -- exercise 3 ------------------------------------------------------------------------------

def _cnn(widths=(16, 32), rescale=True, head="gap"):
    layers = keras.layers
    model = keras.Sequential([keras.Input((32, 32, 3))]
                             + ([layers.Rescaling(1 / 255)] if rescale else []))
    for width in widths:
        model.add(layers.Conv2D(width, 3, padding="same", activation="relu"))
        model.add(layers.MaxPooling2D())
    if head == "gap":
        model.add(layers.GlobalAveragePooling2D())
    else:
        model.add(layers.Flatten())
        model.add(layers.Dense(128, activation="relu"))
    model.add(layers.Dense(NUM_CLASSES, activation="softmax"))
    return model


def test_ex03_conv_params():
    _passed(ex03.check_conv_params(lambda k, c_in, c_out: (k * k * c_in + 1) * c_out))
    _not_done(ex03.check_conv_params(None))
    _failed(ex03.check_conv_params(lambda k, c_in, c_out: k * k * c_in * c_out), "bias")
    _failed(ex03.check_conv_params(lambda k, c_in, c_out: (k * k + 1) * c_out),
            "per input channel")


def test_ex03_cnn_budget(splits):
    (x_tr, _), _ = splits
    _passed(ex03.check_cnn_budget(_cnn(), x_tr, 100_000))
    _not_done(ex03.check_cnn_budget(None, x_tr, 100_000))
    _failed(ex03.check_cnn_budget(_cnn(head="flatten"), x_tr, 100_000), "Flatten",
            "GlobalAveragePooling2D")
    _failed(ex03.check_cnn_budget(_cnn(rescale=False), x_tr, 100_000), "scale inside")


def test_ex03_compiled():
    model = _cnn()
    _not_done(ex03.check_compiled(model))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    _passed(ex03.check_compiled(model))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    _failed(ex03.check_compiled(model), "one-hot", "sparse_categorical_crossentropy")


def test_ex03_callbacks(tmp_path):
    save = keras.callbacks.ModelCheckpoint(tmp_path / "best.keras", monitor="val_accuracy",
                                           mode="max", save_best_only=True)
    stop = keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=3,
                                         restore_best_weights=True)
    _passed(ex03.check_callbacks([stop, save], patience=3))
    _not_done(ex03.check_callbacks(None, patience=3))
    on_training = keras.callbacks.EarlyStopping(monitor="accuracy", mode="max", patience=3,
                                                restore_best_weights=True)
    _failed(ex03.check_callbacks([on_training, save], patience=3), "TRAINING", "val_accuracy")
    last = keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=3)
    _failed(ex03.check_callbacks([last, save], patience=3), "restore_best_weights")


# -- exercise 5 ------------------------------------------------------------------------------

def _one_cycle_lr(step, total_steps, peak, warmup_fraction=0.3, start=0.04):
    warmup = int(warmup_fraction * total_steps)
    if step < warmup:
        return peak * (start + (1 - start) * step / warmup)
    return peak * max(0.0, 1 - (step - warmup) / (total_steps - warmup))


class _OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    def __init__(self, peak, total_steps, warmup_fraction=0.3):
        self.peak, self.total_steps = float(peak), int(total_steps)
        self.warmup_fraction = float(warmup_fraction)
        self.warmup_steps = int(warmup_fraction * total_steps)

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        rise = 0.04 + 0.96 * step / max(self.warmup_steps, 1)
        decay = (step - self.warmup_steps) / max(self.total_steps - self.warmup_steps, 1)
        return self.peak * keras.ops.where(step < self.warmup_steps, rise,
                                           1.0 - keras.ops.clip(decay, 0.0, 1.0))

    def get_config(self):
        return {"peak": self.peak, "total_steps": self.total_steps,
                "warmup_fraction": self.warmup_fraction}


class _PythonIf(_OneCycle):
    def __call__(self, step):
        if step < self.warmup_steps:
            return self.peak * (0.04 + 0.96 * step / self.warmup_steps)
        return self.peak * (1 - (step - self.warmup_steps) / (self.total_steps
                                                              - self.warmup_steps))


class _Untouched(keras.optimizers.schedules.LearningRateSchedule):
    """Docstring only."""


def test_ex05_one_cycle_lr():
    _passed(ex05.check_one_cycle_lr(_one_cycle_lr))
    _not_done(ex05.check_one_cycle_lr(None))
    _failed(ex05.check_one_cycle_lr(lambda s, t, p, f=0.3: _one_cycle_lr(s, t, p, f, start=0.0)),
            "starts at 0", "peak / 25")


def test_ex05_schedule():
    _passed(ex05.check_schedule(_OneCycle))
    _not_done(ex05.check_schedule(None))
    _not_done(ex05.check_schedule(_Untouched))
    _failed(ex05.check_schedule(_PythonIf), "keras.ops")


def test_ex05_smooth_labels():
    _passed(ex05.check_smooth_labels(lambda y, k=10, s=0.1: np.eye(k)[y] * (1 - s) + s / k))
    _not_done(ex05.check_smooth_labels(None))
    others_only = (lambda y, k=10, s=0.1: np.eye(k)[y] * (1 - s)
                   + (1 - np.eye(k)[y]) * s / (k - 1))
    _failed(ex05.check_smooth_labels(others_only), "ALL classes")


def test_ex05_predict_tta(tiny_model, sample):
    x = sample.x_test[:16]

    def mirrored(axis):
        def predict_tta(model, x):
            x = np.asarray(x, dtype="float32")
            return (model.predict_on_batch(x) + model.predict_on_batch(np.flip(x, axis))) / 2
        return predict_tta

    _passed(ex05.check_predict_tta(mirrored(2), tiny_model, x))
    _not_done(ex05.check_predict_tta(None, tiny_model, x))
    _failed(ex05.check_predict_tta(mirrored(1), tiny_model, x), "upside down", "x[:, :, ::-1]")
