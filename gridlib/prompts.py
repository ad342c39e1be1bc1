"""Stable Diffusion's prompts: what the SD recipe erases with, and what the SD evaluation asks for.

The toy world keeps its own prompts (`gridlib.toyworld.prompts`); these are for a real model.
Training names Van Gogh's artworks and the periods of his work, as the report's 20 prompt
variations do. Evaluation asks for Van Gogh in phrasings training never uses, for the ESD paper's
other artists (Picasso, Rembrandt, Andy Warhol, Caravaggio) and two more, and for ordinary
photographs, so that both erasure and what must survive it are measured.
"""

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


def artist_prompts(artist: str, heldout: bool) -> list[str]:
    """Every template x subject for one artist (or `PHOTO`): 12 training-style or 12 held-out phrasings."""
    if artist == PHOTO:
        templates = PHOTO_HELDOUT_TEMPLATES if heldout else PHOTO_TRAIN_TEMPLATES
    else:
        templates = HELDOUT_TEMPLATES if heldout else TRAIN_TEMPLATES
    return [template.format(artist=artist, subject=subject) for template in templates for subject in SUBJECTS]


def judge_labels() -> dict[str, str]:
    """What CLIP zero-shot compares each image with: one text per style the SD evaluation measures."""
    labels = {artist: f"a painting by {artist}" for artist in (TARGET_ARTIST, *OTHER_ARTISTS)}
    return {**labels, PHOTO: "a photograph"}
