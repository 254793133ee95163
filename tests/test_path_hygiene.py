"""Path and name hygiene (docs/security.md): draft_id validation, the one safe-join helper, and no
existence oracle for absolute material paths."""

from __future__ import annotations

import os
import threading

import pytest

from compositor.draft_folder import LocalDraft
from compositor.errors import AssetUnreachable, DraftNotFound
from compositor.paths import PathEscape, is_inside, is_valid_draft_id, safe_join
from compositor.draft_folder import draft_id_from_url, strip_invisibles
from server.drafts import ConfinedDraft, validate_draft_url
from server.egress import egress_spec
from server.settings import Settings
from server.storage import LocalStorage
from server.worker import render_job
from tests.server_fixtures import make_client, new_draft_id  # noqa: F401 - fixtures

CM = "/openapi/capcut-mate/v1"


@pytest.mark.parametrize(
    "value, ok",
    [
        ("2026112500000100000002", True),
        ("abc-DEF_123", True),
        ("a", True),
        ("x" * 128, True),
        ("", False),
        ("x" * 129, False),
        ("../../etc", False),
        ("a/b", False),
        ("a\\b", False),
        ("a.b", False),
        ("..", False),
        (".lock", False),
        ("a\x00b", False),
        ("a b", False),
        ("草稿", False),
        ("a\n", False),
        (None, False),
        (123, False),
    ],
)
def test_draft_id_shape(value, ok):
    assert is_valid_draft_id(value) is ok


@pytest.mark.parametrize("part", ["/etc/passwd", "..", "../x", "a/../../x", "a\x00b", "a\\..\\b", "C:/x", ""])
def test_safe_join_refuses_escaping_parts(tmp_path, part):
    with pytest.raises(PathEscape) as info:
        safe_join(tmp_path, part)
    assert info.value.code == "ASSET_UNREACHABLE"


def test_safe_join_follows_symlinks_and_accepts_inside_paths(tmp_path):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "link").symlink_to(outside)
    with pytest.raises(PathEscape):
        safe_join(root, "link", "file")
    assert safe_join(root, "sub", "x.mp4") == root / "sub" / "x.mp4"
    assert safe_join(root, ".abc.lock") == root / ".abc.lock"


def test_storage_names_of_job_ids_stay_in_the_data_dir(tmp_path):
    st = LocalStorage(tmp_path, "http://127.0.0.1:1")
    assert st.video_path("abc") == tmp_path / "outputs" / "abc.mp4"
    for bad in ("../x", "/etc/x", "a/../../b"):
        with pytest.raises(PathEscape):
            st.work_dir(bad)


def test_confined_draft_never_probes_absolute_paths_outside_its_folder(tmp_path, monkeypatch):
    folder = tmp_path / "draft"
    (folder / "assets" / "videos").mkdir(parents=True)
    (folder / "assets" / "videos" / "kept.mp4").write_bytes(b"x")
    confined = ConfinedDraft.of(LocalDraft("d1", folder, folder / "draft_content.json", "test"))
    seen: list[str] = []
    real_exists, real_realpath = os.path.exists, os.path.realpath

    def spy_exists(p):
        seen.append(str(p))
        return real_exists(p)

    def spy_realpath(p, *a, **kw):
        seen.append(str(p))
        return real_realpath(p, *a, **kw)

    monkeypatch.setattr(os.path, "exists", spy_exists)
    monkeypatch.setattr(os.path, "realpath", spy_realpath)
    messages = set()
    for probe in ("/etc/hostname", "/no/such/file/at/all.mp4", "/etc/../etc/passwd", "C:/Windows/win.ini"):
        with pytest.raises(AssetUnreachable) as info:
            confined.resolve_material(probe)
        messages.add(str(info.value).replace(probe, "<p>"))
    assert len(messages) == 1  # existing or not: the same answer
    assert not [p for p in seen if not p.startswith(str(tmp_path))], seen
    # the assets/<kind>/<basename> rule still finds a file of the draft for an absolute path
    assert confined.resolve_material("/Users/me/Movies/kept.mp4") == str(folder / "assets" / "videos" / "kept.mp4")
    assert is_inside(folder / "assets", folder) and not is_inside(tmp_path, folder)


def test_worker_refuses_a_crafted_draft_id_before_any_file_is_made(tmp_path):
    cache = tmp_path / "data" / "cache" / "k"
    spec = {
        "job_id": "j1",
        "inline_draft": None,
        "spec": {"crf": 23, "preset": "ultrafast"},
        "draft_url": "http://127.0.0.1:9/get_draft?draft_id=../../../evil",
        "draft_id": "../../../evil",
        "cache_dir": str(cache),
        "work_dir": str(tmp_path / "work"),
        "output": str(tmp_path / "o.mp4"),
        "poster": str(tmp_path / "o.jpg"),
        "allow_local_paths": False,
        "heartbeat_s": 1.0,
        "limits": {},
        "egress": egress_spec(Settings(data_dir=str(tmp_path / "data"))),
    }
    with pytest.raises(DraftNotFound):
        render_job(spec, threading.Event(), lambda msg: None)
    assert sorted(p.name for p in tmp_path.rglob("*")) == []


def test_the_submitted_draft_id_is_the_one_fetch_reads():
    # a zero-width character in the query must not give the lock one draft_id and the folder another
    url = "http://127.0.0.1:9/get_draft?draft\u200b_id=victim&draft_id=mine"
    clean, draft_id = validate_draft_url(url, Settings(url_allowlist=("127.0.0.1",)))
    assert draft_id == draft_id_from_url(strip_invisibles(url)) and clean == strip_invisibles(url)


@pytest.mark.asyncio
async def test_submissions_with_a_bad_draft_id_are_400(make_client):
    c = await make_client(submit_check="off")
    base = "http://127.0.0.1:9/openapi/capcut-mate/v1/get_draft?draft_id="
    for bad in ("..%2F..%2Fserver", "../../x", "a" * 129, "a.b", "%00x", "a%20b"):
        for path in (f"{CM}/gen_video", "/v1/renders"):
            resp = await c.post(path, json={"draft_url": base + bad})
            err = (await resp.json())["error"]
            assert resp.status == 400 and err["code"] == "VALIDATION_ERROR" and err["path"] == "$.draft_url", (bad, err)
    ok = await c.post(f"{CM}/gen_video", json={"draft_url": base + new_draft_id()})
    assert ok.status == 200 and (await ok.json())["code"] == 0
