"""Lesson 02's playground (gan_lessons.widgets.Playground) and its exercise checkers."""

import asyncio
import sys

import numpy as np
import pytest

from gan_lessons import checks, data, metrics
from gan_lessons.widgets import Playground

SMALL = dict(g_width=16, d_width=16, batch_size=64, n_eval=256, steps_per_click=12, refresh_every=4)


def _weights(model):
    return [w.copy() for w in model.get_weights()]


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.fixture(scope="module")
def pg():
    return Playground(**SMALL)


def test_headless_run_returns_finite_measurements():
    p = Playground(k=2, **SMALL)
    out = p.run(30)
    assert out["step"] == p.step == 30 and p.d_steps == 60
    for key in ("d_loss", "g_loss", "divergence", "g_grad_norm", "high_quality"):
        assert np.isfinite(out[key]), key
    assert out["n_modes"] == 8 and 0 <= out["modes"] <= 8
    assert [len(v) for v in p.history.values()] == [30] * 5
    assert p.history["step"] == list(range(1, 31))
    assert np.all(np.isfinite(p.history["d_loss"]))


@pytest.mark.parametrize("loss", ["saturating", "wgan-gp"])
def test_other_losses_and_targets_run(loss):
    p = Playground(target="moons", loss=loss, **SMALL)
    out = p.run(5)
    assert out["modes"] is None  # the moons have no discrete modes
    assert np.isfinite(out["d_loss"]) and np.isfinite(out["g_loss"])
    assert p.loss == loss.replace("-", "_")


def test_same_seed_same_run_other_seed_other_run():
    a, b, c = (Playground(seed=s, **SMALL) for s in (4, 4, 5))
    for p in (a, b, c):
        p.run(10)
    assert a.history == b.history
    assert a.history["g_loss"] != c.history["g_loss"]


def test_button_handlers_change_the_state(pg):
    pg.widget()
    pg._on_reset()
    g0, d0 = _weights(pg.generator), _weights(pg.discriminator)
    image0 = pg._ui["image"].value

    pg._on_d_step()
    assert (pg.step, pg.d_steps) == (0, 1)
    assert _same(_weights(pg.generator), g0) and not _same(_weights(pg.discriminator), d0)
    assert "D steps 1" in pg._ui["status"].value and pg._ui["image"].value != image0

    d1 = _weights(pg.discriminator)
    pg._on_g_step()
    assert (pg.step, pg.d_steps) == (1, 1)
    assert not _same(_weights(pg.generator), g0) and _same(_weights(pg.discriminator), d1)
    assert len(pg.history["step"]) == 1 and np.isfinite(pg.history["d_loss"][0])
    assert "step <b>1</b>" in pg._ui["status"].value

    pg._on_run()  # no event loop here: a bounded synchronous run of steps_per_click steps
    assert pg.step == 1 + SMALL["steps_per_click"] and not pg._running
    assert pg._ui["buttons"]["run"].description == "run"

    pg._on_reset()
    assert (pg.step, pg.d_steps, pg.history["step"]) == (0, 0, [])
    assert _same(_weights(pg.generator), g0) and _same(_weights(pg.discriminator), d0)
    assert pg._ui["image"].value == image0


def test_run_button_runs_as_a_task_and_pauses():
    p = Playground(**dict(SMALL, steps_per_click=10**6, refresh_every=2))
    p.widget()

    async def scenario():
        p._on_run()
        assert p._running and p._task is not None
        assert p._ui["buttons"]["run"].description == "pause"
        for _ in range(3000):  # the task trains in chunks and yields between them
            if p.step >= 2:
                break
            await asyncio.sleep(0.01)
        assert p.step >= 2
        p._on_run()  # pause
        await asyncio.wait_for(p._task, 60)

    asyncio.run(scenario())
    assert not p._running and p.step < 10**6 and p.step % 2 == 0
    assert p._ui["buttons"]["run"].description == "run"


def test_slow_mode_draws_the_d_and_g_steps_apart():
    p = Playground(**dict(SMALL, steps_per_click=2), slow=True)
    p.slow_delay = 0.0
    p.widget()
    phases = []
    original = p._refresh

    def spy():
        phases.append((p.phase, p.step))
        original()

    p._refresh = spy
    p._on_run()
    assert p.step == 2
    assert ("after a D step", 0) in phases and ("after a G step", 1) in phases and ("after a D step", 1) in phases


def test_controls_reconfigure_and_rebuild(pg):
    ui = pg.widget()
    pg.run(3)
    ui["controls"]["loss"].value = "wgan_gp"
    assert pg.loss == "wgan_gp" and pg.step == 0
    ui["controls"]["k"].value = 3
    assert pg.k == 3 and pg.step == 0  # k applies to the next steps, no rebuild
    pg.run(1)
    assert pg.d_steps == 3
    ui["controls"]["target"].value = "grid"
    assert pg.target == "grid" and pg.measure()["n_modes"] == 25
    ui["controls"]["loss"].value = "non_saturating"
    ui["controls"]["target"].value = "ring"
    ui["controls"]["k"].value = 1


def test_show_sends_widget_with_a_static_image(monkeypatch, pg):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: shown.append((a, k)))
    pg.show()
    (bundle,), kwargs = shown[0]
    assert kwargs == {"raw": True}
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == pg._ui["box"].model_id
    import base64

    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG")


def test_fallback_without_ipywidgets_is_a_static_figure(monkeypatch):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets now raises ImportError
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: shown.append(a))
    p = Playground(**SMALL)
    assert p.widget() is None
    p.show()
    from IPython.display import Image

    assert isinstance(shown[0][0], Image) and shown[0][0].data.startswith(b"\x89PNG")
    import matplotlib.pyplot as plt

    fig = p.figure()
    titles = [ax.get_title() for ax in fig.axes]
    assert any("step 0" in t and "modes" in t for t in titles) and any("losses" in t for t in titles)
    plt.close(fig)
    fig = p.phases()
    assert (p.step, p.d_steps) == (1, 1)
    assert sum("after" in ax.get_title() for ax in fig.axes) == 2
    plt.close(fig)


def test_arrows_push_samples_towards_higher_d():
    p = Playground(**SMALL)
    p.train_discriminator(150)
    x, push = p.sample_gradients(256)
    assert x.shape == push.shape == (256, 2)
    before = np.asarray(p._surface_fn(x))
    after = np.asarray(p._surface_fn(x + 1e-3 * push / np.linalg.norm(push, axis=1, keepdims=True)))
    assert np.mean(after > before) > 0.9


def test_saturating_gradient_vanishes_when_d_wins():
    sizes = {}
    for loss in ("saturating", "non_saturating"):
        p = Playground(loss=loss, n_eval=256)  # the default networks, as in the lesson
        p.train_discriminator(300)
        sizes[loss] = np.linalg.norm(p.sample_gradients(256)[1], axis=1).mean()
    assert sizes["non_saturating"] > 50 * sizes["saturating"]


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(target="spiral"), ValueError, ["target", "spiral", "ring"]),
    (dict(loss="hinge"), ValueError, ["loss", "hinge", "wgan_gp"]),
    (dict(optimizer="rmsprop"), ValueError, ["optimizer", "rmsprop"]),
    (dict(k=0), ValueError, ["k=0"]),
    (dict(k=1.5), TypeError, ["k=1.5", "int"]),
    (dict(g_lr=-0.1), ValueError, ["g_lr", "-0.1"]),
    (dict(d_width="wide"), TypeError, ["d_width"]),
    (dict(slow="yes"), TypeError, ["slow"]),
])
def test_bad_arguments_raise_clear_errors(kwargs, error, words):
    with pytest.raises(error) as info:
        Playground(**kwargs)
    for w in words:
        assert w in str(info.value)


def test_bad_run_arguments(pg):
    with pytest.raises(ValueError, match="steps=0"):
        pg.run(0)
    with pytest.raises(TypeError, match="steps"):
        pg.run("10")
    with pytest.raises(ValueError, match="eval_every"):
        pg.run(5, eval_every=0)


def test_mode_count_on_constructed_point_clouds():
    centres = data.toy_modes("ring")
    std = data.TOY_STD["ring"]
    rng = np.random.default_rng(0)
    three = np.repeat(centres[:3], 100, axis=0) + rng.normal(0, std, (300, 2))
    cov = metrics.toy_mode_coverage(three, "ring", n_std=3.0)
    assert cov["modes"] == 3 and cov["high_quality"] > 0.95
    everywhere = data.toy_2d("ring", 4000, seed=1)
    assert metrics.toy_mode_coverage(everywhere, "ring")["modes"] == 8
    far = centres * 1.5  # 1 unit off every mode: nothing counts
    assert metrics.toy_mode_coverage(far, "ring")["modes"] == 0
    # a mode with a sliver of the samples is not covered
    sliver = np.concatenate([np.repeat(centres[:1], 995, axis=0), centres[1:2].repeat(5, axis=0)])
    assert metrics.toy_mode_coverage(sliver, "ring")["modes"] == 1
    # the playground counts through the same function, on its own samples
    p = Playground(**SMALL)
    p.samples = lambda n=None: three
    assert p.measure()["modes"] == 3 and p.evals["modes"][-1] == 3


def _student_good(g, d, opt, real, z):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        r, f = d(real, training=True), d(g(z, training=True), training=True)
        loss = tf.reduce_mean(tf.nn.softplus(-r)) + tf.reduce_mean(tf.nn.softplus(f))
    opt.apply_gradients(zip(tape.gradient(loss, d.trainable_variables), d.trainable_variables))
    return loss


def _student_swapped_labels(g, d, opt, real, z):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        r, f = d(real, training=True), d(g(z, training=True), training=True)
        loss = tf.reduce_mean(tf.nn.softplus(r)) + tf.reduce_mean(tf.nn.softplus(-f))
    opt.apply_gradients(zip(tape.gradient(loss, d.trainable_variables), d.trainable_variables))
    return loss


def _student_no_update(g, d, opt, real, z):
    import tensorflow as tf

    r, f = d(real), d(g(z))
    return tf.reduce_mean(tf.nn.softplus(-r)) + tf.reduce_mean(tf.nn.softplus(f))


def _student_updates_both(g, d, opt, real, z):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        r, f = d(real, training=True), d(g(z, training=True), training=True)
        loss = tf.reduce_mean(tf.nn.softplus(-r)) + tf.reduce_mean(tf.nn.softplus(f))
    variables = d.trainable_variables + g.trainable_variables
    import keras

    keras.optimizers.SGD(0.1).apply_gradients(zip(tape.gradient(loss, variables), variables))
    return loss


def test_check_discriminator_step_both_ways():
    assert "correct" in checks.check_discriminator_step(_student_good)
    for bad, words in ((_student_swapped_labels, "label 1"), (_student_no_update, "did not change"),
                       (_student_updates_both, "generator's weights changed"),
                       (lambda *a: None, "returned None")):
        with pytest.raises(checks.ExerciseError) as info:
            checks.check_discriminator_step(bad)
        assert words in str(info.value) and "Hint:" in str(info.value)


