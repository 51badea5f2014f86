"""Interactive front ends of the course, built on ipywidgets (lessons 01 and 02).

Everything here works on ipywidgets 8 and on 7.7 (Colab), and falls back to
static matplotlib figures where there is no widget front end (nbval, GitHub).
"""

from __future__ import annotations


# --------------------------------------------------------------------------- lesson 01
# The minimax explorer: move the generator's distribution p_g and watch the
# optimal discriminator D*, the value V(D*, G) and the Jensen-Shannon divergence
# move together. Lesson 01 derives every quantity drawn here.

def _normal_pdf(x, mean, std):
    import numpy as np

    return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * np.sqrt(2.0 * np.pi))


def _trapezoid(y, x):
    import numpy as np

    fn = getattr(np, "trapezoid", None) or np.trapz  # numpy < 2 has only trapz
    return fn(y, x)


def _xlogy_ratio(p, q):
    """p·log(p/q) with the convention 0·log 0 = 0."""
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0) / np.where(q > 0, q, 1.0)), 0.0)
    return out


def minimax_on_grid(x, p_data, p_g):
    """D*(x), V(D*, G) and JSD(p_data || p_g) of two densities sampled on a grid ``x`` (lesson 01).

    Returns a dict with ``d_star`` (array), ``value`` and ``jsd`` (floats, in nats).
    Integrals use the trapezoid rule, so the grid must cover both densities.
    """
    import numpy as np

    x = np.asarray(x, dtype=np.float64)
    p_data = np.asarray(p_data, dtype=np.float64)
    p_g = np.asarray(p_g, dtype=np.float64)
    if x.ndim != 1 or len(x) < 3 or not np.all(np.diff(x) > 0):
        raise ValueError(f"x has shape {x.shape}; expected an increasing 1-D grid of at least 3 points")
    for label, p in (("p_data", p_data), ("p_g", p_g)):
        if p.shape != x.shape:
            raise ValueError(f"{label} has shape {p.shape}; expected {x.shape}, one density value per grid point")
        if np.any(p < 0) or not np.all(np.isfinite(p)):
            raise ValueError(f"{label} must be finite and non-negative")
    total = p_data + p_g
    with np.errstate(divide="ignore", invalid="ignore"):
        d_star = np.where(total > 0, p_data / np.where(total > 0, total, 1.0), 0.5)
        log_d = np.where(p_data > 0, np.log(np.where(d_star > 0, d_star, 1.0)), 0.0)
        log_1md = np.where(p_g > 0, np.log(np.where(d_star < 1, 1.0 - d_star, 1.0)), 0.0)
    value = float(_trapezoid(p_data * log_d + p_g * log_1md, x))
    m = 0.5 * total
    jsd = float(0.5 * _trapezoid(_xlogy_ratio(p_data, m), x) + 0.5 * _trapezoid(_xlogy_ratio(p_g, m), x))
    return {"d_star": d_star, "value": value, "jsd": jsd}


def _explorer_curve(data_mean, data_std, g_std, x, mean_range):
    import numpy as np

    means = np.linspace(mean_range[0], mean_range[1], 121)
    p_data = _normal_pdf(x, data_mean, data_std)
    vals, jsds = [], []
    for mu in means:
        r = minimax_on_grid(x, p_data, _normal_pdf(x, mu, g_std))
        vals.append(r["value"])
        jsds.append(r["jsd"])
    return means, np.array(vals), np.array(jsds)


def _draw_position(ax, x, p_data, p_g, d_star, value, jsd, g_mean, g_std, first=True, last=True, xlim=None):
    import numpy as np

    ax.fill_between(x, p_data, color="tab:blue", alpha=0.25, label="p_data")
    ax.plot(x, p_data, color="tab:blue", lw=1.5)
    ax.plot(x, p_g, color="tab:orange", lw=2, label="p_g")
    ax.set_ylim(0, 1.15 * max(p_data.max(), p_g.max()))
    ax.set_xlabel("x")
    if xlim is not None:
        ax.set_xlim(*xlim)
    if first:
        ax.set_ylabel("density")
    ax2 = ax.twinx()
    ax2.plot(x, d_star, color="tab:green", lw=2, ls="--", label="D*(x)")
    ax2.axhline(0.5, color="gray", lw=0.8, ls=":")
    ax2.set_ylim(-0.02, 1.02)
    if last:
        ax2.set_ylabel("D*(x)", color="tab:green")
    else:
        ax2.tick_params(labelright=False)
    if not first:
        ax.tick_params(labelleft=False)
    ax.set_title(f"p_g = N({g_mean:.2f}, {g_std:.2f}²)\nV(D*,G) = {value:.3f}   JSD = {jsd:.3f}", fontsize=9)
    handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    labels = ax.get_legend_handles_labels()[1] + ax2.get_legend_handles_labels()[1]
    if first:
        ax.legend(handles, labels, loc="upper left", fontsize=7)
    return ax2


def _draw_curve(ax, means, values, jsds, marks):
    import numpy as np

    ax.plot(means, values, color="tab:red", lw=2, label="V(D*, G), computed")
    ax.plot(means, -np.log(4.0) + 2.0 * jsds, color="black", lw=1, ls="--",
            label="-log 4 + 2·JSD(p_data ‖ p_g)")
    ax.plot(means, jsds, color="tab:purple", lw=1.5, label="JSD(p_data ‖ p_g)")
    ax.axhline(-np.log(4.0), color="gray", lw=0.8, ls=":")
    ax.axhline(np.log(2.0), color="gray", lw=0.8, ls=":")
    for mu, v, j in marks:
        ax.plot([mu], [v], "o", color="tab:red")
        ax.plot([mu], [j], "o", color="tab:purple")
    ax.set_xlabel("mean of p_g")
    ax.set_ylabel("nats")
    ax.set_ylim(-np.log(4.0) - 0.15, np.log(2.0) + 0.45)
    ax.set_title("V(D*, G) is lowest, -log 4, where p_g = p_data; the JSD stays between 0 and log 2\n"
                 "(dotted lines: -log 4 and log 2)", fontsize=9)
    ax.legend(fontsize=7, loc="upper center")


def minimax_explorer(data_mean: float = 0.0, data_std: float = 1.0, g_mean: float = 2.0, g_std: float = 1.0,
                     means=(4.0, 2.0, 1.0, 0.0), x_range=(-10.0, 10.0), n_grid: int = 2001, static: bool = False):
    """A slider that moves p_g = N(g_mean, g_std²) against p_data = N(data_mean, data_std²) (lesson 01).

    It draws p_data, p_g and the optimal discriminator D*(x) = p_data / (p_data + p_g),
    and V(D*, G) and JSD as functions of p_g's mean. Returns an ipywidgets box;
    with ``static=True`` (or without ipywidgets) returns a plain matplotlib Figure
    showing the positions ``means`` side by side, which renders anywhere.
    """
    import numpy as np

    for label, v in (("data_mean", data_mean), ("g_mean", g_mean)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
            raise ValueError(f"{label}={v!r}: expected a finite number")
    for label, v in (("data_std", data_std), ("g_std", g_std)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
            raise ValueError(f"{label}={v!r}: expected a positive number")
    if isinstance(n_grid, bool) or not isinstance(n_grid, int) or n_grid < 101:
        raise ValueError(f"n_grid={n_grid!r}: expected an int >= 101")
    lo, hi = (float(v) for v in x_range)
    if not lo < hi:
        raise ValueError(f"x_range={x_range!r}: expected (low, high) with low < high")
    means = tuple(float(m) for m in means)
    if not means:
        raise ValueError("means is empty; expected at least one mean of p_g to draw")
    x = np.linspace(lo, hi, n_grid)
    p_data = _normal_pdf(x, data_mean, data_std)
    span = max(4.0, max(abs(m - data_mean) for m in means + (g_mean,)))
    mean_range = (data_mean - span, data_mean + span)
    curve = _explorer_curve(data_mean, data_std, g_std, x, mean_range)

    def figure_for(positions):
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(max(7.0, 3.2 * len(positions)), 6.2))
        grid = fig.add_gridspec(2, len(positions), height_ratios=[1.15, 1.0], hspace=0.6, wspace=0.3)
        marks = []
        xlim = (mean_range[0] - 3.0 * max(data_std, g_std), mean_range[1] + 3.0 * max(data_std, g_std))
        for i, mu in enumerate(positions):
            p_g = _normal_pdf(x, mu, g_std)
            r = minimax_on_grid(x, p_data, p_g)
            _draw_position(fig.add_subplot(grid[0, i]), x, p_data, p_g, r["d_star"], r["value"], r["jsd"],
                           mu, g_std, first=i == 0, last=i == len(positions) - 1, xlim=xlim)
            marks.append((mu, r["value"], r["jsd"]))
        _draw_curve(fig.add_subplot(grid[1, :]), *curve, marks)
        return fig

    try:
        if static:
            raise ImportError
        import ipywidgets as w
        from IPython.display import display
    except ImportError:
        return figure_for(means)

    import matplotlib.pyplot as plt

    slider = w.FloatSlider(value=float(g_mean), min=mean_range[0], max=mean_range[1], step=0.1,
                           description="mean of p_g", continuous_update=False,
                           style={"description_width": "initial"}, layout=w.Layout(width="420px"))
    readout = w.HTML()
    out = w.Output()

    def update(change=None):
        mu = float(slider.value)
        r = minimax_on_grid(x, p_data, _normal_pdf(x, mu, g_std))
        readout.value = (f"<b>V(D*, G)</b> = {r['value']:.4f} &nbsp; <b>JSD</b> = {r['jsd']:.4f} &nbsp; "
                         f"<b>-log 4 + 2·JSD</b> = {-np.log(4.0) + 2 * r['jsd']:.4f}")
        with out:
            out.clear_output(wait=True)
            fig = figure_for((mu,))
            display(fig)
            plt.close(fig)

    slider.observe(update, names="value")
    update()
    box = w.VBox([slider, readout, out])
    box.slider, box.readout, box.output = slider, readout, out  # handles for tests and curious students
    return box


# --------------------------------------------------------------------------- lesson 02
# The playground: a small GAN on a 2-D toy distribution, trained by TensorFlow
# one step at a time, with every moving part drawn (after GAN Lab, Kahng et al.
# 2019, IEEE TVCG). The training steps are tf.functions; the widgets only call them.

PLAYGROUND_TARGETS = ("ring", "grid", "moons", "line")
PLAYGROUND_LOSSES = ("saturating", "non_saturating", "wgan_gp")
PLAYGROUND_OPTIMIZERS = ("adam", "sgd")
_WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _pg_choice(name, value, choices):
    if isinstance(value, str):
        value = value.strip().lower().replace("-", "_")
    if value not in choices:
        raise ValueError(f"{name}={value!r}: expected one of {', '.join(repr(c) for c in choices)}")
    return value


def _pg_int(name, value, lo, hi):
    import numpy as np

    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}={value!r}: expected an int in [{lo}, {hi}]")
    if not lo <= int(value) <= hi:
        raise ValueError(f"{name}={value!r}: expected an int in [{lo}, {hi}]")
    return int(value)


def _pg_float(name, value, lo, hi):
    import numpy as np

    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
        raise TypeError(f"{name}={value!r}: expected a number in ({lo}, {hi}]")
    if not (np.isfinite(value) and lo < float(value) <= hi):
        raise ValueError(f"{name}={value!r}: expected a number in ({lo}, {hi}]")
    return float(value)


class _RetracingFilter:
    """Drops TF's "triggered tf.function retracing" warning: each new Playground compiles its own steps."""

    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


def _pg_quiet_retracing():
    import logging

    logger = logging.getLogger("tensorflow")
    if not any(isinstance(f, _RetracingFilter) for f in logger.filters):
        logger.addFilter(_RetracingFilter())


def _pg_mlp(in_dim, depth, width, out_dim, activation, seed, name):
    import keras

    layers = [keras.Input((in_dim,))]
    for i in range(depth):
        layers.append(keras.layers.Dense(width, activation=activation, name=f"{name}_hidden{i + 1}",
                                         kernel_initializer=keras.initializers.GlorotUniform(seed=seed + i)))
    layers.append(keras.layers.Dense(out_dim, name=f"{name}_out",
                                     kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 99)))
    return keras.Sequential(layers, name=name)


class Playground:
    """A 2-D GAN you can watch and poke at, step by step (lesson 02).

    ``Playground()`` works as it is: a ring of 8 Gaussians, two-layer MLPs,
    the non-saturating loss. In Jupyter, displaying it (``pg`` as the last line
    of a cell, or ``pg.show()``) gives buttons (one D step, one G step,
    run/pause, reset) and choices (target, loss, depth and width, learning
    rates, k D steps per G step, slow mode) above a live view: real and
    generated points over D's decision surface, arrows of the generator's
    gradient on its samples, and curves of both losses and of a divergence
    estimate. Without a widget front end the same view is a static image.

    Headless, ``pg.run(steps)`` trains and returns what it measured;
    ``pg.history`` keeps one entry per generator step. A *step* is one
    generator update preceded by ``k`` discriminator updates.
    """

    def __init__(self, target="ring", loss="non_saturating", g_depth=2, g_width=64, d_depth=2, d_width=64,
                 g_lr=1e-3, d_lr=1e-3, k=1, batch_size=256, latent_dim=2, seed=0, gp_weight=10.0,
                 steps_per_click=500, refresh_every=25, slow=False, n_eval=2000, optimizer="adam"):
        self.target = _pg_choice("target", target, PLAYGROUND_TARGETS)
        self.loss = _pg_choice("loss", loss, PLAYGROUND_LOSSES)
        self.optimizer = _pg_choice("optimizer", optimizer, PLAYGROUND_OPTIMIZERS)
        self.g_depth = _pg_int("g_depth", g_depth, 1, 6)
        self.g_width = _pg_int("g_width", g_width, 2, 512)
        self.d_depth = _pg_int("d_depth", d_depth, 1, 6)
        self.d_width = _pg_int("d_width", d_width, 2, 512)
        self.g_lr = _pg_float("g_lr", g_lr, 0.0, 1.0)
        self.d_lr = _pg_float("d_lr", d_lr, 0.0, 1.0)
        self.k = _pg_int("k", k, 1, 50)
        self.batch_size = _pg_int("batch_size", batch_size, 2, 65536)
        self.latent_dim = _pg_int("latent_dim", latent_dim, 1, 256)
        self.seed = _pg_int("seed", seed, 0, 2**31 - 1)
        self.gp_weight = _pg_float("gp_weight", gp_weight, 0.0, 1e6)
        self.steps_per_click = _pg_int("steps_per_click", steps_per_click, 1, 1_000_000)
        self.refresh_every = _pg_int("refresh_every", refresh_every, 1, 1_000_000)
        self.n_eval = _pg_int("n_eval", n_eval, 16, 1_000_000)
        if not isinstance(slow, bool):
            raise TypeError(f"slow={slow!r}: expected True or False")
        self.slow = slow
        self.slow_delay = 0.4
        self.phase = "start"
        self._ui = None
        self._running = False
        self._task = None
        self.reset()

    # ------------------------------------------------------------------ model
    def __repr__(self):
        return (f"Playground(target={self.target!r}, loss={self.loss!r}, optimizer={self.optimizer!r}, "
                f"g={self.g_depth}x{self.g_width}, "
                f"d={self.d_depth}x{self.d_width}, g_lr={self.g_lr:g}, d_lr={self.d_lr:g}, k={self.k}, "
                f"step={self.step})")

    def reset(self):
        """Rebuild both networks from the seed and forget the history (the reset button)."""
        import keras
        import numpy as np

        from . import data

        self._running = False
        self.real_pool = data.toy_2d(self.target, n=20_000, seed=self.seed)
        self.real_view = self.real_pool[:1000]
        self.z_eval = np.random.default_rng(self.seed + 1).normal(size=(self.n_eval, self.latent_dim)).astype("float32")
        self.generator = _pg_mlp(self.latent_dim, self.g_depth, self.g_width, 2, "relu", self.seed * 7 + 1, "G")
        self.discriminator = _pg_mlp(2, self.d_depth, self.d_width, 1, "leaky_relu", self.seed * 7 + 1001, "D")
        if self.optimizer == "sgd":  # plain gradient descent: a step is proportional to the gradient
            self.g_opt = keras.optimizers.SGD(self.g_lr)
            self.d_opt = keras.optimizers.SGD(self.d_lr)
        else:  # Adam rescales each parameter's step by its gradient's recent size
            beta_2 = 0.9 if self.loss == "wgan_gp" else 0.999
            self.g_opt = keras.optimizers.Adam(self.g_lr, beta_1=0.5, beta_2=beta_2)
            self.d_opt = keras.optimizers.Adam(self.d_lr, beta_1=0.5, beta_2=beta_2)
        self.g_opt.build(self.generator.trainable_variables)
        self.d_opt.build(self.discriminator.trainable_variables)
        self.step = 0
        self.d_steps = 0
        self.phase = "start"
        self.history = {"step": [], "d_loss": [], "g_loss": [], "divergence": [], "g_grad_norm": []}
        self.evals = {"step": [], "modes": [], "high_quality": []}
        self._d_buffer = []
        self._build_steps()
        if self._ui is not None:
            self._refresh()
        return self

    def _build_steps(self):
        import numpy as np
        import tensorflow as tf

        from . import losses

        _pg_quiet_retracing()
        G, D = self.generator, self.discriminator
        wgan = self.loss == "wgan_gp"
        g_kind = "wasserstein" if wgan else self.loss
        gp_weight = self.gp_weight
        log4 = float(np.log(4.0))
        d_opt, g_opt = self.d_opt, self.g_opt
        pool = tf.constant(self.real_pool)
        n_pool = int(len(self.real_pool))
        bs, latent = self.batch_size, self.latent_dim
        rng = tf.random.Generator.from_seed(self.seed)  # every random draw of training, reproducible
        self._tf_rng = rng

        def d_update():
            real = tf.gather(pool, rng.uniform([bs], 0, n_pool, dtype=tf.int64))
            z = rng.normal([bs, latent])
            eps = rng.uniform([bs, 1])
            with tf.GradientTape() as tape:
                fake = G(z, training=True)
                r, f = D(real, training=True), D(fake, training=True)
                if wgan:
                    critic = losses.critic_loss_wasserstein(r, f)
                    loss = critic + gp_weight * losses.gradient_penalty(D, real, fake, weights=eps)
                    div = -critic  # E f(x) - E f(G(z)): the critic's estimate of W1
                else:
                    loss = losses.discriminator_loss(r, f)
                    div = 0.5 * (log4 - loss)  # a lower bound on JSD given by this D (lesson 01)
            grads = tape.gradient(loss, D.trainable_variables)
            d_opt.apply_gradients(zip(grads, D.trainable_variables))
            return loss, div

        def g_update():
            z = rng.normal([bs, latent])
            with tf.GradientTape() as tape:
                loss = losses.generator_loss(g_kind, D(G(z, training=True), training=True))
            grads = tape.gradient(loss, G.trainable_variables)
            g_opt.apply_gradients(zip(grads, G.trainable_variables))
            return loss, tf.linalg.global_norm(grads)

        @tf.function
        def d_step():
            return d_update()

        @tf.function
        def g_step():
            return g_update()

        @tf.function
        def train_steps(n, k):
            """n times (k D updates, 1 G update) in one graph: no Python between steps."""
            ta_d, ta_g, ta_v, ta_n = (tf.TensorArray(tf.float32, size=n) for _ in range(4))
            kf = tf.cast(k, tf.float32)
            for i in tf.range(n):
                d_sum, v_sum = tf.constant(0.0), tf.constant(0.0)
                for _ in tf.range(k):
                    d_loss, div = d_update()
                    d_sum += d_loss
                    v_sum += div
                g_loss, g_norm = g_update()
                ta_d = ta_d.write(i, d_sum / kf)
                ta_g = ta_g.write(i, g_loss)
                ta_v = ta_v.write(i, v_sum / kf)
                ta_n = ta_n.write(i, g_norm)
            return ta_d.stack(), ta_g.stack(), ta_v.stack(), ta_n.stack()

        @tf.function
        def train_d_steps(n):
            """n D updates in one graph (the generator stays put)."""
            ta_d, ta_v = tf.TensorArray(tf.float32, size=n), tf.TensorArray(tf.float32, size=n)
            for i in tf.range(n):
                d_loss, div = d_update()
                ta_d = ta_d.write(i, d_loss)
                ta_v = ta_v.write(i, div)
            return ta_d.stack(), ta_v.stack()

        @tf.function(reduce_retracing=True)
        def sample_grad(z):
            fake = G(z, training=False)
            with tf.GradientTape() as tape:
                tape.watch(fake)
                # summed, not averaged: each sample's own gradient of its loss term
                loss = losses.generator_loss(g_kind, D(fake, training=False)) * tf.cast(tf.shape(fake)[0], tf.float32)
            return fake, -tape.gradient(loss, fake)

        @tf.function(reduce_retracing=True)
        def surface(points):
            s = D(points, training=False)[:, 0]
            return s if wgan else tf.sigmoid(s)

        self._d_step_fn, self._g_step_fn, self._train_fn, self._train_d_fn = d_step, g_step, train_steps, train_d_steps
        self._sample_grad_fn, self._surface_fn = sample_grad, surface

    def d_step(self):
        """One discriminator update on a fresh batch (the "D step" button); returns (loss, divergence)."""
        loss, div = self._d_step_fn()
        loss, div = float(loss), float(div)
        self.d_steps += 1
        self._d_buffer.append((loss, div))
        self.phase = "after a D step"
        return loss, div

    def g_step(self):
        """One generator update (the "G step" button); records a history entry; returns the G loss."""
        loss, norm = self._g_step_fn()
        self.step += 1
        if self._d_buffer:
            d_loss = sum(v[0] for v in self._d_buffer) / len(self._d_buffer)
            div = sum(v[1] for v in self._d_buffer) / len(self._d_buffer)
        else:
            d_loss = div = float("nan")
        self._d_buffer = []
        for key, value in (("step", self.step), ("d_loss", d_loss), ("g_loss", float(loss)),
                           ("divergence", div), ("g_grad_norm", float(norm))):
            self.history[key].append(value)
        self.phase = "after a G step"
        return float(loss)

    def train(self, steps):
        """``steps`` times: k D steps, then one G step, in one compiled loop (no drawing)."""
        import numpy as np
        import tensorflow as tf

        steps = _pg_int("steps", steps, 0, 10_000_000)
        if steps == 0:
            return self
        d_loss, g_loss, div, norm = (np.asarray(t, dtype=np.float64) for t in self._train_fn(
            tf.constant(steps, tf.int32), tf.constant(self.k, tf.int32)))
        first = self.step + 1
        self.step += steps
        self.d_steps += steps * self.k
        self._d_buffer = []
        self.history["step"].extend(range(first, self.step + 1))
        for key, values in (("d_loss", d_loss), ("g_loss", g_loss), ("divergence", div), ("g_grad_norm", norm)):
            self.history[key].extend(values.tolist())
        self.phase = "after a G step"
        return self

    def train_discriminator(self, steps):
        """``steps`` D updates in a row with G frozen (lets D get ahead; lesson 02). Returns the last D loss."""
        import numpy as np
        import tensorflow as tf

        steps = _pg_int("steps", steps, 1, 10_000_000)
        d_loss, div = (np.asarray(t, dtype=np.float64) for t in self._train_d_fn(tf.constant(steps, tf.int32)))
        self.d_steps += steps
        self._d_buffer.extend(zip(d_loss.tolist(), div.tolist()))
        self.phase = "after a D step"
        return float(d_loss[-1])

    def sample_gradients(self, n=1000):
        """Generated points and the push on each, -∂(its generator-loss term)/∂x: the arrows (lesson 02).

        Returns two float arrays of shape (n, 2), for the fixed evaluation noise.
        """
        import numpy as np

        n = _pg_int("n", n, 1, len(self.z_eval))
        fake, push = self._sample_grad_fn(self.z_eval[:n])
        return np.asarray(fake), np.asarray(push)

    def samples(self, n=None):
        """Generated points for the fixed evaluation noise (the same z every time), shape (n, 2)."""
        import numpy as np

        z = self.z_eval if n is None else self.z_eval[:_pg_int("n", n, 1, len(self.z_eval))]
        return np.asarray(self.generator(z, training=False))

    def measure(self):
        """Modes covered and the high-quality share (within 3σ of a mode) of the current generator."""
        from . import metrics

        out = {"step": self.step, "modes": None, "n_modes": None, "high_quality": None}
        if self.target in ("ring", "grid"):
            cov = metrics.toy_mode_coverage(self.samples(), self.target, n_std=3.0)
            out.update(modes=cov["modes"], n_modes=cov["n_modes"], high_quality=cov["high_quality"])
            self.evals["step"].append(self.step)
            self.evals["modes"].append(cov["modes"])
            self.evals["high_quality"].append(cov["high_quality"])
        return out

    def run(self, steps=500, eval_every=None):
        """Train ``steps`` steps headless and return the measurements (lesson 02).

        Returns a dict: the step reached, the mean of the last 50 D losses, G losses
        and divergence estimates, the mean generator gradient norm over these steps,
        and (ring and grid) the modes covered and the high-quality share.
        """
        import numpy as np

        steps = _pg_int("steps", steps, 1, 10_000_000)
        if eval_every is not None:
            eval_every = _pg_int("eval_every", eval_every, 1, 10_000_000)
        start = len(self.history["step"])
        done = 0
        while done < steps:
            n = steps - done if eval_every is None else min(eval_every, steps - done)
            self.train(n)
            done += n
            if eval_every is not None:
                self.measure()
        out = self.measure() if eval_every is None else {
            "step": self.step, "modes": self.evals["modes"][-1] if self.evals["modes"] else None,
            "n_modes": len(self._modes()) or None,
            "high_quality": self.evals["high_quality"][-1] if self.evals["high_quality"] else None}
        tail = slice(max(start, len(self.history["step"]) - 50), None)
        for key in ("d_loss", "g_loss", "divergence"):
            out[key] = float(np.mean(self.history[key][tail]))
        out["g_grad_norm"] = float(np.mean(self.history["g_grad_norm"][start:]))
        if self._ui is not None:
            self._refresh()
        return out

    def _modes(self):
        from . import data

        return data.toy_modes(self.target)

    # ------------------------------------------------------------------ drawing
    def draw(self, fig=None, title=None, arrows=64, curves=True):
        """Draw the view into ``fig`` (a new pyplot figure by default) and return it.

        Left: D's decision surface (D(x) for the BCE losses, the critic's score
        for WGAN-GP), real points (blue), generated points (orange) and arrows
        of -∂(generator loss)/∂x on some samples, the way each sample is pushed.
        Right: losses and the divergence estimate per step.
        """
        if fig is None:
            import matplotlib.pyplot as plt

            fig = plt.figure(figsize=(10.5, 4.4) if curves else (5.2, 4.6))
        if curves:
            self.draw_field(fig, fig.add_subplot(1, 2, 1), title, arrows)
            self._draw_curves(fig.add_subplot(1, 2, 2))
        else:
            self.draw_field(fig, fig.add_subplot(1, 1, 1), title, arrows)
        fig.tight_layout()
        return fig

    def draw_field(self, fig, ax, title=None, arrows=64):
        """Draw D's decision surface, real and generated points and the generator's arrows on ``ax`` (lesson 02)."""
        import matplotlib.colors as mcolors
        import numpy as np

        lim = 3.0
        g = np.linspace(-lim, lim, 90, dtype="float32")
        gx, gy = np.meshgrid(g, g)
        s = np.asarray(self._surface_fn(np.stack([gx.ravel(), gy.ravel()], 1))).reshape(gx.shape)
        if self.loss == "wgan_gp":
            mid = float(np.median(s))
            span = float(np.max(np.abs(s - mid))) or 1.0
            norm, label = mcolors.Normalize(mid - span, mid + span), "critic score f(x)"
        else:
            norm, label = mcolors.Normalize(0.0, 1.0), "D(x) = P(real)"
        im = ax.imshow(s, extent=(-lim, lim, -lim, lim), origin="lower", cmap="PiYG", norm=norm, alpha=0.8)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03).set_label(label, fontsize=8)
        fake, push = self.sample_gradients(min(1000, len(self.z_eval)))
        ax.scatter(self.real_view[:, 0], self.real_view[:, 1], s=4, c="tab:blue", label="real", alpha=0.6)
        ax.scatter(fake[:, 0], fake[:, 1], s=4, c="tab:orange", label="generated", alpha=0.6)
        if arrows:
            m = min(int(arrows), len(fake))
            v = push[:m]
            length = np.linalg.norm(v, axis=1, keepdims=True)
            v = v * np.minimum(0.5, 0.3 / np.maximum(length, 1e-12))  # drawn at half length, at most 0.3 long
            ax.quiver(fake[:m, 0], fake[:m, 1], v[:, 0], v[:, 1], angles="xy", scale_units="xy", scale=1.0,
                      color="black", width=0.004, alpha=0.8)
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.legend(loc="upper right", fontsize=7, markerscale=3)
        head = title or f"step {self.step} ({self.phase})"
        sub = f"{self.target}, {self.loss.replace('_', '-')}, k={self.k}"
        if self.target in ("ring", "grid"):
            from . import metrics

            cov = metrics.toy_mode_coverage(self.samples(), self.target, n_std=3.0)
            sub += f", modes {cov['modes']}/{cov['n_modes']}"
        ax.set_title(f"{head}\n{sub}", fontsize=9)

    def _draw_curves(self, ax):
        import numpy as np

        h = self.history
        win = max(1, min(25, len(h["step"]) // 10))
        if h["step"]:
            def smooth(y):
                y = np.asarray(y, dtype=np.float64)
                return np.convolve(y, np.ones(win) / win, mode="valid") if win > 1 else y

            x = np.asarray(h["step"])[win - 1:]
            div_label = "W1 estimate (critic)" if self.loss == "wgan_gp" else "JSD estimate (nats)"
            ax.plot(x, smooth(h["d_loss"]), label="D loss", color="tab:green")
            ax.plot(x, smooth(h["g_loss"]), label="G loss", color="tab:orange")
            ax.plot(x, smooth(h["divergence"]), label=div_label, color="black", ls="--")
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, "no generator step yet:\nclick run, or one G step", ha="center", va="center",
                    transform=ax.transAxes, color="grey")
            ax.set_xticks([])
            ax.set_yticks([])
        ax.set_xlabel("generator step")
        ax.set_title("losses and divergence estimate" + (f" (moving average of {win})" if win > 1 else ""),
                     fontsize=9)
        ax.grid(alpha=0.3)

    def figure(self, **kwargs):
        """The current view as a pyplot figure (the static fallback)."""
        return self.draw(**kwargs)

    def png(self, dpi=72):
        """The current view as PNG bytes (no pyplot involved, so nothing is displayed twice)."""
        import io

        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=(10.5, 4.4))
        FigureCanvasAgg(fig)
        self.draw(fig)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
        return buf.getvalue()

    def phases(self, d_steps=None, g_steps=1):
        """Slow mode as a static figure: now, after ``d_steps`` D steps (default k), after ``g_steps`` G steps (lesson 02).

        The D steps move only the heat map; the G steps move only the points (their
        positions before the G steps are drawn as faint grey dots).
        """
        import matplotlib.pyplot as plt

        d_steps = self.k if d_steps is None else _pg_int("d_steps", d_steps, 1, 100_000)
        g_steps = _pg_int("g_steps", g_steps, 1, 100_000)
        fig, axes = plt.subplots(1, 3, figsize=(15, 4.9))
        self.draw_field(fig, axes[0], "before")
        for _ in range(d_steps):
            self.d_step()
        self.draw_field(fig, axes[1], f"after {d_steps} D step(s): only the surface moved")
        before = self.samples(min(1000, len(self.z_eval)))
        for _ in range(g_steps):
            self.g_step()
        axes[2].scatter(before[:, 0], before[:, 1], s=3, c="grey", alpha=0.35, zorder=3)
        self.draw_field(fig, axes[2], f"after {g_steps} G step(s): only the points moved (grey: before)")
        fig.tight_layout()
        return fig

    # ------------------------------------------------------------------ widgets
    def widget(self):
        """The ipywidgets front end (built once), or None where ipywidgets is missing."""
        if self._ui is not None:
            return self._ui
        try:
            import ipywidgets as w
        except ImportError:
            return None
        lay = w.Layout(width="230px")
        sty = {"description_width": "80px"}
        c = {
            "target": w.Dropdown(options=list(PLAYGROUND_TARGETS), value=self.target, description="target",
                                 layout=lay, style=sty),
            "loss": w.Dropdown(options=[("saturating (minimax)", "saturating"),
                                        ("non-saturating", "non_saturating"), ("WGAN-GP", "wgan_gp")],
                               value=self.loss, description="loss", layout=lay, style=sty),
            "g_depth": w.IntSlider(value=self.g_depth, min=1, max=6, description="G depth", layout=lay, style=sty),
            "g_width": w.IntSlider(value=self.g_width, min=4, max=256, step=4, description="G width", layout=lay,
                                   style=sty),
            "d_depth": w.IntSlider(value=self.d_depth, min=1, max=6, description="D depth", layout=lay, style=sty),
            "d_width": w.IntSlider(value=self.d_width, min=4, max=256, step=4, description="D width", layout=lay,
                                   style=sty),
            "g_lr": w.FloatLogSlider(value=self.g_lr, base=10, min=-5, max=-1, description="G lr", layout=lay,
                                     style=sty, readout_format=".0e"),
            "d_lr": w.FloatLogSlider(value=self.d_lr, base=10, min=-5, max=-1, description="D lr", layout=lay,
                                     style=sty, readout_format=".0e"),
            "k": w.IntSlider(value=self.k, min=1, max=10, description="k (D/G)", layout=lay, style=sty),
            "slow": w.Checkbox(value=self.slow, description="slow: show D and G steps apart", indent=False),
        }
        for name in ("g_width", "d_width"):  # sliders cannot hold values off their grid
            c[name].value = max(4, min(256, getattr(self, name)))
        b = {
            "d_step": w.Button(description="one D step", tooltip="k=1 discriminator update"),
            "g_step": w.Button(description="one G step", tooltip="one generator update"),
            "run": w.Button(description="run", button_style="success",
                            tooltip=f"train up to {self.steps_per_click} steps; click again to pause"),
            "reset": w.Button(description="reset", button_style="warning", tooltip="new networks from the seed"),
        }
        status = w.HTML()
        image = w.Image(format="png", layout=w.Layout(width="100%", max_width="980px"))
        b["d_step"].on_click(self._on_d_step)
        b["g_step"].on_click(self._on_g_step)
        b["run"].on_click(self._on_run)
        b["reset"].on_click(self._on_reset)
        for name in ("target", "loss", "g_depth", "g_width", "d_depth", "d_width", "g_lr", "d_lr"):
            c[name].observe(self._on_config, names="value")
        c["k"].observe(self._on_k, names="value")
        c["slow"].observe(self._on_slow, names="value")
        left = w.VBox([c["target"], c["loss"], c["k"], c["g_lr"], c["d_lr"]])
        right = w.VBox([c["g_depth"], c["g_width"], c["d_depth"], c["d_width"], c["slow"]])
        buttons = w.HBox([b["d_step"], b["g_step"], b["run"], b["reset"]])
        box = w.VBox([w.HBox([left, right]), buttons, status, image])
        box.add_class("gan-playground")
        status.add_class("gan-playground-status")
        self._ui = {"box": box, "controls": c, "buttons": b, "status": status, "image": image}
        self._refresh()
        return self._ui

    def _refresh(self):
        if self._ui is None:
            return
        ui = self._ui
        modes = ""
        if self.target in ("ring", "grid") and self.evals["step"] and self.evals["step"][-1] == self.step:
            modes = f" · modes covered <b>{self.evals['modes'][-1]}</b>"
        ui["status"].value = (f"<span class='gan-step'>step <b>{self.step}</b></span> · D steps {self.d_steps}"
                              f" · {self.phase}{modes}" + (" · <i>running</i>" if self._running else ""))
        ui["image"].value = self.png()
        ui["buttons"]["run"].description = "pause" if self._running else "run"

    def _on_d_step(self, _=None):
        self.d_step()
        self._refresh()

    def _on_g_step(self, _=None):
        self.g_step()
        self._refresh()

    def _on_reset(self, _=None):
        self._running = False
        self.reset()

    def _on_k(self, change):
        self.k = _pg_int("k", change["new"], 1, 50)

    def _on_slow(self, change):
        self.slow = bool(change["new"])

    def _on_config(self, change):
        name = next(n for n, wdg in self._ui["controls"].items() if wdg is change["owner"])
        value = change["new"]
        if name in ("target", "loss"):
            value = _pg_choice(name, value, PLAYGROUND_TARGETS if name == "target" else PLAYGROUND_LOSSES)
        elif name in ("g_lr", "d_lr"):
            value = _pg_float(name, value, 0.0, 1.0)
        else:
            value = _pg_int(name, value, 1, 512)
        setattr(self, name, value)
        self.reset()

    def _on_run(self, _=None):
        """Run/pause: trains at most ``steps_per_click`` steps, so the kernel is never held forever."""
        if self._running:
            self._running = False  # the running task sees this between chunks
            return
        self._running = True
        if self._ui is not None:
            self._ui["buttons"]["run"].description = "pause"
        import asyncio

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None:  # no event loop (a plain script, a test): a bounded synchronous run
            for _ in self._chunks():
                pass
            return
        self._task = loop.create_task(self._run_async())

    def _chunks(self):
        """Train in chunks of ``refresh_every`` steps (one step at a time in slow mode), refreshing after each."""
        done = 0
        try:
            self._refresh()
            while self._running and done < self.steps_per_click:
                if self.slow:
                    for _ in range(self.k):
                        self.d_step()
                    self._refresh()
                    yield self.slow_delay
                    if not self._running:
                        break
                    self.g_step()
                    done += 1
                    self.measure()
                    self._refresh()
                    yield self.slow_delay
                else:
                    n = min(self.refresh_every, self.steps_per_click - done)
                    self.train(n)
                    done += n
                    self.measure()
                    self._refresh()
                    yield 0.01
        finally:
            self._running = False
            self._refresh()

    async def _run_async(self):
        import asyncio

        for pause in self._chunks():
            await asyncio.sleep(pause)  # lets the kernel handle clicks (pause) between chunks

    def show(self):
        """Display the playground: the live widget, with a static image for front ends without widgets."""
        import base64

        from IPython.display import Image, display

        ui = self.widget()
        if ui is None:
            display(Image(self.png()))
            return
        png = ui["image"].value
        display({"text/plain": repr(self), "image/png": base64.b64encode(png).decode("ascii"),
                 _WIDGET_MIME: {"version_major": 2, "version_minor": 0, "model_id": ui["box"].model_id}}, raw=True)

    def _ipython_display_(self):
        self.show()
