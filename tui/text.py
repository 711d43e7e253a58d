"""Labels are data: make any string safe to draw as plain text in a terminal cell grid.

Use `plain_label` on every label, id or metadata value before it reaches the screen, and draw
the result without markup (`Text(s)`, `Segment(s)`, `Content(s)`; never `markup=True`).
"""

from __future__ import annotations

import unicodedata

from rich.cells import cell_len
from textual.content import Content

REPLACEMENT = "\ufffd"
ELLIPSIS = "…"
# C0 controls show as their Control Pictures (ESC → ␛, BEL → ␇, LF → ␊), DEL as ␡.
_C0 = {c: chr(0x2400 + c) for c in range(0x20)}
_C0[0x7F] = "\u2421"
# categories with no visible glyph that can move, hide or reorder text:
# Cc (C1 controls), Cf (zero-width, bidi embeddings/overrides/isolates, BOM, soft hyphen),
# Zl/Zp (line and paragraph separators), Cs (lone surrogates), Co/Cn kept as-is would be
# harmless but unassigned code points have no reliable width.
_HIDDEN = {"Cc", "Cf", "Zl", "Zp", "Cs", "Cn"}


def _visible(ch: str) -> str:
    code = ord(ch)
    if code in _C0:
        return _C0[code]
    if unicodedata.category(ch) in _HIDDEN:
        return REPLACEMENT
    return ch


def plain_label(s, max_len: int | None = None) -> str:
    """`s` as one line of visible plain text; at most `max_len` terminal cells (… when cut).

    Control characters (C0, DEL, C1, ESC and so OSC/CSI sequences), zero-width characters and
    bidi controls are replaced by visible stand-ins, so nothing in a label can restyle, move or
    reorder what the terminal shows. Markup such as `[bold]` is left as literal text.
    """
    if s is None:
        s = ""
    s = unicodedata.normalize("NFC", str(s))
    if s.isascii() and s.isprintable():
        out = s
    else:
        out = "".join(map(_visible, s))
    if max_len is not None and cell_len(out) > max_len:
        if max_len <= 0:
            return ""
        kept = []
        width = 0
        for ch in out:
            w = cell_len(ch)
            if width + w > max_len - 1:
                break
            kept.append(ch)
            width += w
        out = "".join(kept) + ELLIPSIS
    return out


def plain_content(s, max_len: int | None = None) -> Content:
    """`plain_label(s)` as Textual Content, for what would otherwise parse a str as markup
    (border titles, notifications): `[@click=app.quit]x` stays those characters."""
    return Content(plain_label(s, max_len))
