"""Fetch a capcut-mate draft (or open a local one) and locate its media files (I/O).

The package: :mod:`.draft` (``fetch_draft``), :mod:`.listing` (the ``get_draft`` protocol),
:mod:`.materials` (``fetch_materials``), :mod:`.sniff` (what a downloaded file is),
:mod:`.download` (the pool), :mod:`.retry` (the one retry/backoff loop), :mod:`.body`
(minimum throughput), :mod:`.limits`.

Three kinds of ``source`` are accepted by :func:`fetch_draft`:

* a capcut-mate ``draft_url`` — the ``get_draft`` endpoint itself, carrying ``?draft_id=``.
  Its JSON answer ``{"code": 0, "files": [<absolute URLs>]}`` is downloaded file by file into
  ``<cache_dir>/<draft_id>/`` (the part of each URL path after the segment equal to the
  draft id), like capcut-mate's own downloader (``docs/format.md#fetching-a-draft-url``);
* a local draft folder (used in place, nothing is copied);
* a path to ``draft_content.json`` (or ``draft_info.json``) inside a draft folder.

The draft JSON is *not* parsed here; :meth:`LocalDraft.resolve_material` maps the media paths
written inside it (``/app/output/draft/<id>/assets/...``, Windows paths, JianYing placeholder
prefixes, ``http(s)`` URLs) onto local files, and :func:`fetch_materials` downloads the
``http(s)`` ones (``docs/format.md#media-paths``).

Downloads: bounded parallelism, retries with capped exponential backoff honouring
``Retry-After``, a per-file size limit, a per-file deadline (all attempts together), a minimum
throughput over a sliding window after a grace period (a slower server fails the file at once),
atomic writes (temp name + rename), a size-based cache (``Last-Modified`` is compared too when
the server sends it) and in-run resumption with ``Range`` after a dropped connection.

Every request goes through :class:`compositor.egress_client.EgressClient` and so through an
:class:`~compositor.egress.EgressPolicy` (the default here is ``EgressPolicy.permissive()``:
the caller chose the draft; the service passes its own). A refused URL is ``URL_FORBIDDEN``; a
URL that does not parse fails at once (never retried). Error messages carry status codes, the
URL without userinfo and our own words, never bytes the server sent.
"""

from __future__ import annotations

from ..draft_folder import LocalDraft, draft_id_from_url
from .body import RateGuard
from .draft import fetch_draft, fetch_draft_sync
from .limits import RETRY_STATUSES, FetchLimits
from .materials import fetch_materials

__all__ = [
    "FetchLimits",
    "LocalDraft",
    "RateGuard",
    "fetch_draft",
    "fetch_draft_sync",
    "fetch_materials",
    "draft_id_from_url",
    "RETRY_STATUSES",
]
