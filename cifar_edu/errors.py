"""User-facing errors.

Every error a learner can cause (a wrong path, a broken file, no network) is a
:class:`CifarEduError` whose message says what happened *and what to do*. The
command line prints it as one line; notebooks show it without a deep traceback.
"""

from __future__ import annotations


class CifarEduError(Exception):
    """An error caused by input or environment, with a message that says what to do."""


class DataError(CifarEduError):
    """The dataset could not be found, read or verified."""


class DownloadError(DataError):
    """The official archive could not be downloaded or verified."""


class UnsafePickleError(DataError):
    """A dataset file tried to load something other than plain numpy arrays."""


class ImageError(CifarEduError):
    """An image to classify could not be read (empty, truncated, not an image, too large)."""
