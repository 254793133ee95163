"""Pixels: the compositor (:mod:`.compose`), scratch pictures, the YUV constants (:mod:`.yuv`)
and the per-family pixel code of the effects whose data lives in :mod:`compositor.effects`.

(Not called ``render``: ``compositor.render`` is the public render function.) This
``__init__`` imports nothing, so :mod:`.yuv` stays importable without the kernels.
"""
