"""Recognise an encrypted ``draft_content.json`` (pure).

JianYing 6 and later (and some 5.9 builds, once a draft is edited) save
``draft_content.json`` encrypted: instead of JSON the file holds one long run of base64
text (``a3e6VQ4fBD3Xvu…``) that decodes to random-looking bytes. Other tools may store the
raw cipher bytes. :func:`looks_encrypted` tells such a file from a merely broken JSON file,
so the user gets ``DRAFT_ENCRYPTED`` and what to do instead of "not valid JSON at byte 0".
"""

from __future__ import annotations

import math
import re
from collections import Counter

# Bytes examined (enough to tell; the files are large).
SAMPLE_BYTES = 4096
# Shortest sample worth judging.
MIN_BYTES = 64
# Bits per byte above which a binary sample is taken for cipher text.
MIN_BINARY_ENTROPY = 5.5

_BASE64_RUN = re.compile(rb"[A-Za-z0-9+/_-]+={0,2}")


def _entropy(sample: bytes) -> float:
    counts = Counter(sample)
    n = len(sample)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def looks_encrypted(raw: bytes | str) -> bool:
    """True when ``raw`` (a file that failed to parse as JSON) looks like cipher text:
    base64 text, or binary data of high entropy. False for JSON-like text."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
    sample = data[:SAMPLE_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n")
    if len(sample) < MIN_BYTES or sample[:1] in (b"{", b"["):
        return False
    compact = re.sub(rb"\s+", b"", sample)
    m = _BASE64_RUN.match(compact)
    if m is not None and m.end() >= len(compact) - 1 and len(set(compact)) > 16:
        return True
    try:
        sample.decode("utf-8")
        is_text = True
    except UnicodeDecodeError:
        is_text = False
    return not is_text and _entropy(sample) >= MIN_BINARY_ENTROPY
