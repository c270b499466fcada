from monitor.reports.terminal import format_table, safe


def test_escape_sequences_and_bidi_overrides_cannot_reach_the_terminal():
    hostile = "Vučić\x1b[2J\x1b]0;pwned\x07 meets \u202eLavrov\x00"
    out = safe(hostile)
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out and "\x00" not in out
    assert out.startswith("Vučić?[2J?]0;pwned? meets ?Lavrov")


def test_table_aligns_columns_truncates_long_cells_and_counts_rows():
    out = format_table(["id", "title"], [("a1", "x" * 100), ("a2", None)])
    lines = out.splitlines()
    assert lines[0].startswith("id | title")
    assert lines[1].startswith("---+-")
    assert lines[2].endswith("…") and len(lines[2]) == len("a1 | ") + 60
    assert lines[3] == "a2 |"
    assert lines[-1] == "(2 rows)"
