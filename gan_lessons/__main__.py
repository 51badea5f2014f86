"""The command line: ``python -m gan_lessons {lessons,render,badges,...}``.

Each sub-command is one function here; bad arguments print one line and exit 2.
"""

from __future__ import annotations

import argparse
import sys


class UsageError(Exception):
    """A bad command-line argument: printed as one line, exit code 2."""


def _course_root(args, command: str):
    """The course repository for a course-tooling command: ``--repo``, the current folder, or the package's."""
    from .course import find_root

    try:
        return find_root(getattr(args, "repo", None))
    except ValueError as err:
        raise UsageError(f"{command}: {err}") from err


def cmd_lessons(args) -> int:
    from .course import LESSONS, find_root

    try:
        root = find_root(args.repo)
    except ValueError as err:
        if args.repo is not None:
            raise UsageError(f"lessons: {err}") from err
        root = None
    for num, slug, title, learn in LESSONS:
        present = root is None or (root / "notebooks" / f"{num}_{slug}.ipynb").exists()
        print(f"{num}  {title:<32} {learn}{'' if present else '  (not written yet)'}")
    if root is None:
        print("note: not inside the course repository, so which lessons are written is not shown; "
              "run this in a checkout of the course or pass --repo PATH", file=sys.stderr)
    return 0


def cmd_render(args) -> int:
    from pathlib import Path

    from .course import main_render, read_notebook, stale_notebooks

    if args.stale or args.check:
        if args.notebooks:
            raise UsageError("render: give notebook files or --stale/--check, not both")
        root = _course_root(args, "render")
        stale = stale_notebooks(root)
        if args.check or not stale:
            for path, problems in stale:
                print(f"{path.relative_to(root)}: {problems[0]}")
            if not stale:
                print("every notebook's stored outputs are fresh", file=sys.stderr)
            return 1 if (stale and args.check) else 0
        return main_render([str(path) for path, _ in stale], quick=args.quick)
    if not args.notebooks:
        raise UsageError("render: give notebook files, or --stale (re-render the stale ones), or --check (list them)")
    for p in args.notebooks:
        if not Path(p).is_file():
            raise UsageError(f"render: {p!r} is not a notebook file")
        try:
            read_notebook(p)
        except ValueError as err:
            raise UsageError(f"render: {err}") from err
    return main_render(args.notebooks, quick=args.quick)


def cmd_badges(args) -> int:
    from .course import update_badges

    root = _course_root(args, "badges")
    for path in update_badges(root):
        print("updated", path)
    return 0


def cmd_student(args) -> int:
    from .course import write_student_copies

    root = _course_root(args, "student")
    try:
        written = write_student_copies(args.out, root)
    except ValueError as err:
        raise UsageError(f"student: {err}") from err
    except OSError as err:
        raise UsageError(f"student: --out {args.out!r} cannot be written ({err.strerror or err})") from err
    for path in written:
        print("wrote", path)
    return 0


class _OneLineParser(argparse.ArgumentParser):
    """A sub-command parser whose errors are one line (no usage block), exit code 2."""

    def error(self, message):
        print(f"error: {self.prog}: {message}", file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="python -m gan_lessons", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_OneLineParser)
    repo_help = "the course repository (default: the current folder or one above it)"

    p = sub.add_parser("lessons", help="list the lessons")
    p.add_argument("--repo", default=None, help=repo_help)
    p.set_defaults(func=cmd_lessons)

    p = sub.add_parser("render", help="re-execute notebooks in full mode and store their outputs")
    p.add_argument("notebooks", nargs="*")
    p.add_argument("--quick", action="store_true", help="render in quick mode (a preview; the tests reject it)")
    p.add_argument("--stale", action="store_true",
                   help="re-render exactly the notebooks whose stamp no longer matches (code, outputs, library)")
    p.add_argument("--check", action="store_true", help="list the stale notebooks and why; exit 1 if any")
    p.add_argument("--repo", default=None, help=repo_help)
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("badges", help="rewrite the README lesson table and the Colab cells from pyproject.toml")
    p.add_argument("--repo", default=None, help=repo_help)
    p.set_defaults(func=cmd_badges)

    p = sub.add_parser("student", help="write student copies of every lesson (solutions replaced by stubs)")
    p.add_argument("--out", required=True, help="folder for the copies (they go to OUT/notebooks/)")
    p.add_argument("--repo", default=None, help=repo_help)
    p.set_defaults(func=cmd_student)

    _register_training_commands(sub)
    _register_conditional_options(sub)
    return parser


# --------------------------------------------------------------------------- train, sample, bench (lessons 04-05)
DATASET_CHOICES = ("fashion_mnist", "mnist", "digits")
CHECKPOINT_NAME = "checkpoint.npz"
LOCK_NAME = ".train.lock"
MAX_STEPS = 10**9
"""The largest --steps (tf.data and the step counter take more; nobody trains longer on one run)."""
MAX_SAMPLES = 10_000
"""The largest ``sample --n``: a 100x100 grid, generated in batches of :data:`SAMPLE_BATCH`."""
SAMPLE_BATCH = 256
MAX_SEED = 2**32 - 1
REQUIRED_META = ("dataset", "batch_size", "precision", "seed")


class Terminated(KeyboardInterrupt):
    """SIGTERM (timeout, Docker, Slurm, Kubernetes, Colab): handled like Ctrl-C, exit code 143."""


def _one_line(err: BaseException, limit: int = 300) -> str:
    text = " ".join(str(err).split()) or err.__class__.__name__
    return text if len(text) <= limit else text[:limit - 3] + "..."


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
    """The checkpoint's metadata, read with NumPy alone (before TensorFlow loads); UsageError if damaged."""
    import json
    import zipfile

    import numpy as np

    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("a single .npy array, not an .npz archive")
        with data:
            meta = json.loads(bytes(data["__meta__"]).decode())
        if not isinstance(meta, dict) or not isinstance(meta.get("extra"), dict):
            raise ValueError("its metadata is not the JSON object train writes")
    except (OSError, ValueError, EOFError, KeyError, TypeError, zipfile.BadZipFile, UnicodeDecodeError) as err:
        raise UsageError(f"--resume: {str(path)!r} is damaged or not a checkpoint ({_one_line(err, 120)}); "
                         "nothing was changed: restore a good copy or start a new run with another --out") from err
    missing = [k for k in REQUIRED_META if k not in meta["extra"]] + ([] if "step" in meta else ["step"])
    if missing:
        raise UsageError(f"--resume: the checkpoint {str(path)!r} lacks {', '.join(map(repr, missing))} in its "
                         "metadata (not written by train); start a new run with another --out")
    return meta


def _check_train_args(args) -> None:
    import math

    if args.dataset not in DATASET_CHOICES:
        raise UsageError(f"--dataset {args.dataset!r}: expected one of {', '.join(DATASET_CHOICES)}")
    if args.steps is not None and not 1 <= args.steps <= MAX_STEPS:
        raise UsageError(f"--steps {args.steps}: expected a number of steps from 1 to {MAX_STEPS} (the run's total)")
    if args.minutes is not None and not (math.isfinite(args.minutes) and args.minutes > 0):
        raise UsageError(f"--minutes {args.minutes}: expected a positive number of minutes")
    if args.batch_size is not None and args.batch_size < 1:
        raise UsageError(f"--batch-size {args.batch_size}: expected a positive int")
    if args.seed is not None and not 0 <= args.seed <= MAX_SEED:
        raise UsageError(f"--seed {args.seed}: expected an int from 0 to {MAX_SEED}")


def _check_resume(args, out, meta: dict) -> None:
    """A resume continues the same run: refuse any setting that differs from the checkpoint's."""
    extra = meta["extra"]
    conditional = bool(getattr(args, "conditional", False))
    if bool(extra.get("conditional")) != conditional:
        raise UsageError(f"--resume: the checkpoint in {str(out)!r} is "
                         + ("a conditional run (add --conditional)" if extra.get("conditional")
                            else "not a conditional run (drop --conditional)"))
    if extra["dataset"] != args.dataset:
        raise UsageError(f"--resume: the checkpoint in {str(out)!r} was trained on {extra['dataset']!r}, "
                         f"not {args.dataset!r}")
    for option, value, key in (("--batch-size", args.batch_size, "batch_size"), ("--seed", args.seed, "seed"),
                               ("--precision", None if args.precision == "auto" else args.precision, "precision")):
        if value is not None and value != extra[key]:
            raise UsageError(f"{option} {value}: the checkpoint in {str(out)!r} was trained with {key} "
                             f"{extra[key]}; an exact resume needs the same (leave {option} out)")
    if args.steps is not None and args.steps <= meta["step"]:
        raise UsageError(f"--steps {args.steps}: the run in {str(out)!r} is already at step {meta['step']}; "
                         f"pass --steps larger than {meta['step']} to continue it")


def sample_fid(gan, dataset: str, n: int = 2000, seed: int = 123) -> float:
    """FID of ``n`` generated images against ``n`` test images, in the domain classifier's features (lesson 06)."""
    from . import metrics
    from .data import load_images

    real, _ = load_images(dataset, "test", limit=n)
    fake = gan.generate(len(real), seed=seed)
    return float(metrics.fid(real, fake, dataset=dataset))


def cmd_train(args) -> int:
    import shutil

    from . import runtime

    # 1. validate everything before touching anything
    _check_train_args(args)
    out = _writable_dir(args.out, "--out")
    ckpt = out / CHECKPOINT_NAME
    if args.resume and not ckpt.is_file():
        raise UsageError(f"--resume: {str(out)!r} holds no checkpoint ({CHECKPOINT_NAME})")

    # 2. create the folder now (a path under /proc or /sys fails here, not after the model is built), lock it
    top = out.absolute()
    while not top.parent.exists():
        top = top.parent
    created = None if out.exists() else top
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"--out {str(out)!r} cannot be created ({err.strerror or _one_line(err)}); "
                         "choose a folder you can write to") from err
    try:
        lock = runtime.folder_lock(out, LOCK_NAME).__enter__()
    except runtime.FolderLockedError as err:
        raise UsageError(f"--out {err}: wait for that run to finish or choose another --out") from err
    try:
        return _train_locked(args, out, ckpt)
    finally:
        lock.__exit__(None, None, None)
        if created is not None and not any(out.iterdir()):
            shutil.rmtree(created, ignore_errors=True)  # nothing was saved: leave no empty folder behind


def _train_locked(args, out, ckpt) -> int:
    import errno
    import json
    import os
    import signal
    import tempfile
    import time

    from . import runtime

    runtime.remove_stale_temp(out)  # left by killed runs; we hold the lock, so no live writer owns them
    meta = None
    if args.resume:
        meta = _read_checkpoint_meta(ckpt)
        _check_resume(args, out, meta)
    elif ckpt.exists():
        raise UsageError(f"--out {str(out)!r} already holds a run: pass --resume or choose another --out")

    from . import metrics, plots, training
    from .data import load_images

    conditional = bool(getattr(args, "conditional", False))
    try:
        images, labels = load_images(args.dataset, "train")
    except Exception as err:  # a missing or damaged data set: say how to get it, in one line
        raise UsageError(f"--dataset {args.dataset}: {str(err).splitlines()[0]}") from err
    try:  # the classifier that measures FID at the end: a damaged one must stop us now, not after training
        metrics.classifier(args.dataset)
    except (ValueError, OSError) as err:
        raise UsageError(f"the domain classifier for {args.dataset} (it measures FID): {_one_line(err)}") from err
    extra_meta = meta["extra"] if meta else {}
    recipe = training.CONDITIONAL_RECIPE if conditional else training.COURSE_RECIPE
    batch_size = extra_meta.get("batch_size") or args.batch_size or recipe["batch_size"]
    if batch_size > len(images):
        raise UsageError(f"--batch-size {batch_size}: larger than the {len(images)} training images")
    precision = extra_meta.get("precision") or args.precision or "auto"
    seed = extra_meta["seed"] if meta else (args.seed or 0)
    if conditional:  # lesson 08: the course recipe with a projection discriminator
        gan, precision = training.build_conditional_gan(precision, seed=seed, image_size=int(images.shape[1]))
    else:
        gan, precision = training.build_course_gan(images.shape[1], precision, seed=seed)
    extra = {"dataset": args.dataset, **({"conditional": True} if conditional else {}), "batch_size": batch_size,
             "precision": precision, "seed": seed,
             "image_size": int(images.shape[1]), "base_filters": recipe["base_filters"],
             "learning_rate": recipe["learning_rate"], "beta_1": recipe["beta_1"],
             "ema_decay": gan.ema_decay, **({"mode_seeking": gan.mode_seeking} if conditional else {})}
    if args.resume:
        try:
            gan.load_checkpoint(ckpt)
        except ValueError as err:
            raise UsageError(f"--resume: {_one_line(err)}; nothing was changed: restore a good copy or "
                             "start a new run with another --out") from err
    start = gan.current_step
    if args.steps is None and args.minutes is None:
        args.minutes = 5.0
    total = args.steps if args.steps is not None else 10**12

    # 2. train; Ctrl-C and SIGTERM save a checkpoint first
    cbs = [training.Checkpoint(ckpt, every_n_steps=250, extra=extra),
           training.StopAfter(seconds=None if args.minutes is None else args.minutes * 60),
           training.ProgressBar(total=args.steps, initial=start,
                                desc=f"train {'--conditional ' if conditional else ''}{args.dataset}")]

    def on_sigterm(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second TERM must not cut the save short
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    t0 = time.perf_counter()
    try:
        if conditional:
            training.fit_conditional_steps(gan, images, labels, total, batch_size=batch_size, data_seed=seed,
                                           steps_per_epoch=10**6, callbacks=cbs)
        else:
            training.fit_steps(gan, images, total, batch_size=batch_size, data_seed=seed, steps_per_epoch=10**6,
                               callbacks=cbs)
        wall = time.perf_counter() - t0
        if gan.current_step != start and (not cbs[0].saved_steps or cbs[0].saved_steps[-1] != gan.current_step):
            gan.save_checkpoint(ckpt, extra=extra)
    except KeyboardInterrupt as stop:
        what = "terminated (SIGTERM)" if isinstance(stop, Terminated) else "interrupted"
        try:
            gan.save_checkpoint(ckpt, extra=extra)
            print(f"\n{what} at step {gan.current_step}; checkpoint saved, continue with --resume", file=sys.stderr)
        except training.NonFiniteLossError:
            print(f"\n{what} at step {gan.current_step}; the state holds NaN/inf, so the last good checkpoint "
                  "was kept", file=sys.stderr)
        raise
    except training.NonFiniteLossError as err:
        kept = f"the last good checkpoint {str(ckpt)!r} is kept" if ckpt.exists() else "no checkpoint was written"
        raise UsageError(f"{_one_line(err, 1000)} ({kept})") from err
    except OSError as err:
        if err.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
            kept = f"the last checkpoint {str(ckpt)!r} is kept" if ckpt.exists() else "no checkpoint was written"
            raise UsageError(f"--out {str(out)!r}: disk full while writing ({err.strerror}); {kept}: free some "
                             "space, then continue with --resume") from err
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
        if cbs[2].bar is not None:
            cbs[2].bar.close()  # the message that follows starts on its own line

    # 3. outputs, each written atomically
    from .models import dcgan_generator

    size, filters = int(images.shape[1]), training.COURSE_RECIPE["base_filters"]
    if conditional:
        def build():
            return training.course_conditional_generator(image_size=size)
    else:
        def build():
            return dcgan_generator(latent_dim=training.LATENT_DIM, image_size=size, base_filters=filters)
    # generator.keras is the weight average (what sampling and FID use); generator_raw.keras the last weights
    generator = training.float32_copy(build, gan.sampler)
    saved = [(generator, "generator.keras")]
    if gan.ema_generator is not None:
        saved.append((training.float32_copy(build, gan.generator), "generator_raw.keras"))
    try:
        for model, name in saved:
            fd, tmp = tempfile.mkstemp(dir=out, prefix=".part-", suffix=".keras")
            os.close(fd)
            try:
                model.save(tmp)
                os.chmod(tmp, 0o644)
                os.replace(tmp, out / name)
            finally:
                if os.path.exists(tmp):
                    os.remove(tmp)
        steps_run = gan.current_step - start
        if conditional:  # rows = classes; FID and label accuracy on test labels
            import numpy as np

            plots.save_grid_png(training.conditional_generate(generator, np.repeat(np.arange(10), 8), seed=0),
                                out / "samples.png")
            test, test_labels = load_images(args.dataset, "test", limit=min(2000, len(images)))
            fake = training.conditional_generate(generator, test_labels, seed=123)
            fid_value = float(metrics.fid(test, fake, dataset=args.dataset))
            more = {"conditional": True,
                    "label_accuracy": round(metrics.label_fidelity(fake, test_labels, dataset=args.dataset)["accuracy"], 4)}
        else:
            plots.save_grid_png(gan.generate(64, seed=0), out / "samples.png")
            fid_value = sample_fid(gan, args.dataset, n=min(2000, len(images)))
            more = {}
        result = {"dataset": args.dataset, **more, "steps": gan.current_step, "steps_this_run": steps_run,
                  "batch_size": batch_size, "images_per_s": round(steps_run * batch_size / max(wall, 1e-9), 1),
                  "fid": round(fid_value, 3), "wall_seconds": round(wall, 1), "precision": precision,
                  "resumed_from": start if args.resume else None}
        runtime.atomic_write(out / "metrics.json", lambda fh: fh.write(json.dumps(result, indent=1).encode()))
    except OSError as err:
        if err.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
            raise UsageError(f"--out {str(out)!r}: disk full while writing the outputs ({err.strerror}); the "
                             f"checkpoint at step {gan.current_step} is saved: free some space, then run "
                             f"again with --resume --steps larger than {gan.current_step}") from err
        raise
    import keras

    keras.mixed_precision.set_global_policy("float32")
    print(json.dumps(result))
    return 0


def _generator_shape(model, model_path) -> int:
    """The latent size of a generator model (one (None, k) input, one (None, H, W, 1 or 3) output)."""
    try:
        in_shape, out_shape = model.input_shape, model.output_shape
    except (AttributeError, ValueError) as err:
        raise UsageError(f"--model {str(model_path)!r}: not a generator ({_one_line(err, 120)})") from err
    ok = (isinstance(in_shape, tuple) and len(in_shape) == 2 and isinstance(in_shape[1], int)
          and isinstance(out_shape, tuple) and len(out_shape) == 4 and out_shape[-1] in (1, 3))
    if not ok:
        raise UsageError(f"--model {str(model_path)!r}: not a generator (input {in_shape}, output {out_shape}; "
                         "expected a noise vector (None, k) in and images (None, H, W, 1 or 3) out, "
                         "as train writes)")
    return int(in_shape[1])


def cmd_sample(args) -> int:
    import os
    from pathlib import Path

    model_path = Path(args.model)
    if not model_path.is_file() or model_path.suffix != ".keras":
        raise UsageError(f"--model {args.model!r}: expected an existing .keras file (as written by train)")
    if not 1 <= args.n <= MAX_SAMPLES:
        raise UsageError(f"--n {args.n}: expected a number of images from 1 to {MAX_SAMPLES}")
    if not 0 <= args.seed <= MAX_SEED:
        raise UsageError(f"--seed {args.seed}: expected an int from 0 to {MAX_SEED}")
    out = _writable_file(args.out, "--out")
    if out.suffix.lower() != ".png":
        raise UsageError(f"--out {args.out!r}: expected a .png file name")
    import keras
    import numpy as np

    from . import plots

    import zipfile

    if not zipfile.is_zipfile(model_path):
        raise UsageError(f"--model {args.model!r}: cannot be loaded: not a .keras archive (a .keras file is a zip "
                         "archive; this one is damaged or another kind of file)")
    try:
        model = keras.models.load_model(model_path, compile=False)
    except Exception as err:  # noqa: BLE001 - any reason, shown in one line
        raise UsageError(f"--model {args.model!r}: cannot be loaded: {_one_line(err, 200)}") from err
    latent = _generator_shape(model, model_path)
    z = keras.random.normal((args.n, latent), seed=args.seed)
    try:
        images = np.concatenate([np.asarray(model(z[i:i + SAMPLE_BATCH], training=False))
                                 for i in range(0, args.n, SAMPLE_BATCH)])
    except Exception as err:  # noqa: BLE001
        raise UsageError(f"--model {args.model!r}: generating failed: {_one_line(err, 200)}") from err
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

    precisions = ("float32",) if args.float32_only else ("float32", "auto")
    rows = training.bench(minutes=args.minutes, dataset=args.dataset, precisions=precisions,
                          measure_fid=lambda gan: sample_fid(gan, args.dataset, 2000))
    table = training.bench_table(rows, args.minutes)
    print(table)
    if out is not None:
        runtime.atomic_write(out, lambda fh: fh.write(json.dumps({"minutes": args.minutes, "cpu": training.cpu_model(),
                                                                    "bf16": training.cpu_supports_bf16(),
                                                                    "rows": rows, "table": table},
                                                                   indent=1).encode()))
    return 0


def _register_training_commands(sub) -> None:
    p = sub.add_parser("train", help="train the course's DCGAN (the recipe of lesson 04)")
    p.add_argument("--dataset", default="fashion_mnist", help=f"one of {', '.join(DATASET_CHOICES)}")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--minutes", type=float, help="train for this many minutes (default 5)")
    length.add_argument("--steps", type=int, help="train until the run has this many steps in total")
    p.add_argument("--batch-size", type=int, default=None, help="batch size (default 32, the course recipe's; 64 with --conditional; a resume keeps its own)")
    p.add_argument("--out", default="gan_run", help="output folder (default ./gan_run)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    p.add_argument("--precision", default=None, choices=("auto", "float32", "mixed_bfloat16", "mixed_float16"),
                   help="auto (default): bf16 on CPUs that support it, fp16 on GPUs, else float32; "
                        "a resume keeps its own")
    p.add_argument("--seed", type=int, default=None, help="random seed (default 0; a resume keeps its own)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("sample", help="draw a grid of samples from a trained generator")
    p.add_argument("--model", required=True, help="DIR/generator.keras written by train")
    p.add_argument("--n", type=int, default=64, help=f"number of images (default 64, at most {MAX_SAMPLES})")
    p.add_argument("--out", default="grid.png", help="PNG file to write (default grid.png)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("bench", help="the TF tutorial's recipe against the course's, same data and wall time")
    p.add_argument("--minutes", type=float, default=5.0, help="training minutes per recipe (default 5)")
    p.add_argument("--dataset", default="fashion_mnist")
    p.add_argument("--out", default=None, help="also write the results as JSON here")
    p.add_argument("--float32-only", action="store_true",
                   help="skip the runs at 'auto' precision (bf16 on CPUs that have it, fp16 on GPUs)")
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


def cmd_sample_conditional(args) -> int:
    """``sample --label K``: a grid of class K from a conditional generator.keras."""
    import os
    from pathlib import Path

    model_path = Path(args.model)
    if not model_path.is_file() or model_path.suffix != ".keras":
        raise UsageError(f"--model {args.model!r}: expected an existing .keras file (as written by train)")
    if not 1 <= args.n <= MAX_SAMPLES:
        raise UsageError(f"--n {args.n}: expected a number of images from 1 to {MAX_SAMPLES}")
    out = _writable_file(args.out, "--out")
    if out.suffix.lower() != ".png":
        raise UsageError(f"--out {args.out!r}: expected a .png file name")
    import keras
    import numpy as np

    from . import plots, training

    try:
        model = keras.models.load_model(model_path, compile=False)
    except Exception as err:
        raise UsageError(f"--model {args.model!r}: cannot be loaded ({_one_line(err, 200)})") from err
    if len(model.inputs) != 2:
        raise UsageError(f"--label {args.label}: {args.model!r} is not a conditional generator "
                         "(train it with --conditional, or drop --label)")
    latent = int(model.inputs[0].shape[-1])
    images = training.conditional_generate(model, np.full(args.n, args.label), seed=args.seed, latent_dim=latent)
    plots.save_grid_png(images, out, ncols=int(np.ceil(np.sqrt(args.n))))
    print(f"wrote {args.n} samples of class {args.label} to {os.fspath(out)}")
    return 0


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
        code = int(args.func(args) or 0)
        sys.stdout.flush()
        return code
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `... | head -1` closed the pipe: stop quietly
        _silence_stdout()
        return 141
    except Terminated:
        return 143
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as err:  # disk full and the like, outside the places that say more
        where = f" {err.filename!r}" if err.filename else ""
        print(f"error:{where} {err.strerror or _one_line(err)}", file=sys.stderr)
        return 2


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush raises nothing (Python's own advice)."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
