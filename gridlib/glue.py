"""Numbers in a page's prose, computed when the page runs: myst-nb's `glue`, so no measured number is typed by hand.

In the built book `{glue:text}`name`` in a Markdown cell shows the value glued under that name by a code
cell of the same page. Where myst-nb is not installed (Colab), the value is printed instead, so the reader
still sees it beside the cell that computed it.
"""


class _Text(str):
    """A string shown as itself: myst-nb renders a glued value by its repr, which would add quotes."""

    def __repr__(self) -> str:
        return str(self)


def glue(name: str, value: object) -> None:
    """Make `value` (a number or short text, shown as `str(value)`) available to the page's prose as `name`."""
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        print(f"{name}: {value}")
        return
    myst_glue(name, _Text(value), display=False)


def glue_all(prefix: str, values: dict) -> None:
    """Glue every value of `values` as `prefix_name` (as `name` where `prefix` is empty): a findings dict in one call."""
    for name, value in values.items():
        glue(f"{prefix}_{name}" if prefix else name, value)
