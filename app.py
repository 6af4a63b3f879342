"""The Chainlit chat app: event handlers only; everything else lives in `rag/`."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import chainlit as cl
import chainlit.config
import chainlit.server
from chainlit.auth import get_current_user
from chainlit.data import get_data_layer
from chainlit.data.sql_alchemy import SQLAlchemyDataLayer
from chainlit.element import Element
from chainlit.input_widget import InputWidget, MultiSelect, NumberInput, Select, Slider, Switch, TextInput
from chainlit.server import app as web
from chainlit.types import ThreadDict
from chainlit.utils import utc_now
from fastapi import Depends, HTTPException
from fastapi.responses import FileResponse
from starlette.datastructures import Headers

from rag.answers.answer import Answer
from rag.chat.answer_view import answer_block
from rag.chat.history import (
    FILES_ROUTE,
    LocalFileStore,
    answer_metadata,
    connect_args,
    conversation_from_steps,
    create_schema,
)
from rag.chat.options import CUSTOM_PRESET, Field, choice, configured_first, policy_choices, settings_panel
from rag.chat.pipeline import ChatOptions, Conversation, Reply, Retrieval
from rag.chat.presentation import (
    citation_name,
    inert,
    passage_body,
    retrieval_summary,
    side_by_side,
    welcome,
)
from rag.chat.presets import Preset, PresetError
from rag.chat.routing import POLICIES
from rag.chat.service import ChatService
from rag.config import one_line_errors
from rag.i18n import Language, browser_language, say, tr
from rag.llm.backends import Backend
from rag.llm.egress_audit import requested_by
from rag.measure.comparison import markdown_table, plotly_figure, summarize
from rag.measure.metrics import to_csv
from rag.web.api_access import ApiAccess
from rag.web.auth import (
    exposure_warning,
    history_refusal,
    load_users,
    reachable_host,
    signing_secret,
    verify_password,
)
from rag.web.files_api import FilesApi
from rag.web.library import MAX_LISTED, Library, RemoveRefused, library_table, scope_choices
from rag.web.openai_api import RagApi
from rag.web.origin_guard import OriginGuard, OriginPolicy
from rag.web.uploads import safe_name, save_uploads, upload_summary, uploads_folder

with one_line_errors():
    service = ChatService(sharing="app")  # its embedded model answers `python -m rag.ask` too


def _own_files_folder() -> None:
    """Uploads of this process in a folder of its own: Chainlit deletes its files folder when it stops, and
    a second app started from the same folder must not lose the uploads of the first."""
    root = Path(chainlit.config.FILES_DIRECTORY)
    for stale in root.glob("run-*-*"):  # left by an app that was killed: its process is gone
        if not Path(f"/proc/{stale.name.split('-')[1]}").exists():
            shutil.rmtree(stale, ignore_errors=True)
    folder = root / f"run-{os.getpid()}-{secrets.token_hex(4)}"
    folder.mkdir(mode=0o700, parents=True)
    chainlit.config.FILES_DIRECTORY = chainlit.server.FILES_DIRECTORY = folder


_own_files_folder()
_background: list[asyncio.Task[None]] = []
log = logging.getLogger("app")
for chatty in ("watchfiles.main", "httpx", "httpx2"):  # a line per file change and per model request
    logging.getLogger(chatty).setLevel(logging.WARNING)
WEB = service.settings.web
USERS_FILE = WEB.users_file
# Who can reach the app: the address Chainlit really binds ("" is every interface), or the proxy's in front of it
HOST = reachable_host(chainlit.config.config.run.host, WEB.proxy_host)
HISTORY = service.settings.history
HISTORY_OFF = history_refusal(HISTORY, HOST, USERS_FILE is not None)
KEEP_HISTORY = HISTORY.enabled and HISTORY_OFF is None
# Other web pages open in the same browser must not reach the socket or the routes (see rag/origin_guard.py).
web.add_middleware(
    OriginGuard,
    policy=OriginPolicy.for_app(HOST, WEB.allowed_origins),
)

API_ACCESS = ApiAccess.from_settings(WEB, HOST)
_before = len(web.router.routes)
web.include_router(RagApi(service, API_ACCESS).router())
LIBRARY = Library(service)
web.include_router(FilesApi(LIBRARY, API_ACCESS).router())
# Chainlit serves its UI from a catch-all route registered before these: match the API's routes first.
web.router.routes[:0] = [web.router.routes.pop() for _ in range(len(web.router.routes) - _before)][::-1]

if KEEP_HISTORY:
    create_schema(HISTORY)
if USERS_FILE is not None or KEEP_HISTORY:
    # Chainlit signs sessions with this secret; kept with the history so chats resume after a restart.
    secret = signing_secret(HISTORY) if KEEP_HISTORY else secrets.token_urlsafe(32)
    os.environ.setdefault("CHAINLIT_AUTH_SECRET", secret)

if USERS_FILE is not None:
    users_path = USERS_FILE

    @cl.password_auth_callback
    async def login(username: str, password: str) -> cl.User | None:
        encoded = load_users(users_path).get(username)  # read each time: added users work without a restart
        if encoded is None:
            return None
        # PBKDF2 costs a third of a second of CPU on purpose: off the event loop, so other chats go on
        verified: bool = await asyncio.to_thread(verify_password, password, encoded)
        return cl.User(identifier=username, metadata={"provider": "credentials"}) if verified else None

elif KEEP_HISTORY:

    @cl.header_auth_callback
    async def single_user(headers: Headers) -> cl.User | None:
        """History needs a user; on a loopback-only app without login that is the person at this machine."""
        return cl.User(identifier="local", metadata={"provider": "this machine"})


if KEEP_HISTORY:
    file_store = LocalFileStore(HISTORY.files)

    @cl.data_layer
    def history_layer() -> SQLAlchemyDataLayer:
        return SQLAlchemyDataLayer(
            HISTORY.database_url(),
            connect_args=connect_args(HISTORY),
            storage_provider=file_store,  # type: ignore[arg-type]
        )

    @web.get(FILES_ROUTE + "/{object_key:path}")
    async def history_file(object_key: str, user=Depends(get_current_user)) -> FileResponse:  # noqa: B008
        """Sources and charts of stored chats, each only to the user whose chat it is."""
        path = file_store.readable_path(object_key, user.id) if user is not None else None
        if path is None:
            raise HTTPException(status_code=404)
        # nosniff: a stored passage with HTML in it is shown as text, never run as a page
        return FileResponse(path, media_type=file_store.media_type(path), headers={"X-Content-Type-Options": "nosniff"})

    # Chainlit serves its UI from a catch-all route registered before this one: match this one first.
    web.router.routes.insert(0, web.router.routes.pop())


WARNINGS = [w for w in (exposure_warning(HOST, USERS_FILE is not None), HISTORY_OFF if HISTORY.asked else None) if w]


@cl.on_app_startup
async def startup() -> None:
    await asyncio.to_thread(service.warm_up)
    WARNINGS.extend(await asyncio.to_thread(service.privacy_warnings))
    for warning in WARNINGS:
        log.warning(warning)
    log.info(API_ACCESS.describe())
    _background.append(asyncio.create_task(service.watch_data()))
    asyncio.get_running_loop().run_in_executor(None, service.local_backend)  # warm the local model early


@cl.on_app_shutdown
async def shutdown() -> None:
    for task in _background:
        task.cancel()
    service.backends.close()
    service.ingest_worker.close()


def _widget(field: Field) -> InputWidget:
    """A settings field drawn with Chainlit's widgets."""
    if field.number is not None:
        n = field.number
        initial = float(field.initial)  # type: ignore[arg-type]
        if field.kind == "number":
            return NumberInput(id=field.id, label=field.label, initial=initial)
        return Slider(id=field.id, label=field.label, initial=initial, min=n.low, max=n.high, step=n.step)
    if field.kind == "select":
        return Select(id=field.id, label=field.label, items=field.choices or {}, initial_value=str(field.initial))
    if field.kind == "switch":
        return Switch(id=field.id, label=field.label, initial=bool(field.initial))
    return TextInput(id=field.id, label=field.label, initial=str(field.initial), multiline=field.kind == "text")


def _language() -> Language:
    """The reader's language, from the browser's (Accept-Language), as Chainlit's own interface follows it."""
    return browser_language(getattr(cl.context.session, "language", None))  # "bg-BG", from Accept-Language


def _user_id() -> str:
    """Whose saved presets: the signed-in user, or the one person at a loopback-only app without login."""
    user = cl.user_session.get("user")
    return user.identifier if user is not None else "local"


def _owner() -> str:
    """With login on, the signed-in user's uploads folder name: their attachments are searched for them only."""
    user = cl.user_session.get("user")
    return safe_name(user.identifier) if USERS_FILE is not None and user is not None else ""


async def _presets() -> dict[str, Preset]:
    return await asyncio.to_thread(service.presets, _user_id())


async def _send_settings(saved: dict) -> None:
    """Offer the models the servers list now, preselecting what this chat used before (if anything)."""
    local, cloud = await asyncio.to_thread(service.local_backend), service.backends.cloud
    local_models, cloud_models = await asyncio.gather(
        asyncio.to_thread(service.models, local), asyncio.to_thread(service.models, cloud)
    )
    offered = {
        "local": configured_first(local.model if local.available else None, local_models),
        "cloud": configured_first(cloud.model, cloud_models),
    }
    cl.user_session.set("offered_models", offered)
    language = _language()
    unavailable = None if cloud.available else say(cloud.reason, language) or "-"
    labels = {key: preset.label(language) for key, preset in (await _presets()).items()}
    fields = settings_panel(unavailable, offered, service.settings.retrieval, saved, language, labels)
    sent = await cl.ChatSettings([*(_widget(f) for f in fields), await _scope_widget(saved, language)]).send()
    # a copy: Chainlit writes each change into the dict it keeps, and the previous values must stay as they were
    cl.user_session.set("values", dict(sent))


async def _scope_widget(saved: dict, language: Language) -> MultiSelect:
    """Which documents or folders to answer from; the choices are what the index holds now."""
    choices = scope_choices(await asyncio.to_thread(LIBRARY.searchable, _owner()))
    chosen = [value for value in saved.get("scope") or [] if value in choices]
    return MultiSelect(id="scope", label=tr(language, "settings.scope"), items={c: c for c in choices}, initial=chosen)


@cl.action_callback("library")
async def show_library(action: cl.Action) -> None:
    """Every indexed document, with a button to remove each (after a confirmation)."""
    language = _language()
    documents = await asyncio.to_thread(LIBRARY.documents, _owner())
    actions = [
        cl.Action(name="remove_document", payload={"id": d.id}, label=tr(language, "library.remove", name=d.source))
        for d in documents[:MAX_LISTED]
    ]
    await cl.Message(content=inert(library_table(documents, language)), actions=actions).send()


@cl.action_callback("remove_document")
async def remove_document(action: cl.Action) -> None:
    """Remove one document from the index and its file from data/, once the user confirms."""
    language = _language()
    document = await asyncio.to_thread(LIBRARY.find, str(action.payload.get("id", "")), _owner())
    if document is None:
        await cl.Message(content=tr(language, "library.gone")).send()
        return
    name = document.source.replace("`", "'")
    buttons = [
        cl.Action(name="confirm", payload={"remove": True}, label=tr(language, "library.confirm_yes")),
        cl.Action(name="confirm", payload={"remove": False}, label=tr(language, "library.confirm_no")),
    ]
    asked = cl.AskActionMessage(content=inert(tr(language, "library.confirm", name=name)), actions=buttons, timeout=120)
    reply = await asked.send()
    await cl.context.emitter.task_end()  # Chainlit marks a task as running after a question, even in an action
    if not reply or reply.get("payload", {}).get("remove") is not True:
        await cl.Message(content=tr(language, "library.kept")).send()
        return
    try:
        await LIBRARY.remove(document)
    except RemoveRefused as exc:
        await cl.Message(content=inert(str(exc))).send()
        return
    await cl.Message(content=inert(tr(language, "library.removed", name=name))).send()
    await _send_settings(cl.user_session.get("values") or {})  # the removed document leaves the choices


@cl.on_chat_start
async def start() -> None:
    language = _language()
    status = cl.Message(content=tr(language, "app.starting"))
    await status.send()
    await _send_settings({})
    local = await asyncio.to_thread(service.local_backend)
    chunks, files = await asyncio.to_thread(service.corpus_size)
    status.content = welcome(local, service.backends.cloud, chunks, files, language)
    status.content += "".join(f"\n\n> **{warning}**" for warning in WARNINGS)
    status.actions = [cl.Action(name="library", payload={}, label=tr(language, "app.library_action"))]
    await status.update()


@cl.on_chat_resume
async def resume(thread: ThreadDict) -> None:
    """A stored chat goes on where it stopped: its settings, its conversation history, its measurements."""
    await _send_settings(cl.context.session.chat_settings)  # Chainlit has read them back from the thread
    cl.user_session.set("conversation", conversation_from_steps(thread.get("steps") or []))


async def _remember_settings(values: dict) -> None:
    """Store the chat's settings as they change, not only when the browser disconnects cleanly."""
    layer = get_data_layer()
    if layer is not None and cl.context.session.has_first_interaction:
        await layer.update_thread(thread_id=cl.context.session.thread_id, metadata={"chat_settings": values})


@cl.on_settings_update
async def update_settings(changed: dict) -> None:
    before = cl.user_session.get("values") or {}
    values = {**before, **changed}  # a client may send only what changed
    values, notice = await _presets_chosen(before, values)
    cl.user_session.set("values", values)
    if notice is not None:
        await _send_settings(values)  # the panel shows the values the preset set
        await cl.Message(content=inert(notice)).send()  # a preset's name is the user's text: no images
    await _remember_settings(cl.user_session.get("values") or values)


async def _presets_chosen(before: dict, values: dict) -> tuple[dict, str | None]:
    """Apply a task preset just chosen, or save the current settings under the name just typed."""
    language = _language()
    name = values.pop("save_preset", "")
    if isinstance(name, str) and name.strip():
        try:
            saved = await asyncio.to_thread(service.saved_presets.save, _user_id(), name, values)
        except PresetError as exc:
            return values, tr(language, "app.preset_not_saved", reason=str(exc))
        return {**values, "preset": saved.key}, tr(language, "app.preset_saved", name=saved.label(language))
    chosen = values.get("preset")
    preset = (await _presets()).get(str(chosen)) if chosen != before.get("preset", CUSTOM_PRESET) else None
    if preset is None:
        return values, None
    return preset.apply(values), tr(language, "app.preset_applied", name=preset.label(language))


async def _index_uploads(elements: list) -> None:
    """Save uploaded files into data/uploads and index them, showing progress in the chat."""
    language = _language()
    async with cl.Step(name=tr(language, "app.indexing_uploads"), type="tool") as step:
        files = [(Path(e.path), e.name) for e in elements if getattr(e, "path", None)]
        settings = service.settings
        folder = uploads_folder(_owner())
        saved = await asyncio.to_thread(save_uploads, files, settings.data_dir, settings.max_file_mb, folder)
        step.input = "\n".join(upload.message.render(language) for upload in saved)
        step.output = upload_summary(saved, await service.reindex_when_unlocked(), language)


def _source_elements(answer: Answer, language: Language) -> tuple[list, dict[int, str]]:
    elements: list[Element] = []
    pdf_names: dict[int, str] = {}
    for number, hit in enumerate(answer.sources, start=1):
        quoted = [quote for quote in answer.evidence if quote.number == number]
        elements.append(
            cl.Text(name=citation_name(number), content=passage_body(hit, language, quoted), display="side")
        )
        path = service.settings.data_dir / hit.source
        if hit.page and path.suffix.lower() == ".pdf" and path.exists():
            page = tr(language, "source.page", page=hit.page)
            pdf_names[number] = f"{Path(hit.source).name}, {page} ({number})"
            elements.append(cl.Pdf(name=pdf_names[number], path=str(path), page=hit.page, display="side"))
    return elements, pdf_names


async def _deliver(reply: Reply, message_id: str) -> None:
    """Stream one backend's reply into its own message; two of these run side by side in "both" mode."""
    backend = reply.backend
    language = _language()
    # Chainlit fetches an avatar by the author's name and refuses any but plain ASCII names (a 400 per answer)
    author = "Local model" if backend.is_local else "Cloud model"
    message = cl.Message(content="", author=author, created_at=utc_now())  # streamed, never "sent": date it
    streamed = False
    async for piece in reply:
        await message.stream_token(piece)
        streamed = True
    answer = reply.answer
    elements, pdf_names = _source_elements(answer, language)
    message.content = answer_block(answer, pdf_names, language)
    message.metadata = answer_metadata(message_id, reply.asked.question, answer)
    message.elements = elements
    if not reply.refused:
        message.actions = [cl.Action(name="compare", payload={}, label=tr(language, "app.compare_action"))]
    if answer.egress is not None and answer.egress.records:
        ids = {"records": list(answer.egress.records), "egress": answer.egress.summary(language)}
        message.actions.append(cl.Action(name="egress", payload=ids, label=tr(language, "app.egress_action")))
    await (message.update() if streamed else message.send())


def _backend_for(values: dict) -> Callable[[str], Backend]:
    """The chat's backends, each with its model if that is one the server offered this chat (a client can send anything)."""
    offered = cl.user_session.get("offered_models") or {}
    return lambda key: service.backend(key, choice(values.get(f"{key}_model"), offered.get(key, []), ""))


async def _show_retrieval(retrieval: Retrieval) -> None:
    language = _language()
    async with cl.Step(name=tr(language, "app.retrieval"), type="retrieval") as step:
        step.input = retrieval.query
        step.output = retrieval_summary(retrieval.hits, retrieval.milliseconds, language, retrieval.english)


@cl.on_message
async def on_message(message: cl.Message) -> None:
    try:
        await _respond(message)
    finally:
        # After the answer: by then Chainlit has created the stored thread this belongs to.
        await _remember_settings(cl.user_session.get("values") or {})


async def _respond(message: cl.Message) -> None:
    if message.elements:
        await _index_uploads(message.elements)
    question = message.content.strip()
    if not question:
        return
    values = cl.user_session.get("values") or {}
    settings = service.settings
    options = replace(ChatOptions.from_values(values, settings.retrieval, settings.request_timeout), owner=_owner())
    offered = list(policy_choices(service.backends.cloud.available).values())
    policy = POLICIES[choice(values.get("backend"), offered, "local")]
    with requested_by(cl.context.session.thread_id, _user_id()):  # the egress audit names this chat
        exchange = await service.assistant.ask(
            question,
            _conversation(),
            options,
            policy,
            _backend_for(values),
            deliver=lambda reply: _deliver(reply, message.id),
            shown=_show_retrieval,
        )
    if exchange.note is not None:  # a decline stands in for an answer: in the question's language, like one
        note = exchange.note_text if exchange.declined else exchange.note.render(_language())
        await cl.Message(content=f"_{note}_").send()
    if policy.key == "both" and len(exchange.answers) == 2:
        await cl.Message(content=inert(side_by_side(exchange.answers, _language()))).send()


def _conversation() -> Conversation:
    conversation = cl.user_session.get("conversation")
    if conversation is None:
        conversation = Conversation()
        cl.user_session.set("conversation", conversation)
    return conversation


@cl.action_callback("egress")
async def show_egress(action: cl.Action) -> None:
    """The answer's requests exactly as the cloud received them, and this chat's whole log as a JSON file."""
    language = _language()
    audit = service.backends.audit
    ids = set(action.payload.get("records", []))
    chat = await asyncio.to_thread(audit.records, cl.context.session.thread_id) if audit else []
    sent = [record for record in chat if record["id"] in ids]
    if audit is None or not sent:
        days = service.settings.audit.retention_days
        await cl.Message(content=tr(language, "app.egress_none", days=f"{days:g}")).send()
        return
    size = sum(record["bytes"] for record in sent)
    title = tr(language, "app.egress_title", requests=len(sent), size=size, egress=action.payload.get("egress", ""))
    payload = json.dumps([record["payload"] for record in sent], ensure_ascii=False, indent=2)
    chat_file = json.dumps(chat, ensure_ascii=False, indent=2).encode("utf-8")
    elements = [  # as elements, never Markdown: the payload quotes documents, which may hold Markdown of their own
        cl.Text(name="sent.json", content=payload, language="json", display="inline"),
        cl.File(name="egress.json", content=chat_file, mime="application/json", display="inline"),
    ]
    content = f"**{title}**\n\n{tr(language, 'app.egress_chat_file')}"
    await cl.Message(content=inert(content), elements=elements).send()


@cl.action_callback("compare")
async def compare(action: cl.Action) -> None:
    rows = _conversation().measurements
    language = _language()
    if not rows:
        await cl.Message(content=tr(language, "app.no_measurements")).send()
        return
    summaries = summarize(rows)
    elements = [
        cl.Plotly(name="comparison", figure=plotly_figure(summaries, language), display="inline"),
        cl.File(name="measurements.csv", content=to_csv(rows).encode("utf-8"), mime="text/csv", display="inline"),
    ]
    title, table = tr(language, "app.comparison_title", count=len(rows)), markdown_table(summaries, language)
    content = f"**{title}**\n\n{table}\n\n{tr(language, 'app.all_measurements')}"
    await cl.Message(content=content, elements=elements).send()
