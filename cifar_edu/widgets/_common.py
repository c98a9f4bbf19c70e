"""Pieces shared by the widgets: images as PNG bytes, messages, error containment."""

from __future__ import annotations

import functools
import html
import io
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import base64

import ipywidgets as widgets
import numpy as np
import traitlets
from PIL import Image

from cifar_edu.errors import CifarEduError

__all__ = ["array_to_png", "figure_to_png", "montage", "message_html", "WidgetFace",
           "shows_errors", "PngView"]

F = TypeVar("F", bound=Callable[..., Any])


class PngView(widgets.HTML):
    """A PNG picture shown as ``<img alt=...>`` inside an HTML widget.

    ``ipywidgets.Image`` cannot carry a text alternative, and giving it a tooltip
    breaks its view in ipywidgets 8.1 (the front end reads a description an Image
    does not have). An ``<img>`` with ``alt`` and ``title`` is accessible and renders
    the same in JupyterLab and in the static book.

    Attributes
    ----------
    png : bytes
        The picture; empty bytes show nothing.
    alt : str
        Its text alternative (also shown as a tooltip).
    """

    png = traitlets.Bytes(b"")
    alt = traitlets.Unicode("")

    @traitlets.observe("png", "alt")
    def _render(self, _change: Any = None) -> None:
        if not self.png:
            self.value = ""
            return
        data = base64.b64encode(self.png).decode("ascii")
        text = html.escape(self.alt, quote=True)
        self.value = f'<img src="data:image/png;base64,{data}" alt="{text}" title="{text}">'


def array_to_png(image: np.ndarray, *, scale: int = 1) -> bytes:
    """Encode an RGB uint8 image as PNG, enlarged ``scale`` times with sharp pixels.

    Nearest-neighbour enlargement keeps each CIFAR pixel a visible square instead
    of a blur, which is what learners should see of a 32x32 image.
    """
    img = Image.fromarray(np.asarray(image, dtype=np.uint8))
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return buffer.getvalue()


def figure_to_png(fig: Any, *, dpi: int = 100) -> bytes:
    """Render a matplotlib Figure to PNG bytes and release it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    if "matplotlib.pyplot" in sys.modules:
        # A figure made with pyplot stays in memory until closed (a no-op for others).
        sys.modules["matplotlib.pyplot"].close(fig)
    return buffer.getvalue()


def montage(grid: np.ndarray, *, pad: int = 2, background: int = 255) -> np.ndarray:
    """Tile images ``(rows, cols, H, W, 3)`` into one image with ``pad`` pixels between them.

    Returns
    -------
    ndarray of uint8, shape (rows * (H + pad) - pad, cols * (W + pad) - pad, 3)
    """
    grid = np.asarray(grid, dtype=np.uint8)
    rows, cols, height, width, channels = grid.shape
    out = np.full((rows * (height + pad) - pad, cols * (width + pad) - pad, channels),
                  background, dtype=np.uint8)
    for r in range(rows):
        for c in range(cols):
            top, left = r * (height + pad), c * (width + pad)
            out[top:top + height, left:left + width] = grid[r, c]
    return out


def message_html(text: str, kind: str = "error") -> str:
    """A short message as HTML; errors use role="alert" so screen readers announce them."""
    if not text:
        return ""
    escaped = html.escape(text)
    if kind == "error":
        return (f'<div role="alert" style="color:#b00020"><strong>Problem:</strong> '
                f"{escaped}</div>")
    return f'<div role="status">{escaped}</div>'


def shows_errors(method: F) -> F:
    """Decorate a widget method so that errors appear in the widget instead of escaping.

    ipywidgets sends exceptions raised in callbacks to the browser's log, where
    learners never see them; so every error is caught and shown as a message
    (``self.message``). A :class:`CifarEduError` already says what to do; anything
    else is shown with its type, as it is probably a bug to report.
    """

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except CifarEduError as exc:
            self.message.value = message_html(str(exc))
        except Exception as exc:  # noqa: BLE001 - see docstring: nothing may escape a widget
            self.message.value = message_html(
                f"unexpected {type(exc).__name__}: {exc} (please report this)")
        return None

    return wrapper  # type: ignore[return-value]


class WidgetFace:
    """Base of the course widgets: ``display(obj)`` shows ``obj.widget``."""

    widget: Any

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
