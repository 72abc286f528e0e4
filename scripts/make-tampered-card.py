#!/usr/bin/env python3
"""Makes photos/id_td1_wrong_digit.png: the valid synthetic ID card with one digit of its
document number changed, the way a forger would edit a photo of a card.

The machine-readable zone's first line reads I<UTOD231458907<<<... on the valid card. This
script copies the printed '3' (character 8 of that line) over the '0' (character 14), so the
document number becomes D23145893 while its check digit stays 7. Everything else, including
the printed field above the zone, is untouched. The copy is pixel for pixel, so the glyph is
as crisp as the original print.

Needs Pillow and NumPy. Run from the repository root:
    python3 scripts/make-tampered-card.py photos/id_td1_valid_flat.png photos/id_td1_wrong_digit.png
"""
import sys

import numpy as np
from PIL import Image


def glyph_columns(band):
    """Start and end column of each dark glyph in a band of one text line."""
    dark = (band < 100).sum(axis=0) > 0
    spans, start = [], None
    for x, on in enumerate(dark):
        if on and start is None:
            start = x
        elif not on and start is not None:
            spans.append((start, x))
            start = None
    return spans


def text_lines(grey, top):
    """Row spans of the text lines below `top`."""
    dark_rows = (grey < 100).sum(axis=1) > 5
    spans, start = [], None
    for y in range(top, grey.shape[0]):
        if dark_rows[y] and start is None:
            start = y
        elif not dark_rows[y] and start is not None:
            spans.append((start, y))
            start = None
    return spans


def main(source, target):
    card = np.array(Image.open(source).convert("RGB"))
    grey = np.array(Image.open(source).convert("L"))
    # The zone is the three lines at the bottom of the card.
    zone = text_lines(grey, grey.shape[0] * 2 // 3)
    assert len(zone) == 3, zone
    top, bottom = zone[0]
    glyphs = glyph_columns(grey[top:bottom])
    assert len(glyphs) == 30, len(glyphs)
    pitch = (glyphs[-1][0] - glyphs[0][0]) / 29
    half = int(pitch / 2)
    centre = lambda i: (glyphs[i][0] + glyphs[i][1]) // 2
    y0, y1 = top - 4, bottom + 4
    src, dst = centre(7), centre(13)
    card[y0:y1, dst - half:dst + half] = card[y0:y1, src - half:src + half]
    Image.fromarray(card).save(target, optimize=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
