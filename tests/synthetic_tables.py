"""Made-up aggregate tables, shaped like a real run's, for the report's and the figures' tests.

Learning curves saturate, layer statistics follow the variance recurrence (``initbench.theory``),
and a per-seed effect shared by every init of a seed makes the paired design matter. Each final
accuracy can be changed: ``tables(cfg, {("xavier_lab", "xavier_uniform"): 0.11})`` makes Xavier
no better than U(0, 1); a key ``(study, activation, init)`` changes one activation's cell only. ``synthetic.py`` writes them out as the workflow lays them out.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.special import ndtr

from initbench import meanfield, schema, theory
from initbench.names import bias_policy, parse_init

N_CLASSES = {"toy1d": 2, "mnist": 10, "mnist1d": 10, "shapeset": 9}
INPUT_DIM = {"toy1d": 1, "mnist": 784, "mnist1d": 40, "shapeset": 1024}
N_TRAIN = {"toy1d": 40, "mnist": 60000, "mnist1d": 4000, "shapeset": 10000}

# final validation accuracy of each (study, init); the depth and table1 studies use functions below
QUALITY = {
    ("same_weights", "ones"): 0.80,  # predicts the majority class: 32 of 40 points
    ("same_weights", "default"): 1.00,
    ("xavier_lab", "xavier_uniform"): 0.57,
    ("xavier_lab", "default"): 0.20,
    ("xavier_lab", "uniform(0,1)"): 0.11,
    ("xavier_lab", "uniform(-1,1)"): 0.45,
    ("xavier_lab", "uniform(-0.05,0.05)"): 0.11,
    ("xavier_lab", "fan_in_uniform"): 0.11,
    ("he_lab", "he_uniform"): 0.91,
    ("he_lab", "default"): 0.51,
    ("he_lab", "uniform(0,1)"): 0.10,
}


def _hidden_sizes(study: dict, depth: int | None, width: int | None) -> list[int]:
    return list(study["hidden"]) if study.get("hidden") else [width] * depth


def _accuracy(study_name: str, act: str, init: str, depth: int, dataset: str, quality: dict) -> float:
    if (study_name, act, init) in quality:  # one activation's cell, e.g. ("table1", "sigmoid", "default")
        return quality[(study_name, act, init)]
    if (study_name, init) in quality:
        return quality[(study_name, init)]
    if study_name == "depth":
        slope = {("relu", "he_uniform"): 0.002, ("tanh", "xavier_uniform"): 0.004}.get((act, init), 0.02)
        return max(0.10, 0.66 - slope * depth)
    if study_name == "criticality":  # trains exactly where depth <= 6 xi_c (Schoenholz et al. 2017)
        var_w, var_b = parse_init(init)[1]
        return 0.62 if depth <= 6 * meanfield.fixed_point("tanh", var_w, var_b).xi_c else 0.10
    if study_name in ("isometry", "isometry_relu"):  # orthogonal learns faster (Pennington et al. 2017)
        return 0.70 if init.startswith("orthogonal") else 0.55
    base = {"tanh": 0.62, "softsign": 0.64, "sigmoid": 0.35}[act] + (0.06 if init == "xavier_uniform" else 0)
    return base - (0.1 if dataset == "shapeset" else 0.0)


def _layer_stats(act: str, init: str, sizes: list[int], dataset: str, rng) -> pd.DataFrame:
    """Per-layer statistics at init from the variance recurrence (hidden layers, then the linear output)."""
    units = sizes + [N_CLASSES[dataset]]
    fans = [INPUT_DIM[dataset]] + units[:-1]
    var_w = [
        theory.weight_variance(init, fi, fo) or 1.0 / (3 * fi) for fi, fo in zip(fans, units, strict=True)
    ]
    var_b = [theory.bias_variance(init, fi) for fi in fans]
    f = act if act in theory.ACTIVATIONS else "tanh"
    q = [fans[0] * var_w[0] * 1.0 + var_b[0]]  # inputs of unit variance
    for k in range(1, len(units)):
        q.append(fans[k] * var_w[k] * theory.second_moment(f, q[-1]) + var_b[k])
    g = [0.05]  # dL/dz at the output
    for k in range(len(units) - 2, -1, -1):
        g.append(g[-1] * math.sqrt(units[k + 1] * var_w[k + 1] * theory.derivative_second_moment(f, q[k])))
    g = g[::-1]
    std = [theory.activation_std(f, qi) for qi in q[:-1]] + [math.sqrt(q[-1])]
    noise = lambda: rng.lognormal(0, 0.03, len(units))  # noqa: E731
    return pd.DataFrame(
        {
            "layer": np.arange(1, len(units) + 1),
            "units": units,
            "q": q,
            "act_mean": [theory.mean(f, qi) for qi in q[:-1]] + [0.0],
            "act_std": np.asarray(std) * noise(),
            "grad_std": np.asarray(g) * noise(),
            "weight_std": np.sqrt(var_w),
            "weight_grad_std": np.asarray(g) * 0.3 * noise(),
            "saturation": [float(2 * ndtr(-2.09 / math.sqrt(qi))) for qi in q],  # P(|z| > atanh 0.97)
        }
    )


def _histograms(layers: pd.DataFrame, act: str, bins: int = 30) -> pd.DataFrame:
    cols = {"layer": [], "quantity": [], "bin_left": [], "bin_right": [], "count": []}
    for r in layers.itertuples():
        n = r.units * 500
        sd = math.sqrt(r.q)
        if act in ("tanh", "softsign", "sigmoid"):
            edges = np.linspace(-1, 1, bins + 1)
            cdf = ndtr(np.arctanh(np.clip(edges, -0.999999, 0.999999)) / sd)
        else:
            edges = np.linspace(0, 4 * sd, bins + 1)
            cdf = ndtr(edges / sd)
        g_edges = np.linspace(-4 * r.grad_std, 4 * r.grad_std, bins + 1)
        g_cdf = ndtr(g_edges / r.grad_std)
        for q, e, c in (("activation", edges, cdf), ("gradient", g_edges, g_cdf)):
            cols["layer"].append(np.full(bins, r.layer))
            cols["quantity"].append(np.full(bins, q))
            cols["bin_left"].append(e[:-1])
            cols["bin_right"].append(e[1:])
            cols["count"].append(np.round(np.diff(c) * n))
    return pd.DataFrame({k: np.concatenate(v) for k, v in cols.items()})


def _spectra(act: str, init: str, width: int, depths, inputs: int, rng) -> pd.DataFrame:
    """Singular values whose squares, exp(a z) for normal z, have the spread (var/mean^2) that free probability
    predicts (Pennington et al. 2017) within 5 %, capped below width - 1: a is found by bisection."""
    var_w, var_b = (
        width * theory.weight_variance(init, width, width),
        theory.bias_variance(init, width, width),
    )
    kind = "orthogonal" if init.startswith("orthogonal") else "gaussian"
    frames = []
    for layer in depths:
        m, v = (
            meanfield.jacobian_spectrum_moments(act, var_w, var_b, layer - 1, kind)
            if layer > 1
            else (1.0, 0.0)
        )
        target = min(v / m**2 * rng.lognormal(0, 0.05), 0.9 * (width - 1))  # a little seed-to-seed noise
        sq = []
        for z in rng.standard_normal((inputs, width)):
            lo, hi = 0.0, 50.0
            for _ in range(60):
                a = (lo + hi) / 2
                lam = np.exp(a * (z - z.max()))
                lo, hi = (a, hi) if lam.var() / lam.mean() ** 2 < target else (lo, a)
            sq.append(np.sort(lam / lam.mean())[::-1])
        frames.append(
            pd.DataFrame(
                {
                    "layer": layer,
                    "input": np.repeat(np.arange(inputs), width),
                    "index": np.tile(np.arange(width), inputs),
                    "singular_value": np.sqrt(np.concatenate(sq)),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _variants(cfg: dict):
    for name, st in cfg["studies"].items():
        datasets = st["dataset"] if isinstance(st["dataset"], list) else [st["dataset"]]
        seeds = range(st["seeds"]) if isinstance(st["seeds"], int) else st["seeds"]
        depths = st.get("depth") or [len(st.get("hidden") or [])]
        widths = st.get("width") or [max(st.get("hidden") or [0])]
        for ds in datasets:
            for depth in depths:
                for width in widths:
                    for act in st["activation"]:
                        for init in st["init"]:
                            for seed in seeds:
                                yield name, st, ds, int(depth), int(width), act, init, int(seed)


def tables(cfg: dict, quality: dict | None = None, seed: int = 0) -> dict[str, pd.DataFrame]:
    """All six tables for the studies of ``cfg``; ``quality`` overrides final accuracies per (study, init)."""
    quality = {**QUALITY, **(quality or {})}
    rng = np.random.default_rng(seed)
    seed_effect = rng.normal(0, 0.015, 64)  # shared by every init of a seed: the paired design
    out = {t: [] for t in schema.TABLES}
    keys = []
    for name, st, ds, depth, width, act, init, s in _variants(cfg):
        tr = st["training"]
        sizes = _hidden_sizes(st, depth, width)
        key = {
            "study": name,
            "dataset": ds,
            "depth": depth,
            "width": width,
            "activation": act,
            "init": init,
            "seed": s,
            "variant": f"{name}-{ds}-d{depth}-w{width}-{act}-{init}-s{s}",
        }
        chance = 1.0 / N_CLASSES[ds] if ds != "toy1d" else 0.8
        target = float(
            np.clip(
                _accuracy(name, act, init, depth, ds, quality) + seed_effect[s] + rng.normal(0, 0.01), 0, 1
            )
        )
        epochs = np.arange(tr["epochs"] + 1)
        acc = chance + (target - chance) * (1 - np.exp(-epochs / (0.25 * tr["epochs"])))
        acc = np.clip(acc + rng.normal(0, 0.004, acc.size), 0, 1)
        loss0 = 1.7e9 if (name == "he_lab" and init == "uniform(0,1)") else 2.5
        final_loss = -math.log(max(target, 0.02)) * (
            0.05 if name == "same_weights" and init == "default" else 1.0
        )
        if name == "same_weights" and init == "ones":
            final_loss = 15.0 / N_TRAIN[ds]
        train_loss = final_loss + (loss0 - final_loss) * np.exp(-epochs * 0.8)
        train_loss[0] = np.nan
        diverged = (
            name == "depth" and act == "relu" and init == "default" and depth == max(st["depth"]) and s == 0
        )
        div_epoch = 3 if diverged else np.nan
        vid = key["variant"]
        keys.append(key)
        ep = pd.DataFrame(
            {
                "variant": vid,
                "epoch": epochs,
                "train_loss": train_loss,
                "val_loss": train_loss * 1.05,
                "val_accuracy": acc,
                "diverged": diverged & (epochs >= 3),
            }
        )
        if diverged:
            ep.loc[ep["epoch"] >= 3, ["train_loss", "val_loss"]] = np.nan
        out["epochs"].append(ep)
        steps = max(1, N_TRAIN[ds] // tr["batch_size"])
        it = np.arange(tr["epochs"] * steps)
        x = it / steps
        loss = (final_loss + (loss0 - final_loss) * np.exp(-x * 0.8)) * rng.lognormal(0, 0.05, it.size)
        out["iterations"].append(
            pd.DataFrame({"variant": vid, "epoch": it // steps + 1, "iteration": it, "loss": loss})
        )
        base = _layer_stats(act, init, sizes, ds, rng)
        for e in np.unique(np.linspace(0, tr["epochs"], 5).astype(int)):
            lay = base.drop(columns="q").assign(variant=vid, epoch=int(e))
            lay["act_std"] *= 1 + 0.02 * e
            sym = 0.0 if init == "ones" else 0.05 + 0.4 * e / tr["epochs"]
            lay["symmetry"] = np.where(lay["units"] > 1, sym, 0.0)
            out["layers"].append(lay)
        if name in ("depth", "xavier_lab"):
            out["histograms"].append(_histograms(base, act).assign(variant=vid, epoch=0))
        jac = (st.get("stats") or {}).get("jacobian")
        if jac:
            out["spectra"].append(
                _spectra(act, init, width, jac["depths"], jac.get("inputs", 4), rng).assign(variant=vid)
            )
        if st.get("record_hidden"):
            xs = np.arange(-20, 20, dtype=float)
            lab = ((xs > -4) & (xs < 4)).astype(int)
            if init == "ones":
                u = np.stack([1 / (1 + np.exp(-(1.934 * xs - 9.07)))] * 2)
            else:
                u = np.stack([1 / (1 + np.exp(-(3 * xs + 10))), 1 / (1 + np.exp(-(-3 * xs + 10)))])
            for unit in (0, 1):
                out["hidden"].append(
                    pd.DataFrame(
                        {
                            "variant": vid,
                            "sample": np.arange(xs.size),
                            "x": xs,
                            "label": lab,
                            "unit": unit,
                            "value": u[unit],
                        }
                    )
                )
        test_acc = float(np.clip(target - 0.005 + rng.normal(0, 0.003), 0, 1))
        out["summary"].append(
            pd.DataFrame(
                [
                    {
                        **key,
                        "hidden": "-".join(map(str, sizes)),
                        "bias_policy": bias_policy(init),
                        "lr": tr["lr"],
                        "momentum": tr["momentum"],
                        "batch_size": tr["batch_size"],
                        "epochs": tr["epochs"],
                        "final_train_loss": train_loss[-1],
                        "final_val_loss": train_loss[-1] * 1.05,
                        "final_val_accuracy": acc[-1],
                        "test_loss": train_loss[-1] * 1.07,
                        "test_accuracy": test_acc,
                        "diverged": diverged,
                        "diverged_epoch": div_epoch,
                        "pack": f"{name}-{act}-{ds}",
                    }
                ]
            )
        )
    grid = pd.DataFrame(keys)
    result = {}
    for t, frames in out.items():
        cols = list(schema.TABLES[t])
        if not frames:
            result[t] = pd.DataFrame(columns=cols)
            continue
        df = pd.concat(frames, ignore_index=True)
        if t != "summary":
            df = df.merge(grid, on="variant", how="left", sort=False)
        result[t] = df[cols]
    return result
