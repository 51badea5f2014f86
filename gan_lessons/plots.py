"""Figures of the course: image grids, loss curves (lesson 00 onwards).

Every function returns the matplotlib Figure, so a lesson can save it or show it.
"""

from __future__ import annotations

import numpy as np


def image_grid(images, ncols: int = 8, titles=None, scale: float = 1.0, cmap: str = "gray", suptitle=None,
               ax_size: float = 1.1):
    """Show images in [-1, 1] (N, H, W[, 1]) as a grid; ``titles`` gives one title per image (lesson 00)."""
    import matplotlib.pyplot as plt

    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim not in (3, 4) or len(x) == 0:
        raise ValueError(f"images has shape {np.shape(images)}; expected (N, H, W) or (N, H, W, C) with N >= 1")
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols={ncols!r}: expected a positive int")
    if titles is not None and len(titles) != len(x):
        raise ValueError(f"titles has {len(titles)} entries for {len(x)} images")
    ncols = min(ncols, len(x))
    nrows = int(np.ceil(len(x) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * ax_size * scale, nrows * ax_size * scale),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(x):
            ax.imshow((x[i] + 1.0) / 2.0, cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
            if titles is not None:
                ax.set_title(str(titles[i]), fontsize=7)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def loss_curves(history: dict, keys=None, title: str = "losses", ylabel: str = "loss", smooth: int = 1, ax=None):
    """Plot curves from a dict of lists (e.g. ``{"d_loss": [...], "g_loss": [...]}``); ``smooth`` is a moving average."""
    import matplotlib.pyplot as plt

    keys = list(history) if keys is None else list(keys)
    missing = [k for k in keys if k not in history]
    if missing:
        raise ValueError(f"keys {missing} are not in history; it has {sorted(history)}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3))
    else:
        fig = ax.figure
    for k in keys:
        y = np.asarray(history[k], dtype=np.float64)
        if smooth > 1 and len(y) >= smooth:
            y = np.convolve(y, np.ones(smooth) / smooth, mode="valid")
        ax.plot(y, label=k)
    ax.set_title(title)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.legend()
    fig.tight_layout()
    return fig
