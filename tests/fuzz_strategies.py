"""Hypothesis strategies of the fuzz tests (pure: builds values, touches nothing).

* :func:`mutated_drafts`: structure-aware — start from an in-repo fixture draft
  (``fixtures/drafts/*/draft_content.json``) and apply 1–6 mutations at paths the renderer
  reads (delete a key or element, replace a value with a nasty one — null, "", huge,
  negative, out-of-range float, wrong type, deep nesting, long or odd unicode string —,
  duplicate an element (duplicate ids), shuffle an array, point a reference elsewhere, or
  mutate the JSON embedded in a text material's ``content``); then, rarely, damage the
  encoded bytes (truncate, BOM, another encoding, trailing junk).
* :func:`from_schema`: schema-driven — a value of a (msgspec-generated) JSON schema, the
  subset msgspec emits (object, anyOf, enum, $ref, bounds, pattern).
* :func:`json_values`, :func:`raw_bodies`: anything JSON, and bytes that are not JSON.

No generated string starts a URL scheme (``"://"`` is filtered out), so a mutated draft never
names a remote material; URLs are built explicitly by the tests, on loopback only.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from compositor.draft import Draft, Materials

DRAFTS = Path(__file__).resolve().parent.parent / "fixtures" / "drafts"

#: top-level keys of draft_content.json the renderer reads (mutations go there mostly)
_READ_KEYS = frozenset(Draft.__struct_fields__)
_MATERIAL_KEYS = frozenset(Materials.__struct_fields__)

# stand-ins, replaced in the encoded text: numbers JSON cannot spell but a parser may meet, and
# nesting deeper than the JSON encoder (or this module's walk) could recurse into
_INF = "\x00__fuzz_inf__"
_NINF = "\x00__fuzz_ninf__"
_DEEP = "\x00__fuzz_deep_{}__"
_DEEP_LEVELS = (900, 5_000, 100_000)


@functools.cache
def fixture_names() -> tuple[str, ...]:
    return tuple(sorted(p.parent.name for p in DRAFTS.glob("*/draft_content.json")))


@functools.cache
def _fixture_text(name: str) -> str:
    return (DRAFTS / name / "draft_content.json").read_text("utf-8")


def fixture_draft(name: str) -> dict:
    """A fresh (mutable) copy of fixture draft ``name``."""
    return json.loads(_fixture_text(name))


def dumps(obj: Any) -> bytes:
    """JSON bytes; the infinity stand-ins become ``1e999`` / ``-1e999`` (out of double range)."""
    text = json.dumps(obj, ensure_ascii=False, allow_nan=True)
    if "\\u0000__fuzz_" not in text:
        return text.encode("utf-8", "surrogatepass")
    text = text.replace(json.dumps(_INF), "1e999").replace(json.dumps(_NINF), "-1e999")
    for n in _DEEP_LEVELS:
        text = text.replace(json.dumps(_DEEP.format(n)), '{"k":[' * n + "0" + "]}" * n)
    return text.encode("utf-8", "surrogatepass")


# -- leaves ------------------------------------------------------------------------------------

_safe_text = st.text(max_size=40).filter(lambda s: "://" not in s)

_odd_strings = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\ufeff",
        "\u200b",
        "\u202e",
        "😀" * 3,
        "中文字幕",
        "a\nb",
        "../../../etc/passwd",
        "/",
        "..",
        "C:\\x",
        "##_draftpath_placeholder_x_##/../..",
        "#zz",
        "#FFFFFFFFF",
        "NaN",
        "Infinity",
        "-1",
        "1e999",
        "0x10",
        "null",
        "{}",
        "[]",
        '{"text": 1}',
        "\ud800",
        "true",
        "%00",
        "\\\\?\\C:",
    ]
)

_long_strings = st.sampled_from(["x" * 10_000, "中" * 50_000, "[" * 5_000])

_odd_numbers = st.sampled_from(
    [
        0,
        -1,
        1,
        2,
        2**31 - 1,
        2**31,
        2**53 + 1,
        2**63 - 1,
        2**63,
        2**64,
        -(2**63),
        -(2**64),
        10**30,
        0.0,
        -0.0,
        0.5,
        -0.5,
        1e-300,
        5e-324,
        1e300,
        1.7976931348623157e308,
        -1.7976931348623157e308,
        _INF,
        _NINF,
    ]
)


def _nested(depth: int) -> Any:
    value: Any = []
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


_deep = st.one_of(st.sampled_from([3, 64]).map(_nested), st.sampled_from([_DEEP.format(n) for n in _DEEP_LEVELS]))

nasty_leaves = st.one_of(
    st.none(),
    st.booleans(),
    _odd_numbers,
    _odd_strings,
    _safe_text,
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
)

nasty_values = st.one_of(
    nasty_leaves,
    _long_strings,
    _deep,
    st.lists(nasty_leaves, max_size=4),
    st.dictionaries(_safe_text, nasty_leaves, max_size=4),
)


# -- structure-aware mutation ------------------------------------------------------------------


def _children(node: Any, path: tuple) -> list:
    """Keys/indices below ``node``; at a draft's top and in its materials only those the
    renderer reads (unknown keys are ignored by the parser, so mutating them tests nothing)."""
    if isinstance(node, list):
        return list(range(len(node)))
    if not isinstance(node, dict):
        return []
    if path == () and _READ_KEYS & node.keys():
        # tracks and materials hold most of what the renderer reads: weigh them up
        return [k for k in node if k in _READ_KEYS] + [k for k in ("tracks", "materials") if k in node] * 3
    if path == ("materials",):
        return [k for k in node if k in _MATERIAL_KEYS] or list(node)
    return list(node)


@st.composite
def _path_in(draw, root: Any) -> tuple:
    """A random path into ``root``: descend one drawn child at a time, stopping at each level
    below the top with probability 1/8 (first two levels) or 1/4 (so containers are mutated
    as well as leaves)."""
    path: tuple = ()
    node = root
    while True:
        children = _children(node, path)
        if not children or (path and draw(st.integers(0, 7 if len(path) <= 2 else 3)) == 0):
            return path
        key = draw(st.sampled_from(children))
        path, node = path + (key,), node[key]


def _get(root: Any, path: tuple) -> Any:
    for p in path:
        root = root[p]
    return root


def _ids(root: dict) -> list[str]:
    out = []
    materials = root.get("materials")
    for items in materials.values() if isinstance(materials, dict) else ():
        if isinstance(items, list):
            out.extend(m["id"] for m in items if isinstance(m, dict) and isinstance(m.get("id"), str))
    return out


_OPS = (
    "same_type",
    "same_type",
    "same_type",
    "same_type",
    "replace",
    "replace",
    "delete",
    "duplicate",
    "shuffle",
    "retarget",
    "embedded",
)


def _same_type(node: Any) -> st.SearchStrategy:
    """A nasty value of ``node``'s JSON type (gets past type checks, into the resolver)."""
    if isinstance(node, bool):
        return st.booleans()
    if isinstance(node, (int, float)):
        return st.one_of(
            _odd_numbers, st.integers(-(2**40), 2**40), st.floats(-1e12, 1e12), st.just(node * 1000), st.just(-node)
        )
    if isinstance(node, str):
        return st.one_of(_odd_strings, _safe_text, _long_strings)
    if isinstance(node, list):
        return st.just([]) if not node else st.one_of(st.just([]), st.lists(st.sampled_from(node), max_size=8))
    return nasty_values


@st.composite
def mutate(draw, root: Any, max_ops: int = 6, allow_embedded: bool = True) -> Any:
    """Apply 1..max_ops mutations to ``root`` (in place) and return it (may be a new root)."""
    for _ in range(draw(st.integers(1, max_ops))):
        path = draw(_path_in(root))
        if not path:
            return draw(nasty_values)
        parent, key = _get(root, path[:-1]), path[-1]
        op = draw(st.sampled_from(_OPS))
        node = parent[key]
        if op == "same_type":
            parent[key] = copy.deepcopy(draw(_same_type(node)))
        elif op == "replace":
            parent[key] = draw(nasty_values)
        elif op == "delete":
            del parent[key]
        elif op == "duplicate" and isinstance(parent, list):
            parent.insert(draw(st.integers(0, len(parent))), copy.deepcopy(node))
        elif op == "shuffle" and isinstance(node, list):
            parent[key] = draw(st.permutations(node))
        elif op == "retarget" and isinstance(node, str):
            ids = _ids(root) if isinstance(root, dict) else []
            parent[key] = draw(st.sampled_from(ids) if ids else _safe_text)
        elif op == "embedded" and allow_embedded and isinstance(node, str) and node[:1] in "{[":
            try:
                inner = json.loads(node)
            except (ValueError, RecursionError):
                continue
            parent[key] = json.dumps(draw(mutate(inner, max_ops=3, allow_embedded=False)), ensure_ascii=False)
        else:
            parent[key] = draw(nasty_values)
    return root


def _damage(raw: bytes, how: str, cut: float) -> bytes:
    if how == "truncate":
        return raw[: int(len(raw) * cut)]
    if how == "bom":
        return b"\xef\xbb\xbf" + raw
    if how == "utf16":
        return raw.decode("utf-8", "surrogatepass").encode("utf-16", "surrogatepass")
    if how == "junk":
        return raw + b"\x00\xff}"
    if how == "nan":
        return raw.replace(b": 30,", b": NaN,", 1).replace(b"1.0", b"Infinity", 1)
    return raw


@st.composite
def mutated_fixtures(draw, names: tuple[str, ...] | None = None) -> tuple[str, bytes]:
    """``(fixture name, its draft_content.json mutated as described in the module docstring)``."""
    name = draw(st.sampled_from(names or fixture_names()))
    raw = dumps(draw(mutate(fixture_draft(name), max_ops=4)))
    how = draw(st.sampled_from(["none"] * 30 + ["truncate", "bom", "utf16", "junk", "nan"]))
    return name, _damage(raw, how, draw(st.floats(0, 1)))


def mutated_draft_bytes(names: tuple[str, ...] | None = None) -> st.SearchStrategy[bytes]:
    return mutated_fixtures(names).map(lambda pair: pair[1])


@st.composite
def mutated_inline_drafts(draw, names: tuple[str, ...] | None = None) -> bytes:
    """A fixture draft, mutated, as JSON bytes for the inline ``draft`` of ``POST /v1/renders``;
    its video/audio material paths are http(s) URLs on loopback (never fetched by the tests)."""
    name = draw(st.sampled_from(names or fixture_names()))
    obj = fixture_draft(name)
    for kind in ("videos", "audios"):
        for i, m in enumerate(obj["materials"].get(kind, [])):
            m["path"] = f"http://127.0.0.1:9/{kind}/{i}.bin"
    return dumps(draw(mutate(obj)))


# -- JSON in general ---------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | _safe_text,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(_safe_text, kids, max_size=4),
    max_leaves=12,
)

raw_bodies = st.one_of(
    st.binary(max_size=200),
    st.sampled_from(
        [
            b"",
            b" ",
            b"null",
            b"[]",
            b"{",
            b"{}",
            b"\xff\xfe",
            b'{"draft_url": }',
            b"NaN",
            b'{"a": 1e999}',
            b"[" * 100_000,
            b'{"k":' * 10_000,
            b'"\\ud800"',
            b"\x00",
            b"draft_url=http%3A%2F%2Fx",
            b"--x\r\nContent-Disposition: form-data\r\n\r\n--x--",
        ]
    ),
    st.text(max_size=100).map(lambda s: s.encode("utf-8", "surrogatepass")),
)


# -- schema-driven -----------------------------------------------------------------------------


def from_schema(schema: dict, defs: dict) -> st.SearchStrategy:
    """A strategy for the JSON-schema subset msgspec emits (``$ref`` resolved in ``defs``).

    hypothesis-jsonschema would do this, but its 0.23 release fails with the hypothesis this
    project pins (``AttributeError: 'many' object has no attribute 'more'``)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return st.deferred(lambda: from_schema(defs[name], defs))
    if "anyOf" in schema:
        return st.one_of([from_schema(s, defs) for s in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        if not props:
            return st.dictionaries(_safe_text, json_values, max_size=4)
        required = set(schema.get("required", ()))
        return st.fixed_dictionaries(
            {k: from_schema(v, defs) for k, v in props.items() if k in required},
            optional={k: from_schema(v, defs) for k, v in props.items() if k not in required},
        )
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum"))
    if kind == "number":
        lo, hi = schema.get("minimum", schema.get("exclusiveMinimum")), schema.get("maximum")
        return st.floats(lo, hi, exclude_min="exclusiveMinimum" in schema, allow_nan=False)
    if kind == "string":
        return st.from_regex(schema["pattern"], fullmatch=True) if "pattern" in schema else _safe_text
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        return st.lists(from_schema(schema.get("items", {}), defs), max_size=4)
    return json_values
