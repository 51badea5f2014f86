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


def check_stall_prediction(prediction, displacement: dict) -> str:
    """Check the prediction of which generator loss stalls when D is ahead, against the measurement (lesson 02).

    ``displacement`` maps "saturating" and "non_saturating" to how far the generated
    points moved (mean distance) in the first generator steps.
    """
    ex = "which loss stalls"
    names = ("saturating", "non_saturating")
    if not isinstance(displacement, dict) or set(displacement) != set(names):
        raise ValueError(f"displacement={displacement!r}: expected a dict with keys {names}")
    if prediction not in names:
        _fail(ex, f"prediction={prediction!r}", f"answer with one of {names}")
    measured = min(names, key=lambda n: displacement[n])
    if prediction != measured:
        _fail(ex, f"you predicted {prediction!r}, but the points moved "
              f"{displacement[prediction]:.3f} with it and {displacement[measured]:.3f} with {measured!r}",
              "when D confidently rejects a sample, D(G(z)) ≈ 0: compare the slopes of log(1 - D) and of "
              "-log D near D = 0 (lesson 01), or look at the arrows' lengths in the playground")
    return passed(ex, f"{prediction} moved the points {displacement[prediction]:.3f} against "
                      f"{displacement[[n for n in names if n != prediction][0]]:.3f}")


# --------------------------------------------------------------------------- lessons 04 and 05
def check_d_loss_from_logits(d_loss_fn) -> str:
    """Lesson 04: ``d_loss_fn(real_logits, fake_logits)`` must be -E[log D(x)] - E[log(1 - D(G(z)))] from logits."""
    ex = "discriminator loss from logits"
    rng = np.random.default_rng(4)
    real = rng.normal(1.0, 2.0, size=(32, 1)).astype("float32")
    fake = rng.normal(-1.0, 2.0, size=(32, 1)).astype("float32")
    sig = lambda t: 1.0 / (1.0 + np.exp(-t.astype(np.float64)))  # noqa: E731
    expected = -np.mean(np.log(sig(real))) - np.mean(np.log(1.0 - sig(fake)))
    try:
        got = d_loss_fn(real, fake)
    except Exception as err:  # noqa: BLE001 - report any mistake as a hint
        _fail(ex, f"calling it raised {err.__class__.__name__}: {err}",
              "take logits (any real numbers) and return one scalar; keras.ops.softplus works on NumPy arrays")
    if got is None:
        _fail(ex, "it returns None", "return the loss, a scalar")
    g = float(np.asarray(got))
    seed_style = np.mean(np.log(sig(fake)) + np.log1p(1 - sig(real)) + np.log1p(1 - sig(fake)))
    swapped = -np.mean(np.log(sig(fake))) - np.mean(np.log(1.0 - sig(real)))
    no_minus = -expected
    if np.isclose(g, seed_style, rtol=1e-4):
        _fail(ex, "this is the seed's formula", "log1p(1 - D) is log(2 - D), not log(1 - D); start from lesson 01's V(D, G)")
    if np.isclose(g, swapped, rtol=1e-4):
        _fail(ex, "real and fake are swapped", "D should say 1 for real images and 0 for fakes")
    if np.isclose(g, no_minus, rtol=1e-4):
        _fail(ex, "the sign is flipped", "D *maximises* V; the loss to minimise is -V")
    expect_close(ex, g, expected,
                 "with t a logit, -log σ(t) = softplus(-t) and -log(1 - σ(t)) = softplus(t); average each term",
                 rtol=1e-4, what="loss")
    return passed(ex, f"loss = {g:.4f}")


def check_gan_optimizers(d_optimizer, g_optimizer) -> str:
    """Lesson 04: two separate Adam optimizers with the DCGAN settings (learning rate 2e-4, β1 = 0.5)."""
    import keras

    ex = "DCGAN optimizers"
    for name, opt in (("d_optimizer", d_optimizer), ("g_optimizer", g_optimizer)):
        expect(ex, isinstance(opt, keras.optimizers.Adam), f"{name} is {type(opt).__name__}, not Adam",
               "use keras.optimizers.Adam(learning_rate=..., beta_1=...)")
    expect(ex, d_optimizer is not g_optimizer, "both names point to the same optimizer",
           "create two Adam objects: each keeps moment estimates for its own network's weights")
    for name, opt in (("d_optimizer", d_optimizer), ("g_optimizer", g_optimizer)):
        lr = float(np.asarray(opt.learning_rate))
        b1 = float(np.asarray(opt.beta_1))
        expect(ex, np.isclose(lr, 2e-4), f"{name} has learning rate {lr:g}",
               "Radford et al. (2016) found 1e-3 too high; they used 2e-4")
        expect(ex, np.isclose(b1, 0.5), f"{name} has beta_1 = {b1:g}",
               "the default momentum 0.9 made DCGAN training oscillate; the paper uses beta_1 = 0.5")
    return passed(ex, "two Adams, lr 2e-4, beta_1 0.5")


def check_resume_dataset(dataset, images, batch_size: int, seed: int, step: int) -> str:
    """Lesson 05: the resumed run's first batch must be the one the uninterrupted run used at ``step``."""
    from .training import step_batch_indices

    ex = "resumed data position"
    try:
        first = np.asarray(next(iter(dataset)))
    except Exception as err:  # noqa: BLE001
        _fail(ex, f"iterating the dataset raised {err.__class__.__name__}: {err}",
              "build it with training.step_dataset(images, batch_size, seed=..., start_step=...)")
    expected = np.asarray(images)[step_batch_indices(len(images), batch_size, step, seed)]
    expect(ex, first.shape == expected.shape, f"the first batch has shape {first.shape}, expected {expected.shape}",
           "use the same batch size as the interrupted run")
    if not np.array_equal(first, expected):
        at_zero = np.asarray(images)[step_batch_indices(len(images), batch_size, 0, seed)]
        if np.array_equal(first, at_zero):
            _fail(ex, "the dataset starts again from step 0",
                  "pass start_step=gan.current_step: the restored step counter says where the run stopped")
        _fail(ex, "the first batch is not the one the uninterrupted run saw at this step",
              "same images, same batch size, same data seed, and start_step = the restored step")
    return passed(ex, f"continues at step {step}")


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


def check_info_loss(info_loss_fn) -> str:
    """Lesson 08: InfoGAN's information loss, -E log Q(c|x) + w · ½·E‖u - μ(x)‖², against a reference."""
    ex = "InfoGAN information loss"
    expect(ex, callable(info_loss_fn), f"{info_loss_fn!r} is not a function",
           "define my_info_loss(codes, category_logits, continuous, means, continuous_weight)")
    for codes, logits, cont, means, w in _info_loss_cases():
        expected = _info_loss_reference(codes, logits, cont, means, w)
        try:
            got = info_loss_fn(codes.copy(), logits.astype(np.float32), cont.astype(np.float32),
                               means.astype(np.float32), w)
        except Exception as err:  # noqa: BLE001
            _fail(ex, f"calling it raised {err.__class__.__name__}: {err}",
                  "the inputs are NumPy arrays: codes (N,) ints, category_logits (N, k), continuous and means (N, m)")
        if got is None:
            _fail(ex, "it returns None", "replace the placeholder with your code and return the loss")
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


def check_slerp(slerp_fn) -> str:
    """Lesson 08: spherical interpolation between two latent vectors, against :func:`models.slerp`."""
    from .models import lerp, slerp

    ex = "slerp"
    expect(ex, callable(slerp_fn), f"{slerp_fn!r} is not a function", "define my_slerp(z0, z1, t)")
    rng = np.random.default_rng(3)
    t = np.linspace(0.0, 1.0, 7)
    for dim in (2, 100):
        z0, z1 = rng.normal(size=dim), rng.normal(size=dim) * 1.3
        try:
            got = slerp_fn(z0, z1, t)
        except Exception as err:  # noqa: BLE001
            _fail(ex, f"calling it raised {err.__class__.__name__}: {err}",
                  "z0 and z1 are vectors (dim,), t is an array of fractions; return an array (len(t), dim)")
        if got is None:
            _fail(ex, "it returns None", "replace the placeholder with your code and return the path")
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
def check_dct_features(dct_features_fn) -> str:
    """Lesson 09: ``dct_features_fn(images)`` must give log(|DCT-II, orthonormal| + 1e-4), flattened to (N, H*W)."""
    from scipy.fft import dctn

    ex = "DCT features"
    rng = np.random.default_rng(9)
    images = rng.uniform(-1, 1, size=(3, 6, 5, 1)).astype(np.float32)
    coeffs = dctn(images[..., 0].astype(np.float64), type=2, axes=(1, 2), norm="ortho")
    expected = np.log(np.abs(coeffs) + 1e-4).reshape(3, -1)
    try:
        got = dct_features_fn(images)
    except Exception as err:  # noqa: BLE001 - report any mistake as a hint
        _fail(ex, f"calling it on images of shape {images.shape} raised {err.__class__.__name__}: {err}",
              "take images (N, H, W, 1), drop the channel axis, transform over axes (1, 2)")
    if got is None:
        _fail(ex, "it returns None", "return the features, an array (N, H*W)")
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
    try:
        got = clip_and_noise_fn([g.copy() for g in grads], C, 0.0, B, np.random.default_rng(0))
    except Exception as err:  # noqa: BLE001 - report any mistake as a hint
        _fail(ex, f"calling it raised {err.__class__.__name__}: {err}",
              "take a list of (batch, ...) arrays and return a list with one array per variable, without the batch axis")
    if got is None:
        _fail(ex, "it returns None", "return the list of noisy averaged gradients")
    got = [np.asarray(g, np.float64) for g in got]
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
