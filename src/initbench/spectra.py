"""Singular values of the input-output Jacobian of the hidden layers at initialisation (dynamical isometry).

For a net h_l = f(z_l), z_l = W_l h_{l-1} + b_l, the Jacobian from the first hidden layer to the l-th is

    J_l = dh_l / dh_1 = D_l W_l D_{l-1} W_{l-1} ... D_2 W_2,   D_k = diag f'(z_k),

an N x N matrix for hidden layers of N units (Pennington, Schoenholz & Ganguli 2017, eq. 2; the 10-unit
output would leave only 10 singular values). Its squared singular values are the eigenvalues of J J^T,
whose mean and variance ``meanfield.jacobian_spectrum_moments`` predicts for l - 1 layers. A net is
"dynamically isometric" when they all sit near 1.

A study asks for spectra with ``stats.jacobian: {depths: [2, 8, 32], inputs: 4}``: for each of its
variants, the prefix Jacobians J_l at those l (an l-layer net's Jacobian, since the first l layers of a
deeper net are drawn from the same laws), on the first ``inputs`` training samples. The parameters are
exactly the training job's initial ones (``inits.init_params``, same sizes, seed, bias policy and LSUV
batch), so no training is needed: rule ``spectra`` runs one job per pack, beside rule ``train``.

    rows = pack_spectra(spec, data, depths=[2, 8, 32], inputs=4)   # a DataFrame of schema.TABLES["spectra"]

Torch is imported inside the functions that need it: the Snakefile imports this module (``studies``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from initbench import schema

# the probe inputs are the first training samples, as the per-layer statistics' probe batch
DEFAULT_INPUTS = 4


def studies(config: dict) -> list[str]:
    """The studies of ``config`` that ask for Jacobian spectra (``stats.jacobian``)."""
    return [name for name, s in config["studies"].items() if (s.get("stats") or {}).get("jacobian")]


def jacobian_singular_values(weights, biases, x, activation: str, depths) -> dict:
    """Singular values of J_l = dh_l/dh_1 for each l in ``depths``: {l: tensor (inputs, N)}, descending.

    ``weights``/``biases``: the hidden layers' W_l (N_l, N_{l-1}) and b_l, in order (no output layer);
    ``x``: probe inputs (inputs, in_dim). Computed in float64: the product of l matrices spans many
    orders of magnitude for ReLU. J_1 is the identity.
    """
    import torch

    from initbench.models import ACTIVATION_FUNCTIONS, activation_backward

    f = ACTIVATION_FUNCTIONS[activation]
    wanted = sorted({int(d) for d in depths})
    if wanted and (wanted[0] < 1 or wanted[-1] > len(weights)):
        raise ValueError(f"Jacobian depths must lie in 1..{len(weights)} (the hidden layers), got {wanted}")
    w = [t.detach().to(torch.float64) for t in weights]
    b = [t.detach().to(torch.float64) for t in biases]
    h = f(x.to(torch.float64) @ w[0].T + b[0])
    jac = torch.eye(w[0].shape[0], dtype=torch.float64).expand(x.shape[0], -1, -1)
    out = {}
    if 1 in wanted:
        out[1] = torch.linalg.svdvals(jac)
    for layer in range(1, wanted[-1] if wanted else 0):
        z = h @ w[layer].T + b[layer]
        h = f(z)
        slope = activation_backward(torch.ones_like(z), z, h, activation)  # f'(z), PyTorch's own kernel
        jac = slope.unsqueeze(2) * torch.matmul(w[layer], jac)  # D_l W_l J_{l-1}
        if layer + 1 in wanted:
            out[layer + 1] = torch.linalg.svdvals(jac)
    return out


def pack_spectra(spec: dict, data: dict, depths, inputs: int = DEFAULT_INPUTS):
    """The spectra table of one pack (``grid.packs``' spec) at initialisation, one row per singular value.

    ``data`` is the prepared dataset (``datasets.load``); the variants get the parameters the train job
    starts from. Columns: ``schema.TABLES["spectra"]``; ``layer`` is the l of dh_l/dh_1, ``input`` the
    probe sample, ``index`` the rank of the singular value (0 = largest).
    """
    import pandas as pd
    import torch

    from initbench import inits
    from initbench.packspec import SPLITS, PackSpec

    pack = PackSpec.from_dict(spec)
    x = data["x_train"]
    n_out = 1 if pack.loss == "bce" else 1 + max(int(data[k].max()) for k in SPLITS[1::2] if data[k].numel())
    sizes = [x.shape[1], *pack.hidden, n_out]
    probe, lsuv_batch = x[:inputs], x[: pack.stats_samples].to("cpu", torch.float32)
    frames = []
    for v in pack.variants:
        layers = inits.init_params(
            v.init, sizes, v.seed, data=lsuv_batch, activation=pack.activation, bias=v.bias
        )
        hidden = layers[: len(pack.hidden)]
        values = jacobian_singular_values(
            [w for w, _ in hidden], [b for _, b in hidden], probe, pack.activation, depths
        )
        for layer, s in values.items():
            n_in, n = s.shape
            frames.append(
                pd.DataFrame(
                    {
                        "layer": layer,
                        "input": np.repeat(np.arange(n_in), n),
                        "index": np.tile(np.arange(n), n_in),
                        "singular_value": s.reshape(-1).numpy(),
                    }
                ).assign(**{k: v.columns[k] for k in schema.KEY})
            )
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in schema.TABLES["spectra"]})
    return pd.concat(frames, ignore_index=True)[list(schema.TABLES["spectra"])]


def run_pack(
    spec: dict, data_path: str | Path, out: str | Path, depths, inputs: int = DEFAULT_INPUTS, plugins=()
) -> int:
    """Rule ``spectra``: one pack's table into ``out`` (Parquet); returns its row count. ``plugins``: the
    plugin files whose inits the pack uses, imported first (as the train job does)."""
    import torch

    from initbench import datasets
    from initbench import plugins as plugin_files
    from initbench.atomic import atomic_write

    plugin_files.activate_all(list(plugins))
    torch.set_num_threads(1)  # small matrices: a second thread only adds overhead
    data = {k: v for k, v in datasets.load(Path(data_path)).items() if k != "meta"}
    df = pack_spectra(spec, data, depths, inputs)
    atomic_write(out, lambda p: df.to_parquet(p, index=False))
    return len(df)


def aggregate(paths, out: str | Path) -> int:
    """Rule ``aggregate_spectra``: every pack's table stacked in grid order (an empty table if none)."""
    from initbench import aggregate as agg
    from initbench.atomic import atomic_write

    df = agg.concat([Path(p) for p in paths], "spectra")
    atomic_write(out, lambda p: df.to_parquet(p, index=False))
    return len(df)
