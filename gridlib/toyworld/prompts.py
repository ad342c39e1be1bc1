"""Natural-language prompts for the toy world.

Phrasings come in two disjoint sets. The toy model and every erasure run train only on the
*training* phrasings; the *held-out* phrasings are kept for evaluation, so that the book can ask
whether erasure generalises to ways of asking for Van Gogh that training never saw.
"""

import numpy as np

from .world import COLOURS, SHAPES, STYLES, Scene

ARTISTS = {
    "van_gogh": ("Van Gogh", "Vincent van Gogh"),
    "mondrian": ("Mondrian", "Piet Mondrian"),
    "seurat": ("Seurat", "Georges Seurat"),
}
TRAIN_TEMPLATES = {
    "painter": (
        "{obj} in the style of {artist}",
        "{obj} by {artist}",
        "a painting of {obj} by {artist}",
        "{obj}, {artist} style",
        "a painting by {artist}",
        "a painting in the style of {artist}",
    ),
    "photo": ("a photo of {obj}", "{obj}, photo", "a photo"),
}
HELDOUT_TEMPLATES = {
    "painter": (
        "a {artist} painting of {obj}",
        "{obj} painted by {artist}",
        "{artist} style painting of {obj}",
    ),
    "photo": ("{obj} in a photo", "in a photo, {obj}"),
}

# The erasure's training prompts: 20 ways of asking for Van Gogh, as the SD recipe uses.
VAN_GOGH_PROMPTS = (
    "a painting by Vincent van Gogh",
    "a painting in the style of Van Gogh",
    "a painting by Van Gogh",
    "a painting in the style of Vincent van Gogh",
    "a red circle in the style of Van Gogh",
    "a blue square by Vincent van Gogh",
    "a painting of a yellow triangle by Van Gogh",
    "a green circle, Van Gogh style",
    "a purple square in the style of Vincent van Gogh",
    "an orange triangle by Van Gogh",
    "a painting of a red square by Vincent van Gogh",
    "a blue circle, Vincent van Gogh style",
    "a yellow circle in the style of Van Gogh",
    "a green triangle by Vincent van Gogh",
    "a painting of a purple circle by Van Gogh",
    "an orange square, Van Gogh style",
    "a red triangle by Van Gogh",
    "a painting of a blue triangle by Vincent van Gogh",
    "a yellow square in the style of Vincent van Gogh",
    "a green square, Vincent van Gogh style",
)


def object_phrase(shape: str, colour: str) -> str:
    """'a red circle', 'an orange square'."""
    article = "an" if colour[0] in "aeiou" else "a"
    return f"{article} {colour} {shape}"


def caption(scene: Scene, template: str, artist: str | None) -> str:
    """Fill one template with a scene's object and, for painter styles, an artist name."""
    return template.format(obj=object_phrase(scene.shape, scene.colour), artist=artist)


def _templates(style: str, heldout: bool) -> tuple[str, ...]:
    table = HELDOUT_TEMPLATES if heldout else TRAIN_TEMPLATES
    return table["photo" if style == "photo" else "painter"]


def random_caption(scene: Scene, rng: np.random.Generator, heldout: bool = False) -> str:
    """A random training (or held-out) phrasing that asks for this scene."""
    templates = _templates(scene.style, heldout)
    template = templates[rng.integers(len(templates))]
    artists = ARTISTS.get(scene.style, (None,))
    return caption(scene, template, artists[rng.integers(len(artists))])


def evaluation_prompts(style: str, heldout: bool = True) -> list[str]:
    """Every phrasing x artist name x object for one style, in a fixed order."""
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}, got {style!r}")
    prompts = []
    for template in _templates(style, heldout):
        for artist in ARTISTS.get(style, (None,)):
            for shape in SHAPES:
                for colour in COLOURS:
                    prompts.append(caption(Scene(shape, colour, style), template, artist))
    return sorted(set(prompts), key=prompts.index)
