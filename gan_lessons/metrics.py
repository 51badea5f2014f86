"""Measuring generated images: the domain classifier and FID (lessons 05 and 06).

Inception features mean little on 28x28 grey clothes, and Inception's weights
would have to be downloaded. The course measures in the feature space of a
small *domain classifier* instead: a CNN trained on the data set's own training
split. Its 128-d penultimate layer plays the role of Inception's pool features.

For Fashion-MNIST the weights ship with the package
(``gan_lessons/weights/fashion_mnist_classifier.weights.h5``, trained by
:func:`train_classifier` and checked by SHA-256 on load). For other data sets
the classifier is trained on first use and cached, with its checksum, under
:func:`gan_lessons.runtime.cache_dir`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from . import runtime

FEATURE_DIM = 128
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
CLASSIFIER_EPOCHS = 3
_CLASSIFIERS: dict = {}


def build_classifier(image_size: int = 28, channels: int = 1, n_classes: int = 10):
    """The domain classifier's architecture: two stride-2 convs, a 128-d feature layer, logits."""
    import keras
    from keras import layers

    image = keras.Input(shape=(image_size, image_size, channels), name="image")
    x = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(image)
    x = layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.3)(x)
    features = layers.Dense(FEATURE_DIM, activation="relu", name="features")(x)
    logits = layers.Dense(n_classes, name="logits")(features)
    return keras.Model(image, logits, name="domain_classifier")


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def train_classifier(dataset: str = "fashion_mnist", epochs: int = CLASSIFIER_EPOCHS, limit: int | None = None,
                     seed: int = 0, out: str | os.PathLike | None = None, verbose: int = 0):
    """Train the domain classifier on ``dataset``'s training split; save it atomically if ``out`` is given.

    Returns ``(model, test_accuracy)``. Fashion-MNIST reaches about 0.89 test
    accuracy in 3 epochs (under a minute on a 2-core CPU).
    """
    import keras

    from .data import load_images

    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs={epochs!r}: expected a positive int")
    runtime.seed_everything(seed)
    x, y = load_images(dataset, "train", limit=limit)
    xt, yt = load_images(dataset, "test")
    model = build_classifier(x.shape[1], x.shape[3])
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    model.fit(x, y, batch_size=128, epochs=epochs, verbose=verbose, shuffle=True)
    accuracy = float(model.evaluate(xt, yt, batch_size=1024, verbose=0)[1])
    if out is not None:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".part-", suffix=".weights.h5")
        os.close(fd)
        model.save_weights(tmp)
        digest = _file_sha256(Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
        meta = {"sha256": digest, "dataset": dataset, "epochs": epochs, "limit": limit,
                "test_accuracy": round(accuracy, 4), "seed": seed}
        side = out.with_suffix(".json")
        runtime.atomic_write(side, lambda fh: fh.write(json.dumps(meta, indent=1).encode()))
    return model, accuracy


def _weights_path(dataset: str) -> Path:
    """The weights in use: the shipped ones when complete (weights and sidecar), else the cache's."""
    shipped = WEIGHTS_DIR / f"{dataset}_classifier.weights.h5"
    if shipped.exists() and shipped.with_suffix(".json").exists():
        return shipped
    return Path(runtime.cache_dir()) / f"{dataset}_classifier.weights.h5"


def _read_sidecar(side: Path) -> dict:
    try:
        meta = json.loads(side.read_text())
        if not isinstance(meta, dict):
            raise ValueError("not a JSON object")
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"{side}: the classifier's sidecar is not valid JSON ({err}); "
                         + _remedy(side)) from err
    return meta


def _remedy(path: Path) -> str:
    if Path(path).resolve().parent == WEIGHTS_DIR.resolve():
        return "reinstall gan_lessons"
    return f"delete {Path(path).name} and its .json sidecar to retrain"


def classifier(dataset: str = "fashion_mnist"):
    """The domain classifier for ``dataset``: shipped or cached weights, else trained now and cached (lesson 06).

    Weights are checked against their sidecar's SHA-256 before use. Training
    writes only into :func:`gan_lessons.runtime.cache_dir`, never into the
    installed package; when shipped weights lack their sidecar it says so.
    """
    from .data import DATASETS

    if dataset not in DATASETS:
        raise ValueError(f"dataset={dataset!r}: expected one of {', '.join(DATASETS)}")
    if dataset in _CLASSIFIERS:
        return _CLASSIFIERS[dataset]
    path = _weights_path(dataset)
    side = path.with_suffix(".json")
    if path.exists() and side.exists():
        meta = _read_sidecar(side)
        if _file_sha256(path) != meta.get("sha256"):
            raise ValueError(f"{path}: SHA-256 does not match {side.name} (file damaged); {_remedy(path)}")
        from .data import load_images

        x, _ = load_images(dataset, "test", limit=1)
        model = build_classifier(x.shape[1], x.shape[3])
        try:
            model.load_weights(str(path))
        except Exception as err:  # noqa: BLE001 - any h5 failure: one clear message
            raise ValueError(f"{path}: cannot be loaded ({' '.join(str(err).split())[:200]}); "
                             f"{_remedy(path)}") from err
    else:
        shipped = WEIGHTS_DIR / f"{dataset}_classifier.weights.h5"
        if shipped.exists():
            import sys

            print(f"gan_lessons: {shipped.name} ships without its .json sidecar, so it cannot be checked; "
                  f"training a classifier for {dataset} into {path.parent} instead", file=sys.stderr)
        model, _ = train_classifier(dataset, out=path)
    _CLASSIFIERS[dataset] = model
    return model


def classifier_info(dataset: str = "fashion_mnist") -> dict:
    """Metadata of the classifier weights in use (test accuracy, epochs, SHA-256)."""
    classifier(dataset)
    return _read_sidecar(_weights_path(dataset).with_suffix(".json"))


def _as_images(images, name: str) -> np.ndarray:
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise ValueError(f"{name} has shape {x.shape}; expected (N, H, W, C) images in [-1, 1]")
    if len(x) < 2:
        raise ValueError(f"{name} holds {len(x)} images; expected at least 2")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or inf")
    return x


def _feature_model(dataset: str):
    import keras

    model = classifier(dataset)
    key = ("features", dataset)
    if key not in _CLASSIFIERS:
        _CLASSIFIERS[key] = keras.Model(model.input, [model.get_layer("features").output, model.output])
    return _CLASSIFIERS[key]


def features_and_logits(images, dataset: str = "fashion_mnist", batch_size: int = 500):
    """(features (N, 128), logits (N, 10)) of the domain classifier."""
    x = _as_images(images, "images")
    model = _feature_model(dataset)
    feats, logits = [], []
    for i in range(0, len(x), batch_size):
        f, lg = model(x[i:i + batch_size], training=False)
        feats.append(np.asarray(f))
        logits.append(np.asarray(lg))
    return np.concatenate(feats).astype(np.float64), np.concatenate(logits).astype(np.float64)


def features(images, dataset: str = "fashion_mnist", batch_size: int = 500) -> np.ndarray:
    """The domain classifier's 128-d features of ``images`` (N, H, W, 1) in [-1, 1] (lesson 06)."""
    return features_and_logits(images, dataset, batch_size)[0]


def predict_classes(images, dataset: str = "fashion_mnist") -> np.ndarray:
    """The classifier's predicted class of each image (for mode coverage, lesson 06)."""
    return features_and_logits(images, dataset)[1].argmax(axis=1)


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2) (lesson 06).

    ||mu1 - mu2||² + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^½)
    """
    from scipy import linalg

    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    sigma1, sigma2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (len(mu1), len(mu1)):
        raise ValueError(f"shapes do not agree: mu {mu1.shape}/{mu2.shape}, sigma {sigma1.shape}/{sigma2.shape}")
    import warnings

    with warnings.catch_warnings():  # dead ReLU features make the covariances singular
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1 @ sigma2)
        if not np.all(np.isfinite(covmean)):  # nudge both diagonals and try again
            eps = np.eye(len(mu1)) * 1e-6
            covmean = linalg.sqrtm((sigma1 + eps) @ (sigma2 + eps))
    covmean = np.real(covmean)
    diff = mu1 - mu2
    value = float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))
    return max(value, 0.0)


def fid_from_features(feat_a, feat_b) -> float:
    """FID between two sets of feature vectors (N, D)."""
    a, b = np.asarray(feat_a, np.float64), np.asarray(feat_b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sets have shapes {a.shape} and {b.shape}; expected (N, D) and (M, D)")
    return frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))


def fid(images_a, images_b, dataset: str = "fashion_mnist") -> float:
    """Fréchet distance between two image sets in the domain classifier's feature space (lessons 05, 06).

    Real against real gives about 0 (plus a small-sample bias, see lesson 06);
    noise scores in the hundreds.
    """
    return fid_from_features(features(images_a, dataset), features(images_b, dataset))


# --------------------------------------------------------------------------- lesson 06: beyond FID
def _as_features(x, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or len(a) < 2:
        raise ValueError(f"{name} has shape {a.shape}; expected (N, D) feature vectors with N >= 2")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or inf")
    return a


def _check_positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}={value!r}: expected a positive int")
    return int(value)


def polynomial_kernel(a, b, degree: int = 3, gamma: float | None = None, coef0: float = 1.0) -> np.ndarray:
    """k(x, y) = (γ x·y + c)^d with γ = 1/D by default: KID's cubic kernel (lesson 06)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    gamma = 1.0 / a.shape[1] if gamma is None else float(gamma)
    return (gamma * (a @ b.T) + coef0) ** degree


def mmd2_unbiased(feat_a, feat_b, degree: int = 3) -> float:
    """The unbiased estimate of the squared MMD with the cubic polynomial kernel (lesson 06).

    MMD²_u = mean_{i≠j} k(aᵢ, aⱼ) + mean_{i≠j} k(bᵢ, bⱼ) - 2 mean_{i,j} k(aᵢ, bⱼ).
    Leaving out the diagonal (i = j) is what makes it unbiased: its expectation is
    the true MMD², which is 0 for two samples of one distribution, so an estimate
    can come out slightly negative.
    """
    a, b = _as_features(feat_a, "feat_a"), _as_features(feat_b, "feat_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sets have shapes {a.shape} and {b.shape}; expected the same D")
    m, n = len(a), len(b)
    kaa = polynomial_kernel(a, a, degree)
    kbb = polynomial_kernel(b, b, degree)
    kab = polynomial_kernel(a, b, degree)
    term_a = (kaa.sum() - np.trace(kaa)) / (m * (m - 1))
    term_b = (kbb.sum() - np.trace(kbb)) / (n * (n - 1))
    return float(term_a + term_b - 2.0 * kab.mean())


def kid_from_features(feat_a, feat_b, n_subsets: int = 50, subset_size: int = 1000, seed: int = 0):
    """Kernel Inception Distance (Bińkowski et al. 2018) between two feature sets (lesson 06).

    The mean of :func:`mmd2_unbiased` over ``n_subsets`` random subsets of
    ``subset_size`` vectors from each set (capped at the smaller set's size).
    Returns ``(mean, std)`` over the subsets.
    """
    a, b = _as_features(feat_a, "feat_a"), _as_features(feat_b, "feat_b")
    n_subsets = _check_positive_int("n_subsets", n_subsets)
    size = min(_check_positive_int("subset_size", subset_size), len(a), len(b))
    rng = np.random.default_rng(seed)
    values = [mmd2_unbiased(a[rng.choice(len(a), size, replace=False)],
                            b[rng.choice(len(b), size, replace=False)]) for _ in range(n_subsets)]
    return float(np.mean(values)), float(np.std(values))


def kid(images_a, images_b, dataset: str = "fashion_mnist", n_subsets: int = 50, subset_size: int = 1000,
        seed: int = 0):
    """KID between two image sets in the domain classifier's feature space: ``(mean, std)`` (lesson 06)."""
    return kid_from_features(features(images_a, dataset), features(images_b, dataset), n_subsets, subset_size, seed)


def _pairwise_sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    return np.maximum(d, 0.0)


def knn_radii(feats, k: int = 3, batch_size: int = 1000) -> np.ndarray:
    """Distance from each vector to its k-th nearest neighbour in the same set, itself excluded (lesson 06)."""
    x = _as_features(feats, "feats")
    k = _check_positive_int("k", k)
    if k >= len(x):
        raise ValueError(f"k={k} needs more than {k} vectors; got {len(x)}")
    radii = np.empty(len(x))
    for i in range(0, len(x), batch_size):
        d = _pairwise_sq_dists(x[i:i + batch_size], x)
        # the k+1 smallest distances include the vector itself (distance 0)
        radii[i:i + batch_size] = np.sqrt(np.partition(d, k, axis=1)[:, k])
    return radii


def _inside_manifold(points: np.ndarray, centres: np.ndarray, radii: np.ndarray, batch_size: int) -> np.ndarray:
    inside = np.zeros(len(points), dtype=bool)
    r2 = radii ** 2
    for i in range(0, len(points), batch_size):
        d = _pairwise_sq_dists(points[i:i + batch_size], centres)
        inside[i:i + batch_size] = (d <= r2[None, :]).any(axis=1)
    return inside


def precision_recall_from_features(real_feats, fake_feats, k: int = 3, batch_size: int = 1000) -> dict:
    """Improved precision and recall (Kynkäänniemi et al. 2019, NeurIPS) on feature vectors (lesson 06).

    Each set's *manifold* is the union of balls around its vectors, each ball's
    radius the distance to that vector's k-th nearest neighbour in its own set.
    Precision: the share of fake vectors inside the real manifold (are the
    samples realistic?). Recall: the share of real vectors inside the fake
    manifold (is all of the data covered?). Works on any features, including
    raw 2-D points (lesson 07).
    """
    real = _as_features(real_feats, "real_feats")
    fake = _as_features(fake_feats, "fake_feats")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"feature sets have shapes {real.shape} and {fake.shape}; expected the same D")
    batch_size = _check_positive_int("batch_size", batch_size)
    real_r = knn_radii(real, k, batch_size)
    fake_r = knn_radii(fake, k, batch_size)
    precision = float(_inside_manifold(fake, real, real_r, batch_size).mean())
    recall = float(_inside_manifold(real, fake, fake_r, batch_size).mean())
    return {"precision": precision, "recall": recall}


def precision_recall(real_images, fake_images, dataset: str = "fashion_mnist", k: int = 3) -> dict:
    """Improved precision/recall of ``fake_images`` against ``real_images`` in classifier feature space (lesson 06)."""
    return precision_recall_from_features(features(real_images, dataset), features(fake_images, dataset), k)


def mode_coverage_from_classes(classes, n_classes: int = 10, min_share: float | None = None) -> dict:
    """Mode coverage from predicted classes (lesson 06).

    A class counts as covered when it receives at least ``min_share`` of the
    samples (default: a quarter of its fair share, 0.25 / n_classes). Also
    returns the class shares, their entropy (nats; log n_classes when
    uniform) and the KL divergence from the shares to the uniform
    distribution (0 when uniform, log n_classes when all samples fall in
    one class).
    """
    n_classes = _check_positive_int("n_classes", n_classes)
    c = np.asarray(classes)
    if c.ndim != 1 or len(c) == 0 or not np.issubdtype(c.dtype, np.integer):
        raise ValueError(f"classes has shape {c.shape} and dtype {c.dtype}; expected a non-empty 1-D int array")
    if c.min() < 0 or c.max() >= n_classes:
        raise ValueError(f"classes range over [{c.min()}, {c.max()}]; expected values in [0, {n_classes})")
    if min_share is None:
        min_share = 0.25 / n_classes
    if not isinstance(min_share, (int, float)) or not 0.0 < min_share <= 1.0:
        raise ValueError(f"min_share={min_share!r}: expected a float in (0, 1]")
    counts = np.bincount(c, minlength=n_classes)
    shares = counts / counts.sum()
    nz = shares[shares > 0]
    entropy = float(-(nz * np.log(nz)).sum())
    return {"modes": int((shares >= min_share).sum()), "counts": counts, "shares": shares,
            "entropy": entropy, "kl_to_uniform": float(np.log(n_classes) - entropy)}


def mode_coverage(images, dataset: str = "fashion_mnist", min_share: float | None = None) -> dict:
    """Mode coverage of ``images``: the histogram of the domain classifier's predicted classes (lesson 06)."""
    logits = features_and_logits(images, dataset)[1]
    return mode_coverage_from_classes(logits.argmax(axis=1), logits.shape[1], min_share)


def toy_mode_coverage(samples, name: str = "ring", n_std: float = 3.0, min_share: float | None = None) -> dict:
    """Mode coverage of 2-D samples of a toy distribution with known mode centres (lesson 07).

    A sample is *high quality* when it lies within ``n_std`` standard deviations
    of a mode's centre; a mode counts as covered when it receives at least
    ``min_share`` of all samples (default: a quarter of its fair share).
    Returns modes covered, the high-quality share and per-mode counts.
    """
    from .data import TOY_STD, toy_modes

    centres = toy_modes(name)
    if len(centres) == 0:
        raise ValueError(f"name={name!r} has no discrete modes; expected 'ring' or 'grid'")
    x = np.asarray(samples, np.float64)
    if x.ndim != 2 or x.shape[1] != 2 or len(x) == 0:
        raise ValueError(f"samples has shape {x.shape}; expected (N, 2)")
    if min_share is None:
        min_share = 0.25 / len(centres)
    d = np.sqrt(_pairwise_sq_dists(np.nan_to_num(x, nan=1e6), centres.astype(np.float64)))
    nearest = d.argmin(axis=1)
    good = d[np.arange(len(x)), nearest] <= n_std * TOY_STD[name]
    counts = np.bincount(nearest[good], minlength=len(centres))
    return {"modes": int((counts / len(x) >= min_share).sum()), "n_modes": len(centres),
            "high_quality": float(good.mean()), "counts": counts}


def fid_by_sample_size(feat_a, feat_b, sizes, seed: int = 0) -> dict:
    """FID between the first n vectors of two shuffled feature sets, for each n in ``sizes`` (lesson 06).

    Shows FID's small-sample bias: two samples of the *same* distribution get
    a positive FID that shrinks roughly like 1/n.
    """
    a, b = _as_features(feat_a, "feat_a"), _as_features(feat_b, "feat_b")
    rng = np.random.default_rng(seed)
    a, b = a[rng.permutation(len(a))], b[rng.permutation(len(b))]
    out = {}
    for n in sizes:
        n = _check_positive_int("sizes[...]", n)
        if n > min(len(a), len(b)) or n < 2:
            raise ValueError(f"sample size {n} needs 2 <= n <= {min(len(a), len(b))} vectors in each set")
        out[n] = fid_from_features(a[:n], b[:n])
    return out


def inception_score_from_logits(logits) -> float:
    """The Inception Score formula (Salimans et al. 2016) applied to any classifier's logits (lesson 06).

    IS = exp( mean over x of KL(p(y|x) || p(y)) ), with p(y) the mean of p(y|x).
    It is high when each image is classified confidently *and* the classes are
    balanced; it never looks at real data. Ranges over [1, number of classes].
    """
    lg = np.asarray(logits, np.float64)
    if lg.ndim != 2 or len(lg) == 0:
        raise ValueError(f"logits has shape {lg.shape}; expected (N, n_classes)")
    lg = lg - lg.max(axis=1, keepdims=True)
    log_p = lg - np.log(np.exp(lg).sum(axis=1, keepdims=True))
    p = np.exp(log_p)
    log_marginal = np.log(p.mean(axis=0) + 1e-300)
    kl = (p * (log_p - log_marginal)).sum(axis=1)
    return float(np.exp(kl.mean()))


# --------------------------------------------------------------------------- lesson 08: label fidelity and clusters
def label_fidelity(images, labels, dataset: str = "fashion_mnist", n_classes: int = 10) -> dict:
    """How often the domain classifier sees the class each image was asked for (lesson 08).

    Returns ``accuracy`` (overall), ``per_class`` (n_classes,) and ``confusion``
    (rows: asked-for class, columns: class seen; counts), from
    ``sklearn.metrics.confusion_matrix``.
    """
    from sklearn.metrics import confusion_matrix

    y = np.asarray(labels).astype(np.int64).reshape(-1)
    x = _as_images(images, "images")
    if len(y) != len(x):
        raise ValueError(f"labels holds {len(y)} values for {len(x)} images; expected one label per image")
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"labels range over {y.min()}..{y.max()}; expected 0..{n_classes - 1}")
    pred = predict_classes(x, dataset)
    conf = confusion_matrix(y, pred, labels=np.arange(n_classes))
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.diag(conf) / conf.sum(axis=1)
    return {"accuracy": float((pred == y).mean()), "per_class": per_class, "confusion": conf, "predicted": pred}


def cluster_accuracy(true_labels, cluster_ids) -> float:
    """Accuracy after the best one-to-one matching of clusters to classes (Hungarian method) (lesson 08).

    Uses ``scipy.optimize.linear_sum_assignment`` on the contingency table, so
    cluster numbers that are a permutation of the classes score 1.0.
    """
    from scipy.optimize import linear_sum_assignment
    from sklearn.metrics.cluster import contingency_matrix

    t = np.asarray(true_labels).reshape(-1)
    c = np.asarray(cluster_ids).reshape(-1)
    if len(t) != len(c) or len(t) == 0:
        raise ValueError(f"true_labels ({len(t)}) and cluster_ids ({len(c)}) must be non-empty and of one length")
    table = contingency_matrix(t, c)
    rows, cols = linear_sum_assignment(-table)
    return float(table[rows, cols].sum() / len(t))


def class_diversity(images, labels, n_classes: int = 10, per_class: int = 100) -> np.ndarray:
    """Mean pixel distance between two images of the same class, per class (lesson 08).

    For each class, the mean Euclidean distance over all pairs among its first
    ``per_class`` images. A generator that ignores its noise for a class scores
    0 there; dividing by the same number for real images of the class gives a
    ratio near 1 for a generator as varied as the data. Classes with fewer than
    two images get NaN.
    """
    x = _as_images(images, "images")
    x = x.reshape(x.shape[0], -1).astype(np.float64)
    y = np.asarray(labels).astype(np.int64).reshape(-1)
    if len(y) != len(x):
        raise ValueError(f"labels holds {len(y)} values for {len(x)} images; expected one label per image")
    if not isinstance(per_class, int) or per_class < 2:
        raise ValueError(f"per_class={per_class!r}: expected an int >= 2")
    out = np.full(n_classes, np.nan)
    for c in range(n_classes):
        v = x[y == c][:per_class]
        if len(v) >= 2:
            sq = (v * v).sum(1)
            d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * v @ v.T, 0.0)
            out[c] = np.sqrt(d2[np.triu_indices(len(v), 1)]).mean()
    return out
