"""Exercise checkers: each one tests a student's answer and, when it is wrong,
says what to look at rather than only "assertion failed".

The pattern (lesson 01 shows it first): an exercise cell between nbgrader's
``### BEGIN SOLUTION`` / ``### END SOLUTION`` markers, then a cell that calls a
``check_*`` function from here. A checker raises :class:`ExerciseError` (an
``AssertionError``) carrying a hint, and prints a short confirmation on success.
An exercise that is not written yet (the student copy's ``raise
NotImplementedError()``) stops its check with that ``NotImplementedError``.
After each check the lesson goes on with the course's own implementation, so a
student who is stuck can run the rest of it.

With the environment variable ``GAN_LESSONS_FALLBACK=1`` a failing check prints
its message instead of raising, so a whole student copy runs top to bottom on
the course's reference implementations (the tests run them that way).
"""

from __future__ import annotations

import functools
import os

import numpy as np

FALLBACK_VARIABLE = "GAN_LESSONS_FALLBACK"


class ExerciseError(AssertionError):
    """An exercise answer is wrong; the message is a hint."""


def fallback_enabled() -> bool:
    """True when ``GAN_LESSONS_FALLBACK`` is set to anything but "" or "0"."""
    return os.environ.get(FALLBACK_VARIABLE, "") not in ("", "0")


def exercise_check(check):
    """Decorate a ``check_*`` function: with the fallback on, a wrong or unwritten answer is reported, not raised."""
    @functools.wraps(check)
    def run(*args, **kwargs):
        try:
            return check(*args, **kwargs)
        except (ExerciseError, NotImplementedError) as err:
            if not fallback_enabled():
                raise
            what = "not written yet (NotImplementedError)" if isinstance(err, NotImplementedError) else str(err)
            line = f"✗ {check.__name__}: {what}\n  {FALLBACK_VARIABLE} is set: the lesson continues with the course's reference"
            print(line)
            return line
    return run


def _fail(exercise: str, what: str, hint: str):
    raise ExerciseError(f"{exercise}: {what}\nHint: {hint}")


def _raised(exercise: str, call: str, err: Exception, hint: str):
    """Report an exception from the student's code as a hint; an unwritten exercise stays a NotImplementedError."""
    if isinstance(err, NotImplementedError):
        raise err
    message = " ".join(str(err).split())
    if len(message) > 240:
        message = message[:240] + " …"
    _fail(exercise, f"{call} raised {type(err).__name__}: {message}", hint)


def _answer(exercise: str, call: str, fn, args, hint: str, none_hint: str):
    """Call the student's ``fn(*args)``: an exception becomes a hint, a ``None`` result a "return it" hint."""
    try:
        got = fn(*args)
    except Exception as err:  # noqa: BLE001 - the student's code failed: say where
        _raised(exercise, call, err, hint)
    if got is None:
        _fail(exercise, f"{call} returned None", none_hint)
    return got


def _known_mistake(exercise: str, got: float, mistakes, what: str, rtol: float = 1e-4, atol: float = 1e-6) -> None:
    """Fail with the hint of the first ``(wrong_value, hint)`` pair that ``got`` matches."""
    for wrong, hint in mistakes:
        if np.isclose(got, wrong, rtol=rtol, atol=atol):
            _fail(exercise, what, hint)


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
def js_divergence_reference(p, q, x):
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


@exercise_check
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
        expected = js_divergence_reference(p, q, x)
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
    return passed(exercise, f"JSD(N(0,1) ‖ N(1.5,1)) = {js_divergence_reference(p, q, x):.4f} nats")


# --------------------------------------------------------------------------- lesson 03: networks
_SIDE_CASES = ((4, (1, 2, 2)), (7, (1, 2, 2)), (4, (1, 2, 2, 2)), (3, (2, 2, 2)), (5, (1,)), (2, (3, 2)))


@exercise_check
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
        except NotImplementedError:
            raise
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


_LAYER_HINTS = {
    "Dense": "start by projecting z with one Dense layer of 7·7·4f units (f = base_filters), no bias",
    "BatchNormalization": ("BatchNormalization follows the Dense layer and each hidden Conv2DTranspose "
                           "(never the output layer)"),
    "LeakyReLU": "each BatchNormalization is followed by LeakyReLU(0.2)",
    "Reshape": "after the first block, lay the 7·7·4f numbers out as a (7, 7, 4f) map with Reshape",
    "Conv2DTranspose": "upsample with three Conv2DTranspose layers: stride 1, then 2, then 2 (the last is the output)",
}

_SETTING_HINTS = {
    "use_bias": ("a bias just before BatchNorm is cancelled by it (section 4.1): use_bias=False there; "
                 "the output layer, which no BatchNorm follows, keeps its bias"),
    "kernel_size": "the DCGAN layers here use 5×5 kernels",
    "strides": "strides 1, 2, 2 take 7×7 to 7×7, 14×14, 28×28",
    "padding": "padding='same', so that a stride s multiplies the side by s exactly",
    "activation": "tanh on the output layer, so pixels land in [-1, 1] like the data; no activation elsewhere",
    "negative_slope": "LeakyReLU(0.2), the slope the DCGAN paper uses",
    "filters": "channels 2f, then f, then 1 for the image (f = base_filters)",
    "units": "the Dense layer has 7·7·4f units (f = base_filters)",
    "target_shape": "Reshape((7, 7, 4 * base_filters))",
    "kernel_initializer": "give the k-th Dense or Conv2DTranspose layer kernel_initializer=init(k), k = 0, 1, 2, 3",
    "dtype": "the output layer computes in float32 (dtype='float32'), so that mixed precision still returns float32 images",
}


def _network_differences(exercise: str, mine, reference, what: str) -> None:
    """Fail with a hint at the first place where ``mine`` differs from ``reference``: layers, settings, weights, outputs."""
    import keras

    def body(model):
        return [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]

    ours, theirs = body(mine), body(reference)
    for i, (a, b) in enumerate(zip(ours, theirs), start=1):
        ta, tb = type(a).__name__, type(b).__name__
        if ta != tb:
            _fail(exercise, f"{what}: layer {i} is {ta}, expected {tb}", _LAYER_HINTS.get(tb, f"layer {i} should be {tb}"))
        sa, sb = tuple(a.output.shape), tuple(b.output.shape)
        if sa != sb:
            _fail(exercise, f"{what}: layer {i} ({ta}) outputs {sa}, expected {sb}",
                  "follow the chain of shapes: z → 7·7·4f → (7, 7, 4f) → (7, 7, 2f) → (14, 14, f) → (28, 28, 1)")
        ca, cb = a.get_config(), b.get_config()
        for key in sorted(set(ca) | set(cb)):
            if key in ("name", "trainable") or ca.get(key) == cb.get(key):
                continue
            if key == "kernel_initializer":
                continue                         # compared through the starting weights below
            _fail(exercise, f"{what}: layer {i} ({ta}) has {key}={ca.get(key)!r}, expected {cb.get(key)!r}",
                  _SETTING_HINTS.get(key, f"set {key} as in the table of section 6"))
    if len(ours) != len(theirs):
        if len(ours) > len(theirs):
            extra = ", ".join(type(layer).__name__ for layer in ours[len(theirs):])
            _fail(exercise, f"{what}: {len(ours)} layers, expected {len(theirs)}; extra at the end: {extra}",
                  "the output Conv2DTranspose with tanh is the last layer: nothing follows it")
        missing = ", ".join(type(layer).__name__ for layer in theirs[len(ours):])
        _fail(exercise, f"{what}: {len(ours)} layers, expected {len(theirs)}; missing at the end: {missing}",
              _LAYER_HINTS.get(type(theirs[len(ours)]).__name__, "compare with the table of section 6"))
    for i, (a, b) in enumerate(zip(ours, theirs), start=1):
        if any(not np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights())):
            _fail(exercise, f"{what}: layer {i} ({type(a).__name__}) starts from other weights",
                  _SETTING_HINTS["kernel_initializer"])


@exercise_check
def check_generator(build_generator) -> str:
    """Lesson 03: ``build_generator(latent_dim=100, base_filters=64, seed=None)`` must build the network
    ``models.dcgan_generator`` builds: the same layers in the same order, the same settings, the same
    starting weights for the same seed, and so the same outputs."""
    import keras

    from . import models

    ex = "the DCGAN generator"
    expect(ex, callable(build_generator), f"got {type(build_generator).__name__}, not a function",
           "pass the function itself: check_generator(dcgan_generator_written_out)")
    for latent_dim, base_filters, seed in ((100, 64, 10), (16, 8, 3)):
        call = f"build_generator(latent_dim={latent_dim}, base_filters={base_filters}, seed={seed})"
        try:
            mine = build_generator(latent_dim=latent_dim, base_filters=base_filters, seed=seed)
        except Exception as err:  # noqa: BLE001 - report any mistake as a hint
            _raised(ex, call, err, "chain the layers on z = keras.Input(shape=(latent_dim,)) and return "
                                   "keras.Model(z, image); keras names the layer whose input has the wrong shape")
        if not isinstance(mine, keras.Model):
            _fail(ex, f"{call} returned {type(mine).__name__}", "return keras.Model(z, image, name='generator')")
        reference = models.dcgan_generator(latent_dim=latent_dim, base_filters=base_filters, seed=seed)
        _network_differences(ex, mine, reference, f"with latent_dim={latent_dim}, base_filters={base_filters}")
        z = np.random.default_rng(seed).normal(size=(4, latent_dim)).astype("float32")
        if not np.allclose(mine(z, training=False), reference(z, training=False), atol=1e-6):
            _fail(ex, "same layers and weights, but other outputs", "the layers must be chained in the order of the table")
    return passed(ex, "the same layers, settings, starting weights and outputs as models.dcgan_generator")


# --------------------------------------------------------------------------- lessons 06 and 07
def _mmd_cases():
    rng = np.random.default_rng(6)
    return [(rng.normal(size=(6, 3)), rng.normal(0.3, 1.0, size=(8, 3))),
            (rng.normal(size=(12, 5)), rng.normal(size=(12, 5)))]


@exercise_check
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


@exercise_check
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


@exercise_check
def check_r1_penalty(r1_fn) -> str:
    """Lesson 07: the student's ``r1_fn(critic, real, gamma)`` against the R1 penalty (γ/2)·E||∇ₓD(x)||²."""
    import tensorflow as tf

    from . import losses

    exercise = "R1 penalty"
    rng = np.random.default_rng(11)
    real = rng.normal(size=(8, 6)).astype(np.float32)
    gamma = 3.0
    for critic in _gp_critics():
        want = float(np.asarray(losses.r1_penalty(critic, real, gamma)))
        got = r1_fn(critic, real, gamma)
        if got is None:
            _fail(exercise, "the function returns None", "return the penalty (a scalar)")
        got = np.asarray(got, dtype=np.float64)
        if got.size != 1:
            _fail(exercise, f"the result has shape {got.shape}", "average the per-sample squared norms into one number")
        got = float(got.reshape(()))
        if np.isclose(got, want, rtol=1e-3, atol=1e-6):
            continue
        x = tf.constant(real)
        with tf.GradientTape() as tape:
            tape.watch(x)
            s = critic(x, training=True)
        sq = np.sum(np.asarray(tape.gradient(s, x)) ** 2, axis=1)
        hints = [(2 * want, "halve it: the penalty is (γ/2)·E[||∇D||²]"),
                 (want / gamma * 2, "multiply by γ/2 (gamma is an argument)"),
                 (0.5 * gamma * np.mean(np.sqrt(sq)), "square the gradient's norm: ||∇D(x)||², not ||∇D(x)||"),
                 (0.5 * gamma * np.sum(sq), "average over the samples, do not sum"),
                 (0.5 * gamma * np.mean((np.sqrt(sq) - 1) ** 2),
                  "R1 is zero-centred: ||∇D(x)||², not WGAN-GP's (||∇D(x)|| - 1)²")]
        hint = next((h for v, h in hints if np.isclose(got, v, rtol=1e-3, atol=1e-6)),
                    "per real sample g = ∇ₓ D(x); penalty = (γ/2) · mean over samples of Σ g²")
        _fail(exercise, f"got {got:.5g} for the {critic.name}, expected {want:.5g}", hint)
    return passed(exercise, "it matches gan_lessons.losses.r1_penalty on a linear and a non-linear critic")


def _fid_reference(a, b):
    from .metrics import fid_from_features
    return fid_from_features(a, b)


@exercise_check
def check_fid(fid_fn) -> str:
    """Lesson 06: ``fid_fn(feat_a, feat_b)`` = ‖μa − μb‖² + Tr(Σa + Σb − 2(ΣaΣb)^½), features in rows."""
    from scipy import linalg

    ex = "FID from features"
    expect(ex, callable(fid_fn), f"got {type(fid_fn).__name__}, not a function",
           "pass the function itself: check_fid(my_fid)")
    rng = np.random.default_rng(6)
    mix = rng.normal(size=(6, 6))
    cases = [("two samples of one distribution", rng.normal(size=(400, 6)), rng.normal(size=(300, 6))),
             ("shifted means", rng.normal(size=(400, 6)), rng.normal(0.7, 1.0, size=(300, 6))),
             ("other covariances", rng.normal(size=(400, 6)), rng.normal(size=(300, 6)) @ mix)]
    for what, a, b in cases:
        call = f"fid_fn(a, b) for {what}"
        try:
            got = fid_fn(a.copy(), b.copy())
        except Exception as err:  # noqa: BLE001
            rows_as_features = any(word in str(err) for word in ("shape", "align", "mismatch", "core dimension"))
            hint = ("each row of a feature matrix is one image (here 400 and 300 rows of 6 features): "
                    "np.cov(feat, rowvar=False) gives the 6 × 6 covariance, feat.mean(axis=0) the mean"
                    if rows_as_features else
                    "means with .mean(axis=0), covariances with np.cov(..., rowvar=False), the root with "
                    "scipy.linalg.sqrtm")
            _raised(ex, call, err, hint)
        if got is None:
            _fail(ex, f"{call} returned None", "return the FID, one number")
        value = np.asarray(got)
        if value.size != 1:
            _fail(ex, f"{call} returned an array of shape {value.shape}", "return one number: the traces and the "
                  "squared norm are scalars")
        if np.iscomplexobj(value) and np.abs(np.imag(value)).max() > 0:
            _fail(ex, f"{call} returned a complex number", "sqrtm works in complex arithmetic: keep np.real(...) of the root")
        value = float(np.real(value).reshape(()))
        expected = _fid_reference(a, b)
        if not np.isfinite(value):
            _fail(ex, f"{call} returned {value}",
                  "an elementwise np.sqrt of a matrix with negative entries gives NaN: the root of Σa·Σb is a matrix "
                  "square root, scipy.linalg.sqrtm(sigma_a @ sigma_b)")
        if np.isclose(value, expected, rtol=1e-4, atol=1e-6):
            continue
        mu_a, mu_b = a.mean(0), b.mean(0)
        sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
        root = np.real(linalg.sqrtm(sa @ sb))
        mean_sq = float(np.sum((mu_a - mu_b) ** 2))
        cov_term = float(np.trace(sa + sb - 2 * root))
        root_a, root_b = np.real(linalg.sqrtm(sa)), np.real(linalg.sqrtm(sb))
        mistakes = [
            (np.sqrt(mean_sq) + cov_term, "the mean term is the *squared* distance ‖μa − μb‖², not ‖μa − μb‖"),
            (mean_sq + float(np.trace(sa + sb - 2 * root_a @ root_b)),
             "sqrtm(Σa) @ sqrtm(Σb) is not (ΣaΣb)^½ (the two matrices do not commute): take sqrtm of the product"),
            (mean_sq + float(np.trace(sa + sb - 2 * np.sqrt(np.abs(sa @ sb)))),
             "(ΣaΣb)^½ is a matrix square root, scipy.linalg.sqrtm(sigma_a @ sigma_b), not np.sqrt of the product"),
            (np.sqrt(max(expected, 0.0)), "FID is the squared Fréchet distance: do not take the square root of the sum"),
            (mean_sq + float(np.trace(sa + sb - 2 * np.sqrt(np.abs(sa * sb)))),
             "(ΣaΣb)^½ is a matrix square root (scipy.linalg.sqrtm of the product), not an elementwise one"),
            (mean_sq + float(np.trace(sa + sb - root)), "the trace term has −2·(ΣaΣb)^½: the factor 2 is missing"),
            (mean_sq + float(np.trace(sa + sb + 2 * root)), "the root enters with a minus sign: Tr(Σa + Σb − 2(ΣaΣb)^½)"),
            (mean_sq, "the covariance term is missing: FID compares the spreads too"),
            (cov_term, "the mean term ‖μa − μb‖² is missing"),
        ]
        _known_mistake(ex, value, mistakes, f"for {what} you got {value:.5f}, expected {expected:.5f}")
        _fail(ex, f"for {what} you got {value:.5f}, expected {expected:.5f}",
              "means over rows (axis=0), covariances with np.cov(feat, rowvar=False), then "
              "‖μa − μb‖² + Tr(Σa) + Tr(Σb) − 2·Tr(sqrtm(Σa Σb))")
    return passed(ex, "the mean term squared, a matrix square root, the imaginary rounding dropped")


@exercise_check
def check_smoothed_d_loss(smoothed_fn) -> str:
    """Lesson 07: one-sided label smoothing, ``smoothed_fn(real_logits, fake_logits, real_label=0.9)``:
    cross-entropy from logits with target ``real_label`` for real images and 0 for fakes."""
    ex = "one-sided label smoothing"
    expect(ex, callable(smoothed_fn), f"got {type(smoothed_fn).__name__}, not a function",
           "pass the function itself: check_smoothed_d_loss(smoothed_d_loss)")
    real, fake = _logit_cases()

    def bce(target, t):
        return target * _softplus(-t) + (1 - target) * _softplus(t)

    for label in (0.9, 0.8, 1.0):
        call = f"smoothed_d_loss(real_logits, fake_logits, real_label={label})"
        try:
            got = _scalar(ex, smoothed_fn(real, fake, real_label=label), "loss")
        except ExerciseError:
            raise
        except Exception as err:  # noqa: BLE001
            _raised(ex, call, err, "take logits and the real label; return one scalar")
        expected = float(np.mean(bce(label, real)) + np.mean(bce(0.0, fake)))
        if np.isclose(got, expected, rtol=1e-4):
            continue
        mistakes = [
            (np.mean(bce(label, real)) + np.mean(bce(1 - label, fake)),
             "you smoothed the fake labels too: one-sided smoothing leaves the fakes' target at 0. With a positive "
             "fake target, D's optimum scores the generator's own samples as partly real even where there is no "
             "data, so those samples get no push towards the data (Salimans et al., 2016)"),
            (np.mean(bce(1.0, real)) + np.mean(bce(0.0, fake)), "the real target is still 1: use real_label"),
            (np.mean(label * _softplus(-real)) + np.mean(_softplus(fake)),
             "the real term needs both parts of the cross-entropy: real_label·softplus(−t) + (1 − real_label)·softplus(t)"),
            (np.mean(bce(label, 1 / (1 + np.exp(-real)))) + np.mean(bce(0.0, 1 / (1 + np.exp(-fake)))),
             "the function receives logits: do not apply the sigmoid before the softplus terms"),
            (np.mean(bce(0.0, real)) + np.mean(bce(label, fake)), "real and fake are swapped"),
        ]
        _known_mistake(ex, got, mistakes, f"{call} is {got:.4f}, expected {expected:.4f}")
        _fail(ex, f"{call} is {got:.4f}, expected {expected:.4f}",
              "binary cross-entropy from logits with target y: y·softplus(−t) + (1 − y)·softplus(t), averaged; "
              "y = real_label for real images, 0 for fakes")
    return passed(ex, "real target 0.9, fake target 0")


# --------------------------------------------------------------------------- lesson 02
def _d_step_reference(generator, discriminator, optimizer, real, z):
    import tensorflow as tf

    from . import losses

    with tf.GradientTape() as tape:
        fake = generator(z, training=True)
        loss = losses.discriminator_loss(discriminator(real, training=True), discriminator(fake, training=True))
    grads = tape.gradient(loss, discriminator.trainable_variables)
    optimizer.apply_gradients(zip(grads, discriminator.trainable_variables))
    return loss


def _d_step_setup(seed: int):
    import keras
    import numpy as np

    from . import data

    def mlp(in_dim, out_dim, name, s):
        return keras.Sequential([keras.Input((in_dim,)),
                                 keras.layers.Dense(16, activation="relu",
                                                    kernel_initializer=keras.initializers.GlorotUniform(seed=s)),
                                 keras.layers.Dense(out_dim,
                                                    kernel_initializer=keras.initializers.GlorotUniform(seed=s + 1))],
                                name=name)

    g, d = mlp(2, 2, "G", seed), mlp(2, 1, "D", seed + 10)
    opt = keras.optimizers.SGD(0.1)
    rng = np.random.default_rng(seed)
    real = data.toy_2d("ring", 64, seed=seed)
    z = rng.normal(size=(64, 2)).astype("float32")
    return g, d, opt, real, z


@exercise_check
def check_discriminator_step(d_step_fn) -> str:
    """Check a student's discriminator step ``d_step_fn(generator, discriminator, optimizer, real, z) -> loss`` (lesson 02).

    It must compute -E[log D(x)] - E[log(1 - D(G(z)))] from D's logits and update
    D's weights only, once, with ``optimizer``.
    """
    import numpy as np

    ex = "discriminator step"
    if not callable(d_step_fn):
        _fail(ex, f"got {type(d_step_fn).__name__}, not a function",
              "pass the function itself: check_discriminator_step(d_step)")
    g, d, opt, real, z = _d_step_setup(3)
    g_ref, d_ref, opt_ref, _, _ = _d_step_setup(3)
    g_before = [w.copy() for w in g.get_weights()]
    d_before = [w.copy() for w in d.get_weights()]
    got = d_step_fn(g, d, opt, real, z)
    want = float(_d_step_reference(g_ref, d_ref, opt_ref, real, z))
    if got is None:
        _fail(ex, "the step returned None", "return the discriminator's loss at the end of the step")
    got = float(np.asarray(got))
    if not np.isfinite(got):
        _fail(ex, f"the loss is {got}", "work from logits with softplus (or from_logits=True): "
              "log(sigmoid(t)) of a large negative t underflows to log 0")
    if np.isclose(got, -want, rtol=1e-4):
        _fail(ex, f"the loss is {got:.4f}, the negative of the expected {want:.4f}",
              "D maximises log D(x) + log(1 - D(G(z))), so the loss to MINIMISE is its negative")
    if not np.isclose(got, want, rtol=1e-4, atol=1e-5):
        _fail(ex, f"the loss is {got:.4f}, expected {want:.4f}",
              "real points have label 1, generated points label 0; average each term over its batch and add "
              "them; D outputs logits, so use softplus(-t) for -log D and softplus(t) for -log(1 - D)")
    if any(not np.allclose(a, b) for a, b in zip(g_before, g.get_weights())):
        _fail(ex, "the generator's weights changed", "apply the gradients to discriminator.trainable_variables only")
    d_after = d.get_weights()
    if all(np.allclose(a, b) for a, b in zip(d_before, d_after)):
        _fail(ex, "the discriminator's weights did not change",
              "compute the gradients with a GradientTape and call optimizer.apply_gradients(zip(grads, variables))")
    if any(not np.allclose(a, b, rtol=1e-4, atol=1e-6) for a, b in zip(d_after, d_ref.get_weights())):
        _fail(ex, "the discriminator's weights moved, but not as one gradient step on this loss would move them",
              "take the gradient of the loss you return, with respect to D's variables, and apply it once")
    return passed(ex, f"loss {got:.4f}, one update of D, G untouched")


# --------------------------------------------------------------------------- lessons 04 and 05
def _logit_cases():
    rng = np.random.default_rng(4)
    return (rng.normal(1.0, 2.0, size=(32, 1)).astype("float32"), rng.normal(-1.0, 2.0, size=(32, 1)).astype("float32"))


def _softplus(t):
    return np.logaddexp(0.0, np.asarray(t, dtype=np.float64))


def _scalar(ex: str, got, what: str) -> float:
    if got is None:
        _fail(ex, f"the {what} is None", "return the loss, one scalar (an average over the batch)")
    value = np.asarray(got, dtype=np.float64)
    if value.size != 1:
        _fail(ex, f"the {what} has shape {value.shape}, not one number",
              "average over the batch with keras.ops.mean, so that the loss is a scalar")
    return float(value.reshape(()))


@exercise_check
def check_losses_from_logits(d_loss_fn, g_loss_fn) -> str:
    """Lesson 04: ``d_loss_fn(real_logits, fake_logits)`` = -E[log D(x)] - E[log(1 - D(G(z)))] and
    ``g_loss_fn(fake_logits)`` = -E[log D(G(z))] (the non-saturating loss), both from logits."""
    ex = "the GAN losses from logits"
    real, fake = _logit_cases()
    sig = lambda t: 1.0 / (1.0 + np.exp(-np.asarray(t, dtype=np.float64)))  # noqa: E731
    for name, fn in (("d_loss_fn", d_loss_fn), ("g_loss_fn", g_loss_fn)):
        expect(ex, callable(fn), f"{name} is {type(fn).__name__}, not a function", "pass the functions themselves")
    try:
        d = _scalar(ex, d_loss_fn(real, fake), "discriminator loss")
    except ExerciseError:
        raise
    except Exception as err:  # noqa: BLE001
        _raised(ex, "d_loss_from_logits(real_logits, fake_logits)", err,
                "take logits (any real numbers) and return one scalar; keras.ops.softplus works on NumPy arrays")
    expected = float(np.mean(_softplus(-real)) + np.mean(_softplus(fake)))
    d_mistakes = [
        (np.mean(np.log(sig(fake)) + np.log1p(1 - sig(real)) + np.log1p(1 - sig(fake))), "this is the seed's formula",
         "log1p(1 - D) is log(2 - D), not log(1 - D); start from lesson 01's V(D, G)"),
        (np.mean(_softplus(-fake)) + np.mean(_softplus(real)), "real and fake are swapped",
         "D should say 1 for real images and 0 for fakes: -log D on real logits, -log(1 - D) on fake ones"),
        (-expected, "the sign is flipped", "D *maximises* V; the loss to minimise is -V"),
        (np.mean(_softplus(-sig(real))) + np.mean(_softplus(sig(fake))), "the sigmoid is applied twice",
         "the function receives logits; softplus(-t) is already -log σ(t), so do not apply a sigmoid first"),
        (np.sum(_softplus(-real)) + np.sum(_softplus(fake)), "the terms are summed over the batch",
         "average each term over its batch (keras.ops.mean), so the loss does not grow with the batch size"),
        (np.mean(_softplus(-real)), "only the real term is there",
         "D's loss has two terms: -E[log D(x)] on real images and -E[log(1 - D(G(z)))] on fakes"),
    ]
    if not np.isclose(d, expected, rtol=1e-4):
        for value, what, hint in d_mistakes:
            if np.isclose(d, value, rtol=1e-4):
                _fail(ex, f"discriminator loss {d:.4f}: {what}", hint)
        _fail(ex, f"discriminator loss {d:.4f}, expected {expected:.4f}",
              "with t a logit, -log σ(t) = softplus(-t) and -log(1 - σ(t)) = softplus(t); average each term")
    try:
        g = _scalar(ex, g_loss_fn(fake), "generator loss")
    except ExerciseError:
        raise
    except Exception as err:  # noqa: BLE001
        _raised(ex, "g_loss_from_logits(fake_logits)", err, "take the fake logits and return one scalar")
    expected_g = float(np.mean(_softplus(-fake)))
    g_mistakes = [
        (np.mean(np.log1p(1 - sig(fake))), "this is the seed's formula log1p(1 - D(G(z))) = log(2 - D(G(z)))",
         "minimising log(2 - D) does raise D(G(z)), but its slope in the logit, -D(1 - D)/(2 - D), vanishes when D "
         "rejects the fakes, as the saturating loss's does; G's non-saturating loss is -log D(G(z)) = softplus(-t)"),
        (-np.mean(_softplus(fake)), "this is the saturating (minimax) loss log(1 - D(G(z)))",
         "its slope vanishes when D rejects the fakes (lesson 01); minimise -log D(G(z)) = softplus(-t) instead"),
        (-expected_g, "the sign is flipped", "G wants D(G(z)) near 1, so it minimises -log D(G(z)), not log D(G(z))"),
        (np.mean(_softplus(fake)), "this is D's loss term for fakes",
         "G uses the label 1 for its own images: -log σ(t) = softplus(-t), not softplus(t)"),
        (np.mean(_softplus(-sig(fake))), "the sigmoid is applied twice",
         "the function receives logits; softplus(-t) already contains the sigmoid"),
        (np.sum(_softplus(-fake)), "the loss is summed over the batch", "average over the batch (keras.ops.mean)"),
    ]
    if not np.isclose(g, expected_g, rtol=1e-4):
        for value, what, hint in g_mistakes:
            if np.isclose(g, value, rtol=1e-4):
                _fail(ex, f"generator loss {g:.4f}: {what}", hint)
        _fail(ex, f"generator loss {g:.4f}, expected {expected_g:.4f}",
              "the non-saturating loss is -E[log D(G(z))] = mean of softplus(-t) over the fake logits t")
    return passed(ex, f"D loss {d:.4f}, G loss {g:.4f}")


def _bn_moving_stats(model):
    return [v.numpy().copy() for v in model.non_trainable_variables]


def _probe(generator, discriminator, z, images):
    """D's mean logit on G(z) and on ``images`` without changing any state (BatchNorm's moving stats are restored)."""
    saved = _bn_moving_stats(generator)
    fake = generator(z, training=True)
    for v, value in zip(generator.non_trainable_variables, saved):
        v.assign(value)
    return (float(np.mean(discriminator(fake, training=False))), float(np.mean(discriminator(images, training=False))))


@exercise_check
def check_train_step(train_step, generator, discriminator, d_optimizer, g_optimizer, real) -> str:
    """Lesson 04: one call of ``train_step(real)`` must take one discriminator step and one generator step.

    Runs the step once (it trains the networks by one step, as the lesson's own
    first call does) and checks what a correct step does: both optimizers step
    once; every weight of both networks moves; BatchNorm runs in training mode;
    D afterwards separates real from fake better; G afterwards fools D better.
    """
    ex = "the training step"
    expect(ex, callable(train_step), f"got {type(train_step).__name__}, not a function",
           "pass the function itself: check_train_step(train_step, generator, discriminator, ...)")
    latent = int(generator.input_shape[-1])
    z = np.random.default_rng(0).normal(size=(256, latent)).astype("float32")
    images = np.asarray(real)
    g_before = [w.copy() for w in generator.get_weights()]
    g_trainable = [v.numpy().copy() for v in generator.trainable_variables]
    d_trainable = [v.numpy().copy() for v in discriminator.trainable_variables]
    g_stats = _bn_moving_stats(generator)
    iterations = int(d_optimizer.iterations.numpy()), int(g_optimizer.iterations.numpy())
    fake_before_d, real_before_d = _probe(generator, discriminator, z, images)
    try:
        out = train_step(real)
    except Exception as err:  # noqa: BLE001
        if "originally built with" in str(err):
            hint = ("one optimizer per network: d_optimizer updates the discriminator's variables and g_optimizer "
                    "the generator's (an Adam keeps moment estimates for the variables it was built for)")
        else:
            hint = ("compute each loss inside its own tf.GradientTape (a tape gives gradients once), and take "
                    "d_tape.gradient(d_loss, discriminator.trainable_variables) and "
                    "g_tape.gradient(g_loss, generator.trainable_variables)")
        _raised(ex, "train_step(real)", err, hint)
    if not hasattr(out, "keys") or not {"d_loss", "g_loss"} <= set(out.keys()):
        _fail(ex, f"train_step returned {type(out).__name__}", "return a dict with at least 'd_loss' and 'g_loss'")
    for key in ("d_loss", "g_loss"):
        value = _scalar(ex, out[key], key)
        expect(ex, np.isfinite(value), f"{key} is {value}", "compute the losses from logits (losses from section 7)")
    steps = int(d_optimizer.iterations.numpy()) - iterations[0], int(g_optimizer.iterations.numpy()) - iterations[1]
    if steps != (1, 1):
        hint = ("one step of each: d_optimizer.apply_gradients for D's gradients, g_optimizer.apply_gradients for "
                "G's" + (" (one optimizer is doing both networks' updates)" if 2 in steps else
                         " (one of the two updates is never applied)" if 0 in steps else ""))
        _fail(ex, f"d_optimizer took {steps[0]} step(s) and g_optimizer {steps[1]}", hint)
    for name, model, before in (("discriminator", discriminator, d_trainable), ("generator", generator, g_trainable)):
        frozen = [v.path for v, b in zip(model.trainable_variables, before) if np.array_equal(v.numpy(), b)]
        if frozen:
            _fail(ex, f"{len(frozen)} of the {name}'s weights did not move (e.g. {frozen[0]})",
                  f"take the gradient of the {name}'s loss with respect to {name}.trainable_variables, with the "
                  f"forward pass inside that tape, and apply all of it")
    if g_stats and all(np.array_equal(v.numpy(), b) for v, b in zip(generator.non_trainable_variables, g_stats)):
        _fail(ex, "the generator's BatchNorm statistics did not change",
              "call the generator with training=True inside the step: in inference mode BatchNorm neither uses "
              "the batch's statistics nor updates its moving averages (lesson 03, section 5)")
    fake_after_d, real_after_d = _probe(generator, discriminator, z, images)
    generator_after = [w.copy() for w in generator.get_weights()]
    generator.set_weights(g_before)
    fake_old_g, _ = _probe(generator, discriminator, z, images)     # D after the step, G before it
    generator.set_weights(generator_after)
    if real_after_d - fake_old_g <= real_before_d - fake_before_d:
        _fail(ex, "after the step D separates real from generated images less well than before",
              "D minimises -E[log D(x)] - E[log(1 - D(G(z)))]: label 1 for real, 0 for fake, and no minus sign "
              "in front of the whole loss")
    if fake_after_d <= fake_old_g:
        _fail(ex, "after G's update the discriminator finds the generated images less real, not more",
              "G minimises the non-saturating loss -E[log D(G(z))] (label 1 for its own images); it must not "
              "minimise D's loss")
    return passed(ex, "one update of each network with its own optimizer, BatchNorm in training mode; "
                      "D separates better, G fools D better")


@exercise_check
def check_ema_update(ema_update) -> str:
    """Lesson 05: ``ema_update(average, weights, decay, step)`` returns the new running average (a list of
    arrays): each ā ← β_t·ā + (1 − β_t)·w with β_t = min(decay, (1 + step) / (10 + step))."""
    ex = "the running average of the weights"
    expect(ex, callable(ema_update), f"got {type(ema_update).__name__}, not a function",
           "pass the function itself: check_ema_update(my_ema_update)")
    rng = np.random.default_rng(5)
    shapes = [(3, 4), (4,), (2, 2, 3)]
    for decay, step in ((0.99, 2000), (0.99, 0), (0.99, 5), (0.999, 50), (0.5, 100)):
        average = [rng.normal(size=s).astype("float32") for s in shapes]
        weights = [rng.normal(size=s).astype("float32") for s in shapes]
        kept = [a.copy() for a in average]
        beta = min(decay, (1 + step) / (10 + step))
        call = f"ema_update(average, weights, decay={decay}, step={step})"
        try:
            got = ema_update([a.copy() for a in average], [w.copy() for w in weights], decay, step)
        except Exception as err:  # noqa: BLE001
            _raised(ex, call, err, "loop over the pairs of arrays and return a list of new arrays")
        if got is None:
            _fail(ex, f"{call} returned None", "return the list of new average arrays")
        try:
            got = list(got)
        except TypeError:
            _fail(ex, f"{call} returned {type(got).__name__}, not a list", "return a list of the new average arrays")
        if len(got) != len(shapes):
            _fail(ex, f"{call} returned {len(got)} arrays for {len(shapes)} variables",
                  "one new average per variable, in the same order")
        got = [np.asarray(g, dtype=np.float64) for g in got]

        def matches(b):
            return all(g.shape == a.shape and np.allclose(g, b * a + (1 - b) * w, rtol=1e-5, atol=1e-6)
                       for g, a, w in zip(got, kept, weights))

        if matches(beta):
            continue
        if matches(decay):
            hint = ("without the warm-up: at step t the weight of the old average is min(decay, (1 + t)/(10 + t)), "
                    "so that early on the average forgets the random initial weights quickly")
        elif matches(1 - beta):
            hint = "β_t multiplies the old average and 1 − β_t the new weights, not the other way round"
        elif matches(max(decay, (1 + step) / (10 + step))):
            hint = "β_t is the *smaller* of decay and (1 + t)/(10 + t): use min, not max"
        elif matches(min(decay, step / (10 + step))) or matches(min(decay, (1 + step) / (9 + step))):
            hint = "the warm-up is (1 + t)/(10 + t), with t the number of updates so far"
        else:
            hint = "ā ← β_t·ā + (1 − β_t)·w for every variable, with β_t = min(decay, (1 + t)/(10 + t))"
        _fail(ex, f"{call} is not β_t·average + (1 − β_t)·weights with β_t = {beta:.4g}", hint)
    return passed(ex, "β_t = 0.1 at step 0, 0.99 from step 890 on")


# --------------------------------------------------------------------------- lesson 08
def _info_loss_reference(codes, category_logits, continuous, means, continuous_weight):
    logits = np.asarray(category_logits, np.float64)
    log_q = logits - logits.max(axis=1, keepdims=True)
    log_q = log_q - np.log(np.exp(log_q).sum(axis=1, keepdims=True))
    cat = -log_q[np.arange(len(logits)), np.asarray(codes)].mean()
    cont = 0.5 * np.mean(np.sum((np.asarray(continuous, np.float64) - np.asarray(means, np.float64)) ** 2, axis=1))
    return cat + continuous_weight * cont


def _info_loss_cases():
    rng = np.random.default_rng(8)
    cases = []
    for n, k, m, w, scale in ((4, 10, 2, 0.5, 1.0), (6, 3, 1, 1.0, 3.0), (5, 10, 3, 0.1, 30.0)):
        cases.append((rng.integers(0, k, n), rng.normal(size=(n, k)) * scale, rng.uniform(-1, 1, (n, m)),
                      rng.normal(size=(n, m)), w))
    return cases


@exercise_check
def check_info_loss(info_loss_fn) -> str:
    """Lesson 08: InfoGAN's information loss, -E log Q(c|x) + w · ½·E‖u - μ(x)‖², against a reference."""
    ex = "InfoGAN information loss"
    expect(ex, callable(info_loss_fn), f"{info_loss_fn!r} is not a function",
           "define my_info_loss(codes, category_logits, continuous, means, continuous_weight)")
    for codes, logits, cont, means, w in _info_loss_cases():
        expected = _info_loss_reference(codes, logits, cont, means, w)
        got = _answer(ex, "my_info_loss(codes, category_logits, continuous, means, continuous_weight)", info_loss_fn,
                      (codes.copy(), logits.astype(np.float32), cont.astype(np.float32), means.astype(np.float32), w),
                      "the inputs are NumPy arrays: codes (N,) ints, category_logits (N, k), continuous and means (N, m)",
                      "replace the placeholder with your code and return the loss")
        got = float(np.asarray(got))
        cat_only = _info_loss_reference(codes, logits, cont, means, 0.0)
        if np.isclose(got, cat_only, rtol=1e-3) and not np.isclose(expected, cat_only, rtol=1e-3):
            _fail(ex, f"got {got:.4f}, which is the categorical part alone (expected {expected:.4f})",
                  "add continuous_weight times the continuous part: ½ · mean over the batch of the squared "
                  "distance between each code u and Q's mean μ(x)")
        probs = np.exp(logits - logits.max(1, keepdims=True))
        probs /= probs.sum(1, keepdims=True)
        no_log = -probs[np.arange(len(codes)), codes].mean() + (expected - cat_only)
        raw = -logits[np.arange(len(codes)), codes].mean() + (expected - cat_only)
        if np.isclose(got, no_log, rtol=1e-3) or np.isclose(got, raw, rtol=1e-3):
            _fail(ex, f"got {got:.4f}, expected {expected:.4f}",
                  "the categorical part is a cross-entropy: take the LOG of Q's softmax probability of the code "
                  "each image was generated with (log-softmax of the logits, e.g. logits - logsumexp(logits))")
        cont_sum = 0.5 * np.sum((cont - means) ** 2) / len(codes)
        cont_mean_all = 0.5 * np.mean((cont - means) ** 2)
        if cont.shape[1] > 1 and (np.isclose(got, cat_only + w * cont_mean_all, rtol=1e-3)):
            _fail(ex, f"got {got:.4f}, expected {expected:.4f}",
                  "sum the squared errors over the code dimensions, then average over the batch "
                  f"(the per-image log-likelihood of all codes together); here that gives {cont_sum:.4f}")
        if not np.isclose(got, expected, rtol=1e-4, atol=1e-5):
            _fail(ex, f"got {got:.4f}, expected {expected:.4f}",
                  "loss = mean over the batch of -log softmax(logits)[code] "
                  "+ continuous_weight · ½ · mean over the batch of Σ_j (u_j - μ_j)²")
    return passed(ex, "categorical cross-entropy plus Gaussian term, three cases")


@exercise_check
def check_slerp(slerp_fn) -> str:
    """Lesson 08: spherical interpolation between two latent vectors, against :func:`models.slerp`."""
    from .models import lerp, slerp

    ex = "slerp"
    expect(ex, callable(slerp_fn), f"{slerp_fn!r} is not a function", "define my_slerp(z0, z1, t)")
    rng = np.random.default_rng(3)
    t = np.linspace(0.0, 1.0, 7)
    for dim in (2, 100):
        z0, z1 = rng.normal(size=dim), rng.normal(size=dim) * 1.3
        got = _answer(ex, f"my_slerp(z0, z1, t) in {dim} dimensions", slerp_fn, (z0, z1, t),
                      "z0 and z1 are vectors (dim,), t is an array of fractions; return an array (len(t), dim)",
                      "replace the placeholder with your code and return the path")
        got = np.asarray(got, np.float64)
        expected = slerp(z0, z1, t)
        expect(ex, got.shape == expected.shape, f"the path has shape {got.shape}, expected {expected.shape}",
               "return one row per value of t: use t[:, None] to broadcast against the vectors")
        if np.allclose(got, lerp(z0, z1, t), atol=1e-6):
            _fail(ex, "this is linear interpolation: the midpoint's norm dips",
                  "rotate along the great circle: weights sin((1-t)Ω)/sin Ω and sin(tΩ)/sin Ω, "
                  "with Ω the angle between z0 and z1")
        expect(ex, np.allclose(got[0], z0, atol=1e-6) and np.allclose(got[-1], z1, atol=1e-6),
               "the path does not start at z0 and end at z1",
               "t = 0 must give z0 and t = 1 must give z1: check which sine goes with which end")
        if not np.allclose(got, expected, atol=1e-6):
            _fail(ex, "the path differs from the great circle between z0 and z1",
                  "Ω = arccos(z0·z1 / (|z0| |z1|)) uses the normalised vectors; the weights multiply the "
                  "original (unnormalised) z0 and z1")
    return passed(ex, "matches the great-circle path, two dimensions")


# --------------------------------------------------------------------------- lesson 09
@exercise_check
def check_dct_features(dct_features_fn) -> str:
    """Lesson 09: ``dct_features_fn(images)`` must give log(|DCT-II, orthonormal| + 1e-4), flattened to (N, H*W)."""
    from scipy.fft import dctn

    ex = "DCT features"
    rng = np.random.default_rng(9)
    images = rng.uniform(-1, 1, size=(3, 6, 5, 1)).astype(np.float32)
    coeffs = dctn(images[..., 0].astype(np.float64), type=2, axes=(1, 2), norm="ortho")
    expected = np.log(np.abs(coeffs) + 1e-4).reshape(3, -1)
    got = _answer(ex, f"my_dct_features(images of shape {images.shape})", dct_features_fn, (images,),
                  "take images (N, H, W, 1), drop the channel axis, transform over axes (1, 2)",
                  "return the features, an array (N, H*W)")
    g = np.asarray(got, dtype=np.float64)
    if g.shape == (3, 6, 5) or g.shape == (3, 6, 5, 1):
        _fail(ex, f"the features have shape {g.shape}", "flatten each image's coefficients: reshape(len(images), -1)")
    if g.shape != expected.shape:
        _fail(ex, f"the features have shape {g.shape}, expected {expected.shape}",
              "one row per image, one column per frequency (H*W of them); transform only the two image axes")
    mistakes = {
        "no log": (np.abs(coeffs).reshape(3, -1), "the detector needs log(|c| + 1e-4): magnitudes span orders of magnitude"),
        "no absolute value": (np.log(np.where(coeffs + 1e-4 > 0, coeffs + 1e-4, np.nan)).reshape(3, -1),
                              "take the magnitude |c| before the log (coefficients can be negative)"),
        "default normalisation": (np.log(np.abs(dctn(images[..., 0].astype(np.float64), type=2, axes=(1, 2))) + 1e-4)
                                  .reshape(3, -1), 'pass norm="ortho" so the transform keeps the energy of the image'),
    }
    for what, (wrong, hint) in mistakes.items():
        if np.allclose(g, wrong, rtol=1e-4, atol=1e-5, equal_nan=True):
            _fail(ex, f"the features match the version with {what}", hint)
    expect_close(ex, g, expected,
                 'use scipy.fft.dctn(images[..., 0], type=2, axes=(1, 2), norm="ortho"), then np.log(np.abs(c) + 1e-4)',
                 rtol=1e-4, atol=1e-4, what="features")
    return passed(ex, f"shape {g.shape}")


# --------------------------------------------------------------------------- lesson 10
def _clip_and_noise_reference(per_example, clip_norm, noise_multiplier, expected_batch_size, rng):
    """NumPy DP-SGD aggregation: clip each example's whole gradient to norm C, sum, add N(0, (σC)²), divide."""
    grads = [np.asarray(g, np.float64) for g in per_example]
    n = grads[0].shape[0]
    norms = np.sqrt(sum((g.reshape(n, -1) ** 2).sum(axis=1) for g in grads))
    scale = np.minimum(1.0, clip_norm / np.maximum(norms, 1e-12))
    out = []
    for g in grads:
        total = (g * scale.reshape((n,) + (1,) * (g.ndim - 1))).sum(axis=0)
        total = total + rng.normal(0.0, noise_multiplier * clip_norm, size=total.shape)
        out.append(total / expected_batch_size)
    return out


def _clip_cases():
    rng = np.random.default_rng(10)
    # two "variables" (a 3x2 kernel and a bias of 2) for a batch of 5 examples; example 0 is huge
    kernel = rng.normal(size=(5, 3, 2))
    bias = rng.normal(size=(5, 2))
    kernel[0] *= 100.0
    bias[0] *= 100.0
    return [kernel, bias]


@exercise_check
def check_clip_and_noise(clip_and_noise_fn) -> str:
    """Lesson 10: ``fn(per_example, clip_norm, noise_multiplier, expected_batch_size, rng)`` is DP-SGD's aggregation.

    ``per_example`` is a list of arrays (batch, ...), one per variable; ``rng`` a
    ``np.random.Generator`` for the noise. The result is one array per variable.
    """
    ex = "clip and noise"
    if not callable(clip_and_noise_fn):
        _fail(ex, f"got {type(clip_and_noise_fn).__name__}, not a function",
              "pass the function itself: check_clip_and_noise(my_clip_and_noise)")
    grads = _clip_cases()
    C, B = 1.0, 8.0
    got = _answer(ex, "my_clip_and_noise(per_example, 1.0, 0.0, 8.0, rng)", clip_and_noise_fn,
                  ([g.copy() for g in grads], C, 0.0, B, np.random.default_rng(0)),
                  "take a list of (batch, ...) arrays and return a list with one array per variable, without the batch axis",
                  "return the list of noisy averaged gradients")
    try:
        got = [np.asarray(g, np.float64) for g in got]
    except (TypeError, ValueError) as err:
        _fail(ex, f"the result is not a list of arrays ({type(err).__name__}: {err})",
              "return a list with one NumPy array per variable")
    expect(ex, len(got) == 2 and [g.shape for g in got] == [(3, 2), (2,)],
           f"it returns shapes {[g.shape for g in got]}, expected [(3, 2), (2,)]",
           "sum over the batch axis (axis 0): one gradient per variable, not one per example")
    want = _clip_and_noise_reference(grads, C, 0.0, B, np.random.default_rng(0))
    if not all(np.allclose(g, w, rtol=1e-4, atol=1e-7) for g, w in zip(got, want)):
        n = grads[0].shape[0]
        unclipped = [g.sum(axis=0) / B for g in grads]
        per_var = []
        for g in grads:
            norms = np.sqrt((g.reshape(n, -1) ** 2).sum(axis=1))
            s = np.minimum(1.0, C / norms).reshape((n,) + (1,) * (g.ndim - 1))
            per_var.append((g * s).sum(axis=0) / B)
        batch_norm = np.sqrt(sum((g.sum(axis=0) ** 2).sum() for g in grads))
        whole = [g.sum(axis=0) * min(1.0, C / batch_norm) / B for g in grads]
        actual_b = [w * B / n for w in want]
        if all(np.allclose(g, w, rtol=1e-4) for g, w in zip(got, unclipped)):
            _fail(ex, "nothing was clipped: example 0's gradient (norm about 200) went in whole",
                  "scale each example's gradient by min(1, C / ||g_i||) before summing")
        if all(np.allclose(g, w, rtol=1e-4) for g, w in zip(got, per_var)):
            _fail(ex, "each variable was clipped on its own",
                  "the norm ||g_i|| is over ALL of example i's gradients together (kernel and bias as one vector)")
        if all(np.allclose(g, w, rtol=1e-4) for g, w in zip(got, whole)):
            _fail(ex, "the summed batch gradient was clipped, not each example's",
                  "clip per example: one example's influence must be bounded by C, whatever the others do")
        if all(np.allclose(g, w, rtol=1e-4) for g, w in zip(got, actual_b)):
            _fail(ex, "the sum was divided by the actual batch size",
                  "divide by expected_batch_size: with Poisson sampling the batch size itself depends on the data")
        _fail(ex, "with noise_multiplier = 0 the result differs from clip-sum-divide",
              "g_i * min(1, C / ||g_i||), summed over the batch, divided by expected_batch_size")
    # the noise: zero gradients, many draws; every coordinate of the SUM gets std σ·C
    zeros = [np.zeros((4, 50, 20)), np.zeros((4, 20))]
    sigma, C2, B2 = 2.0, 0.5, 1.0
    draws = np.concatenate([np.concatenate([np.asarray(a, np.float64).ravel() for a in
                                            clip_and_noise_fn(zeros, C2, sigma, B2, np.random.default_rng(s))])
                            for s in range(5)])
    std, mean = float(draws.std()), float(draws.mean())
    expect(ex, abs(mean) < 0.05, f"the noise has mean {mean:.3f}", "the noise is centred: rng.normal(0, σ·C, shape)")
    if np.isclose(std, sigma, rtol=0.05):
        _fail(ex, f"the noise std is {std:.3f} = σ", "the std is σ·C: noise is calibrated to the clipping norm")
    if np.isclose(std, sigma * C2 / 4, rtol=0.05):
        _fail(ex, f"the noise std is {std:.3f}, as if added per example", "add ONE noise draw to the sum, not one per example")
    expect(ex, np.isclose(std, sigma * C2 / B2, rtol=0.05), f"the noise std is {std:.3f}, expected σ·C = {sigma * C2:g}",
           "add rng.normal(0, noise_multiplier * clip_norm, shape) to the clipped sum, then divide by expected_batch_size")
    return passed(ex, f"clipped per example; noise std {std:.3f} ≈ σ·C")


# --------------------------------------------------------------------------- lesson 11
def _flops_test_model():
    import keras
    from keras import layers

    return keras.Sequential([keras.Input((8, 8, 3)),
                             layers.Conv2D(4, 3, strides=2, padding="same"),
                             layers.Conv2DTranspose(5, 3, strides=2, padding="same", use_bias=False),
                             layers.Conv2DTranspose(2, 5, strides=1, padding="same"),
                             layers.Flatten(),
                             layers.Dense(7)])


@exercise_check
def check_layer_flops(layer_flops_fn) -> str:
    """Lesson 11: ``layer_flops_fn(layer)`` = a Dense, Conv2D or Conv2DTranspose layer's forward operations
    per example (a multiply-add counts 2, plus one addition per output value for the bias), against
    :func:`costs.layer_flops`."""
    from .costs import layer_flops

    ex = "operations of a layer"
    expect(ex, callable(layer_flops_fn), f"got {type(layer_flops_fn).__name__}, not a function",
           "pass the function itself: check_layer_flops(my_layer_flops)")
    model = _flops_test_model()
    for layer, row in zip(model.layers, layer_flops(model)):
        if row["type"] not in ("Dense", "Conv2D", "Conv2DTranspose"):
            continue
        inp, out = tuple(layer.input.shape[1:]), tuple(layer.output.shape[1:])
        call = f"my_layer_flops({row['type']} with input {inp} and output {out})"
        got = _answer(ex, call, layer_flops_fn, (layer,),
                      "read the sizes from layer.input.shape, layer.output.shape, layer.kernel_size, layer.filters "
                      "(layer.units for Dense) and layer.use_bias", "return the number of operations, an int")
        try:
            value = float(np.asarray(got, dtype=np.float64).reshape(()))
        except (TypeError, ValueError):
            _fail(ex, f"{call} returned {got!r}", "return one number")
        expected = row["flops"]
        if value == expected:
            continue
        bias = int(np.prod(out)) if layer.use_bias else 0
        macs = (expected - bias) // 2
        mistakes = [(macs + bias, "count a multiply-add as two operations (a multiplication and an addition)"),
                    (2 * macs, "with use_bias=True the layer adds its bias to every output value: one more "
                               "operation per value of the output")]
        if row["type"] != "Dense":
            k = int(np.prod(layer.kernel_size))
            c_in, c_out = inp[-1], layer.filters
            at_out, at_in = int(np.prod(out[:2])), int(np.prod(inp[:2]))
            if row["type"] == "Conv2DTranspose":
                mistakes.append((2 * k * c_in * c_out * at_out + bias,
                                 "a transposed convolution works at every *input* position: each input pixel is "
                                 "spread over a k × k patch of the output"))
            else:
                mistakes.append((2 * k * c_in * c_out * at_in + bias,
                                 "a convolution works at every *output* position: with stride 2 there are a "
                                 "quarter as many of them as input positions"))
            kk = layer.kernel_size[0]
            positions = at_in if row["type"] == "Conv2DTranspose" else at_out
            mistakes.append((2 * kk * c_in * c_out * positions + bias,
                             "the kernel has k × k taps (layer.kernel_size is a pair): k², not k"))
        _known_mistake(ex, value, mistakes, f"{call} is {value:,.0f}, expected {expected:,}", rtol=0, atol=0.5)
        _fail(ex, f"{call} is {value:,.0f}, expected {expected:,}",
              "Dense: 2·inputs·units; Conv2D: 2·k²·c_in·c_out at each output position; Conv2DTranspose: the same "
              "at each input position; plus the output's size when use_bias")
    return passed(ex, "a convolution, two transposed convolutions and a dense layer, with and without bias")

