"""Your own data (kind ``tensors``): the .npz checks, each with one line naming the dataset; the
prepared tensors and their sha256; the shape the DAG reads without torch; and one record per kind
that the schema, the options, the sources, the readers and packsize all agree with."""

from __future__ import annotations

import copy
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml

from conftest import REPO, SCHEMA, snakemake
from initbench import config as ibconfig
from initbench import grid, kinds, names, packsize
from initbench.datasets import DatasetError, fetch, load, options, prepare, readers, sources, tensorfile
from initbench.datasets.files import sha256_file


def arrays(n_train=60, n_test=20, n_val=0, classes=3, features=(4,), seed=0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    for split, n in (("train", n_train), ("val", n_val), ("test", n_test)):
        if n:
            out[f"x_{split}"] = rng.normal(size=(n, *features)).astype(np.float32)
            out[f"y_{split}"] = np.arange(n) % classes
    return out


def save(path, data: dict) -> str:
    np.savez(path, **data)
    return str(path)


def test_a_good_file_prepares_like_a_built_in_kind(tmp_path):
    data = arrays(features=(2, 3))
    src = save(tmp_path / "mine.npz", data)
    manifest = fetch("mine", {"kind": "tensors", "source": src}, tmp_path / "data", tmp_path / "m.json")
    assert manifest["source"] == {"type": "file", "path": src, "size": (tmp_path / "mine.npz").stat().st_size,
                                  "sha256": sha256_file(tmp_path / "mine.npz")}  # fmt: skip
    meta = prepare("mine", {"kind": "tensors", "source": src}, tmp_path / "data", tmp_path / "mine.pt")
    assert meta["source"]["sha256"] == manifest["source"]["sha256"]
    assert meta["n_classes"] == 3 and meta["input_shape"] == [2, 3] and meta["input_dim"] == 6
    assert meta["sizes"] == {"train": 60, "val": 20, "test": 20} and meta["val_is_test"]
    out = load(tmp_path / "mine.pt")
    assert out["x_train"].dtype == torch.float32 and out["y_train"].dtype == torch.int64
    np.testing.assert_array_equal(out["x_train"].numpy(), data["x_train"].reshape(60, 6))
    np.testing.assert_array_equal(out["y_test"].numpy(), data["y_test"])


def test_the_files_own_validation_split_and_integer_inputs(tmp_path):
    data = arrays(n_val=10)
    data["x_train"] = (data["x_train"] * 10).astype(np.int16)
    src = save(tmp_path / "mine.npz", data)
    meta = prepare(
        "mine", {"kind": "tensors", "source": src, "normalize": "standardize"}, tmp_path, tmp_path / "a.pt"
    )
    out = load(tmp_path / "a.pt")
    assert meta["sizes"] == {"train": 60, "val": 10, "test": 20} and not meta["val_is_test"]
    np.testing.assert_array_equal(out["y_val"].numpy(), data["y_val"])
    assert abs(out["x_train"].mean().item()) < 1e-5  # standardised with the training split's statistics
    with pytest.raises(DatasetError, match="holds its own validation split"):
        prepare("mine", {"kind": "tensors", "source": src, "validation": 0.2}, tmp_path, tmp_path / "b.pt")


def _broken(tmp_path, change) -> str:
    data = arrays(n_val=10)
    change(data)
    return save(tmp_path / "bad.npz", data)


BROKEN = {
    "a missing array": (lambda d: d.pop("y_test"), "lacks y_test"),
    "an unexpected array": (lambda d: d.update(X_train=d["x_train"]), "unexpected arrays X_train"),
    "x_val without y_val": (lambda d: d.pop("y_val"), "only one of x_val and y_val"),
    "labels that are floats": (lambda d: d.update(y_train=d["y_train"].astype(np.float32)), "y_train has dtype float32"),
    "inputs that are not numbers": (lambda d: d.update(x_test=d["x_test"] > 0), "x_test has dtype bool"),
    "one label per row": (lambda d: d.update(y_train=d["y_train"][:-1]), "y_train has shape (59,); expected (60,)"),
    "samples of other shapes": (lambda d: d.update(x_test=d["x_test"][:, :3]), "x_test has samples of shape (3,)"),
    "a one-dimensional x": (lambda d: d.update(x_train=d["x_train"][:, 0]), "x_train has shape (60,)"),
    "a NaN": (lambda d: d["x_val"].__setitem__((4, 1), np.nan), "x_val holds non-finite values (NaN or inf) in 1 samples, the first at row 4"),
    "an inf": (lambda d: d["x_train"].__setitem__((7, 0), np.inf), "x_train holds non-finite values"),
    "a negative label": (lambda d: d["y_test"].__setitem__(0, -1), "y_test holds the label -1"),
    "a test label unseen in training": (lambda d: d["y_test"].__setitem__(0, 7), "y_test holds the label 7, but y_train's labels are 0..2"),
    "one class": (lambda d: d.update(y_train=np.zeros(60, dtype=np.int64)), "one class only"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_each_broken_file_gets_one_line_naming_the_dataset(tmp_path, case):
    change, message = BROKEN[case]
    src = _broken(tmp_path, change)
    with pytest.raises(DatasetError) as err:
        tensorfile.inspect("mine", src)
    assert str(err.value).startswith(f"dataset 'mine': {src}") and message in str(err.value), str(err.value)
    assert "\n" not in str(err.value)


def test_files_that_are_no_npz(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        tensorfile.inspect("mine", tmp_path / "nowhere.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(DatasetError, match="is not a .npz of plain numeric arrays"):
        tensorfile.inspect("mine", tmp_path / "text.npz")
    data = arrays()
    data["x_test"] = np.array([{"a": 1}] * 20, dtype=object)[:, None]
    np.savez(tmp_path / "objects.npz", **data)
    with pytest.raises(DatasetError, match="is not a .npz of plain numeric arrays"):
        tensorfile.inspect("mine", tmp_path / "objects.npz")


def _config(src: str, **options) -> dict:
    cfg = copy.deepcopy(yaml.safe_load((REPO / "tests/config/tiny.yaml").read_text()))
    cfg["datasets"]["mine"] = {"kind": "tensors", "source": src, **options}
    cfg["studies"]["he_lab"]["dataset"] = "mine"
    return cfg


def test_the_dag_reads_the_shape_and_checks_the_file(tmp_path):
    src = save(tmp_path / "mine.npz", arrays(n_train=600, n_test=100, n_val=50, classes=5, features=(8,)))
    cfg = ibconfig.validate(_config(src), SCHEMA)
    data = packsize.data_of("mine", cfg["datasets"]["mine"])
    assert data.samples == 750 and packsize.SHAPES[data.kind] == (8, 5, 750)
    assert packsize.sizes_of(data.kind, [32, 64, 32]) == [8, 32, 64, 32, 5]
    assert packsize.data_of("mine", {**cfg["datasets"]["mine"], "train_subset": 100}).samples == 250
    assert any(p["dataset"] == "mine" for p in grid.packs(cfg).values())
    bad = _broken(tmp_path, BROKEN["a NaN"][0])
    with pytest.raises(
        ValueError, match=r"^datasets\.mine: dataset 'mine': .*bad\.npz: x_val holds non-finite"
    ):
        ibconfig.validate(_config(bad), SCHEMA)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"n_samples": 100}, "n_samples=100 does not apply"),
        ({"timeout": 5}, "timeout=5 does not apply"),
        ({"validation": 0.1}, "holds its own validation split"),
        ({"source": None}, "needs source"),
    ],
)
def test_options_that_do_not_fit_a_tensors_dataset(tmp_path, options, message):
    src = save(tmp_path / "mine.npz", arrays(n_val=10))
    with pytest.raises(ValueError, match=rf"datasets\.mine: .*{message}"):
        ibconfig.validate(_config(src, **options), SCHEMA)


def test_the_dag_reads_a_tensors_file_without_torch(tmp_path):
    src = save(tmp_path / "mine.npz", arrays())
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump(_config(src)))
    code = (
        "import sys; from initbench import config, grid; "
        f"c = config.load({str(cfg)!r}, {str(SCHEMA)!r}); grid.packs(c); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


@pytest.mark.slow
def test_a_broken_file_stops_the_run_before_any_job(tmp_path):
    src = _broken(tmp_path, BROKEN["a negative label"][0])
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump(_config(src)))
    proc = snakemake("--cores", "1", "--configfile", str(cfg), cwd=tmp_path, timeout=300)
    assert proc.returncode != 0
    assert (
        f"initbench: config error: datasets.mine: dataset 'mine': {src}: y_test holds the label -1"
        in proc.stderr
    )
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not (tmp_path / "results").exists()


# --- one record per kind, and everything derived from it ---


def test_every_list_of_kinds_is_derived_from_the_records():
    schema = yaml.safe_load(SCHEMA.read_text())
    props = schema["properties"]["datasets"]["additionalProperties"]["properties"]
    assert props["kind"]["enum"] == [*kinds.KINDS, None], "the schema's kind enum must list the records"
    assert names.DATASET_KINDS == tuple(kinds.KINDS)
    assert set(options.DOWNLOADABLE + options.GENERATED + options.FILES) == set(kinds.KINDS)
    assert set(sources.SPECS) == set(options.DOWNLOADABLE)
    for k, rec in kinds.KINDS.items():
        assert callable(getattr(readers, f"read_{rec.reader}", None)), f"{k}: no readers.read_{rec.reader}"
        assert rec.provenance, k
        if rec.origin != kinds.FILE:
            assert packsize.SHAPES[k] == (rec.inputs, rec.classes, rec.samples)
            assert rec.inputs == int(np.prod(rec.input_shape)), k


def test_the_schema_and_the_options_know_the_same_dataset_keys_and_defaults():
    schema = yaml.safe_load(SCHEMA.read_text())
    props = schema["properties"]["datasets"]["additionalProperties"]["properties"]
    assert set(props) == set(options.DEFAULTS)
    assert {k: p["default"] for k, p in props.items()} == options.DEFAULTS


def test_timeout_and_n_test_are_accepted_and_checked():
    cfg = yaml.safe_load((REPO / "tests/config/tiny.yaml").read_text())
    cfg["datasets"]["mnist1d"]["n_test"] = 500
    cfg["datasets"]["fm"] = {"kind": "fashion_mnist", "timeout": 2.5}
    checked = ibconfig.validate(cfg, SCHEMA)
    assert options.resolve("mnist1d", checked["datasets"]["mnist1d"])["n_test"] == 500
    assert options.resolve("fm", checked["datasets"]["fm"])["timeout"] == 2.5
    cfg["datasets"]["mnist1d"]["n_test"] = 3000
    with pytest.raises(
        ValueError, match=r"datasets\.mnist1d: .*n_test=3000 must be smaller than n_samples=3000"
    ):
        ibconfig.validate(cfg, SCHEMA)
    cfg["datasets"]["mnist1d"]["n_test"] = 500
    cfg["datasets"]["fm"]["timeout"] = 0
    with pytest.raises(ValueError, match=r"datasets\.fm\.timeout"):
        ibconfig.validate(cfg, SCHEMA)
