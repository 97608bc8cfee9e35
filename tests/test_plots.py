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


def test_a_dutch_figure_writes_its_numbers_with_a_decimal_comma(sample_results):
    from analysis import summarise

    effects = sample_results.effects
    en = plots.effect_forest(effects, "confidence")
    words = summarise._plot_words(sample_results) | {"language": "nl"}
    nl = plots.effect_forest(effects, "confidence", words=words)
    for fig in (en, nl):
        fig.canvas.draw()  # tick labels are made when drawn
    ax_en, ax_nl = en.axes[0], nl.axes[0]
    notes_en = [t.get_text() for t in ax_en.texts if "[" in t.get_text()]
    notes_nl = [t.get_text() for t in ax_nl.texts if "[" in t.get_text()]
    assert notes_en and len(notes_en) == len(notes_nl)
    for e, n in zip(notes_en, notes_nl):  # "+0.32 [0.10, 0.55]  n ..." -> "+0,32 [0,10; 0,55]  n ..."
        assert n == e.replace(", ", "; ", 1).replace(".", ",") and "." not in n.split("n ")[0]
    ticks_en = [t.get_text() for t in ax_en.get_xticklabels()]
    ticks_nl = [t.get_text() for t in ax_nl.get_xticklabels()]
    assert any("." in t for t in ticks_en) and ticks_nl == [t.replace(".", ",") for t in ticks_en]
