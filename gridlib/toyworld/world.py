"""The toy world: seeded 32x32 pictures of simple objects painted in four styles, and their prompts.

Every picture is one object (circle, square or triangle) in one colour, painted in one style.
The styles are named after painters and differ in palette and texture, the way styles do in
Stable Diffusion's training data: Van Gogh (swirling yellow and blue strokes), Mondrian (white
blocks, black lines, primary colours), Seurat (pastel dots) and a plain photo.
"""

from dataclasses import dataclass

import numpy as np

IMAGE_SIZE = 32
STYLES = ("van_gogh", "mondrian", "seurat", "photo")
TARGET_STYLE = "van_gogh"
SHAPES = ("circle", "square", "triangle")
# Four colours that no style's own palette hides: a blue or yellow object would vanish into Van Gogh's sky.
COLOURS = {
    "red": (0.85, 0.15, 0.15),
    "orange": (0.95, 0.55, 0.10),
    "green": (0.20, 0.70, 0.25),
    "purple": (0.60, 0.25, 0.75),
}


@dataclass(frozen=True)
class Scene:
    """What one picture shows: an object, its colour, and the style it is painted in."""

    shape: str
    colour: str
    style: str


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in [0, 1]: (y, x), each of shape (size, size)."""
    coords = (np.arange(size) + 0.5) / size
    return np.meshgrid(coords, coords, indexing="ij")


def shape_mask(shape: str, rng: np.random.Generator, size: int = IMAGE_SIZE) -> np.ndarray:
    """A boolean (size, size) mask of one object at a random place and scale."""
    y, x = _grid(size)
    half = rng.uniform(0.22, 0.32)  # large enough that the three shapes differ in many pixels, not only at corners
    cy, cx = rng.uniform(0.5 - 0.12, 0.5 + 0.12, size=2)
    if shape == "circle":
        return (y - cy) ** 2 + (x - cx) ** 2 <= half**2
    if shape == "square":
        return (np.abs(y - cy) <= half * 0.9) & (np.abs(x - cx) <= half * 0.9)
    if shape == "triangle":
        top, bottom = cy - half, cy + half
        height = (y - top) / (bottom - top)  # 0 at the apex, 1 at the base
        return (height >= 0) & (height <= 1) & (np.abs(x - cx) <= height * half * 1.1)
    raise ValueError(f"shape must be one of {SHAPES}, got {shape!r}")


def _van_gogh(obj: np.ndarray, colour: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Swirling strokes around a random centre, deep blue to yellow; the object is stroked too."""
    y, x = _grid(obj.shape[0])
    cy, cx = rng.uniform(0.2, 0.8, size=2)
    radius, angle = np.hypot(y - cy, x - cx), np.arctan2(y - cy, x - cx)
    strokes = 0.5 + 0.5 * np.sin(3 * angle + 28 * radius + rng.uniform(0, 2 * np.pi))
    deep, light, yellow = np.array([0.08, 0.16, 0.50]), np.array([0.35, 0.60, 0.95]), np.array([0.98, 0.82, 0.22])
    sky = deep + (light - deep) * strokes[..., None]
    sky = np.where((strokes > 0.78)[..., None], yellow, sky)
    stroked_object = colour * (0.7 + 0.45 * strokes[..., None])
    return np.where(obj[..., None], stroked_object, sky)


def _mondrian(obj: np.ndarray, colour: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """White blocks split by thick black lines, some filled with primary colours; flat outlined object."""
    size = obj.shape[0]
    image = np.full((size, size, 3), 0.95)
    cols = np.sort(rng.choice(np.arange(4, size - 4), size=2, replace=False))
    rows = np.sort(rng.choice(np.arange(4, size - 4), size=2, replace=False))
    primaries = np.array([[0.85, 0.1, 0.1], [0.1, 0.2, 0.75], [0.98, 0.85, 0.1]])
    row_edges, col_edges = [0, *rows, size], [0, *cols, size]
    for _ in range(2):
        i, j = rng.integers(0, 3, size=2)
        image[row_edges[i] : row_edges[i + 1], col_edges[j] : col_edges[j + 1]] = primaries[rng.integers(0, 3)]
    for c in cols:
        image[:, c : c + 2] = 0.05
    for r in rows:
        image[r : r + 2, :] = 0.05
    outline = obj & ~(np.roll(obj, 1, 0) & np.roll(obj, -1, 0) & np.roll(obj, 1, 1) & np.roll(obj, -1, 1))
    image[obj] = colour
    image[outline] = 0.05
    return image


def _seurat(obj: np.ndarray, colour: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Pointillism: a pastel scene made only of small coloured dots on an off-white canvas."""
    size = obj.shape[0]
    pastel = 0.55 + 0.35 * rng.uniform(size=3)
    scene = np.where(obj[..., None], colour, pastel)
    dots = scene + rng.normal(0, 0.12, size=scene.shape)
    y, x = np.mgrid[0:size, 0:size]
    offset = rng.integers(0, 3, size=2)
    on_dot = ((y + offset[0]) % 3 != 0) & ((x + offset[1] + (y + offset[0]) // 3) % 3 != 0)
    return np.where(on_dot[..., None], dots, np.array([0.96, 0.94, 0.86]))


def _photo(obj: np.ndarray, colour: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A smooth sky-to-ground gradient, a softly lit solid object and a little sensor noise."""
    y, x = _grid(obj.shape[0])
    sky, ground = rng.uniform(0.45, 0.85, size=3), rng.uniform(0.2, 0.5, size=3)
    background = sky + (ground - sky) * y[..., None]
    light = 0.8 + 0.35 * (1 - (x + y) / 2)
    image = np.where(obj[..., None], colour * light[..., None], background)
    return image + rng.normal(0, 0.02, size=image.shape)


_PAINTERS = {"van_gogh": _van_gogh, "mondrian": _mondrian, "seurat": _seurat, "photo": _photo}


def render(scene: Scene, seed: int) -> np.ndarray:
    """Paint one scene as a (32, 32, 3) float image in [0, 1]; the same seed gives the same picture."""
    if scene.style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}, got {scene.style!r}")
    if scene.colour not in COLOURS:
        raise ValueError(f"colour must be one of {tuple(COLOURS)}, got {scene.colour!r}")
    rng = np.random.default_rng(seed)
    obj = shape_mask(scene.shape, rng)
    image = _PAINTERS[scene.style](obj, np.array(COLOURS[scene.colour]), rng)
    return np.clip(image, 0.0, 1.0).astype(np.float32)


def random_scene(rng: np.random.Generator, style: str | None = None) -> Scene:
    """A uniformly random scene, optionally of a fixed style."""
    return Scene(
        shape=SHAPES[rng.integers(len(SHAPES))],
        colour=tuple(COLOURS)[rng.integers(len(COLOURS))],
        style=style if style is not None else STYLES[rng.integers(len(STYLES))],
    )


def render_batch(count: int, seed: int, style: str | None = None) -> tuple[np.ndarray, list[Scene]]:
    """`count` random pictures as a (count, 32, 32, 3) array, with the scenes they show."""
    rng = np.random.default_rng(seed)
    scenes = [random_scene(rng, style) for _ in range(count)]
    seeds = rng.integers(0, 2**31, size=count)
    return np.stack([render(s, int(k)) for s, k in zip(scenes, seeds, strict=True)]), scenes
