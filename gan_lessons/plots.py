"""Figures of the course: image grids, loss curves, PNG grids and GIF animations (lesson 00 onwards).

The matplotlib functions return the Figure, so a lesson can save it or show it;
``save_grid_png`` and ``save_gif`` write files (atomically) without matplotlib,
for the command line and for lesson 04's animation.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np


def image_grid(images, ncols: int = 8, titles=None, scale: float = 1.0, cmap: str = "gray", suptitle=None,
               ax_size: float = 1.1, row_labels=None):
    """Show images in [-1, 1] (N, H, W[, 1]) as a grid; ``titles`` gives one title per image (lesson 00).

    ``row_labels`` gives one label per row, written to the left of the row.
    """
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
    if row_labels is not None and len(row_labels) != nrows:
        raise ValueError(f"row_labels has {len(row_labels)} entries for {nrows} rows")
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * ax_size * scale, nrows * ax_size * scale),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(x):
            ax.imshow((x[i] + 1.0) / 2.0, cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
            if titles is not None:
                ax.set_title(str(titles[i]), fontsize=8)
    for r, label in enumerate(row_labels or []):
        axes[r, 0].text(-0.08, 0.5, str(label), transform=axes[r, 0].transAxes, ha="right", va="center",
                        fontsize=9)
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


def tile_images(images, ncols: int = 8, border: int = 2) -> np.ndarray:
    """Tile images in [-1, 1] (N, H, W[, C]) into one uint8 array with white borders (lesson 04)."""
    from .data import to_uint8

    x = to_uint8(np.asarray(images))
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or len(x) == 0:
        raise ValueError(f"images has shape {np.shape(images)}; expected (N, H, W) or (N, H, W, C) with N >= 1")
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols={ncols!r}: expected a positive int")
    n, h, w, c = x.shape
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    grid = np.full((nrows * (h + border) + border, ncols * (w + border) + border, c), 255, np.uint8)
    for i in range(n):
        r, col = divmod(i, ncols)
        top, left = border + r * (h + border), border + col * (w + border)
        grid[top:top + h, left:left + w] = x[i]
    return grid[..., 0] if c == 1 else grid


def save_grid_png(images, path, ncols: int = 8) -> Path:
    """Write images in [-1, 1] as one grid PNG, atomically (lesson 04; ``python -m gan_lessons sample``)."""
    from PIL import Image

    from .runtime import atomic_write

    img = Image.fromarray(tile_images(images, ncols))
    return atomic_write(path, lambda fh: img.save(fh, format="PNG"))


def save_gif(frames, path, duration_ms: int = 300, ncols: int = 8, scale: int = 2, captions=None) -> Path:
    """An animated GIF, one grid per batch of images in ``frames``, written atomically (lesson 04).

    ``captions`` (one string per frame, e.g. "step 300") are written in a band above each grid.
    """
    from PIL import Image, ImageDraw

    from .runtime import atomic_write

    frames = list(frames)
    if not frames:
        raise ValueError("frames is empty: expected at least one batch of images")
    if captions is not None and len(captions) != len(frames):
        raise ValueError(f"captions has {len(captions)} entries for {len(frames)} frames")
    pics = []
    for i, frame in enumerate(frames):
        im = Image.fromarray(tile_images(frame, ncols)).convert("L")
        im = im.resize((im.width * scale, im.height * scale), Image.NEAREST)
        if captions is not None:
            band = 14 * scale
            framed = Image.new("L", (im.width, im.height + band), color=255)
            framed.paste(im, (0, band))
            ImageDraw.Draw(framed).text((4, 2), str(captions[i]), fill=0, font_size=10 * scale)
            im = framed
        pics.append(im)
    return atomic_write(path, lambda fh: pics[0].save(fh, format="GIF", save_all=True, append_images=pics[1:],
                                                       duration=duration_ms, loop=0))
