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


def test_json_escapes_every_control_character_and_keeps_letters_readable():
    from monitor.reports.terminal import safe_json
    import json

    value = {"t\u202e": ["Србија \x1b[31m \x7f \x85 \u061c \u200f \u2028 \u2067 \ud800 Šid"], "n": 1}
    out = safe_json(value)
    assert out == ('{"t\\u202e": ["Србија \\u001b[31m \\u007f \\u0085 \\u061c \\u200f \\u2028 \\u2067 '
                   '\\ud800 Šid"], "n": 1}')
    assert json.loads(out) == value
    out.encode("utf-8")  # printable: no lone surrogate left
