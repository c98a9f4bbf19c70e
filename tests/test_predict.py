"""Prediction on any image: decoding odd and broken files, top-k, the unsure flag."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image

from cifar_edu.errors import CifarEduError, ImageError
from cifar_edu.predict import (DEFAULT_UNSURE_THRESHOLD, Prediction, format_prediction,
                               load_image, make_prediction, predict_image, predict_images,
                               save_image, to_model_input)

RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)


def _png_bytes(img: Image.Image, **kwargs) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format="PNG", **kwargs)
    return buffer.getvalue()


def _photo(size=(48, 40)) -> Image.Image:
    """A small image with structure (so JPEG truncation really cuts data)."""
    rng = np.random.default_rng(1)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def _close(pixel, colour, tol=12):
    return np.all(np.abs(np.asarray(pixel, dtype=int) - np.asarray(colour)) <= tol)


# --------------------------------------------------------------------------- readable files

@pytest.mark.parametrize("fmt, suffix", [("PNG", ".png"), ("JPEG", ".jpg"), ("BMP", ".bmp"),
                                         ("TIFF", ".tif"), ("WEBP", ".webp"), ("GIF", ".gif")])
def test_common_formats_load_as_rgb(tmp_path, fmt, suffix):
    path = tmp_path / f"red{suffix}"
    Image.new("RGB", (40, 30), RED).save(path, format=fmt)
    img = load_image(path)
    assert img.mode == "RGB" and img.size == (40, 30)
    assert _close(img.getpixel((5, 5)), RED, tol=20)
    x = to_model_input(path)
    assert x.shape == (32, 32, 3) and x.dtype == np.uint8


def test_exif_orientation_is_applied(tmp_path):
    # Stored wide with red on the left; orientation 6 = "rotate 90 degrees clockwise to view".
    img = Image.new("RGB", (40, 20), BLUE)
    img.paste(RED, (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    img.save(path, exif=exif, quality=95)
    upright = load_image(path)
    assert upright.size == (20, 40)  # now tall
    assert _close(upright.getpixel((10, 5)), RED, 30)  # the left side is now on top
    assert _close(upright.getpixel((10, 35)), BLUE, 30)


def test_grayscale_modes(tmp_path):
    Image.new("L", (10, 10), 77).save(tmp_path / "l.png")
    Image.new("1", (10, 10), 1).save(tmp_path / "bw.png")
    assert load_image(tmp_path / "l.png").getpixel((0, 0)) == (77, 77, 77)
    assert load_image(tmp_path / "bw.png").getpixel((0, 0)) == WHITE


def test_16_bit_grayscale_is_scaled_not_clipped(tmp_path):
    values = np.array([[0, 4112, 32896, 65535]], dtype=np.uint16)  # 0, 16, 128, 255 in 8 bits
    Image.fromarray(values).save(tmp_path / "g16.png")
    img = Image.open(tmp_path / "g16.png")
    assert img.mode.startswith("I")  # Pillow reads it as I;16 (or I in older versions)
    out = np.asarray(load_image(tmp_path / "g16.png"))[0, :, 0]
    np.testing.assert_allclose(out, [0, 16, 128, 255], atol=1)


def test_32_bit_integer_and_float_images():
    as_int = Image.fromarray(np.array([[0, 1000, 65535]], dtype=np.int32))
    assert as_int.mode == "I"
    np.testing.assert_allclose(np.asarray(load_image(as_int))[0, :, 0], [0, 4, 255], atol=1)
    as_float = Image.fromarray(np.array([[0.0, 0.5, 1.0]], dtype=np.float32))
    assert as_float.mode == "F"
    np.testing.assert_allclose(np.asarray(load_image(as_float))[0, :, 0], [0, 128, 255], atol=1)


def test_transparency_is_composited_on_white(tmp_path):
    rgba = Image.new("RGBA", (8, 8), (255, 0, 0, 128))  # half-transparent red
    rgba.save(tmp_path / "rgba.png")
    assert _close(load_image(tmp_path / "rgba.png").getpixel((0, 0)), (255, 127, 127), 2)

    Image.new("LA", (8, 8), (0, 0)).save(tmp_path / "la.png")  # fully transparent black
    assert load_image(tmp_path / "la.png").getpixel((0, 0)) == WHITE

    palette = Image.new("P", (8, 8), 0)
    palette.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    palette.paste(1, (0, 0, 4, 8))  # left half red, right half colour 0 = transparent
    palette.save(tmp_path / "p.png", transparency=0)
    img = load_image(tmp_path / "p.png")
    assert img.getpixel((0, 0)) == RED and img.getpixel((7, 0)) == WHITE
    palette.save(tmp_path / "p.gif", transparency=0)
    assert load_image(tmp_path / "p.gif").getpixel((7, 0)) == WHITE


def test_cmyk_jpeg(tmp_path):
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg")
    assert Image.open(tmp_path / "cmyk.jpg").mode == "CMYK"
    assert _close(load_image(tmp_path / "cmyk.jpg").getpixel((8, 8)), RED, 10)


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_animated_images_give_the_first_frame(tmp_path, fmt):
    frames = [Image.new("RGB", (16, 16), colour) for colour in (RED, BLUE, (0, 255, 0))]
    path = tmp_path / f"anim.{fmt.lower()}"
    frames[0].save(path, format=fmt, save_all=True, append_images=frames[1:], duration=100,
                   loop=0)
    assert getattr(Image.open(path), "n_frames", 1) == 3
    assert _close(load_image(path).getpixel((8, 8)), RED, 20)


def test_tiny_image(tmp_path):
    Image.new("RGB", (1, 1), (10, 200, 30)).save(tmp_path / "one.png")
    x = to_model_input(tmp_path / "one.png")
    assert x.shape == (32, 32, 3)
    assert np.all(x == np.array([10, 200, 30], dtype=np.uint8))


def test_huge_jpeg_is_fast_and_shrunk(tmp_path):
    img = Image.new("RGB", (4000, 3000), BLUE)
    img.paste(RED, (1500, 1000, 2500, 2000))  # a red square in the middle
    path = tmp_path / "big.jpg"
    img.save(path, quality=85)
    start = time.perf_counter()
    loaded = load_image(path)
    x = to_model_input(path)
    elapsed = time.perf_counter() - start
    assert max(loaded.size) <= 512 and loaded.size[0] > loaded.size[1]
    assert _close(x[16, 16], RED, 25)  # centre crop keeps the middle
    assert elapsed < 2.0, f"decoding a 12-megapixel JPEG took {elapsed:.2f} s"


def test_center_crop_keeps_the_middle_square():
    wide = np.zeros((32, 96, 3), dtype=np.uint8)
    wide[:, 32:64] = RED  # the middle third is red, the sides black
    x = to_model_input(wide)
    assert _close(x[16, 2], RED, 30) and _close(x[16, 29], RED, 30)


def test_sources_bytes_memoryview_pil_and_array(tmp_path):
    data = _png_bytes(Image.new("RGB", (20, 20), RED))
    for source in (data, bytearray(data), memoryview(data), Image.new("RGB", (20, 20), RED),
                   np.full((20, 20, 3), RED, np.uint8)):
        assert _close(to_model_input(source)[0, 0], RED, 2)
    original = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    load_image(original)
    assert original.mode == "RGBA"  # the caller's image is not modified


def test_a_32x32_uint8_array_is_used_as_is(sample):
    image = sample.x_test[0]
    np.testing.assert_array_equal(to_model_input(image), image)


def test_save_image_writes_atomically(tmp_path):
    image = np.zeros((8, 8, 3), np.uint8)
    path = save_image(image, tmp_path / "out.png")
    assert Image.open(path).size == (8, 8)
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]  # no temporary left behind
    with pytest.raises(CifarEduError, match="png"):
        save_image(image, tmp_path / "out.xyz")


# --------------------------------------------------------------------------- bad files

def _truncated(data: bytes, keep: float) -> bytes:
    return data[: int(len(data) * keep)]


@pytest.fixture()
def bad_files(tmp_path):
    """Every kind of unreadable input, with the words its message must contain."""
    jpeg = io.BytesIO()
    _photo().save(jpeg, format="JPEG")
    png = _png_bytes(_photo())
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "cut.jpg").write_bytes(_truncated(jpeg.getvalue(), 0.5))
    (tmp_path / "cut.png").write_bytes(_truncated(png, 0.5))
    (tmp_path / "notes.png").write_text("these are my notes, not a picture\n")
    (tmp_path / "fake.jpg").write_bytes(b"%PDF-1.4\n" + b"\0" * 100)
    (tmp_path / "folder.png").mkdir()
    return {
        tmp_path / "empty.png": "empty",
        tmp_path / "cut.jpg": "truncated",
        tmp_path / "cut.png": "truncated",
        tmp_path / "notes.png": "not an image",
        tmp_path / "fake.jpg": "not an image",
        tmp_path / "folder.png": "folder",
        tmp_path / "missing.png": "no such file",
    }


def test_every_bad_file_gets_its_message(bad_files):
    for path, words in bad_files.items():
        with pytest.raises(ImageError, match=words) as info:
            load_image(path)
        message = str(info.value)
        assert str(path) in message and "\n" not in message
        assert isinstance(info.value, CifarEduError)


def test_bad_bytes_get_their_message():
    with pytest.raises(ImageError, match="empty"):
        load_image(b"")
    with pytest.raises(ImageError, match="not an image"):
        load_image(b"hello", name="hello.png")
    with pytest.raises(ImageError, match="hello.png"):
        load_image(b"hello", name="hello.png")
    png = _png_bytes(_photo())
    with pytest.raises(ImageError, match="truncated"):
        load_image(png[: len(png) // 3])
    with pytest.raises(ImageError, match="not a usable file path"):
        load_image("x" * 5000 + ".png")
    with pytest.raises(ImageError, match="cannot read an image from a int"):
        load_image(42)
    with pytest.raises(ImageError, match="shape"):
        load_image(np.zeros((4, 4, 5), np.uint8))


def test_decompression_bomb_limit_is_kept(tmp_path, monkeypatch):
    Image.new("RGB", (100, 100)).save(tmp_path / "bomb.png")  # 10,000 px > 2 x limit: error
    Image.new("RGB", (40, 40)).save(tmp_path / "almost.png")  # 1,600 px > limit: warning
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    for name in ("bomb.png", "almost.png"):
        with pytest.raises(ImageError, match="too large"):
            load_image(tmp_path / name)


# --------------------------------------------------------------------------- prediction

def test_make_prediction_top_k_and_unsure_flag():
    probs = np.array([0.05, 0.6, 0.05, 0.1, 0.02, 0.03, 0.05, 0.05, 0.03, 0.02])
    image = np.zeros((32, 32, 3), np.uint8)
    pred = make_prediction(probs, image, top_k=3, source="car.png")
    assert [name for name, _ in pred.top_k] == ["automobile", "cat", "airplane"]
    assert pred.confidence == pytest.approx(0.6)
    assert not pred.unsure and pred.class_index == 1
    unsure = make_prediction(probs, image, unsure_threshold=0.7)
    assert unsure.unsure and "not show one of the 10" in unsure.reason
    summary = pred.to_dict()
    assert summary["label"] == "automobile" and len(summary["top_k"]) == 3
    assert "automobile" in format_prediction(pred)
    assert "UNSURE" in format_prediction(unsure)
    assert 0 < DEFAULT_UNSURE_THRESHOLD < 1
    with pytest.raises(CifarEduError, match="top_k"):
        make_prediction(probs, image, top_k=0)
    with pytest.raises(CifarEduError, match="between 0 and 1"):
        make_prediction(probs, image, unsure_threshold=1.5)


def test_predict_image_with_a_model(tiny_model, tmp_path):
    Image.new("RGB", (64, 48), (120, 160, 200)).save(tmp_path / "sky.png")
    pred = predict_image(tiny_model, tmp_path / "sky.png", top_k=5)
    assert isinstance(pred, Prediction) and len(pred.top_k) == 5
    probs = [p for _, p in pred.top_k]
    assert probs == sorted(probs, reverse=True)
    assert float(pred.probabilities.sum()) == pytest.approx(1.0, abs=1e-4)
    assert pred.image.shape == (32, 32, 3) and pred.source.endswith("sky.png")
    assert predict_image(tiny_model, tmp_path / "sky.png", unsure_threshold=1.0).unsure
    assert not predict_image(tiny_model, tmp_path / "sky.png", unsure_threshold=0.0).unsure


def test_predict_images_matches_the_model_and_keeps_going(tiny_model, sample, bad_files):
    images = sample.x_test[:5]
    results = predict_images(tiny_model, list(images))
    expected = np.asarray(tiny_model(images.astype("float32"), training=False))
    for result, row in zip(results, expected):
        np.testing.assert_allclose(result.probabilities, row, atol=1e-5)
    mixed = [images[0], *bad_files, images[1]]
    results = predict_images(tiny_model, mixed, on_error="return")
    assert isinstance(results[0], Prediction) and isinstance(results[-1], Prediction)
    assert all(isinstance(r, ImageError) for r in results[1:-1])
    with pytest.raises(ImageError):
        predict_images(tiny_model, mixed)


def test_a_model_without_softmax_is_refused(sample):
    import keras

    logits = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(),
                               keras.layers.Dense(10)])
    with pytest.raises(CifarEduError, match="softmax"):
        predict_image(logits, sample.x_test[0])


def test_single_image_latency_when_warm(tiny_model, tmp_path):
    data = _png_bytes(_photo((64, 64)))
    predict_image(tiny_model, data)  # warm-up: traces the compiled prediction function
    timings = []
    for _ in range(15):
        start = time.perf_counter()
        predict_image(tiny_model, data)
        timings.append(time.perf_counter() - start)
    p50 = float(np.median(timings))
    assert p50 < 0.1, f"p50 latency {p50 * 1000:.1f} ms"
