"""Reading the aggregate tables, and the selections that figures and report share.

Figures and report read only the tidy tables of ``schema.py`` (plus the config and
``report/published.yaml``). A selection that both a figure and a claim use, such as the network
whose histograms stand in for Glorot & Bengio's Figs. 6-7, is made here, once.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from initbench import schema, stats
from initbench.figures.style import canonical_init

REPORT_DIR = Path(__file__).resolve().parents[3] / "report"
PUBLISHED_YAML = REPORT_DIR / "published.yaml"


@functools.cache
def published() -> dict:
    """The published numbers and their sources (``report/published.yaml``)."""
    import yaml

    return yaml.safe_load(PUBLISHED_YAML.read_text(encoding="utf-8"))


class Tables:
    """The aggregate tables of one run, read on first use, checked against the schema, cached.

    ``get(table, study=...)`` reads only that study's rows of a Parquet table; a table whose file
    is missing reads as empty (a study may not record histograms or hidden activations).
    """

    def __init__(self, metrics_dir: str | Path, summary_csv: str | Path):
        self.metrics_dir = Path(metrics_dir)
        self.summary_csv = Path(summary_csv)
        self._cache: dict[tuple[str, str | None], pd.DataFrame] = {}

    def get(self, table: str, study: str | None = None) -> pd.DataFrame:
        key = (table, study)
        if key not in self._cache:
            self._cache[key] = self._read(table, study)
        return self._cache[key]

    def _read(self, table: str, study: str | None) -> pd.DataFrame:
        if table == "summary":
            df = schema.read(self.summary_csv, "summary")
            df = df[df["study"] == study] if study else df
        else:
            path = self.metrics_dir / f"{table}.parquet"
            if not path.exists() or pq.ParquetFile(path).metadata.num_rows == 0:
                # an empty aggregate has float columns, which a filter on a study's name would refuse
                return pd.DataFrame(columns=list(schema.TABLES[table]))
            filters = [("study", "==", study)] if study else None
            df = schema.check(pd.read_parquet(path, filters=filters), table, path)
        df = df.copy()
        if len(df):  # once per distinct spec: a study's iterations table has ~10^5 rows per init
            df["init"] = df["init"].map({spec: canonical_init(spec) for spec in df["init"].unique()})
        return df.reset_index(drop=True)

    def studies(self) -> list[str]:
        return sorted(self.get("summary")["study"].unique())


def percent(values) -> np.ndarray:
    """Accuracy as a percentage. The tables store accuracies as fractions in [0, 1]."""
    v = np.asarray(values, dtype=float)
    if np.nanmax(v, initial=0.0) > 1.0 + 1e-9:
        raise ValueError("accuracies must be fractions in [0, 1]; got a value above 1")
    return 100.0 * v


def final_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The last epoch of each variant."""
    if df.empty:
        return df
    last = df.groupby("variant")["epoch"].transform("max")
    return df[df["epoch"] == last]


def study_kind(config: dict, study: str) -> str:
    """The dataset kind of a study (``mnist``, ``mnist1d``...); its dataset name if the config has no kind."""
    names = config.get("studies", {}).get(study, {}).get("dataset", "")
    name = names[0] if isinstance(names, list) and names else names
    return str(config.get("datasets", {}).get(name, {}).get("kind", name))


def dataset_kind(config: dict, dataset: str) -> str:
    return str(config.get("datasets", {}).get(dataset, {}).get("kind", dataset))


def n_train(tables: Tables, study: str) -> int | None:
    """Training-set size of a study: SGD steps in its first epoch times its batch size.

    Read off the data rather than the config, so it is the number the run actually used
    (the same-weights lab sums its loss over these points).
    """
    it = tables.get("iterations", study)
    summ = tables.get("summary", study)
    if it.empty or summ.empty:
        return None
    first = it[it["variant"] == it["variant"].min()]
    steps = int((first["epoch"] == first["epoch"].min()).sum())
    return steps * int(summ["batch_size"].iloc[0])


def n_classes(tables: Tables, study: str) -> dict[str, int]:
    """Each dataset of a study -> its number of classes, read off the output layer at init.

    The output layer has one unit per class (cross-entropy), or a single sigmoid unit for two
    classes (the toy lab's BCE). Read from the ``layers`` table, so it is the number the run used.
    """
    lay = tables.get("layers", study)
    if lay.empty:
        return {}
    lay = lay[lay["epoch"] == lay["epoch"].min()]
    out = lay.loc[lay.groupby("variant")["layer"].idxmax()].groupby("dataset")["units"].first()
    return {str(d): 2 if int(u) == 1 else int(u) for d, u in out.items()}


def did_not_train(df: pd.DataFrame, classes: dict[str, int], column: str) -> np.ndarray:
    """Per row of ``df``: did its accuracy in ``column`` stay below chance + 10 points (``stats.did_not_train``)?

    ``classes`` maps each dataset to its classes (``n_classes``); a row of a dataset it lacks is
    never flagged, since chance is then unknown.
    """
    out = np.zeros(len(df), dtype=bool)
    for d, k in classes.items():
        rows = (df["dataset"] == d).to_numpy()
        if rows.any():
            out[rows] = stats.did_not_train(df.loc[rows, column].to_numpy(dtype=float), k)
    return out


def deepest(df: pd.DataFrame) -> pd.DataFrame:
    """The rows of the deepest network at the widest width."""
    if df.empty:
        return df
    df = df[df["depth"] == df["depth"].max()]
    return df[df["width"] == df["width"].max()]


def glorot_selection(tables: Tables) -> tuple[str, int, int] | None:
    """The (study, depth, width) whose histograms stand in for Glorot & Bengio's Figs. 6-7.

    Their nets had five hidden layers of 1000 units with tanh: we take the depth study's tanh
    network closest to that depth, at its widest width, else the Xavier lab's network.
    """
    want = published()["numbers"]["glorot_histograms"]["hidden_layers"]
    for study in ("depth", "xavier_lab"):
        h = tables.get("histograms", study)
        h = h[(h["activation"] == "tanh") & h["init"].isin(["default", "xavier_uniform"])]
        if h.empty or h["init"].nunique() < 2:
            continue
        depths = np.sort(h["depth"].unique())
        depth = int(depths[np.argmin(np.abs(depths - want))])
        width = int(h[h["depth"] == depth]["width"].max())
        return study, depth, width
    return None
