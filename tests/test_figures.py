"""Figures: the catalog, captions and alt text, drawing every figure, stable bytes, fixed init colours."""

import subprocess
import sys

import pytest

import synthetic
from initbench import figures
from initbench.figures.style import INIT_COLORS, init_color


def test_importing_figures_is_light():
    # the Snakefile imports initbench.figures while it builds the DAG
    code = "import sys, initbench.figures; print(sorted(m for m in ('matplotlib', 'pandas', 'seaborn') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_catalog_follows_the_studies():
    assert figures.catalog([]) == ["fig_range_tanh_derivative"]
    assert figures.catalog(["he_lab"]) == ["fig_range_tanh_derivative", "fig_lab_he_relu"]
    assert "fig_glorot_histograms" in figures.catalog(["xavier_lab"])
    assert figures.catalog(synthetic.STUDIES) == list(figures.FIGURES)


def test_every_figure_has_a_function_caption_and_alt_text():
    for name, f in figures.FIGURES.items():
        assert name.startswith("fig_")
        assert len(figures.CAPTIONS[name]) > 40 and len(f.alt) > 40
        assert (figures.CAPTIONS_DIR / f"{name}.rst").exists()
        assert figures.figure_function(name).__name__ == name
    captions = {p.stem for p in figures.CAPTIONS_DIR.glob("*.rst")}
    assert captions == set(figures.FIGURES), "a caption file without a figure, or the reverse"


def test_every_figure_draws_an_svg():
    _, drawn = synthetic.drawn()
    for name, path in drawn.items():
        text = path.read_text()
        assert text.count("<svg") == 1 and "<path" in text, name
        assert "No rows for" not in text, f"{name} found no data in the synthetic tables"


def test_svg_is_byte_stable(tmp_path):
    inputs, drawn = synthetic.drawn()
    name = "fig_lab_xavier_tanh"
    again = tmp_path / "again.svg"
    figures.draw(name, inputs.metrics_dir, inputs.summary_csv, again, inputs.config)
    assert again.read_bytes() == drawn[name].read_bytes()


def test_each_init_has_one_colour_in_every_figure():
    _, drawn = synthetic.drawn()
    assert len(set(INIT_COLORS.values())) == len(INIT_COLORS)
    for name, inits in (
        ("fig_lab_xavier_tanh", ("uniform(0,1)", "default", "xavier_uniform")),
        ("fig_range_curves", ("uniform(-1,1)", "uniform(-0.05,0.05)", "default")),
        ("fig_deep_relu", ("default", "xavier_uniform", "he_uniform")),
    ):
        svg = drawn[name].read_text().lower()
        for init in inits:
            assert init_color(init).lower() in svg, f"{name} lacks the colour of {init}"
    assert init_color("uniform(0, 1.0)") == INIT_COLORS["uniform(0,1)"]
    assert init_color("lsuv") == init_color("lsuv")


def test_missing_data_gives_a_placeholder_not_an_error(tmp_path):
    inputs = synthetic.write_inputs(tmp_path, synthetic.config(["he_lab"], seeds=2))
    out = tmp_path / "f.svg"
    figures.draw("fig_same_weights_hidden", inputs.metrics_dir, inputs.summary_csv, out, inputs.config)
    assert "No rows for" in out.read_text()
    with pytest.raises(ValueError, match="known figures"):
        figures.draw("fig_nope", inputs.metrics_dir, inputs.summary_csv, out, inputs.config)


def test_draw_all_over_two_workers_gives_the_same_bytes_and_names_a_failing_figure(tmp_path):
    inputs, drawn = synthetic.drawn()
    names = ["fig_lab_xavier_tanh", "fig_chi1_map", "fig_same_weights_loss"]
    out = {name: tmp_path / f"{name}.svg" for name in names}
    figures.draw_all(out, inputs.metrics_dir, inputs.summary_csv, inputs.config, workers=2)
    for name in names:
        assert out[name].read_bytes() == drawn[name].read_bytes(), name
    bad = {"fig_nope": tmp_path / "nope.svg", names[0]: tmp_path / "ok.svg"}
    with pytest.raises(RuntimeError, match="figure fig_nope failed"):
        figures.draw_all(bad, inputs.metrics_dir, inputs.summary_csv, inputs.config, workers=2)
    assert (tmp_path / "ok.svg").exists()  # the others are still drawn
