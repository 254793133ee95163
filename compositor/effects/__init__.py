"""Effect families, pure data: names, registry ``ENTRIES``, ``*Spec`` structs, name matching
and parameter maths. No pixels here: nothing in this package imports numpy kernels, numba or
PyAV (tests/test_layering.py keeps it so). The pixel side of each family is in
:mod:`compositor.pixels`.
"""
