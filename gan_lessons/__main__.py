"""The command line: ``python -m gan_lessons {lessons,render,badges,...}``.

Each sub-command is one function here; bad arguments print one line and exit 2.
"""

from __future__ import annotations

import argparse
import sys


class UsageError(Exception):
    """A bad command-line argument: printed as one line, exit code 2."""


def cmd_lessons(args) -> int:
    from .course import LESSONS, NOTEBOOKS

    for num, slug, title, learn in LESSONS:
        present = (NOTEBOOKS / f"{num}_{slug}.ipynb").exists()
        print(f"{num}  {title:<32} {learn}{'' if present else '  (not written yet)'}")
    return 0


def cmd_render(args) -> int:
    from pathlib import Path

    from .course import main_render

    for p in args.notebooks:
        if not Path(p).is_file():
            raise UsageError(f"render: {p!r} is not a notebook file")
    return main_render(args.notebooks, quick=args.quick)


def cmd_badges(args) -> int:
    from .course import update_badges

    for path in update_badges():
        print("updated", path)
    return 0


class _OneLineParser(argparse.ArgumentParser):
    """A sub-command parser whose errors are one line (no usage block), exit code 2."""

    def error(self, message):
        print(f"error: {self.prog}: {message}", file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="python -m gan_lessons", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_OneLineParser)

    p = sub.add_parser("lessons", help="list the lessons")
    p.set_defaults(func=cmd_lessons)

    p = sub.add_parser("render", help="re-execute notebooks in full mode and store their outputs")
    p.add_argument("notebooks", nargs="+")
    p.add_argument("--quick", action="store_true", help="render in quick mode (a preview; the tests reject it)")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("badges", help="rewrite the README lesson table and the Colab cells from pyproject.toml")
    p.set_defaults(func=cmd_badges)

    _register_training_commands(sub)
    _register_conditional_options(sub)
    return parser


# --------------------------------------------------------------------------- train, sample, bench (lessons 04-05)
DATASET_CHOICES = ("fashion_mnist", "mnist", "digits")
CHECKPOINT_NAME = "checkpoint.npz"


def _writable_dir(path, option: str):
    """Raise UsageError unless ``path`` is (or can be created as) a writable directory; creates nothing."""
    import os
    from pathlib import Path

    p = Path(path)
    if p.exists():
        if not p.is_dir():
            raise UsageError(f"{option} {str(p)!r} exists and is not a directory")
        if not os.access(p, os.W_OK | os.X_OK):
            raise UsageError(f"{option} {str(p)!r} is not writable")
        return p
    parent = p.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {str(p)!r} cannot be created: {str(parent)!r} is not a writable directory")
    return p


def _writable_file(path, option: str):
    import os
    from pathlib import Path

    p = Path(path)
    if p.exists() and (p.is_dir() or not os.access(p, os.W_OK)):
        raise UsageError(f"{option} {str(p)!r} is not a writable file")
    _writable_dir(p.absolute().parent, option + " (its folder)")
    return p


def _read_checkpoint_meta(path) -> dict:
    import json

    import numpy as np

    try:
        with np.load(path) as data:
            return json.loads(bytes(data["__meta__"]).decode())
    except (OSError, ValueError, KeyError) as err:
        raise UsageError(f"--resume: {str(path)!r} is not a readable checkpoint ({err.__class__.__name__})") from err


def cmd_train(args) -> int:
    import json
    import math
    import os
    import tempfile
    import time

    # 1. validate everything before touching anything
    if args.dataset not in DATASET_CHOICES:
        raise UsageError(f"--dataset {args.dataset!r}: expected one of {', '.join(DATASET_CHOICES)}")
    if args.steps is not None and args.steps < 1:
        raise UsageError(f"--steps {args.steps}: expected a positive number of steps (the run's total)")
    if args.minutes is not None and not (math.isfinite(args.minutes) and args.minutes > 0):
        raise UsageError(f"--minutes {args.minutes}: expected a positive number of minutes")
    if args.batch_size is not None and args.batch_size < 1:
        raise UsageError(f"--batch-size {args.batch_size}: expected a positive int")
    out = _writable_dir(args.out, "--out")
    ckpt = out / CHECKPOINT_NAME
    meta = None
    if args.resume:
        if not ckpt.is_file():
            raise UsageError(f"--resume: {str(out)!r} holds no checkpoint ({CHECKPOINT_NAME})")
        meta = _read_checkpoint_meta(ckpt).get("extra", {})
        if meta.get("dataset") != args.dataset:
            raise UsageError(f"--resume: the checkpoint in {str(out)!r} was trained on {meta.get('dataset')!r}, "
                             f"not {args.dataset!r}")
        if args.batch_size is not None and args.batch_size != meta.get("batch_size"):
            raise UsageError(f"--batch-size {args.batch_size}: the checkpoint was trained with batch size "
                             f"{meta.get('batch_size')}; an exact resume needs the same")
    elif ckpt.exists():
        raise UsageError(f"--out {str(out)!r} already holds a run: pass --resume or choose another --out")

    from . import plots, runtime, training
    from .data import load_images

    try:
        images, _ = load_images(args.dataset, "train")
    except Exception as err:  # a missing data set: say how to get it, in one line
        raise UsageError(f"--dataset {args.dataset}: {str(err).splitlines()[0]}") from err
    batch_size = meta["batch_size"] if meta else (args.batch_size or training.COURSE_RECIPE["batch_size"])
    if batch_size > len(images):
        raise UsageError(f"--batch-size {batch_size}: larger than the {len(images)} training images")
    precision = meta["precision"] if meta else args.precision
    seed = meta["seed"] if meta else args.seed
    gan, precision = training.build_course_gan(images.shape[1], precision, seed=seed)
    extra = {"dataset": args.dataset, "batch_size": batch_size, "precision": precision, "seed": seed,
             "image_size": int(images.shape[1]), "base_filters": training.COURSE_RECIPE["base_filters"],
             "learning_rate": training.COURSE_RECIPE["learning_rate"], "beta_1": training.COURSE_RECIPE["beta_1"]}
    if args.resume:
        try:
            gan.load_checkpoint(ckpt)
        except ValueError as err:
            raise UsageError(f"--resume: {err}") from err
    start = gan.current_step
    if args.steps is None and args.minutes is None:
        args.minutes = 5.0
    total = args.steps if args.steps is not None else 10**12

    # 2. train
    out.mkdir(parents=True, exist_ok=True)
    cbs = [training.Checkpoint(ckpt, every_n_steps=250, extra=extra),
           training.StopAfter(seconds=None if args.minutes is None else args.minutes * 60),
           training.ProgressBar(total=args.steps, initial=start, desc=f"train {args.dataset}")]
    t0 = time.perf_counter()
    try:
        training.fit_steps(gan, images, total, batch_size=batch_size, data_seed=seed, steps_per_epoch=10**6,
                           callbacks=cbs)
    except KeyboardInterrupt:
        gan.save_checkpoint(ckpt, extra=extra)
        print(f"\ninterrupted at step {gan.current_step}; checkpoint saved, continue with --resume",
              file=sys.stderr)
        raise
    wall = time.perf_counter() - t0
    if gan.current_step != start and (not cbs[0].saved_steps or cbs[0].saved_steps[-1] != gan.current_step):
        gan.save_checkpoint(ckpt, extra=extra)

    # 3. outputs, each written atomically
    from .models import dcgan_generator

    size, filters = int(images.shape[1]), training.COURSE_RECIPE["base_filters"]
    generator = training.float32_copy(
        lambda: dcgan_generator(latent_dim=training.LATENT_DIM, image_size=size, base_filters=filters), gan.generator)
    fd, tmp = tempfile.mkstemp(dir=out, prefix=".part-", suffix=".keras")
    os.close(fd)
    try:
        generator.save(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out / "generator.keras")
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    plots.save_grid_png(gan.generate(64, seed=0), out / "samples.png")
    steps_run = gan.current_step - start
    fid_value = training.sample_fid(gan, args.dataset, n=min(2000, len(images)))
    result = {"dataset": args.dataset, "steps": gan.current_step, "steps_this_run": steps_run,
              "batch_size": batch_size, "images_per_s": round(steps_run * batch_size / max(wall, 1e-9), 1),
              "fid": round(fid_value, 3), "wall_seconds": round(wall, 1), "precision": precision,
              "resumed_from": start if args.resume else None}
    runtime.atomic_write(out / "metrics.json", lambda fh: fh.write(json.dumps(result, indent=1).encode()))
    import keras

    keras.mixed_precision.set_global_policy("float32")
    print(json.dumps(result))
    return 0


def cmd_sample(args) -> int:
    import os
    from pathlib import Path

    model_path = Path(args.model)
    if not model_path.is_file() or model_path.suffix != ".keras":
        raise UsageError(f"--model {args.model!r}: expected an existing .keras file (as written by train)")
    if args.n < 1:
        raise UsageError(f"--n {args.n}: expected a positive number of images")
    out = _writable_file(args.out, "--out")
    if out.suffix.lower() != ".png":
        raise UsageError(f"--out {args.out!r}: expected a .png file name")
    import keras
    import numpy as np

    from . import plots

    try:
        model = keras.models.load_model(model_path, compile=False)
    except Exception as err:
        raise UsageError(f"--model {args.model!r}: cannot be loaded ({err.__class__.__name__})") from err
    latent = int(model.input_shape[-1])
    z = keras.random.normal((args.n, latent), seed=args.seed)
    images = np.asarray(model(z, training=False))
    plots.save_grid_png(images, out, ncols=int(np.ceil(np.sqrt(args.n))))
    print(f"wrote {args.n} samples to {os.fspath(out)}")
    return 0


def cmd_bench(args) -> int:
    import json
    import math

    if not (math.isfinite(args.minutes) and args.minutes > 0):
        raise UsageError(f"--minutes {args.minutes}: expected a positive number of minutes")
    if args.dataset not in DATASET_CHOICES:
        raise UsageError(f"--dataset {args.dataset!r}: expected one of {', '.join(DATASET_CHOICES)}")
    out = None if args.out is None else _writable_file(args.out, "--out")
    from . import runtime, training

    rows = training.bench(minutes=args.minutes, dataset=args.dataset)
    table = training.bench_table(rows, args.minutes)
    print(table)
    if out is not None:
        runtime.atomic_write(out, lambda fh: fh.write(json.dumps({"minutes": args.minutes, "rows": rows,
                                                                    "table": table}, indent=1).encode()))
    return 0


def _register_training_commands(sub) -> None:
    p = sub.add_parser("train", help="train the course's DCGAN (the recipe of lesson 04)")
    p.add_argument("--dataset", default="fashion_mnist", help=f"one of {', '.join(DATASET_CHOICES)}")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--minutes", type=float, help="train for this many minutes (default 5)")
    length.add_argument("--steps", type=int, help="train until the run has this many steps in total")
    p.add_argument("--batch-size", type=int, default=None, help="batch size (default 64; a resume keeps its own)")
    p.add_argument("--out", default="gan_run", help="output folder (default ./gan_run)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    p.add_argument("--precision", default="auto", choices=("auto", "float32", "mixed_bfloat16", "mixed_float16"),
                   help="auto: bf16 on CPUs that support it, fp16 on GPUs, else float32")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("sample", help="draw a grid of samples from a trained generator")
    p.add_argument("--model", required=True, help="DIR/generator.keras written by train")
    p.add_argument("--n", type=int, default=64, help="number of images (default 64)")
    p.add_argument("--out", default="grid.png", help="PNG file to write (default grid.png)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("bench", help="the TF tutorial's recipe against the course's, same data and wall time")
    p.add_argument("--minutes", type=float, default=5.0, help="training minutes per recipe (default 5)")
    p.add_argument("--dataset", default="fashion_mnist")
    p.add_argument("--out", default=None, help="also write the results as JSON here")
    p.set_defaults(func=cmd_bench)


# --------------------------------------------------------------------------- conditional models (lesson 08)
CONDITIONAL_DATASETS = DATASET_CHOICES


def _label_arg(text: str) -> int:
    """argparse type for --label: an integer class number 0..9."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer; expected a class number 0..9") from None
    if not 0 <= value <= 9:
        raise argparse.ArgumentTypeError(f"{value} is outside 0..9; expected a class number 0..9")
    return value


def cmd_train_conditional(args) -> int:
    """``train --conditional``: the course recipe as a conditional GAN with a projection discriminator."""
    import json
    import math
    import os
    import tempfile
    import time

    if args.dataset not in CONDITIONAL_DATASETS:
        raise UsageError(f"--dataset {args.dataset!r}: expected one of {', '.join(CONDITIONAL_DATASETS)}")
    if args.steps is not None and args.steps < 1:
        raise UsageError(f"--steps {args.steps}: expected a positive number of steps (the run's total)")
    if args.minutes is not None and not (math.isfinite(args.minutes) and args.minutes > 0):
        raise UsageError(f"--minutes {args.minutes}: expected a positive number of minutes")
    if args.batch_size is not None and args.batch_size < 1:
        raise UsageError(f"--batch-size {args.batch_size}: expected a positive int")
    out = _writable_dir(args.out, "--out")
    ckpt = out / CHECKPOINT_NAME
    meta = None
    if args.resume:
        if not ckpt.is_file():
            raise UsageError(f"--resume: {str(out)!r} holds no checkpoint ({CHECKPOINT_NAME})")
        meta = _read_checkpoint_meta(ckpt).get("extra", {})
        if not meta.get("conditional"):
            raise UsageError(f"--resume: the checkpoint in {str(out)!r} is not a conditional run (drop --conditional)")
        if meta.get("dataset") != args.dataset:
            raise UsageError(f"--resume: the checkpoint in {str(out)!r} was trained on {meta.get('dataset')!r}, "
                             f"not {args.dataset!r}")
    elif ckpt.exists():
        raise UsageError(f"--out {str(out)!r} already holds a run: pass --resume or choose another --out")

    from . import metrics, plots, runtime, training
    from .data import load_images

    try:
        images, labels = load_images(args.dataset, "train")
    except Exception as err:
        raise UsageError(f"--dataset {args.dataset}: {str(err).splitlines()[0]}") from err
    batch_size = meta["batch_size"] if meta else (args.batch_size or training.COURSE_RECIPE["batch_size"])
    if batch_size > len(images):
        raise UsageError(f"--batch-size {batch_size}: larger than the {len(images)} training images")
    seed = meta["seed"] if meta else args.seed
    size = int(images.shape[1])
    gan, precision = training.build_conditional_gan(meta["precision"] if meta else args.precision, seed=seed,
                                                    image_size=size)
    extra = {"dataset": args.dataset, "conditional": True, "batch_size": batch_size, "precision": precision,
             "seed": seed, "base_filters": training.COURSE_RECIPE["base_filters"],
             "learning_rate": training.COURSE_RECIPE["learning_rate"], "beta_1": training.COURSE_RECIPE["beta_1"]}
    if args.resume:
        try:
            gan.load_checkpoint(ckpt)
        except ValueError as err:
            raise UsageError(f"--resume: {err}") from err
    start = gan.current_step
    if args.steps is None and args.minutes is None:
        args.minutes = 5.0
    total = args.steps if args.steps is not None else 10**12
    out.mkdir(parents=True, exist_ok=True)
    cbs = [training.Checkpoint(ckpt, every_n_steps=250, extra=extra),
           training.StopAfter(seconds=None if args.minutes is None else args.minutes * 60),
           training.ProgressBar(total=args.steps, initial=start, desc=f"train --conditional {args.dataset}")]
    t0 = time.perf_counter()
    try:
        training.fit_conditional_steps(gan, images, labels, total, batch_size=batch_size, data_seed=seed,
                                       steps_per_epoch=10**6, callbacks=cbs)
    except KeyboardInterrupt:
        gan.save_checkpoint(ckpt, extra=extra)
        print(f"\ninterrupted at step {gan.current_step}; checkpoint saved, continue with --resume", file=sys.stderr)
        raise
    wall = time.perf_counter() - t0
    if gan.current_step != start and (not cbs[0].saved_steps or cbs[0].saved_steps[-1] != gan.current_step):
        gan.save_checkpoint(ckpt, extra=extra)

    generator = training.float32_copy(lambda: training.course_conditional_generator(image_size=size), gan.generator)
    fd, tmp = tempfile.mkstemp(dir=out, prefix=".part-", suffix=".keras")
    os.close(fd)
    try:
        generator.save(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out / "generator.keras")
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    import numpy as np

    grid_labels = np.repeat(np.arange(10), 8)
    plots.save_grid_png(training.conditional_generate(generator, grid_labels, seed=0), out / "samples.png")
    test, test_labels = load_images(args.dataset, "test", limit=min(2000, len(images)))
    fake = training.conditional_generate(generator, test_labels, seed=123)
    fidelity = metrics.label_fidelity(fake, test_labels, dataset=args.dataset)
    steps_run = gan.current_step - start
    result = {"dataset": args.dataset, "conditional": True, "steps": gan.current_step,
              "steps_this_run": steps_run, "batch_size": batch_size,
              "images_per_s": round(steps_run * batch_size / max(wall, 1e-9), 1),
              "fid": round(float(metrics.fid(test, fake, dataset=args.dataset)), 3),
              "label_accuracy": round(fidelity["accuracy"], 4), "wall_seconds": round(wall, 1),
              "precision": precision, "resumed_from": start if args.resume else None}
    runtime.atomic_write(out / "metrics.json", lambda fh: fh.write(json.dumps(result, indent=1).encode()))
    import keras

    keras.mixed_precision.set_global_policy("float32")
    print(json.dumps(result))
    return 0


def cmd_sample_conditional(args) -> int:
    """``sample --label K``: a grid of class K from a conditional generator.keras."""
    import os
    from pathlib import Path

    model_path = Path(args.model)
    if not model_path.is_file() or model_path.suffix != ".keras":
        raise UsageError(f"--model {args.model!r}: expected an existing .keras file (as written by train)")
    if args.n < 1:
        raise UsageError(f"--n {args.n}: expected a positive number of images")
    out = _writable_file(args.out, "--out")
    if out.suffix.lower() != ".png":
        raise UsageError(f"--out {args.out!r}: expected a .png file name")
    import keras
    import numpy as np

    from . import plots, training

    try:
        model = keras.models.load_model(model_path, compile=False)
    except Exception as err:
        raise UsageError(f"--model {args.model!r}: cannot be loaded ({err.__class__.__name__})") from err
    if len(model.inputs) != 2:
        raise UsageError(f"--label {args.label}: {args.model!r} is not a conditional generator "
                         "(train it with --conditional, or drop --label)")
    latent = int(model.inputs[0].shape[-1])
    images = training.conditional_generate(model, np.full(args.n, args.label), seed=args.seed, latent_dim=latent)
    plots.save_grid_png(images, out, ncols=int(np.ceil(np.sqrt(args.n))))
    print(f"wrote {args.n} samples of class {args.label} to {os.fspath(out)}")
    return 0


def _train_or_conditional(args) -> int:
    return cmd_train_conditional(args) if args.conditional else cmd_train(args)


def _sample_or_conditional(args) -> int:
    if args.label is not None:
        return cmd_sample_conditional(args)
    from pathlib import Path

    path = Path(args.model)
    if path.is_file() and path.suffix == ".keras":
        import keras

        try:
            model = keras.models.load_model(path, compile=False)
        except Exception:
            model = None
        if model is not None and len(model.inputs) == 2:
            raise UsageError(f"--model {args.model!r} is a conditional generator: pass --label 0..9")
    return cmd_sample(args)


def _register_conditional_options(sub) -> None:
    p = sub.choices["train"]
    p.add_argument("--conditional", action="store_true",
                   help="train a conditional GAN (projection discriminator, lesson 08)")
    p.set_defaults(func=_train_or_conditional)
    p = sub.choices["sample"]
    p.add_argument("--label", type=_label_arg, default=None,
                   help="class number 0..9 for a conditional generator (train --conditional)")
    p.set_defaults(func=_sample_or_conditional)


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse already printed its one-line error
        return int(exit_.code or 0)
    try:
        return int(args.func(args) or 0)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
