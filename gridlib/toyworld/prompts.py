"""Natural-language prompts for the toy world.

Every training caption names what the picture shows, so that prompts control content as well as
style: "a red circle by Van Gogh", "an orange square, photo", or one of a painter's named artworks
("the starry night"), which always shows the same object in that painter's style.

Phrasings come in three disjoint splits. The toy model and every erasure run train only on the
*training* phrasings. The *held-out* phrasings rearrange words that training captions use; the
*unseen* phrasings ask differently again (a bare name, the name and a comma), the way a user might.
One training phrasing puts the painter's name first ("Van Gogh painted a red circle"): without it the text
encoder never saw a name at the start of a caption, and held-out name-first prompts lost their style.
Evaluation measures erasure on each split separately.
"""

from ..prompts import PromptCase
from .world import COLOURS, SHAPES, STYLES, Scene

SPLITS = ("train", "heldout", "unseen")
ARTISTS = {
    "van_gogh": ("Van Gogh", "Vincent van Gogh"),
    "mondrian": ("Mondrian", "Piet Mondrian"),
    "seurat": ("Seurat", "Georges Seurat"),
}
TEMPLATES = {
    "train": {
        "painter": (
            "{obj} in the style of {artist}",
            "{obj} by {artist}",
            "a painting of {obj} by {artist}",
            "{obj}, {artist} style",
            "{obj} painted in the style of {artist}",
            "{artist} painted {obj}",
        ),
        "photo": ("a photo of {obj}", "{obj}, photo"),
    },
    "heldout": {
        "painter": ("a {artist} painting of {obj}", "{obj} painted by {artist}", "{artist} style painting of {obj}"),
        "photo": ("{obj} in a photo", "in a photo, {obj}"),
    },
    "unseen": {
        "painter": ("{artist}", "{artist} painting", "{artist}, {obj}"),
        "photo": ("a photo", "photo, {obj}"),
    },
}

# Two named artworks per painter: each is always one object in one colour, painted in its painter's
# style. The toy model learns them from captions with and without the painter's name; the erasure
# prompts never mention them, so they test whether an erased style leaks back through related words.
ARTWORKS = {
    "the starry night": Scene("circle", "orange", "van_gogh"),
    "irises": Scene("triangle", "purple", "van_gogh"),
    "broadway boogie woogie": Scene("square", "red", "mondrian"),
    "new york city": Scene("triangle", "green", "mondrian"),
    "la grande jatte": Scene("circle", "green", "seurat"),
    "the circus": Scene("square", "orange", "seurat"),
}
ARTWORK_TEMPLATES = ("{artwork}", "{artwork} by {artist}", "a painting of {artwork}", "{artwork}, {artist} style")
LEAK_TEMPLATES = ("{artwork}", "a painting of {artwork}")  # the artwork templates without the painter's name
ARTWORK_SHARE = 0.2  # of painter-style training pictures that show one of the painter's artworks

# The erasure's training prompts: 20 training phrasings that name an object (each object-first template 4 times, each name
# 10 times, every object at least once), as the SD recipe's 20 prompts name artworks. ESD guides away from the
# whole prompt, object included; the toy recipe's target is anchored at each prompt's `neutral_prompt` (the same
# prompt without the painter) instead of the empty prompt, so that only the style is guided away (chapter 3).
VAN_GOGH_PROMPTS = (
    "a red circle in the style of Van Gogh",
    "an orange square by Van Gogh",
    "a painting of a green triangle by Van Gogh",
    "a purple circle, Van Gogh style",
    "a red triangle painted in the style of Van Gogh",
    "an orange circle in the style of Vincent van Gogh",
    "a green square by Vincent van Gogh",
    "a painting of a purple triangle by Vincent van Gogh",
    "a red square, Vincent van Gogh style",
    "an orange triangle painted in the style of Vincent van Gogh",
    "a green circle in the style of Van Gogh",
    "a purple square by Van Gogh",
    "a painting of a red circle by Van Gogh",
    "an orange square, Van Gogh style",
    "a green triangle painted in the style of Van Gogh",
    "a purple circle in the style of Vincent van Gogh",
    "a red triangle by Vincent van Gogh",
    "a painting of an orange circle by Vincent van Gogh",
    "a green square, Vincent van Gogh style",
    "a purple triangle painted in the style of Vincent van Gogh",
)

# Ten prompts that name the painter and no object, anchored at the empty prompt as ESD does: the previous toy
# recipe's, kept for the comparison (results/recipe_painter_prompts.json). With the empty anchor, the same 20
# object-naming prompts erased the objects too (results/recipe_object_prompts.json).
VAN_GOGH_PAINTER_PROMPTS = (
    "a painting by Van Gogh",
    "a painting by Vincent van Gogh",
    "a painting in the style of Van Gogh",
    "a painting in the style of Vincent van Gogh",
    "in the style of Van Gogh",
    "in the style of Vincent van Gogh",
    "Van Gogh style",
    "Vincent van Gogh style",
    "by Van Gogh",
    "by Vincent van Gogh",
)

# Each training phrasing with a painter, and the same phrasing without one.
WITHOUT_PAINTER = {
    "{obj} in the style of {artist}": "{obj}",
    "{obj} by {artist}": "{obj}",
    "a painting of {obj} by {artist}": "a painting of {obj}",
    "{obj}, {artist} style": "{obj}",
    "{obj} painted in the style of {artist}": "{obj}",
    "{artist} painted {obj}": "{obj}",
}


def object_phrase(shape: str, colour: str) -> str:
    """'a red circle', 'an orange square'."""
    article = "an" if colour[0] in "aeiou" else "a"
    return f"{article} {colour} {shape}"


def caption(scene: Scene, template: str, artist: str | None) -> str:
    """Fill one template with a scene's object and, for painter styles, an artist name."""
    return template.format(obj=object_phrase(scene.shape, scene.colour), artist=artist)


def templates(style: str, split: str = "train") -> tuple[str, ...]:
    """The phrasings of one split for a style."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return TEMPLATES[split]["photo" if style == "photo" else "painter"]


def artworks_of(style: str) -> list[str]:
    """The named artworks painted in `style` (none for photos)."""
    return [name for name, scene in ARTWORKS.items() if scene.style == style]


def training_caption(scene: Scene, rng) -> str:
    """A random training phrasing that asks for this scene (artwork scenes get artwork captions)."""
    artists = ARTISTS.get(scene.style, (None,))
    artist = artists[rng.integers(len(artists))]
    artwork = next((name for name, known in ARTWORKS.items() if known == scene), None)
    if artwork is not None and rng.random() < 0.5:
        return ARTWORK_TEMPLATES[rng.integers(len(ARTWORK_TEMPLATES))].format(artwork=artwork, artist=artist)
    phrasings = templates(scene.style, "train")
    return caption(scene, phrasings[rng.integers(len(phrasings))], artist)


def neutral_prompt(prompt: str) -> str:
    """A training-phrasing prompt with its painter taken out: "a red circle by Van Gogh" -> "a red circle",
    "a painting of a red circle by Van Gogh" -> "a painting of a red circle". It asks for the same object
    without the style, which is what the toy recipe's ESD target keeps."""
    objects = {object_phrase(shape, colour) for shape in SHAPES for colour in COLOURS}
    for template, neutral in WITHOUT_PAINTER.items():
        prefix, suffix = template.split("{obj}")
        for artist in (name for names in ARTISTS.values() for name in names):
            start, end = prefix.format(artist=artist), suffix.format(artist=artist)
            obj = prompt[len(start) : len(prompt) - len(end)]
            if prompt.startswith(start) and prompt.endswith(end) and obj in objects:
                return neutral.format(obj=obj)
    raise ValueError(f"{prompt!r} is not a training phrasing with a painter; those are {tuple(WITHOUT_PAINTER)}")


def evaluation_cases(style: str, split: str = "heldout") -> list[PromptCase]:
    """Every phrasing x artist name x object of one split for one style, without repeats, in a fixed order.

    Phrasings without an object ("Van Gogh painting") appear once per name, with no content to check.
    """
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}, got {style!r}")
    cases = {}
    for template in templates(style, split):
        for artist in ARTISTS.get(style, (None,)):
            for shape in SHAPES:
                for colour in COLOURS:
                    prompt = caption(Scene(shape, colour, style), template, artist)
                    names_object = "{obj}" in template
                    case = PromptCase(prompt, style, split, template, shape if names_object else None, colour if names_object else None)
                    cases.setdefault(prompt, case)
    return list(cases.values())


def evaluation_prompts(style: str, split: str = "heldout") -> list[str]:
    """The prompts of `evaluation_cases`."""
    return [case.prompt for case in evaluation_cases(style, split)]


def leak_cases() -> list[PromptCase]:
    """Every painter's artworks named without the painter: does an erased style come back through them?"""
    return [
        PromptCase(template.format(artwork=name), scene.style, "artworks", template, scene.shape, scene.colour)
        for name, scene in ARTWORKS.items()
        for template in LEAK_TEMPLATES
    ]
