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
