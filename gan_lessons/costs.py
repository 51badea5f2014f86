"""Compute cost of the course's networks (lesson 11): floating-point operations counted
from the layer shapes, the cost of one training step, and how cost grows with size.

A multiply-add counts as two operations (the convention of TensorFlow's profiler,
against which the tests check :func:`layer_flops`). Only the layers that carry
almost all of the work are counted: dense layers, convolutions and transposed
convolutions, with their bias additions. BatchNorm, activations and dropout add a
few operations per output element (well under 1 % for the course's DCGAN).
"""

from __future__ import annotations

import numpy as np

COUNTED = ("Dense", "Conv2D", "Conv2DTranspose")


def _shape(tensor_shape, what: str) -> tuple[int, ...]:
    dims = tuple(tensor_shape)[1:]
    if any(d is None for d in dims):
        raise ValueError(f"{what} has shape {tuple(tensor_shape)}: expected every size but the batch to be known")
    return tuple(int(d) for d in dims)


def layer_flops(model) -> list[dict]:
    """One row per layer of ``model`` (nested models are opened): its name, type, output
    shape and forward-pass operations *per example* (lesson 11).

    ``model`` must be built on a known input shape (every course builder is).
    """
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(f"model={model!r}: expected a built keras.Model")
    rows = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            rows.extend(layer_flops(layer))
            continue
        kind = type(layer).__name__
        try:
            out = _shape(layer.output.shape, f"layer {layer.name!r}'s output")
        except (AttributeError, ValueError) as err:
            if kind in COUNTED:
                raise ValueError(f"model={model.name!r}: cannot read the shapes of layer {layer.name!r} "
                                 f"({err}); expected a model built on a known input shape") from err
            out = ()
        flops = 0
        if kind in COUNTED:
            inp = _shape(layer.input.shape, f"layer {layer.name!r}'s input")
            if kind == "Dense":
                flops = 2 * inp[-1] * layer.units * int(np.prod(out[:-1], dtype=np.int64))
            else:
                kh, kw = layer.kernel_size
                groups = int(getattr(layer, "groups", 1) or 1)
                per_position = 2 * kh * kw * (inp[-1] // groups) * layer.filters
                # a convolution does its work at every output position, a transposed one at every input position
                positions = out[0] * out[1] if kind == "Conv2D" else inp[0] * inp[1]
                flops = per_position * positions
            if layer.use_bias:
                flops += int(np.prod(out, dtype=np.int64))
        rows.append({"layer": layer.name, "type": kind, "output": out, "flops": int(flops)})
    return rows


def activation_bytes(model, bytes_per_value: int = 4) -> int:
    """Bytes of all layer outputs of one example: what a training step keeps for the
    backward pass, per example (lesson 11). Weights and optimizer state come on top
    and do not grow with the batch.
    """
    return bytes_per_value * sum(int(np.prod(row["output"], dtype=np.int64)) for row in layer_flops(model)
                                 if row["output"] and row["type"] != "InputLayer")


def forward_flops(model) -> int:
    """Operations of one forward pass, per example: the sum of :func:`layer_flops` (lesson 11)."""
    return sum(row["flops"] for row in layer_flops(model))


def train_step_flops(generator, discriminator) -> int:
    """Operations of one GAN training step, per example of the batch (lesson 11).

    Lesson 04's step makes three discriminator passes (real and fake in D's step,
    fake again in G's) and two generator passes, and each backward pass costs about
    twice its forward pass (a gradient for the layer's input and one for its
    weights). D's step: G forward, D forward on real and fake, D backward on both:
    G + 6·D. G's step: G forward, D forward, D backward to its input only (about one
    forward), G backward: 3·G + 2·D. In all 4·G + 8·D.
    """
    return 4 * forward_flops(generator) + 8 * forward_flops(discriminator)


def power_law_exponent(sizes, costs) -> tuple[float, float]:
    """Fit ``cost ≈ c · size^k`` by least squares on the logarithms; returns ``(k, c)`` (lesson 11)."""
    x = np.asarray(sizes, dtype=np.float64).ravel()
    y = np.asarray(costs, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"sizes and costs have {x.size} and {y.size} values: expected as many of each")
    if x.size < 2 or np.unique(x).size < 2:
        raise ValueError(f"sizes={x.tolist()}: expected at least two different sizes to fit an exponent")
    if np.any(~np.isfinite(x)) or np.any(x <= 0) or np.any(~np.isfinite(y)) or np.any(y <= 0):
        raise ValueError("sizes and costs must be finite and > 0: a power law is fitted on their logarithms")
    k, log_c = np.polyfit(np.log(x), np.log(y), 1)
    return float(k), float(np.exp(log_c))
