"""Lesson 08: conditional networks and GAN, InfoGAN losses and step, latent walks, the shipped conditional
generator, label fidelity and cluster metrics, the exercise checks and the conditional command line."""

import json

import keras
import numpy as np
import pytest

from gan_lessons import checks, losses, metrics, models, training
from gan_lessons.__main__ import main


@pytest.fixture(autouse=True)
def _float32():
    yield
    keras.mixed_precision.set_global_policy("float32")


# --------------------------------------------------------------------------- networks
def test_conditional_generator_shapes_and_the_label_is_used():
    g = models.conditional_generator(seed=0)
    z = np.random.default_rng(0).normal(size=(4, 100)).astype("float32")
    y = np.array([0, 3, 5, 9], "int32")
    x = np.asarray(g([z, y]))
    assert x.shape == (4, 28, 28, 1) and -1 <= x.min() and x.max() <= 1
    x_other = np.asarray(g([z, (y + 1) % 10]))
    assert np.abs(x_other - x).mean() > 1e-4             # only the label changed
    assert np.allclose(np.asarray(g([z, y])), x)          # and it is deterministic


def test_projection_discriminator_uses_the_label():
    d = models.projection_discriminator(seed=0, dropout=0.0)
    img = np.random.default_rng(1).uniform(-1, 1, (3, 28, 28, 1)).astype("float32")
    a = np.asarray(d([img, np.array([0, 1, 2], "int32")]))
    b = np.asarray(d([img, np.array([5, 6, 7], "int32")]))
    assert a.shape == (3, 1) and not np.allclose(a, b)


@pytest.mark.parametrize("kwargs", [{"n_classes": 1}, {"embed_dim": 0}, {"latent_dim": 2.5}, {"seed": -1}])
def test_conditional_generator_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        models.conditional_generator(**kwargs)


def test_infogan_networks_shapes():
    g, d = models.infogan_generator(seed=0), models.infogan_discriminator(seed=0)
    assert g.input_shape == (None, 74)
    outs = d(np.zeros((2, 28, 28, 1), "float32"))
    assert [tuple(o.shape) for o in outs] == [(2, 1), (2, 10), (2, 2)]


# --------------------------------------------------------------------------- labels
@pytest.mark.parametrize("bad, err", [([10], ValueError), ([-1], ValueError), ([2.5], TypeError),
                                      (["a"], TypeError), (np.zeros((2, 2), int), ValueError)])
def test_check_labels_rejects_bad_labels(bad, err):
    with pytest.raises(err, match="labels"):
        training.check_labels(bad)


def test_check_labels_accepts_whole_floats_and_ints():
    assert training.check_labels([1.0, 9.0]).tolist() == [1, 9]
    assert training.check_labels(np.int64(3)).tolist() == [3]


def test_conditional_generate_checks_z_and_labels():
    g = models.conditional_generator(seed=0)
    with pytest.raises(ValueError, match="z has shape"):
        training.conditional_generate(g, [1, 2], z=np.zeros((3, 100), "float32"))
    with pytest.raises(ValueError, match="labels"):
        training.conditional_generate(g, [11])
    a = training.conditional_generate(g, [1, 2], seed=4)
    assert np.array_equal(a, training.conditional_generate(g, [1, 2], seed=4))


# --------------------------------------------------------------------------- the conditional GAN
def test_labelled_step_dataset_matches_step_batch_indices():
    images = np.arange(200, dtype="float32").reshape(200, 1)
    labels = np.arange(200) % 10
    ds = training.labelled_step_dataset(images, labels, batch_size=16, seed=3, start_step=20, steps=2)
    batches = list(ds)
    for k, (x, y) in enumerate(batches):
        idx = training.step_batch_indices(200, 16, 20 + k, seed=3)
        assert np.array_equal(np.asarray(x)[:, 0], images[idx, 0]) and np.array_equal(np.asarray(y), labels[idx])
    with pytest.raises(ValueError, match="differ in length"):
        training.labelled_step_dataset(images, labels[:10])


def _small_cgan(seed=0, **kw):
    gan = training.ConditionalGAN(models.conditional_generator(seed=seed), models.projection_discriminator(seed=seed),
                                  seed=seed, **kw)
    gan.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5))
    return gan


@pytest.mark.parametrize("kw", [{}, {"mode_seeking": 0.1, "ema_decay": 0.9}], ids=["plain", "course-recipe"])
def test_conditional_gan_trains_and_resumes_exactly(tmp_path, kw):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (128, 28, 28, 1)).astype("float32")
    y = rng.integers(0, 10, 128)
    a = _small_cgan(**kw)
    training.fit_conditional_steps(a, x, y, 2, batch_size=32)
    a.save_checkpoint(tmp_path / "c.npz")
    training.fit_conditional_steps(a, x, y, 4, batch_size=32)
    b = _small_cgan(**kw)
    b.load_checkpoint(tmp_path / "c.npz")
    assert b.current_step == 2
    training.fit_conditional_steps(b, x, y, 4, batch_size=32)
    for va, vb in zip(a.state_variables().values(), b.state_variables().values()):
        np.testing.assert_allclose(np.asarray(va), np.asarray(vb), atol=1e-6)
    out = a.generate(labels=[0, 1, 2], seed=0)
    assert out.shape == (3, 28, 28, 1)


def test_conditional_gan_needs_labelled_batches():
    with pytest.raises(ValueError, match="labels"):
        _small_cgan().train_step(np.zeros((4, 28, 28, 1), "float32"))


# --------------------------------------------------------------------------- InfoGAN
def test_infogan_losses_known_values():
    assert np.isclose(float(losses.infogan_categorical_loss(np.arange(10), np.zeros((10, 10), "float32"))), np.log(10))
    logits = np.log(np.array([[0.5, 0.25, 0.25]], "float32"))
    assert np.isclose(float(losses.infogan_categorical_loss([1], logits)), np.log(4), atol=1e-6)
    assert np.isclose(float(losses.infogan_continuous_loss([[1.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 2.0]])),
                      0.5 * (1.0 + 4.0) / 2)


def test_infogan_step_is_finite_and_reads_codes():
    gan = training.InfoGAN(models.infogan_generator(seed=0), models.infogan_discriminator(seed=1), seed=0)
    gan.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5))
    out = gan.train_step(np.random.default_rng(0).uniform(-1, 1, (16, 28, 28, 1)).astype("float32"))
    assert all(np.isfinite(float(v)) for v in out.values()) and set(out) >= {"info_cat", "q_acc", "d_loss"}
    imgs = gan.generate_codes(np.zeros((3, 62), "float32"), [0, 1, 2], np.zeros((3, 2), "float32"))
    cats, conts = gan.read_codes(imgs)
    assert imgs.shape == (3, 28, 28, 1) and cats.shape == (3, 10) and conts.shape == (3, 2)
    with pytest.raises(ValueError, match="info_weight"):
        training.InfoGAN(models.infogan_generator(), models.infogan_discriminator(), info_weight=-1)


# --------------------------------------------------------------------------- the latent space
def test_lerp_and_slerp():
    rng = np.random.default_rng(0)
    z0, z1 = rng.normal(size=100), rng.normal(size=100)
    t = np.linspace(0, 1, 5)
    for f in (models.lerp, models.slerp):
        p = f(z0, z1, t)
        assert p.shape == (5, 100) and np.allclose(p[0], z0) and np.allclose(p[-1], z1)
    assert np.isclose(np.linalg.norm(models.lerp(z0, z1, 0.5)), np.linalg.norm(z0 + z1) / 2)
    u = np.array([1.0, 0.0]); v = np.array([0.0, 1.0])
    assert np.allclose(models.slerp(u, v, 0.5)[0], np.array([1, 1]) / np.sqrt(2))   # on the unit circle
    with pytest.raises(ValueError, match="z0 and z1"):
        models.slerp(z0, z1[:3], t)


def test_truncated_normal():
    z = models.truncated_normal(500, 20, 0.5, seed=0)
    assert z.shape == (500, 20) and np.abs(z).max() <= 0.5 and z.std() > 0.2
    assert np.abs(models.truncated_normal(500, 20, None, seed=0)).max() > 2
    with pytest.raises(ValueError, match="threshold"):
        models.truncated_normal(5, 5, 0.0)


# --------------------------------------------------------------------------- metrics
def test_cluster_accuracy_is_permutation_invariant():
    true = np.repeat(np.arange(5), 4)
    assert metrics.cluster_accuracy(true, (true + 2) % 5) == 1.0
    assert metrics.cluster_accuracy(true, np.zeros_like(true)) == pytest.approx(0.2)
    with pytest.raises(ValueError, match="one length"):
        metrics.cluster_accuracy(true, true[:3])


def test_label_fidelity_on_real_images():
    from gan_lessons.data import load_images

    x, y = load_images("fashion_mnist", "test", limit=300)
    res = metrics.label_fidelity(x, y)
    assert 0.8 < res["accuracy"] < 1.0 and res["confusion"].sum() == 300 and res["per_class"].shape == (10,)
    wrong = metrics.label_fidelity(x, (y + 1) % 10)
    assert wrong["accuracy"] < 0.2
    with pytest.raises(ValueError, match="labels"):
        metrics.label_fidelity(x, y[:5])


# --------------------------------------------------------------------------- the shipped conditional generator
def test_pretrained_conditional_generator_is_verified(tmp_path):
    info = training.pretrained_info(training.PRETRAINED_CONDITIONAL)
    assert info["latent_dim"] == 100 and info["steps"] > 0 and 0 < info["label_accuracy"] <= 1
    assert training.PRETRAINED_CONDITIONAL.stat().st_size < 4.2e6
    gen = training.pretrained_conditional_generator()
    x = np.asarray(gen([np.zeros((2, 100), "float32"), np.array([1, 7])]))
    assert x.shape == (2, 28, 28, 1) and -1 <= x.min() and x.max() <= 1
    bad = tmp_path / training.PRETRAINED_CONDITIONAL.name
    raw = bytearray(training.PRETRAINED_CONDITIONAL.read_bytes())
    raw[-100] ^= 0xFF
    bad.write_bytes(bytes(raw))
    bad.with_suffix(".json").write_text(json.dumps(info))
    with pytest.raises(ValueError, match="SHA-256"):
        training.pretrained_conditional_generator(bad)
    with pytest.raises(ValueError, match="missing"):
        training.pretrained_conditional_generator(tmp_path / "none.weights.h5")


# --------------------------------------------------------------------------- checks, both ways
def _info_ref(codes, logits, cont, means, w):
    return float(losses.infogan_categorical_loss(codes, logits)) + w * float(losses.infogan_continuous_loss(cont, means))


def test_check_info_loss_both_ways():
    assert "correct" in checks.check_info_loss(_info_ref)
    with pytest.raises(checks.ExerciseError, match="LOG"):
        checks.check_info_loss(lambda c, lg, u, m, w: -lg[np.arange(len(c)), c].mean()
                               + w * float(losses.infogan_continuous_loss(u, m)))
    with pytest.raises(checks.ExerciseError, match="categorical part alone"):
        checks.check_info_loss(lambda c, lg, u, m, w: float(losses.infogan_categorical_loss(c, lg)))
    with pytest.raises(checks.ExerciseError, match="None"):
        checks.check_info_loss(lambda *a: None)


def test_check_slerp_both_ways():
    assert "correct" in checks.check_slerp(models.slerp)
    with pytest.raises(checks.ExerciseError, match="linear interpolation"):
        checks.check_slerp(models.lerp)
    with pytest.raises(checks.ExerciseError, match="start at z0"):
        checks.check_slerp(lambda a, b, t: models.slerp(b, a, t))


# --------------------------------------------------------------------------- the command line
def test_cli_conditional_train_and_sample(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GAN_LESSONS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    assert main(["train", "--conditional", "--dataset", "digits", "--steps", "3", "--batch-size", "16",
                 "--precision", "float32", "--out", str(out)]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["conditional"] and m["steps"] == 3 and 0 <= m["label_accuracy"] <= 1 and np.isfinite(m["fid"])
    assert main(["train", "--conditional", "--dataset", "digits", "--steps", "5", "--resume",
                 "--out", str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["resumed_from"] == 3
    # the same reliability rules as the unconditional run: a resume is the same run or nothing
    before = (out / "checkpoint.npz").read_bytes()
    capsys.readouterr()
    for argv, says in ((["--steps", "9", "--resume"], "a conditional run (add --conditional)"),
                       (["--conditional", "--steps", "9", "--resume", "--seed", "4"], "--seed 4"),
                       (["--conditional", "--steps", "4", "--resume"], "already at step 5")):
        assert main(["train", "--dataset", "digits", "--out", str(out), *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and says in err, err
    assert (out / "checkpoint.npz").read_bytes() == before
    assert (out / "generator_raw.keras").is_file()  # the weight average is generator.keras; the raw one stays
    assert m.get("label_accuracy") is not None
    png = tmp_path / "seven.png"
    assert main(["sample", "--model", str(out / "generator.keras"), "--label", "7", "--n", "4",
                 "--out", str(png)]) == 0 and png.is_file()


@pytest.mark.parametrize("label", ["12", "-1", "2.5", "seven"])
def test_cli_bad_label_is_one_line_exit_2(label, tmp_path, capsys):
    rc = main(["sample", "--model", str(tmp_path / "g.keras"), "--label", label])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "--label" in err


def test_cli_label_needs_a_conditional_model_and_vice_versa(tmp_path, capsys):
    plain = tmp_path / "plain.keras"
    models.dcgan_generator(base_filters=8).save(plain)
    assert main(["sample", "--model", str(plain), "--label", "3", "--out", str(tmp_path / "a.png")]) == 2
    assert "not a conditional generator" in capsys.readouterr().err
    cond = tmp_path / "cond.keras"
    models.conditional_generator(base_filters=8).save(cond)
    assert main(["sample", "--model", str(cond), "--out", str(tmp_path / "b.png")]) == 2
    assert "--label" in capsys.readouterr().err
    assert main(["train", "--conditional", "--dataset", "cifar", "--out", str(tmp_path / "r")]) == 2
    assert not (tmp_path / "r").exists()


# --------------------------------------------------------------------------- mode seeking and diversity
def test_mode_seeking_ratio_known_values():
    a, b = np.zeros((2, 2, 2, 1)), np.full((2, 2, 2, 1), 0.5)
    za, zb = np.zeros((2, 4)), np.full((2, 4), 2.0)
    assert float(losses.mode_seeking_ratio(a, b, za, zb)) == pytest.approx(0.25)
    assert float(losses.mode_seeking_ratio(a, a, za, zb)) == 0.0  # noise ignored: ratio 0


def test_mode_seeking_term_changes_the_generator_step():
    rng = np.random.default_rng(1)
    batch = (rng.uniform(-1, 1, (32, 28, 28, 1)).astype("float32"), rng.integers(0, 10, 32).astype("int32"))
    after = {}
    for lam in (0.0, 1.0):
        gan = _small_cgan(mode_seeking=lam)
        out = gan.train_step(batch)
        assert ("diversity" in out) == (lam > 0)
        after[lam] = [np.asarray(v) for v in gan.generator.trainable_weights]
    assert any(not np.allclose(a, b) for a, b in zip(after[0.0], after[1.0]))
    with pytest.raises(ValueError, match="mode_seeking"):
        _small_cgan(mode_seeking=-1.0)


def test_class_diversity_known_values():
    x = np.zeros((5, 2, 2, 1), "float32")
    x[3] = 1.0  # class 1: an image of zeros and an image of ones, 4 pixels each 1 apart
    y = np.array([0, 0, 1, 1, 2])
    div = metrics.class_diversity(x, y, n_classes=4)
    assert div[0] == 0.0 and div[1] == pytest.approx(2.0)  # sqrt(4 * 1^2)
    assert np.isnan(div[2]) and np.isnan(div[3])  # fewer than two images
    with pytest.raises(ValueError, match="per_class"):
        metrics.class_diversity(x, y, per_class=1)
    with pytest.raises(ValueError, match="one label per image"):
        metrics.class_diversity(x, y[:3])
