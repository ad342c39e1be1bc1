"""Glued values reach the page as plain text, and without myst-nb (Colab) the reader sees them printed."""

import builtins

from gridlib import glue as glue_module


def test_a_glued_value_is_shown_as_its_text(monkeypatch):
    shown = []
    monkeypatch.setattr("myst_nb.glue", lambda name, value, display: shown.append((name, repr(value), display)))
    glue_module.glue("left", "0.2% (0–1)")
    glue_module.glue("runs", 3)
    glue_module.glue_all("recipe", {"met": "24 of 24"})
    assert shown == [("left", "0.2% (0–1)", False), ("runs", "3", False), ("recipe_met", "24 of 24", False)]


def test_without_myst_nb_the_value_is_printed(monkeypatch, capsys):
    real_import = builtins.__import__

    def no_myst_nb(name, *args, **kwargs):
        if name.startswith("myst_nb"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_myst_nb)
    glue_module.glue("left", "0.2%")
    assert capsys.readouterr().out == "left: 0.2%\n"
