"""Exercise checkers: each one tests a student's answer and, when it is wrong,
says what to look at rather than only "assertion failed".

The pattern (lesson 01 shows it first): an exercise cell between nbgrader's
``### BEGIN SOLUTION`` / ``### END SOLUTION`` markers, then a cell that calls a
``check_*`` function from here. A checker raises :class:`ExerciseError` (an
``AssertionError``) carrying a hint, and prints a short confirmation on success.
"""

from __future__ import annotations

import numpy as np


class ExerciseError(AssertionError):
    """An exercise answer is wrong; the message is a hint."""


def _fail(exercise: str, what: str, hint: str):
    raise ExerciseError(f"{exercise}: {what}\nHint: {hint}")


def passed(exercise: str, detail: str = "") -> str:
    """Print and return the success line of a check."""
    line = f"✓ {exercise}: correct" + (f" ({detail})" if detail else "")
    print(line)
    return line


def expect_close(exercise: str, got, expected, hint: str, rtol: float = 1e-4, atol: float = 1e-6,
                 what: str = "value") -> None:
    """Fail with ``hint`` unless ``got`` is close to ``expected`` (shapes must match)."""
    if got is None:
        _fail(exercise, f"the {what} is None", "the cell still returns None: replace the placeholder with your code")
    g = np.asarray(got, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if g.shape != e.shape:
        _fail(exercise, f"the {what} has shape {g.shape}, expected {e.shape}", hint)
    if not np.all(np.isfinite(g)):
        _fail(exercise, f"the {what} holds NaN or inf", "look for a log of 0 or a division by 0; " + hint)
    if not np.allclose(g, e, rtol=rtol, atol=atol):
        worst = float(np.max(np.abs(g - e)))
        _fail(exercise, f"the {what} is off by up to {worst:.3g}", hint)


def expect(exercise: str, condition: bool, what: str, hint: str) -> None:
    """Fail with ``hint`` unless ``condition`` holds."""
    if not condition:
        _fail(exercise, what, hint)


# --------------------------------------------------------------------------- lesson 01
def _jsd_reference(p, q, x):
    """Jensen-Shannon divergence in nats of two densities on a grid (the checker's reference)."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    m = 0.5 * (p + q)

    def kl_to_m(a):
        safe = np.where(a > 0, a, 1.0)
        return np.where(a > 0, a * np.log(safe / np.where(m > 0, m, 1.0)), 0.0)

    trapezoid = getattr(np, "trapezoid", None) or np.trapz
    return float(0.5 * trapezoid(kl_to_m(p), x) + 0.5 * trapezoid(kl_to_m(q), x))


def _jsd_cases():
    x = np.linspace(-10.0, 10.0, 4001)

    def normal(mean, std):
        return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * np.sqrt(2.0 * np.pi))

    return x, [
        ("two identical densities", normal(0.0, 1.0), normal(0.0, 1.0)),
        ("N(0, 1) against N(1.5, 1)", normal(0.0, 1.0), normal(1.5, 1.0)),
        ("N(0, 1) against N(1, 2)", normal(0.0, 1.0), normal(1.0, 2.0)),
        ("two densities that never overlap (they hold exact zeros)", normal(-5.0, 0.2), normal(5.0, 0.2)),
    ]


def check_jsd(js_divergence) -> str:
    """Check a student's ``js_divergence(p, q, x)`` (lesson 01's exercise), with hints.

    ``p`` and ``q`` are densities sampled on the grid ``x``; the answer is a float
    in nats: JSD = ½·KL(p ‖ m) + ½·KL(q ‖ m) with m = (p + q) / 2.
    """
    exercise = "js_divergence"
    if not callable(js_divergence):
        raise TypeError(f"check_jsd expects your function js_divergence, got {js_divergence!r}")
    x, cases = _jsd_cases()

    def halves(p, q, x):  # KL(p ‖ m) and KL(q ‖ m), for the "one term only" hint
        m = 0.5 * (p + q)
        trapezoid = getattr(np, "trapezoid", None) or np.trapz
        return tuple(float(trapezoid(np.where(a > 0, a * np.log(np.where(a > 0, a, 1.0) / np.where(m > 0, m, 1.0)),
                                              0.0), x)) for a in (p, q))

    recipe = ("JSD(p ‖ q) = ½·KL(p ‖ m) + ½·KL(q ‖ m) with m = (p + q)/2 and KL(a ‖ m) = ∫ a·log(a/m) dx; "
              "integrate over x with np.trapezoid(..., x) (or a sum times dx)")
    for what, p, q in cases:
        with np.errstate(all="ignore"):
            got = js_divergence(p.copy(), q.copy(), x.copy())
        expected = _jsd_reference(p, q, x)
        if got is None:
            _fail(exercise, "your function returned None",
                  "replace the placeholder and return the divergence as a number")
        try:
            value = float(np.asarray(got, dtype=np.float64))
        except (TypeError, ValueError):
            _fail(exercise, f"for {what} it returned {type(got).__name__} with shape {np.shape(got)}, not one number",
                  "integrate over x, so that the answer is a single float; " + recipe)
        if not np.isfinite(value):
            _fail(exercise, f"for {what} it returned {value}",
                  "where a density is 0 the term 0·log(0/m) must count as 0: use np.where(a > 0, ..., 0.0)"
                  if "never overlap" in what else "look for a log of 0 or a division by 0; " + recipe)
        if abs(value - expected) <= 1e-3 * abs(expected) + 1e-4:
            continue
        if expected > 1e-3 and abs(value - 2 * expected) <= 1e-3 * expected + 1e-4:
            hint = "your answer is twice the divergence: each KL term carries a weight of ½"
        elif expected > 1e-3 and abs(value - expected / np.log(2.0)) <= 1e-3 * expected + 1e-4:
            hint = "your answer is in bits: the lesson measures in nats, so use np.log, not np.log2"
        elif any(abs(value - c * k) <= 1e-3 * max(k, 1e-9) + 1e-4 for c in (0.5, 1.0) for k in halves(p, q, x)):
            hint = "your answer uses only one of the two KL terms: JSD needs both, ½·KL(p ‖ m) + ½·KL(q ‖ m)"
        elif value < -1e-6:
            hint = "a divergence is never negative: check the order inside the log, a·log(a/m), not a·log(m/a)"
        elif value > np.log(2.0) + 1e-3:
            hint = ("JSD never exceeds log 2 ≈ 0.693: compare each density with the mixture m = (p + q)/2, "
                    "not with the other density")
        else:
            hint = recipe
        _fail(exercise, f"for {what} you got {value:.6f}, expected {expected:.6f}", hint)
    p, q = cases[1][1], cases[1][2]
    with np.errstate(all="ignore"):
        forward, backward = float(js_divergence(p, q, x)), float(js_divergence(q, p, x))
    expect(exercise, abs(forward - backward) <= 1e-6 + 1e-6 * abs(forward),
           f"JSD(p ‖ q) = {forward:.6f} but JSD(q ‖ p) = {backward:.6f}",
           "the JSD is symmetric: both densities enter the same way, each compared with m")
    return passed(exercise, f"JSD(N(0,1) ‖ N(1.5,1)) = {_jsd_reference(p, q, x):.4f} nats")


# --------------------------------------------------------------------------- lesson 03: networks
_SIDE_CASES = ((4, (1, 2, 2)), (7, (1, 2, 2)), (4, (1, 2, 2, 2)), (3, (2, 2, 2)), (5, (1,)), (2, (3, 2)))


def check_generator_side(side_fn, start_for_28) -> str:
    """Lesson 03: ``side_fn(start, strides)`` gives the side of a stack of
    Conv2DTranspose(padding="same") layers; ``start_for_28`` is the start side
    that reaches 28 with strides (1, 2, 2)."""
    exercise = "generator output size"
    expect(exercise, callable(side_fn), f"side_fn is {type(side_fn).__name__}, not a function",
           "define a function side(start, strides) that returns an int")
    for start, strides in _SIDE_CASES:
        expected = start
        for s in strides:
            expected *= s
        try:
            got = side_fn(start, list(strides))
        except Exception as exc:  # the student's code failed: say where
            _fail(exercise, f"side({start}, {list(strides)}) raised {type(exc).__name__}: {exc}",
                  "take an int and a list of ints; loop over the strides")
        if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
            _fail(exercise, f"side({start}, {list(strides)}) returned {got!r} ({type(got).__name__})",
                  "return an int: an image side is a whole number of pixels")
        if got != expected:
            if got == start * 2 ** len(strides):
                hint = "a stride-1 layer keeps the side: it does not double it"
            elif got == start + sum(strides) or got == start * sum(strides):
                hint = "strides multiply the side, layer after layer; they do not add up"
            else:
                hint = ("with padding='same', Conv2DTranspose(strides=s) turns a side n into n·s, "
                        "whatever the kernel size")
            _fail(exercise, f"side({start}, {list(strides)}) returned {got}", hint)
    if isinstance(start_for_28, bool) or not isinstance(start_for_28, (int, np.integer)) or start_for_28 * 4 != 28:
        _fail(exercise, f"start_for_28 = {start_for_28!r} does not reach 28 with strides (1, 2, 2)",
              "the strides multiply the start side by 1·2·2 = 4: solve start·4 = 28")
    return passed(exercise, f"4 -> 16 with the seed's strides; start at {start_for_28} for 28x28")


def check_head_and_loss(last_layer, loss_fn) -> str:
    """Lesson 03: the discriminator's last layer and the loss must agree, confident logits included.

    The checker gives ``last_layer`` (a Dense(1)) a weight of 1 and a bias of 0 on a
    one-feature input, so its pre-activations are known logits t, and compares
    ``loss_fn(y, last_layer(t))`` with the binary cross-entropy of sigmoid(t).
    """
    import keras

    exercise = "discriminator head and loss"
    expect(exercise, isinstance(last_layer, keras.layers.Dense),
           f"last_layer is {type(last_layer).__name__}, not a keras.layers.Dense",
           "the discriminator ends in keras.layers.Dense(1, ...)")
    expect(exercise, last_layer.units == 1, f"last_layer has {last_layer.units} units",
           "one number per image: Dense(1)")
    expect(exercise, callable(loss_fn), f"loss_fn is {type(loss_fn).__name__}, not callable",
           "use keras.losses.BinaryCrossentropy(...)")
    layer = last_layer.__class__.from_config(last_layer.get_config())  # a fresh copy: the student's layer is untouched
    layer.build((None, 1))
    layer.set_weights([np.ones((1, 1), np.float32)] + ([np.zeros(1, np.float32)] if layer.use_bias else []))
    t = np.array([-20.0, -3.0, 0.0, 3.0, 20.0], np.float32)
    out = np.asarray(layer(t[:, None]), np.float64)[:, 0]
    for y in (1.0, 0.0):
        reference = y * np.logaddexp(0.0, -t) + (1 - y) * np.logaddexp(0.0, t)
        got = np.array([float(loss_fn(np.array([[y]], np.float32), out[i:i + 1, None].astype(np.float32)))
                        for i in range(len(t))])
        if np.allclose(got, reference, rtol=1e-3, atol=1e-4):
            continue
        bad = int(np.argmax(np.abs(got - reference)))
        what = (f"for label {y:g} and logit {t[bad]:g} the loss is {got[bad]:.4g}; "
                f"the cross-entropy of sigmoid({t[bad]:g}) is {reference[bad]:.4g}")
        squashed = np.all((out >= 0) & (out <= 1))
        from_logits = getattr(loss_fn, "from_logits", None)
        if squashed and from_logits:
            hint = ("your layer already applies a sigmoid and the loss applies another one "
                    "(from_logits=True): drop the activation, or tell the loss it gets probabilities")
        elif not squashed and from_logits is False:
            hint = ("your layer outputs logits (any real number) but the loss reads them as probabilities: "
                    "use BinaryCrossentropy(from_logits=True)")
        elif squashed and from_logits is False:
            hint = ("sigmoid + from_logits=False agrees for moderate logits but not for confident ones: "
                    "the loss clips probabilities near 0 and 1. Output logits (no activation) and use "
                    "from_logits=True, which computes log σ(t) stably")
        else:
            hint = "the layer's output and what the loss expects (logits or probabilities) must match"
        _fail(exercise, what, hint)
    return passed(exercise, "the loss equals the cross-entropy of sigmoid(logit), even at logit ±20")


def check_dense_params(n_params, latent_dim: int = 100, units: int = 7 * 7 * 256, use_bias: bool = False) -> str:
    """Lesson 03: the weight count of the generator's first Dense layer."""
    exercise = "Dense parameter count"
    expected = latent_dim * units + (units if use_bias else 0)
    if isinstance(n_params, bool) or not isinstance(n_params, (int, np.integer)):
        _fail(exercise, f"n_params is {n_params!r}", "count the weights: an int")
    if n_params != expected:
        if n_params == latent_dim * units + units:
            hint = "use_bias=False: that layer has no bias vector"
        elif n_params == units:
            hint = "each of the units has one weight per latent input, not just one weight"
        elif n_params == latent_dim * units - units or n_params == latent_dim + units:
            hint = "the kernel is a latent_dim x units matrix: multiply"
        else:
            hint = f"a Dense layer from {latent_dim} inputs to {units} units holds a {latent_dim} x {units} kernel"
        _fail(exercise, f"{n_params} is not the weight count", hint)
    return passed(exercise, f"{expected:,} weights")


# --------------------------------------------------------------------------- lessons 06 and 07
def _mmd_cases():
    rng = np.random.default_rng(6)
    return [(rng.normal(size=(6, 3)), rng.normal(0.3, 1.0, size=(8, 3))),
            (rng.normal(size=(12, 5)), rng.normal(size=(12, 5)))]


def check_mmd2_unbiased(mmd2_fn) -> str:
    """Lesson 06: the student's unbiased MMD² with the cubic kernel k(x, y) = (x·y / D + 1)³."""
    from . import metrics

    exercise = "unbiased MMD²"
    for a, b in _mmd_cases():
        got = mmd2_fn(a, b)
        want = metrics.mmd2_unbiased(a, b)
        if got is None:
            _fail(exercise, "the function returns None", "return the estimate as a float")
        got = float(np.asarray(got))
        if np.isclose(got, want, rtol=1e-6, atol=1e-9):
            continue
        kaa, kbb, kab = (metrics.polynomial_kernel(u, v) for u, v in ((a, a), (b, b), (a, b)))
        m, n = len(a), len(b)
        biased = kaa.mean() + kbb.mean() - 2 * kab.mean()
        no_two = (kaa.sum() - np.trace(kaa)) / (m * (m - 1)) + (kbb.sum() - np.trace(kbb)) / (n * (n - 1)) - kab.mean()
        wrong_norm = (kaa.sum() - np.trace(kaa)) / m ** 2 + (kbb.sum() - np.trace(kbb)) / n ** 2 - 2 * kab.mean()
        lin = [u @ v.T / a.shape[1] + 1 for u, v in ((a, a), (b, b), (a, b))]
        linear = ((lin[0].sum() - np.trace(lin[0])) / (m * (m - 1)) + (lin[1].sum() - np.trace(lin[1])) / (n * (n - 1))
                  - 2 * lin[2].mean())
        if np.isclose(got, biased, rtol=1e-6):
            hint = ("you averaged over all pairs, including each point with itself (i = j): that is the biased "
                    "estimate. Leave out the diagonal of k(a, a) and k(b, b)")
        elif np.isclose(got, wrong_norm, rtol=1e-6):
            hint = "after leaving out the diagonal there are m(m-1) pairs, not m²: divide by m(m-1)"
        elif np.isclose(got, no_two, rtol=1e-6):
            hint = "the cross term counts twice: MMD² = E k(a,a') + E k(b,b') - 2 E k(a,b)"
        elif np.isclose(got, linear, rtol=1e-6):
            hint = "the kernel is cubic: (a·b / D + 1) ** 3"
        else:
            hint = ("use k(x, y) = (x·y / D + 1)³ with D the feature dimension; average k over pairs i≠j within "
                    "each set and over all pairs across the sets")
        _fail(exercise, f"got {got:.6g}, expected {want:.6g} (sets of {m} and {n} vectors)", hint)
    return passed(exercise, "it matches gan_lessons.metrics.mmd2_unbiased")


def _gp_critics():
    import keras

    linear = keras.Sequential([keras.Input((6,)), keras.layers.Dense(1)], name="linear_critic")
    linear.layers[0].set_weights([np.array([[2.0], [1.0], [0.0], [2.0], [0.0], [0.0]], np.float32),
                                  np.zeros(1, np.float32)])
    init = keras.initializers.RandomNormal(stddev=0.8, seed=3)
    mlp = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="tanh", kernel_initializer=init),
                            keras.layers.Dense(1, kernel_initializer=init)], name="mlp_critic")
    return [linear, mlp]


def _gp_variants(critic, real, fake, weights):
    import tensorflow as tf

    out = {}
    for name, x in (("interpolates", weights * real + (1 - weights) * fake), ("real", real), ("fake", fake)):
        x = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            s = critic(x, training=True)
        g = tape.gradient(s, x).numpy().reshape(len(x), -1)
        sq = (g ** 2).sum(1)
        out[name] = ((np.sqrt(sq) - 1) ** 2).mean()
        if name == "interpolates":
            out["squared_norm"] = ((sq - 1) ** 2).mean()
            out["abs"] = np.abs(np.sqrt(sq) - 1).mean()
            out["no_minus_one"] = sq.mean()
            out["batch_norm"] = (np.sqrt((g ** 2).sum()) - 1) ** 2
    return out


def check_gradient_penalty(gp_fn) -> str:
    """Lesson 07: the student's ``gp_fn(critic, real, fake, weights)`` against WGAN-GP's penalty."""
    from . import losses

    exercise = "gradient penalty"
    rng = np.random.default_rng(7)
    real = rng.normal(size=(8, 6)).astype(np.float32)
    fake = rng.normal(0.5, 2.0, size=(8, 6)).astype(np.float32)
    weights = rng.uniform(size=(8, 1)).astype(np.float32)
    for critic in _gp_critics():
        want = float(np.asarray(losses.gradient_penalty(critic, real, fake, weights=weights)))
        got = gp_fn(critic, real, fake, weights)
        if got is None:
            _fail(exercise, "the function returns None", "return the mean penalty (a scalar)")
        got = np.asarray(got, dtype=np.float64)
        if got.size != 1:
            _fail(exercise, f"the result has shape {got.shape}",
                  "average the per-sample penalties into one number")
        got = float(got.reshape(()))
        if np.isclose(got, want, rtol=1e-3, atol=1e-5):
            continue
        v = _gp_variants(critic, real, fake, weights)
        hints = {
            "real": "take the gradient at the interpolates x̂ = ε·real + (1-ε)·fake, not at the real images",
            "fake": "take the gradient at the interpolates x̂ = ε·real + (1-ε)·fake, not at the fake images",
            "squared_norm": "you used the squared norm Σg²; take its square root before subtracting 1",
            "abs": "square the difference: (||∇f(x̂)|| - 1)²",
            "no_minus_one": "the penalty pulls the norm towards 1: (||∇f(x̂)|| - 1)², not ||∇f(x̂)||²",
            "batch_norm": ("take one gradient norm per sample (sum over that sample's entries), then average the "
                           "penalties; not one norm over the whole batch"),
        }
        hint = next((h for k, h in hints.items() if np.isclose(got, v[k], rtol=1e-3, atol=1e-5)),
                    "x̂ = ε·real + (1-ε)·fake; per sample g = ∇ₓ f(x̂); penalty = mean over samples of (||g||₂ - 1)²")
        _fail(exercise, f"got {got:.5g} for the {critic.name}, expected {want:.5g}", hint)
    return passed(exercise, "it matches gan_lessons.losses.gradient_penalty on a linear and a non-linear critic")
