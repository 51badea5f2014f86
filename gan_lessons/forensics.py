"""Counterfeit detection with and against GANs (lesson 09).

"Genuine items" are real images; "counterfeits" are images a GAN made and items
that do not belong (other classes, tampered images). Lesson 09 writes each idea
out in full first and then imports it from here:

* :func:`quantize` saves a fake like real data (256 grey levels) before any
  detector sees it;
* :func:`dct_features` (log-magnitude 2-D DCT, Frank et al. ICML 2020) and
  :func:`radial_spectrum` (azimuthally averaged power spectrum, Durall et al.
  CVPR 2020) are the spectral views of an image;
* :func:`linear_detector`, :func:`cnn_detector`, :func:`train_cnn_detector`
  and :func:`detection_report` build and score detectors (AUC, AP and accuracy
  from scikit-learn);
* :func:`resize_conv_generator` is "generator B": the course generator with
  resize-then-convolve upsampling instead of stride-2 transposed convolutions;
* :func:`train_gan` trains the small generators the lesson compares;
* :func:`finetune_against_detector` plays one round of the arms race;
* :func:`build_encoder`, :func:`train_encoder` and :func:`anomaly_scores`
  are f-AnoGAN's izi_f encoder and score (Schlegl et al. 2019);
  :func:`pca_errors` and :func:`nn_distances` are the simple baselines.
"""

from __future__ import annotations

import numpy as np

import keras
from keras import layers, ops

from . import models, training

SPECTRAL_EPS = 1e-4
"""Added to |DCT| before the log, so that a zero coefficient gives a finite feature."""


# --------------------------------------------------------------------------- checking images
def check_images(images, name: str = "images") -> np.ndarray:
    """``images`` as float32 (N, H, W, 1) in [-1, 1], or a ValueError naming ``name`` (lesson 09)."""
    if isinstance(images, (str, bytes)) or images is None:
        raise TypeError(f"{name}={images!r}: expected an array of images (N, H, W, 1) in [-1, 1]")
    x = np.asarray(images)
    if x.dtype == object or not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise TypeError(f"{name} has dtype {x.dtype}: expected float images (N, H, W, 1) in [-1, 1]")
    if x.ndim != 4 or x.shape[-1] != 1 or x.shape[0] < 1 or x.shape[1] < 2 or x.shape[2] < 2:
        raise ValueError(f"{name} has shape {x.shape}: expected (N, H, W, 1) grey images with N >= 1")
    x = x.astype(np.float32)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} holds NaN or inf: expected finite values in [-1, 1]")
    lo, hi = float(x.min()), float(x.max())
    if lo < -1.0 - 1e-5 or hi > 1.0 + 1e-5:
        raise ValueError(f"{name} has values in [{lo:.3g}, {hi:.3g}]: expected images scaled to [-1, 1] "
                         "(uint8 pixels p become p / 127.5 - 1)")
    return np.clip(x, -1.0, 1.0)


# --------------------------------------------------------------------------- saving fakes like real data
def quantize(images, levels: int = 256) -> np.ndarray:
    """Round images in [-1, 1] to ``levels`` equally spaced grey levels, as an 8-bit file would (lesson 09).

    ``levels=256`` gives exactly the values ``p / 127.5 - 1`` (p = 0..255) that real
    Fashion-MNIST images take; fewer levels is "stronger quantisation".
    """
    if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)) or not 2 <= levels <= 65536:
        raise ValueError(f"levels={levels!r}: expected an int in [2, 65536] (256 for 8-bit images)")
    x = check_images(images)
    steps = levels - 1
    half = steps / 2.0  # 127.5 for 256 levels: the same arithmetic as data.load_images, bit for bit
    return (np.round((x + 1.0) * half).astype(np.float32) / half - 1.0).astype(np.float32)


def on_8bit_grid(images) -> np.ndarray:
    """Share of each image's pixels that lie on the 8-bit grid p / 127.5 - 1 (lesson 09)."""
    x = check_images(images)
    p = (x + 1.0) * 127.5
    return np.mean(np.abs(p - np.round(p)) < 1e-3, axis=(1, 2, 3))


# --------------------------------------------------------------------------- spectral views
def dct_features(images) -> np.ndarray:
    """log(|2-D DCT| + eps) of each image, flattened: (N, H*W) (Frank et al. ICML 2020; lesson 09).

    The DCT is scipy's type-II with ``norm="ortho"`` over the two image axes.
    """
    from scipy.fft import dctn

    x = check_images(images)[..., 0].astype(np.float64)
    coeffs = dctn(x, type=2, axes=(1, 2), norm="ortho")
    return np.log(np.abs(coeffs) + SPECTRAL_EPS).reshape(len(x), -1).astype(np.float32)


def radial_bins(height: int, width: int) -> np.ndarray:
    """For each frequency of a centred (fftshift-ed) H x W spectrum, its integer radius (lesson 09)."""
    fy = np.arange(height) - height // 2
    fx = np.arange(width) - width // 2
    return np.rint(np.hypot(*np.meshgrid(fy, fx, indexing="ij"))).astype(int)


def radial_spectrum(images) -> np.ndarray:
    """Azimuthally averaged log10 power spectrum: (N, bins) (Durall et al. CVPR 2020; lesson 09).

    Bin r averages |FFT|^2 over the frequencies at (rounded) radius r cycles per
    image from the centre; a 28 x 28 image has 21 bins (0 .. 20). Images are
    never resized: a resize would add its own spectral traces.
    """
    x = check_images(images)[..., 0].astype(np.float64)
    power = np.abs(np.fft.fftshift(np.fft.fft2(x, axes=(1, 2)), axes=(1, 2))) ** 2
    bins = radial_bins(*x.shape[1:])
    counts = np.bincount(bins.ravel())
    flat = power.reshape(len(x), -1)
    sums = np.stack([np.bincount(bins.ravel(), weights=row, minlength=len(counts)) for row in flat])
    return np.log10(sums / counts + 1e-12).astype(np.float32)


def pixel_features(images) -> np.ndarray:
    """The pixels themselves, flattened: (N, H*W) (lesson 09)."""
    x = check_images(images)
    return x.reshape(len(x), -1)


FEATURES = {"pixels": pixel_features, "dct": dct_features}


# --------------------------------------------------------------------------- detectors and their scores
def _check_labels_scores(y_true, scores):
    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.ndim != 1 or len(y) != len(s) or len(y) == 0:
        raise ValueError(f"y_true has shape {y.shape} and scores {np.shape(scores)}: expected two 1-D arrays "
                         "of the same length")
    if not set(np.unique(y)) <= {0, 1} or len(np.unique(y)) != 2:
        raise ValueError(f"y_true holds {np.unique(y)[:5]}: expected both labels 0 (genuine) and 1 (counterfeit)")
    return y.astype(int), s


def detection_report(y_true, p_fake) -> dict:
    """AUC, AP (scikit-learn) and accuracy at p > 0.5 for labels 1 = counterfeit, 0 = genuine (lesson 09)."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    y, p = _check_labels_scores(y_true, p_fake)
    return {"auc": float(roc_auc_score(y, p)), "ap": float(average_precision_score(y, p)),
            "acc": float(np.mean((p > 0.5) == (y == 1)))}


def labelled(real, fake):
    """(images, labels): ``real`` (label 0) then ``fake`` (label 1) (lesson 09)."""
    real, fake = check_images(real, "real"), check_images(fake, "fake")
    return np.concatenate([real, fake]), np.r_[np.zeros(len(real), int), np.ones(len(fake), int)]


def linear_detector(features: str = "dct", C: float = 0.05, seed: int = 0):
    """A scikit-learn pipeline: features -> standardise -> logistic regression (lesson 09).

    ``features`` is "pixels" or "dct"; ``fit(images, labels)`` and
    ``predict_proba(images)[:, 1]`` take images (N, H, W, 1) in [-1, 1].
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    if features not in FEATURES:
        raise ValueError(f"features={features!r}: expected one of {sorted(FEATURES)}")
    if not isinstance(C, (int, float)) or C <= 0:
        raise ValueError(f"C={C!r}: expected a positive float")
    return make_pipeline(FunctionTransformer(FEATURES[features]), StandardScaler(),
                         LogisticRegression(C=C, max_iter=300, random_state=seed))


def cnn_detector(image_size: int = 28, outputs: int = 1, seed: int | None = None, name: str = "cnn_detector"):
    """A small CNN: two stride-2 convs, global pooling, then ``outputs`` logits (lesson 09).

    ``outputs=1``: one logit, "counterfeit" when > 0. ``outputs=k``: names which
    of k generators made an image (attribution).
    """
    if isinstance(outputs, bool) or not isinstance(outputs, int) or outputs < 1:
        raise ValueError(f"outputs={outputs!r}: expected an int >= 1")
    init = (lambda i: keras.initializers.GlorotUniform(seed=None if seed is None else seed + i))
    image = keras.Input(shape=(image_size, image_size, 1), name="image")
    x = layers.Conv2D(32, 3, strides=2, padding="same", kernel_initializer=init(0))(image)
    x = layers.LeakyReLU(0.2)(x)
    x = layers.Conv2D(64, 3, strides=2, padding="same", kernel_initializer=init(1))(x)
    x = layers.LeakyReLU(0.2)(x)
    x = layers.Conv2D(64, 3, strides=1, padding="same", kernel_initializer=init(2))(x)
    x = layers.LeakyReLU(0.2)(x)
    x = layers.GlobalAveragePooling2D()(x)
    logits = layers.Dense(outputs, kernel_initializer=init(3), name="logits")(x)
    return keras.Model(image, logits, name=name)


def train_cnn_detector(images, labels, epochs: int = 3, seed: int = 0, outputs: int = 1, batch_size: int = 64):
    """Build :func:`cnn_detector` and fit it on (images, labels) with Adam 1e-3 (lesson 09)."""
    x = check_images(images)
    y = np.asarray(labels)
    if len(y) != len(x):
        raise ValueError(f"labels has {len(y)} entries for {len(x)} images")
    keras.utils.set_random_seed(seed)
    model = cnn_detector(x.shape[1], outputs=outputs, seed=seed)
    if outputs == 1:
        loss = keras.losses.BinaryCrossentropy(from_logits=True)
        y = y.astype("float32")[:, None]
    else:
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(keras.optimizers.Adam(1e-3), loss=loss)
    model.fit(x, y, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0)
    return model


def cnn_probabilities(model, images, batch_size: int = 500) -> np.ndarray:
    """P(counterfeit) per image from a one-logit detector, or class probabilities (N, k) (lesson 09)."""
    x = check_images(images)
    logits = np.concatenate([ops.convert_to_numpy(model(x[i:i + batch_size], training=False))
                             for i in range(0, len(x), batch_size)]).astype(np.float64)
    if logits.shape[1] == 1:
        return 1.0 / (1.0 + np.exp(-logits[:, 0]))
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# --------------------------------------------------------------------------- post-processing a counterfeiter might apply
def blur(images, sigma: float = 0.7) -> np.ndarray:
    """Gaussian blur of each image (scipy.ndimage), still in [-1, 1] (lesson 09)."""
    from scipy.ndimage import gaussian_filter

    x = check_images(images)
    return np.clip(gaussian_filter(x, sigma=(0, sigma, sigma, 0)), -1, 1).astype(np.float32)


def add_noise(images, std: float = 0.03, seed: int = 0) -> np.ndarray:
    """Add Gaussian noise of standard deviation ``std`` (in [-1, 1] units) and clip (lesson 09)."""
    x = check_images(images)
    rng = np.random.default_rng(seed)
    return np.clip(x + rng.normal(0, std, x.shape), -1, 1).astype(np.float32)


def paste_patch(images, size: int = 6, value: float = 1.0, seed: int = 0) -> np.ndarray:
    """Tampering: paste a ``size`` x ``size`` square of grey ``value`` at a random place in each image (lesson 09)."""
    x = check_images(images).copy()
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= min(x.shape[1:3]):
        raise ValueError(f"size={size!r}: expected an int between 1 and the image size")
    rng = np.random.default_rng(seed)
    for img in x:
        r, c = rng.integers(0, x.shape[1] - size + 1), rng.integers(0, x.shape[2] - size + 1)
        img[r:r + size, c:c + size] = value
    return x


# --------------------------------------------------------------------------- generator B and the small GANs
def resize_conv_generator(latent_dim: int = 100, image_size: int = 28, base_filters: int = 16,
                          kernel_size: int = 5, interpolation: str = "nearest", seed: int | None = None,
                          name: str = "resize_conv_generator") -> keras.Model:
    """Generator B: :func:`models.dcgan_generator` with every stride-2 ``Conv2DTranspose``
    replaced by ``UpSampling2D`` then a stride-1 ``Conv2D`` (Odena et al. 2016; lesson 09).

    Same widths, same BatchNorm/LeakyReLU blocks, same tanh output; only the
    upsampling differs.
    """
    return models.dcgan_generator(latent_dim=latent_dim, image_size=image_size, base_filters=base_filters,
                                  kernel_size=kernel_size, seed=seed, name=name, upsampling="resize",
                                  interpolation=interpolation)


def train_gan(images, steps: int, upsampling: str = "transposed", base_filters: int = 16, seed: int = 0,
              checkpoints=(), batch_size: int = 64):
    """Train a small DCGAN (Adam 2e-4, beta_1 0.5, batch 64) for ``steps`` steps (lesson 09).

    ``upsampling``: "transposed" (the course generator, :func:`models.dcgan_generator`)
    or "resize" (:func:`resize_conv_generator`). Returns ``(gan, snapshots)`` where
    ``snapshots[s]`` is a float32 copy of the generator after step ``s`` for every
    ``s`` in ``checkpoints``.
    """
    if upsampling not in ("transposed", "resize"):
        raise ValueError(f"upsampling={upsampling!r}: expected 'transposed' or 'resize'")
    x = check_images(images)
    keras.utils.set_random_seed(seed)
    build = ((lambda: models.dcgan_generator(image_size=x.shape[1], base_filters=base_filters, seed=seed))
             if upsampling == "transposed" else
             (lambda: resize_conv_generator(image_size=x.shape[1], base_filters=base_filters, seed=seed)))
    d = models.dcgan_discriminator(image_size=x.shape[1], base_filters=base_filters, seed=seed)
    gan = training.GAN(build(), d, seed=seed)
    gan.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5))
    snapshots = {}
    for stop in sorted(set(int(s) for s in checkpoints if 0 < s <= steps)) + [steps]:
        training.fit_steps(gan, x, stop, batch_size=batch_size, data_seed=seed)
        if stop in checkpoints:
            snap = build()
            snap.set_weights(gan.generator.get_weights())
            snapshots[stop] = snap
    return gan, snapshots


def generate(generator, n: int, seed: int = 0, batch_size: int = 500) -> np.ndarray:
    """``n`` float images from ``generator`` for z ~ N(0, I) drawn with ``seed`` (not quantised) (lesson 09)."""
    z = keras.random.normal((n, generator.input_shape[-1]), seed=seed)
    return np.concatenate([ops.convert_to_numpy(generator(z[i:i + batch_size], training=False))
                           for i in range(0, n, batch_size)]).astype(np.float32)


# --------------------------------------------------------------------------- one round of the arms race
def straight_through_quantize(x):
    """8-bit rounding in the forward pass, identity gradient in the backward pass (lesson 09)."""
    q = ops.round((x + 1.0) * 127.5) / 127.5 - 1.0
    return x + ops.stop_gradient(q - x)


def finetune_against_detector(gan, detector, steps: int, weight: float = 1.0, batch_size: int = 64,
                              images=None, seed: int = 0) -> list:
    """Keep training ``gan`` on ``images`` with an extra generator loss that fools a frozen ``detector`` (lesson 09).

    Generator loss = non-saturating GAN loss + ``weight`` * softplus(detector logit of
    the 8-bit-quantised fake); the detector's logit is > 0 for "counterfeit", so
    the extra term pushes fakes to where the detector says "genuine". The
    discriminator keeps training as usual. Returns the extra term per step.
    """
    import tensorflow as tf

    from . import losses

    x = check_images(images)
    detector.trainable = False
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    g, d = gan.generator, gan.discriminator
    rng = keras.random.SeedGenerator(seed)

    @tf.function(autograph=False)  # plain tensor code: no Python control flow to convert
    def step(real):
        z = keras.random.normal((batch_size, gan.latent_dim), seed=rng)
        with tf.GradientTape() as tape:
            fake = g(z, training=True)
            d_loss = losses.discriminator_loss(d(real, training=True), d(fake, training=True))
        grads = tape.gradient(d_loss, d.trainable_variables)
        gan.d_optimizer.apply_gradients(zip(grads, d.trainable_variables))
        z = keras.random.normal((batch_size, gan.latent_dim), seed=rng)
        with tf.GradientTape() as tape:
            fake = g(z, training=True)
            fake_logits = d(fake, training=True)
            adv = bce(ops.ones_like(fake_logits), fake_logits)
            det_logit = detector(straight_through_quantize(fake), training=False)
            fool = ops.mean(ops.softplus(det_logit))
            loss = adv + weight * fool
        grads = tape.gradient(loss, g.trainable_variables)
        gan.g_optimizer.apply_gradients(zip(grads, g.trainable_variables))
        return fool

    out = []
    order = np.random.default_rng(seed)
    for _ in range(steps):
        idx = order.integers(0, len(x), batch_size)
        out.append(float(step(tf.constant(x[idx]))))
    return out


# --------------------------------------------------------------------------- anomaly scores (f-AnoGAN)
def discriminator_features(discriminator) -> keras.Model:
    """The discriminator's last hidden layer (the input of its logit layer), as a model (lesson 09)."""
    logit = discriminator.layers[-1]
    return keras.Model(discriminator.inputs, logit.input, name="d_features")


def build_encoder(latent_dim: int = 100, image_size: int = 28, base_filters: int = 16, seed: int | None = None):
    """f-AnoGAN's encoder: the DCGAN discriminator's conv stack ending in ``latent_dim`` outputs (lesson 09)."""
    start, k = models.upsampling_plan(image_size)
    image = keras.Input(shape=(image_size, image_size, 1), name="image")
    x, filters = image, base_filters
    for i in range(k):
        x = layers.Conv2D(filters, 5, strides=2, padding="same",
                          kernel_initializer=models._layer_init("dcgan", seed, i))(x)
        x = layers.LeakyReLU(0.2)(x)
        filters *= 2
    x = layers.Flatten()(x)
    z = layers.Dense(latent_dim, kernel_initializer=models._layer_init(None, seed, k), name="z")(x)
    return keras.Model(image, z, name="encoder")


def train_encoder(encoder, generator, d_features, images, steps: int, kappa: float = 1.0,
                  batch_size: int = 64, seed: int = 0) -> list:
    """izi_f training: fit E so that G(E(x)) ≈ x in pixels and in D's features; G and D frozen (lesson 09).

    Loss = mean (x - G(E(x)))^2 + kappa * mean (f(x) - f(G(E(x))))^2. Returns the loss per step.
    """
    import tensorflow as tf

    x = check_images(images)
    generator.trainable = False
    d_features.trainable = False
    opt = keras.optimizers.Adam(1e-3)

    @tf.function(autograph=False)  # plain tensor code: no Python control flow to convert
    def step(batch):
        with tf.GradientTape() as tape:
            rec = generator(encoder(batch, training=True), training=False)
            loss = (ops.mean((batch - rec) ** 2)
                    + kappa * ops.mean((d_features(batch, training=False) - d_features(rec, training=False)) ** 2))
        grads = tape.gradient(loss, encoder.trainable_variables)
        opt.apply_gradients(zip(grads, encoder.trainable_variables))
        return loss

    rng = np.random.default_rng(seed)
    return [float(step(tf.constant(x[rng.integers(0, len(x), batch_size)]))) for _ in range(steps)]


def anomaly_scores(images, encoder, generator, d_features, kappa: float = 1.0, batch_size: int = 500) -> np.ndarray:
    """f-AnoGAN's score per image: image residual + kappa * discriminator-feature residual (lesson 09)."""
    x = check_images(images)
    out = []
    for i in range(0, len(x), batch_size):
        b = x[i:i + batch_size]
        rec = generator(encoder(b, training=False), training=False)
        r_img = ops.mean((b - rec) ** 2, axis=(1, 2, 3))
        r_feat = ops.mean((d_features(b, training=False) - d_features(rec, training=False)) ** 2, axis=-1)
        out.append(ops.convert_to_numpy(r_img + kappa * r_feat))
    return np.concatenate(out).astype(np.float64)


def pca_errors(train, test, n_components: int = 20) -> np.ndarray:
    """Baseline: squared error of reconstructing each test image from a PCA fitted on ``train`` (lesson 09)."""
    from sklearn.decomposition import PCA

    a, b = pixel_features(check_images(train, "train")), pixel_features(check_images(test, "test"))
    pca = PCA(n_components=n_components, random_state=0).fit(a)
    rec = pca.inverse_transform(pca.transform(b))
    return np.mean((b - rec) ** 2, axis=1)


def nn_distances(train, test, batch_size: int = 1000) -> np.ndarray:
    """Baseline: pixel (L2) distance from each test image to its nearest ``train`` image (lesson 09)."""
    a, b = pixel_features(check_images(train, "train")), pixel_features(check_images(test, "test"))
    a2 = np.sum(a.astype(np.float64) ** 2, axis=1)
    out = []
    for i in range(0, len(b), batch_size):
        c = b[i:i + batch_size].astype(np.float64)
        d2 = np.sum(c ** 2, axis=1)[:, None] + a2[None, :] - 2 * c @ a.T.astype(np.float64)
        out.append(np.sqrt(np.maximum(d2.min(axis=1), 0)))
    return np.concatenate(out)


def auroc(genuine_scores, counterfeit_scores) -> float:
    """ROC AUC (scikit-learn) of a score that should be higher for counterfeits (lesson 09)."""
    from sklearn.metrics import roc_auc_score

    g, c = np.ravel(genuine_scores), np.ravel(counterfeit_scores)
    return float(roc_auc_score(np.r_[np.zeros(len(g)), np.ones(len(c))], np.r_[g, c]))


def checkerboard(images, amplitude: float = 0.05) -> np.ndarray:
    """Add a faint (-1)^(i+j) pattern of ``amplitude`` to each image and clip: a synthetic upsampling trace (lesson 09)."""
    x = check_images(images)
    h, w = x.shape[1:3]
    pattern = ((-1.0) ** np.add.outer(np.arange(h), np.arange(w)))[None, :, :, None]
    return np.clip(x + amplitude * pattern, -1, 1).astype(np.float32)
