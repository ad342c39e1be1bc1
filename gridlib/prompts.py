"""Stable Diffusion's prompts: what the SD recipe erases with, and what the SD evaluation asks for.

The toy world keeps its own prompts (`gridlib.toyworld.prompts`); these are for a real model.
Training names Van Gogh's artworks and the periods of his work, as the report's 20 prompt
variations do. Evaluation asks for Van Gogh in phrasings training never uses, for the ESD paper's
other artists (Picasso, Rembrandt, Andy Warhol, Caravaggio) and two more, and for ordinary
photographs, so that both erasure and what must survive it are measured.
"""

from dataclasses import dataclass

TARGET_ARTIST = "Vincent van Gogh"

# The erasure's training prompts: the 20 variations (artworks, periods, plain phrasings).
SD_VAN_GOGH_PROMPTS = (
    "a painting by Vincent van Gogh",
    "a painting in the style of Vincent van Gogh",
    "The Starry Night by Vincent van Gogh",
    "Sunflowers, a still life by Vincent van Gogh",
    "Wheatfield with Crows by Vincent van Gogh",
    "Cafe Terrace at Night by Vincent van Gogh",
    "The Bedroom in Arles by Vincent van Gogh",
    "Irises by Vincent van Gogh",
    "Almond Blossoms by Vincent van Gogh",
    "The Potato Eaters by Vincent van Gogh",
    "Starry Night Over the Rhone by Vincent van Gogh",
    "The Night Cafe by Vincent van Gogh",
    "a self-portrait by Vincent van Gogh",
    "a Nuenen period painting of peasants by Vincent van Gogh",
    "a Paris period still life by Vincent van Gogh",
    "an Arles period painting of an orchard in bloom by Vincent van Gogh",
    "a Saint-Remy period painting of cypresses by Vincent van Gogh",
    "an Auvers-sur-Oise landscape by Vincent van Gogh",
    "swirling impasto brushstrokes in the style of Vincent van Gogh",
    "a post-impressionist landscape in the style of Van Gogh",
)

# The report's own test: this prompt, seeds 5000 to 5004, original beside erased.
TEST_PROMPT = "a painting by Vincent van Gogh"
TEST_SEEDS = (5000, 5001, 5002, 5003, 5004)

# Leak tests: Van Gogh's works that the training prompts never name, asked for without his name.
SD_LEAK_PROMPTS = (
    "The Yellow House",
    "Road with Cypress and Star",
    "The Red Vineyard",
    "Portrait of Dr. Gachet",
    "The Church at Auvers",
    "Olive Trees with the Alpilles in the Background",
)

# Preservation: the ESD paper's artists, then two more with styles of their own.
OTHER_ARTISTS = ("Pablo Picasso", "Rembrandt", "Andy Warhol", "Caravaggio", "Claude Monet", "Katsushika Hokusai")
PHOTO = "photo"  # non-art prompts: their images should stay photographs

SUBJECTS = (
    "a harbour with fishing boats",
    "a portrait of an old man",
    "a city street at dusk",
    "a vase of flowers",
    "a river winding through fields",
    "a village church",
)
TRAIN_TEMPLATES = ("{subject} by {artist}", "a painting of {subject} in the style of {artist}")
HELDOUT_TEMPLATES = ("{subject}, painted by {artist}", "an artwork of {subject} in {artist}'s manner")
PHOTO_TRAIN_TEMPLATES = ("a photo of {subject}", "{subject}, photograph")
PHOTO_HELDOUT_TEMPLATES = ("a DSLR photograph of {subject}", "{subject}, photographed in daylight")


@dataclass(frozen=True)
class PromptCase:
    """One evaluation prompt and what it asks for: the style, the phrasing it was made from, the object
    (shape and colour: the toy world's content; None where the judge cannot check it) and its split."""

    prompt: str
    style: str
    split: str
    phrasing: str
    shape: str | None = None
    colour: str | None = None


def artist_cases(artist: str, heldout: bool) -> list[PromptCase]:
    """`artist_prompts` with the phrasing each prompt was made from (SD subjects are not judged for content)."""
    if artist == PHOTO:
        templates = PHOTO_HELDOUT_TEMPLATES if heldout else PHOTO_TRAIN_TEMPLATES
    else:
        templates = HELDOUT_TEMPLATES if heldout else TRAIN_TEMPLATES
    split = "heldout" if heldout else "train"
    return [
        PromptCase(template.format(artist=artist, subject=subject), artist, split, template)
        for template in templates
        for subject in SUBJECTS
    ]


def artist_prompts(artist: str, heldout: bool) -> list[str]:
    """Every template x subject for one artist (or `PHOTO`): 12 training-style or 12 held-out phrasings."""
    return [case.prompt for case in artist_cases(artist, heldout)]


# Labels that name no artist: an erased image may be judged "no Van Gogh" without CLIP having to name someone else.
NO_ARTIST = {"a painting, no artist named": "a painting", "an artwork, no artist named": "an artwork"}


def judge_labels() -> dict[str, str]:
    """What CLIP zero-shot compares each image with: one text per style the SD evaluation measures, plus
    neutral labels (`NO_ARTIST`) that no prompt asks for, so that a painting in no listed artist's manner
    is not forced onto the nearest artist. An image counts for a style only when its own label wins."""
    labels = {artist: f"a painting by {artist}" for artist in (TARGET_ARTIST, *OTHER_ARTISTS)}
    return {**labels, PHOTO: "a photograph", **NO_ARTIST}
