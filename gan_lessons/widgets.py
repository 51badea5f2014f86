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
    ax.set_title("V(D*, G) is lowest (-log 4) where p_g = p_data; JSD stays within [0, log 2] (dotted lines)",
                 fontsize=9)
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
