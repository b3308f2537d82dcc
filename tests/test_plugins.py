"""Plugin files: what the DAG reads without importing them, what the check finds by trying them,
and a plugin init used like a built-in one (config, grid, init_params, theory)."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import torch
import yaml

import plugin_files
from conftest import REPO, SCHEMA
from initbench import config as ibconfig
from initbench import grid, inits, plugincheck, plugins, registry, theory

TINY = yaml.safe_load((REPO / "tests/config/tiny.yaml").read_text())


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A working directory (plugin paths are relative to it), and a registry restored afterwards."""
    monkeypatch.chdir(tmp_path)
    saved = dict(registry.REGISTRY)
    yield tmp_path
    registry.REGISTRY.clear()
    registry.REGISTRY.update(saved)


def _config(path: str, *inits) -> dict:
    cfg = copy.deepcopy(TINY)
    cfg["plugins"] = [path]
    cfg["studies"]["he_lab"]["init"] += list(inits)
    return cfg


def test_declare_reads_names_parameters_and_keywords_without_importing(workdir):
    path = plugin_files.write(workdir, "mine", plugin_files.GOOD)
    modules = set(sys.modules)
    assert plugins.declare(path) == ["my_init", "my_uniform"]
    rec = registry.REGISTRY["my_init"]
    assert (
        rec.fn is None
        and rec.source == path
        and rec.bias == "zero"
        and rec.cite == "A. Author, Some Venue 2024"
    )
    assert rec.params == (registry.Param("scale", 1.0),)
    uni = registry.REGISTRY["my_uniform"]
    assert [p.name for p in uni.params] == ["low", "high"] and uni.params[0].required
    assert uni.cite == registry.USER_SUPPLIED  # no citation given
    assert set(sys.modules) == modules, "declare must not import the file"


def test_a_config_names_plugin_inits_like_built_ins(workdir):
    path = plugin_files.write(workdir, "mine", plugin_files.GOOD)
    cfg = ibconfig.validate(_config(path, "my_init", "my_init(scale=0.5)", "my_uniform(-1)"), SCHEMA)
    lab = {v["init"]: v for v in grid.variants(cfg) if v["study"] == "he_lab"}
    assert {"my_init", "my_init(scale=0.5)", "my_uniform(-1)"} <= set(lab)
    assert lab["my_init"]["bias_policy"] == "default"  # the he_lab study's bias: default override
    assert [s for s in grid.specs_used(cfg) if s.startswith("my_")] == [
        "my_init",
        "my_init(0.5)",
        "my_uniform(-1)",
    ]
    assert plugins.used_by(["default", "my_init(0.5)", "he_uniform"]) == [path]


@pytest.mark.parametrize(
    "spec, message",
    [
        ("my_inti", "unknown init 'my_inti'; valid inits are: .*my_init"),
        ("my_init(1,2)", "takes at most 1 argument"),
        ("my_uniform", "needs low"),
        ("my_init(size=2)", "unknown argument 'size'"),
    ],
)
def test_bad_uses_of_a_plugin_init_are_config_errors(workdir, spec, message):
    path = plugin_files.write(workdir, "mine", plugin_files.GOOD)
    with pytest.raises(ValueError, match=rf"studies\.he_lab\.init\[3\]: .*{message}"):
        ibconfig.validate(_config(path, spec), SCHEMA)


@pytest.mark.parametrize("case", sorted(plugin_files.BROKEN_AT_DAG))
def test_a_file_the_dag_cannot_read_is_a_config_error_naming_file_and_init(workdir, case):
    text, init, message = plugin_files.BROKEN_AT_DAG[case]
    path = plugin_files.write(workdir, "broken", text)
    with pytest.raises(ValueError) as err:
        ibconfig.validate(_config(path), SCHEMA)
    line = str(err.value)
    assert line.startswith(f"plugins[0]: plugin {path}") and message in line and "\n" not in line, line
    if init:
        assert f"init {init}:" in line, line


def test_a_missing_plugin_file_and_two_files_of_one_name(workdir):
    with pytest.raises(ValueError, match=r"plugins\[0\]: plugin nowhere.py: no such file"):
        ibconfig.validate(_config("nowhere.py"), SCHEMA)
    a = plugin_files.write(workdir, "mine", plugin_files.GOOD)
    (workdir / "other").mkdir()
    (workdir / "other/mine.py").write_text(plugin_files.GOOD.replace("my_", "other_"))
    cfg = _config(a)
    cfg["plugins"].append("other/mine.py")
    with pytest.raises(
        ValueError, match=r"plugins\[1\]: other/mine.py and plugins/mine.py have the same file name"
    ):
        ibconfig.validate(cfg, SCHEMA)


@pytest.mark.parametrize("case", sorted(plugin_files.BROKEN_AT_CHECK))
def test_the_check_finds_each_broken_init_with_one_line(workdir, case):
    text, init, message = plugin_files.BROKEN_AT_CHECK[case]
    path = plugin_files.write(workdir, f"broken_{case.replace(' ', '_').replace('-', '_')}", text)
    plugins.declare(path)  # the DAG reads it fine: only importing and trying it shows the problem
    with pytest.raises(plugins.PluginError) as err:
        plugincheck.check_file(path, [])
    line = str(err.value)
    assert line.startswith(f"plugin {path}") and message in line and "\n" not in line, line
    if case != "does not import":
        assert f", init {init}: " in line, line


def test_the_check_tries_the_configs_specs_too(workdir):
    text = plugin_files._plugin(
        "scaled", "weight.mul_(math.sqrt(scale))", head="import math", params=", scale=1.0"
    )
    path = plugin_files.write(workdir, "scaled", text)
    plugins.declare(path)
    assert plugincheck.check_file(path, ["default", "scaled(2)"])["tried"] == ["scaled", "scaled(2)"]
    with pytest.raises(
        plugins.PluginError, match=r"init scaled: scaled\(-1\): raises ValueError: math domain error"
    ):
        plugincheck.check_file(path, ["scaled(-1)"])


def test_the_check_record_and_a_plugin_init_in_training(workdir):
    path = plugin_files.write(workdir, "mine", plugin_files.GOOD)
    record = plugincheck.check_file(path, ["my_uniform(-1)"])
    assert record["sha256"] == plugins.sha256(path) and record["plugin"] == path
    assert [i["name"] for i in record["inits"]] == ["my_init", "my_uniform"]
    assert record["tried"] == ["my_init", "my_uniform(-1)"]  # my_uniform needs low: only the config's spec
    rec = registry.REGISTRY["my_init"]
    assert rec.fn is not None and rec.source == path and rec.formula == "W ~ N(0, scale^2 / fan_in), b = 0."
    (w, b), _ = inits.init_params("my_init(0.5)", [4000, 200, 3], seed=0)
    assert w.std().item() == pytest.approx(0.5 / 4000**0.5, rel=0.02) and torch.count_nonzero(b) == 0
    assert theory.weight_variance("my_init(0.5)", 400, 10) == 0.25 / 400  # the plugin's own formula


def test_importing_a_declared_plugin_twice_and_a_clash_between_two_plugins(workdir):
    a = plugin_files.write(workdir, "mine", plugin_files.GOOD)
    assert plugins.activate(a) == plugins.activate(a) == ["my_init", "my_uniform"]
    b = plugin_files.write(workdir, "copy", plugin_files.GOOD)
    with pytest.raises(
        plugins.PluginError, match=rf"plugin {b}, init my_init: the name is already an init of {a}"
    ):
        plugins.declare(b)


def test_the_dag_modules_stay_torch_free_with_a_plugin_that_imports_torch(workdir):
    path = plugin_files.write(workdir, "mine", "import torch\n" + plugin_files.GOOD)
    cfg = workdir / "cfg.yaml"
    cfg.write_text(yaml.safe_dump(_config(path, "my_init")))
    code = (
        "import sys; from initbench import config, grid, kinds, plugins, packsize; "
        f"c = config.load({str(cfg)!r}, {str(SCHEMA)!r}); grid.packs(c); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=workdir)
    assert out.stdout.strip() == "False", out.stderr
