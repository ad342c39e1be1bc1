"""A CLIP tokenizer for the toy world, written offline as CLIP's own `vocab.json` + `merges.txt`.

CLIP uses byte-level BPE with an end-of-word marker `</w>`. We keep its byte alphabet, so any
text can be tokenized, and add one merge chain per word of the toy world's prompts, so each of
those words becomes one or a few tokens. transformers' `CLIPTokenizer` loads the result unchanged.
"""

import json
import re
from pathlib import Path

from .prompts import ARTISTS, ARTWORK_TEMPLATES, ARTWORKS, TEMPLATES, VAN_GOGH_PAINTER_PROMPTS, VAN_GOGH_PROMPTS
from .world import COLOURS, SHAPES

SPECIAL_TOKENS = ("<|startoftext|>", "<|endoftext|>")
MAX_LENGTH = 20  # tokens per prompt, start and end tokens included (SD1.4 uses 77)


def byte_alphabet() -> list[str]:
    """CLIP's (and GPT-2's) map of the 256 bytes to printable unicode characters, in byte order."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    codes, extra = printable[:], 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return [chr(code) for _, code in sorted(zip(printable, codes, strict=True))]


def toy_words() -> list[str]:
    """Every lower-case word and punctuation mark that the toy world's prompts use."""
    texts = [*VAN_GOGH_PROMPTS, *VAN_GOGH_PAINTER_PROMPTS, *COLOURS, *SHAPES, *ARTWORKS, *ARTWORK_TEMPLATES, "a an"]
    texts += [name for names in ARTISTS.values() for name in names]
    texts += [t for split in TEMPLATES.values() for ts in split.values() for t in ts]
    words = re.findall(r"[a-z]+|[^\sa-z{}]+", " ".join(texts).lower())
    return sorted(set(words))


def build_vocabulary(words: list[str]) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """The vocabulary and merge list: bytes, bytes ending a word, then each word built left to right."""
    alphabet = byte_alphabet()
    tokens = alphabet + [c + "</w>" for c in alphabet]
    merges: list[tuple[str, str]] = []
    for word in words:
        pieces = list(word[:-1]) + [word[-1] + "</w>"]
        current = pieces[0]
        for piece in pieces[1:]:
            merged = current + piece
            if merged not in tokens:
                tokens.append(merged)
                merges.append((current, piece))
            current = merged
    tokens += list(SPECIAL_TOKENS)
    return {token: index for index, token in enumerate(tokens)}, merges


def write_tokenizer(folder: Path) -> Path:
    """Write `vocab.json`, `merges.txt` and the tokenizer config into `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab, merges = build_vocabulary(toy_words())
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(f"{a} {b}" for a, b in merges) + "\n")
    config = {"model_max_length": MAX_LENGTH, "tokenizer_class": "CLIPTokenizer", "do_lower_case": True}
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=1))
    special = {
        "bos_token": SPECIAL_TOKENS[0],
        "eos_token": SPECIAL_TOKENS[1],
        "pad_token": SPECIAL_TOKENS[1],
        "unk_token": SPECIAL_TOKENS[1],
    }
    (folder / "special_tokens_map.json").write_text(json.dumps(special, indent=1))
    return folder
