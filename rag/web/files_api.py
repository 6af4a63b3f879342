"""The OpenAI files API on the app's port, over the document library: scripts and OpenAI-style clients list,
add and remove documents (`client.files.list()`, `files.create(file=..., purpose="assistants")`,
`files.delete(id)`), behind the same keys and Origin rules as the chat API.
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from rag.i18n import DEFAULT
from rag.web.api_access import ApiAccess
from rag.web.library import Document, Library, RemoveRefused
from rag.web.openai_api import api_client
from rag.web.openai_schema import ApiError
from rag.web.uploads import UploadRejected

log = logging.getLogger(__name__)


def _error(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status)


class FilesApi:
    def __init__(self, library: Library, access: ApiAccess) -> None:
        self.library = library
        self.access = access

    def router(self) -> APIRouter:
        router = APIRouter(prefix="/v1")
        router.add_api_route("/files", self.list_files, methods=["GET"])
        router.add_api_route("/files", self.create_file, methods=["POST"])
        router.add_api_route("/files/{file_id}", self.retrieve_file, methods=["GET"])
        router.add_api_route("/files/{file_id}", self.delete_file, methods=["DELETE"])
        return router

    def _check(self, request: Request) -> str:
        return api_client(self.access, request)

    async def _document(self, request: Request, file_id: str) -> Document:
        self._check(request)
        document = await asyncio.to_thread(self.library.find, file_id)
        if document is None:
            raise ApiError(404, f"no file with id {file_id[:40]!r}", code="file_not_found")
        return document

    async def list_files(self, request: Request) -> Response:
        try:
            self._check(request)
        except ApiError as error:
            return _error(error)
        documents = await asyncio.to_thread(self.library.documents)
        return JSONResponse({"object": "list", "data": [d.to_json() for d in documents], "has_more": False})

    async def retrieve_file(self, request: Request, file_id: str) -> Response:
        try:
            return JSONResponse((await self._document(request, file_id)).to_json())
        except ApiError as error:
            return _error(error)

    async def delete_file(self, request: Request, file_id: str) -> Response:
        try:
            document = await self._document(request, file_id)
            await self.library.remove(document)
        except ApiError as error:
            return _error(error)
        except RemoveRefused as exc:
            return _error(ApiError(409, str(exc), code="file_not_removable"))
        log.info("API removed a document: %s", document.id)  # never its name: it may be private
        return JSONResponse({"id": document.id, "object": "file", "deleted": True})

    async def create_file(self, request: Request) -> Response:
        try:
            self._check(request)
            name, content = await self._upload(request)
            document, report = await self.library.add(name, content)
        except ApiError as error:
            return _error(error)
        except UploadRejected as exc:
            return _error(ApiError(400, exc.reason.render(DEFAULT), code="file_rejected"))
        if document is None or document.skipped:
            reason = document.skipped if document else "; ".join(r for _, r in report.skipped) or "not indexed"
            return _error(
                ApiError(400, f"the file was saved but cannot be searched: {reason}", code="file_not_indexed")
            )
        return JSONResponse(document.to_json())

    async def _upload(self, request: Request) -> tuple[str, bytes]:
        """The multipart `file` field, refused past the size limit before it is all read."""
        limit = int(self.library.service.settings.max_file_mb * 2**20)
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit + 65_536):
            raise ApiError(413, f"files larger than {limit} bytes are not indexed (MAX_FILE_MB)")
        try:
            form = await request.form(max_files=1, max_fields=4, max_part_size=limit)
        except (MultiPartException, AssertionError) as exc:
            raise ApiError(400, f"expected a multipart form with a file field ({exc})") from exc
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise ApiError(400, "the form needs a file field with a file name")
        content = await upload.read(limit + 1)
        if len(content) > limit:
            raise ApiError(413, f"files larger than {limit} bytes are not indexed (MAX_FILE_MB)")
        return upload.filename, content
