"""Show matplotlib ``Figure`` objects in Jupyter without pyplot.

The plotting modules build figures with :class:`matplotlib.figure.Figure` rather
than ``pyplot`` (so a returned figure is displayed once and not kept alive).
IPython only knows how to render such a figure once pyplot's inline backend has
registered a formatter; this module registers one itself, so a figure that is
the last expression of a cell appears as a PNG with no ``%matplotlib`` magic.
"""

from __future__ import annotations

import io

from matplotlib.figure import Figure

__all__ = ["figure_png", "register_png_formatter"]


def figure_png(fig: Figure) -> bytes:
    """Render a figure to PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


def register_png_formatter() -> None:
    """Register :func:`figure_png` with the running IPython shell, if there is one."""
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: nothing to register
        return
    shell = get_ipython()
    if shell is not None:
        shell.display_formatter.formatters["image/png"].for_type(Figure, figure_png)
