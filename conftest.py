"""Test set-up for the whole repository: quick mode, and nbval comparing only what is deterministic.

It sits at the top so that it applies to notebooks/ as well as tests/: running
``python -m pytest notebooks/01_minimax_objective.ipynb`` alone is also quick.
"""

import os

# Quick mode for unit tests and for every notebook kernel (nbval runs with
# --nbval-current-env, so kernels inherit this environment).
os.environ.setdefault("GAN_LESSONS_QUICK", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_collectstart(collector):
    """nbval: never compare stderr, figures or rich HTML (nbval's documented hook)."""
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("stderr", "image/png", "text/html", "application/javascript",
                                   "application/vnd.jupyter.widget-view+json")


def pytest_sessionstart(session):
    """Stop the whole run at once, with the loader's own message, when Fashion-MNIST cannot be had.

    Most lessons and several unit tests need it; without it every one of them would fail on
    its own. Runs once, in the main process (not in each xdist worker).
    """
    if hasattr(session.config, "workerinput"):
        return
    import pytest

    from gan_lessons import data

    try:
        for split in data.SPLITS:
            data.load_images("fashion_mnist", split, limit=1)
    except (data.DataNotFoundError, data.CorruptDataError) as err:
        # a UsageError is printed once, as "ERROR: ...", and ends the run with exit code 4
        raise pytest.UsageError(f"the tests need Fashion-MNIST and it cannot be loaded.\n{err}") from None
