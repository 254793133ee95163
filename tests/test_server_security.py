"""The service's rule for untrusted drafts: a material path must resolve to an http(s) URL or to a
file inside the draft folder (symlinks resolved); and the error-code mapping by ``.code``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from compositor.errors import (
    AssetUnreachable,
    AudioError,
    Cancelled,
    DraftEmpty,
    DraftError,
    DraftNotFound,
    EncodeError,
    MediaError,
    OptionsError,
    RenderError,
)
from compositor.draft import parse_draft
from compositor.fetch import LocalDraft
from server.drafts import ConfinedDraft, check_material_paths, is_empty, parse_checked
from server.errors import ERRORS, ApiError, error_body, from_compositor
from server.worker import _describe
from tests.server_helpers import tiny_draft

DID = "20261125063317abcdef01"


@pytest.fixture
def folder(tmp_path) -> Path:
    d = tmp_path / "cache" / DID
    (d / "assets" / "videos").mkdir(parents=True)
    (d / "assets" / "videos" / "clip.mp4").write_bytes(b"x")
    (d / "draft_content.json").write_text("{}")
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"top secret")
    os.symlink(secret, d / "assets" / "videos" / "link.mp4")
    return d


@pytest.fixture
def local(folder) -> ConfinedDraft:
    return ConfinedDraft.of(LocalDraft(DID, folder, folder / "draft_content.json", "http://h/x?draft_id=" + DID))


@pytest.mark.parametrize(
    "raw",
    [
        f"/app/output/draft/{DID}/assets/videos/clip.mp4",  # capcut-mate's absolute server path
        "assets/videos/clip.mp4",  # relative to the folder
        "##_draftpath_placeholder_0E685133-18CE-45ED-8CB8-2904A212EC80_##/assets/videos/clip.mp4",
        "C:\\\\Users\\\\me\\\\JianyingPro Drafts\\\\x\\\\clip.mp4",  # missing → found by basename in assets/
        "https://cdn.example/clip.mp4",
    ],
)
def test_allowed_paths(local, raw):
    resolved = local.resolve_material(raw)
    assert resolved.startswith("https://") or Path(resolved).resolve().is_relative_to(local.folder.resolve())


@pytest.mark.parametrize(
    "raw",
    [
        "/etc/hostname",
        "file:///etc/hostname",
        "../../../../../../../../etc/hostname",
        "assets/../../../../../../../etc/hostname",
        f"/app/output/draft/{DID}/../../../../../etc/hostname",
        "assets/videos/link.mp4",  # a symlink leading out of the folder
        "/app/output/draft/20261125000000ffffffff/assets/videos/other_drafts_file.mp4",
    ],
)
def test_refused_paths(local, raw, tmp_path):
    other = tmp_path / "cache" / "20261125000000ffffffff" / "assets" / "videos"
    other.mkdir(parents=True)
    (other / "other_drafts_file.mp4").write_bytes(b"y")
    with pytest.raises(AssetUnreachable) as exc:
        local.resolve_material(raw)
    assert exc.value.code == "ASSET_UNREACHABLE"


def test_check_material_paths_checks_used_materials_only(folder):
    plain = LocalDraft(DID, folder, folder / "draft_content.json", "x")
    draft = parse_checked(json.dumps(tiny_draft(DID, video="/etc/hostname")).encode())
    with pytest.raises(AssetUnreachable):
        check_material_paths(draft, plain, allow_local_paths=False)
    assert check_material_paths(draft, plain, allow_local_paths=True) is plain  # trusted setups
    unused = tiny_draft(DID)
    unused["materials"]["videos"].append({"id": "m2", "type": "video", "path": "/etc/hostname"})
    d2 = parse_checked(json.dumps(unused).encode())
    confined = check_material_paths(d2, plain, allow_local_paths=False)
    assert isinstance(confined, ConfinedDraft)
    with pytest.raises(AssetUnreachable):  # still refused if the compositor asks for it
        confined.resolve_material("/etc/hostname")


def test_empty_rule():
    assert is_empty(parse_draft(b'{"tracks": []}'))
    with pytest.raises(ApiError) as exc:
        parse_checked(b'{"duration": 5000000, "tracks": [{"type": "video", "segments": []}]}')
    assert exc.value.code == "DRAFT_EMPTY"


@pytest.mark.parametrize(
    "exc, code, http",
    [
        (DraftError("bad", "$.tracks[0]"), "DRAFT_INVALID", 400),
        (DraftEmpty("empty", "$.tracks"), "DRAFT_EMPTY", 400),
        (DraftNotFound("gone", "http://h/x", 404), "DRAFT_NOT_FOUND", 404),
        (AssetUnreachable("404", "http://h/a.mp4", 404), "ASSET_UNREACHABLE", 400),
        (MediaError("garbage", "/x/a.mp4"), "ASSET_DECODE_FAILED", 400),
        (RenderError("boom", 12), "RENDER_FAILED", 500),
        (AudioError("resample", 3), "AUDIO_FAILED", 500),
        (EncodeError("mux", 7), "ENCODE_FAILED", 500),
        (Cancelled("stop"), "CANCELLED", 409),
        (OptionsError("width"), "VALIDATION_ERROR", 400),
    ],
)
def test_compositor_errors_map_by_code(exc, code, http):
    err = from_compositor(exc)
    assert err.code == code and ERRORS[code].http == http
    body = error_body(err, "en")
    assert body.error.code == code and body.code == ERRORS[code].capcut
    # the worker reports the same code, with the context as data
    wcode, message, detail = _describe(exc)
    assert wcode == exc.code and message == str(exc)
    assert detail == {k: v for k, v in exc.detail().items()}
    if isinstance(exc, DraftError):
        assert err.path == exc.json_path


def test_unknown_exceptions_are_render_failed():
    assert _describe(ZeroDivisionError("x"))[0] == "RENDER_FAILED"


def test_every_issue_code_has_a_mapping():
    for code in (
        "DRAFT_NOT_FOUND",
        "DRAFT_INVALID",
        "DRAFT_EMPTY",
        "ASSET_UNREACHABLE",
        "ASSET_DECODE_FAILED",
        "RENDER_FAILED",
        "AUDIO_FAILED",
        "ENCODE_FAILED",
        "RENDER_TIMEOUT",
        "BUSY",
        "VALIDATION_ERROR",
        "INVALID_DRAFT_URL",
        "TASK_NOT_FOUND",
        "INVALID_API_KEY",
    ):
        spec = ERRORS[code]
        assert spec.zh and spec.en and spec.http >= 400 and spec.capcut > 0
    assert ERRORS["RENDER_TIMEOUT"].http == 504 and ERRORS["BUSY"].http == 503
    assert ERRORS["TASK_NOT_FOUND"].capcut == 2031 and ERRORS["VALIDATION_ERROR"].capcut == 1001
