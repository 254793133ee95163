"""BT.709 limited-range YUV constants (pure, no I/O): luma weights and the black/white triples.

The kernels, the colour matrices and the effects all use these; define them nowhere else.
"""

from __future__ import annotations

KR, KB = 0.2126, 0.0722
KG = 1.0 - KR - KB  # 0.7152

BLACK_YUV = (16, 128, 128)  # (Y, U, V) of RGB (0, 0, 0)
WHITE_YUV = (235, 128, 128)  # (Y, U, V) of RGB (255, 255, 255)
