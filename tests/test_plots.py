"""Figures: built from the stage tables, one colour per meaning."""

from analysis import plots
from analysis.summarise import missingness, source_table


def test_rows_by_source_stacks_every_row(sample_processed):
    table = source_table(sample_processed.summary)
    fig = plots.rows_by_source(table)
    ax = fig.axes[0]
    widths = {}
    for bar in ax.patches:
        y = round(bar.get_y(), 3)
        widths[y] = widths.get(y, 0) + bar.get_width()
    assert sorted(widths.values()) == sorted(table["rows_in"].tolist())
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0] == "clean"


def test_missing_answers_one_panel_per_wave_same_colour_per_reason(sample_processed):
    table = missingness(sample_processed.data, sample_processed.study.codebook)
    fig = plots.missing_answers(table)
    assert [ax.get_title(loc="left").split(" ")[0] for ax in fig.axes] == ["pre", "post", "followup"]
    colours = {}
    for ax in fig.axes:
        for container, label in zip(ax.containers, [c.get_label() for c in ax.containers]):
            colours.setdefault(label, set()).add(container.patches[0].get_facecolor())
    assert all(len(c) == 1 for c in colours.values())
