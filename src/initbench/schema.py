"""The tidy tables: their columns, written down once and checked whenever a table is read.

Every table carries the grid columns, named as in the config, so that any figure can group by
them (benchopt's "results are tidy rows" design). Torch-free.
"""

from __future__ import annotations

from pathlib import Path

GRID_COLUMNS = ("study", "dataset", "depth", "width", "activation", "init", "seed")
KEY = GRID_COLUMNS + ("variant",)

TABLES: dict[str, tuple[str, ...]] = {
    # one row per (variant, SGD step); iteration counts from 0 over the whole run
    "iterations": KEY + ("epoch", "iteration", "loss"),
    # one row per (variant, epoch); epoch 0 is the evaluation at initialisation
    "epochs": KEY + ("epoch", "train_loss", "val_loss", "val_accuracy", "diverged"),
    # one row per (variant, epoch, layer); layer is 1-based and includes the output layer
    "layers": KEY
    + (
        "epoch",
        "layer",
        "units",
        "act_mean",
        "act_std",
        "saturation",
        "grad_std",
        "weight_grad_std",
        "weight_std",
        "symmetry",
    ),
    # histograms at initialisation (Glorot & Bengio 2010, Figs. 6-7)
    "histograms": KEY + ("epoch", "layer", "quantity", "bin_left", "bin_right", "count"),
    # first-hidden-layer activations after training, for the same-weights scatter
    "hidden": KEY + ("sample", "x", "label", "unit", "value"),
    # singular values of the Jacobian dh_layer/dh_1 at initialisation, one row per value (rule spectra,
    # not train: initbench.spectra); index 0 is the largest, input the probe sample
    "spectra": KEY + ("layer", "input", "index", "singular_value"),
    # one row per variant: the final numbers
    "summary": KEY
    + (
        "hidden",
        "bias_policy",
        "lr",
        "momentum",
        "batch_size",
        "epochs",
        "final_train_loss",
        "final_val_loss",
        "final_val_accuracy",
        "test_loss",
        "test_accuracy",
        "diverged",
        "diverged_epoch",
        "pack",
    ),
}
METRIC_TABLES = ("iterations", "epochs", "layers", "histograms", "hidden")  # what rule train writes


class SchemaError(ValueError):
    """A table lacks columns the schema requires."""


def check(df, table: str, source: str | Path = "<table>"):
    """Raise SchemaError if ``df`` lacks any column of ``table``; return ``df`` unchanged."""
    if table not in TABLES:
        raise SchemaError(f"unknown table {table!r}; known tables: {', '.join(TABLES)}")
    missing = [c for c in TABLES[table] if c not in df.columns]
    if missing:
        raise SchemaError(f"{source}: table {table!r} lacks columns {missing}")
    return df


def read(path: str | Path, table: str):
    """Read a Parquet (or, for the summary, CSV) table and check its columns."""
    import pandas as pd

    path = Path(path)
    df = pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)
    return check(df, table, path)
