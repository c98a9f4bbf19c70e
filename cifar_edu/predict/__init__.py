"""Prediction on any image: read it, make it 32x32, classify it, flag unsure answers.

>>> from cifar_edu.model_store import load_model  # doctest: +SKIP
>>> from cifar_edu.predict import predict_image  # doctest: +SKIP
>>> prediction = predict_image(load_model("pretrained"), "my_cat.jpg")  # doctest: +SKIP
>>> prediction.label, prediction.unsure  # doctest: +SKIP
('cat', False)

Reading images lives in :mod:`cifar_edu.predict.image_io`, classifying in
:mod:`cifar_edu.predict.prediction`. Neither imports TensorFlow.
"""

from __future__ import annotations

from cifar_edu.predict.image_io import (DEFAULT_MAX_SIZE, INPUT_SIZE, ImageSource, image_name,
                                        load_image, save_image, to_model_input)
from cifar_edu.predict.prediction import (DEFAULT_UNSURE_THRESHOLD, Prediction,
                                          format_prediction, gradcam_overlay, make_prediction,
                                          predict_image, predict_images, predict_probabilities)

__all__ = ["DEFAULT_MAX_SIZE", "DEFAULT_UNSURE_THRESHOLD", "INPUT_SIZE", "ImageSource",
           "Prediction", "format_prediction", "gradcam_overlay", "image_name", "load_image",
           "make_prediction", "predict_image", "predict_images", "predict_probabilities",
           "save_image", "to_model_input"]
