"""Error codes: the ONE place that maps a stable code to an HTTP status, a capcut-mate numeric
code and zh/en messages, and the middleware that turns exceptions into error bodies.

Every error body carries both shapes, so the seed's clients (HTTP status + ``error``) and
capcut-mate's (they test ``code == 0``) both work::

    {"code": 1001, "message": "参数校验失败(…)",
     "error": {"code": "VALIDATION_ERROR", "message": "参数校验失败", "details": "…", "path": "$.draft_url"}}

Compositor errors map by their ``.code`` attribute; nothing here looks at message text.
"""

from __future__ import annotations

import logging
import re
from typing import Any, NamedTuple

import msgspec
from aiohttp import web

log = logging.getLogger(__name__)

CAPCUT_PREFIX = "/openapi/capcut-mate/"


class ErrorSpec(NamedTuple):
    http: int
    capcut: int
    zh: str
    en: str


#: code → (HTTP status, capcut-mate numeric code, zh message, en message)
ERRORS: dict[str, ErrorSpec] = {
    "VALIDATION_ERROR": ErrorSpec(400, 1001, "参数校验失败", "Parameter validation failed"),
    "INVALID_API_KEY": ErrorSpec(401, 2036, "无效的 apiKey", "Invalid apiKey"),
    "UNAUTHORIZED": ErrorSpec(401, 2036, "需要有效的 API 密钥", "A valid API key is required"),
    "LINK_INVALID": ErrorSpec(403, 2036, "链接无效或已过期", "The link is invalid or has expired"),
    "FORBIDDEN": ErrorSpec(403, 2036, "需要管理员密钥", "An admin key is required"),
    "UNSUPPORTED_MEDIA_TYPE": ErrorSpec(
        415, 1001, "请求体必须是 application/json", "The request body must be application/json"
    ),
    "INVALID_DRAFT_URL": ErrorSpec(404, 2001, "无效的草稿URL", "Invalid draft URL"),
    "DRAFT_NOT_FOUND": ErrorSpec(404, 2001, "草稿不存在", "Draft not found"),
    "DRAFT_INVALID": ErrorSpec(400, 2001, "草稿内容无效", "Invalid draft content"),
    "DRAFT_EMPTY": ErrorSpec(400, 2030, "草稿内容为空", "The draft is empty"),
    "DRAFT_ENCRYPTED": ErrorSpec(422, 2001, "草稿已加密，无法读取", "The draft is encrypted"),
    "ASSET_UNREACHABLE": ErrorSpec(400, 2005, "素材无法访问", "A material cannot be downloaded"),
    "ASSET_DECODE_FAILED": ErrorSpec(400, 2005, "素材无法解码", "A material cannot be decoded"),
    "URL_FORBIDDEN": ErrorSpec(400, 1001, "URL 不允许访问", "The URL is not allowed on this server"),
    "RENDER_FAILED": ErrorSpec(500, 9998, "视频渲染失败", "Video rendering failed"),
    "AUDIO_FAILED": ErrorSpec(500, 9998, "音频处理失败", "Audio processing failed"),
    "ENCODE_FAILED": ErrorSpec(500, 9998, "编码失败", "Video encoding failed"),
    "RENDER_TIMEOUT": ErrorSpec(504, 9998, "处理超时", "Processing timed out"),
    "STORAGE_FAILED": ErrorSpec(503, 9998, "存储服务失败", "The object store failed"),
    "CANCELLED": ErrorSpec(409, 2030, "任务已取消", "The job was cancelled"),
    "BUSY": ErrorSpec(503, 2030, "服务繁忙", "The service is busy"),
    "TASK_NOT_FOUND": ErrorSpec(404, 2031, "视频生成任务未找到", "Video generation task not found"),
    "NOT_FOUND": ErrorSpec(404, 1002, "资源不存在", "Resource not found"),
    "NOT_READY": ErrorSpec(409, 1002, "视频尚未生成", "The video is not ready"),
    "JOB_FINISHED": ErrorSpec(409, 2032, "任务已结束", "The job has already finished"),
    "PAYLOAD_TOO_LARGE": ErrorSpec(413, 1001, "请求体过大", "Request body too large"),
    "LIMIT_EXCEEDED": ErrorSpec(400, 2004, "超出资源限制", "A resource limit was exceeded"),
    "VIDEO_GENERATION_SUBMIT_FAILED": ErrorSpec(
        500, 2030, "视频生成任务提交失败", "Video generation task submission failed"
    ),
    "INTERNAL_ERROR": ErrorSpec(500, 9998, "系统内部错误", "Internal server error"),
}

#: capcut-mate's success text of gen_video (the same in both languages, as capcut-mate does)
GEN_VIDEO_SUBMITTED = "视频生成任务已提交，请使用draft_url查询进度"
SUCCESS = {"zh": "成功", "en": "Success"}

#: job error codes a failed render may carry (the compositor's plus the service's own)
JOB_ERROR_CODES = (
    "DRAFT_NOT_FOUND",
    "DRAFT_INVALID",
    "DRAFT_EMPTY",
    "DRAFT_ENCRYPTED",
    "ASSET_UNREACHABLE",
    "ASSET_DECODE_FAILED",
    "RENDER_FAILED",
    "AUDIO_FAILED",
    "ENCODE_FAILED",
    "RENDER_TIMEOUT",
    "STORAGE_FAILED",
    "CANCELLED",
    "VALIDATION_ERROR",
    "INVALID_DRAFT_URL",
    "URL_FORBIDDEN",
    "LIMIT_EXCEEDED",
)


class ErrorInfo(msgspec.Struct, omit_defaults=True):
    """The seed's error object (``error`` in every error body)."""

    code: str
    message: str
    details: str = ""
    #: JSON path of the offending value (request validation, DRAFT_INVALID)
    path: str | None = None
    #: structured context (url, status, frame_index …)
    context: dict[str, Any] | None = None


class ErrorBody(msgspec.Struct):
    """Every error response: capcut-mate's ``code``/``message`` and the seed's ``error``."""

    code: int
    message: str
    error: ErrorInfo


class ApiError(Exception):
    """An error a request can see. ``code`` is a key of :data:`ERRORS`."""

    def __init__(
        self,
        code: str,
        details: str = "",
        *,
        path: str | None = None,
        context: dict[str, Any] | None = None,
        capcut_code: int | None = None,
        http_status: int | None = None,
        headers: dict[str, str] | None = None,
    ):
        if code not in ERRORS:
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(f"{code}: {details}" if details else code)
        self.code = code
        self.details = details
        self.path = path
        self.context = context
        self.capcut_code = capcut_code
        self.http_status = http_status
        self.headers = headers


def language(request: web.Request) -> str:
    """capcut-mate's rule: the first tag's primary subtag ``en`` → English, else Chinese."""
    header = request.headers.get("Accept-Language", "")
    first = header.split(",", 1)[0].split(";", 1)[0].strip().lower()
    return "en" if first.split("-", 1)[0] == "en" else "zh"


def message_for(code: str, lang: str) -> str:
    spec = ERRORS.get(code) or ERRORS["INTERNAL_ERROR"]
    return spec.en if lang == "en" else spec.zh


def from_compositor(exc: Exception) -> ApiError:
    """A compositor error (anything with a stable ``.code``) as an :class:`ApiError`."""
    code = getattr(exc, "code", "RENDER_FAILED")
    if code not in ERRORS:
        code = "RENDER_FAILED"
    detail = exc.detail() if hasattr(exc, "detail") else {}
    message = getattr(exc, "message", None) or str(exc)
    return ApiError(
        code,
        message,
        path=detail.get("json_path"),
        context={k: v for k, v in detail.items() if k != "json_path"} or None,
    )


_AT_PATH = re.compile(r" - at `(?P<path>\$[^`]*)`$")


def from_msgspec(exc: Exception, prefix: str = "$") -> ApiError:
    """A msgspec decode/validation error as VALIDATION_ERROR with the JSON path."""
    text = str(exc)
    if isinstance(exc, msgspec.ValidationError):
        m = _AT_PATH.search(text)
        path = m.group("path") if m else "$"
        reason = text[: m.start()] if m else text
        if prefix != "$":
            path = prefix + path[1:]
        field = re.search(r"missing required field `([^`]+)`", reason)
        if field:
            path = f"{path}.{field.group(1)}"
        return ApiError("VALIDATION_ERROR", f"{path}: {reason}", path=path)
    return ApiError("VALIDATION_ERROR", f"{prefix}: request body is not valid JSON ({text})", path=prefix)


def error_body(err: ApiError, lang: str) -> ErrorBody:
    spec = ERRORS[err.code]
    base = spec.en if lang == "en" else spec.zh
    message = f"{base}({err.details})" if err.details else base
    return ErrorBody(
        code=err.capcut_code if err.capcut_code is not None else spec.capcut,
        message=message,
        error=ErrorInfo(code=err.code, message=base, details=err.details, path=err.path, context=err.context),
    )


_encoder = msgspec.json.Encoder()


def error_response(request: web.Request, err: ApiError, *, always_200: bool = False) -> web.Response:
    status = err.http_status or ERRORS[err.code].http
    if always_200 and request.path.startswith(CAPCUT_PREFIX):
        status = 200
    body = _encoder.encode(error_body(err, language(request)))
    resp = web.Response(body=body, status=status, content_type="application/json")
    if err.headers:
        resp.headers.update(err.headers)
    return resp


def http_exception_as_error(exc: web.HTTPException) -> ApiError:
    """aiohttp's own 404/405/413… as error bodies (capcut-mate: ``code`` = the HTTP status)."""
    status = exc.status
    details = f"HTTP Error {status}, detail: {exc.reason}"
    if status == 404:
        return ApiError("NOT_FOUND", details, capcut_code=404)
    if status == 405:
        return ApiError(
            "VALIDATION_ERROR",
            details,
            capcut_code=405,
            http_status=405,
            headers={"Allow": exc.headers.get("Allow", "")},
        )
    if status == 413:
        return ApiError("PAYLOAD_TOO_LARGE", details, capcut_code=413)
    if status >= 500:
        return ApiError("INTERNAL_ERROR", details, capcut_code=status, http_status=status)
    return ApiError("VALIDATION_ERROR", details, capcut_code=status, http_status=status)


__all__ = [
    "ERRORS",
    "ErrorSpec",
    "ErrorInfo",
    "ErrorBody",
    "ApiError",
    "GEN_VIDEO_SUBMITTED",
    "SUCCESS",
    "JOB_ERROR_CODES",
    "language",
    "message_for",
    "from_compositor",
    "from_msgspec",
    "error_body",
    "error_response",
    "http_exception_as_error",
    "CAPCUT_PREFIX",
]
