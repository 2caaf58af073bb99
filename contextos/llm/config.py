"""Where a ``ModelClient``'s settings come from: arguments, then environment variables, then a config file.

```toml
# ~/.config/contextos/config.toml (or the file named by CONTEXTOS_CONFIG)
[model]
model = "hosted_vllm/Qwen/Qwen2.5-7B-Instruct"
api_base = "http://127.0.0.1:8000/v1"
api_key = "token-abc"        # optional
timeout = 60                 # seconds per call
max_retries = 2              # retries after the first call
fallbacks = ["hosted_vllm/Qwen/Qwen2.5-1.5B-Instruct"]
```
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contextos.errors import ConfigError

ENV_VARS = {
    "model": "CONTEXTOS_MODEL",
    "api_base": "CONTEXTOS_API_BASE",
    "api_key": "CONTEXTOS_API_KEY",
    "timeout": "CONTEXTOS_TIMEOUT",
    "max_retries": "CONTEXTOS_MAX_RETRIES",
}
"""Setting name → environment variable."""
CONFIG_ENV = "CONTEXTOS_CONFIG"
"""Environment variable naming the config file."""


class ModelSettings(BaseModel):
    """Resolved settings for a ``ModelClient``; ``sources`` says where each came from."""

    model_config = ConfigDict(frozen=True)

    model: str
    """The litellm model string, e.g. ``hosted_vllm/Qwen/Qwen2.5-7B-Instruct`` or ``offline/demo``."""
    api_base: str | None = None
    """The server's OpenAI-compatible base URL, e.g. ``http://127.0.0.1:8000/v1``."""
    api_key: str | None = None
    """The api key (vLLM's ``--api-key``), if the server wants one."""
    timeout: float = Field(60.0, gt=0)
    """Seconds per call."""
    max_retries: int = Field(2, ge=0)
    """Retries after the first call, per model."""
    fallbacks: tuple[str, ...] = ()
    """Models tried, in order, when the model keeps failing (they share api_base and api_key)."""
    sources: dict[str, str] = Field(default_factory=dict)
    """Setting name → ``argument``, ``env:NAME`` or ``file:PATH``."""


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    """``$CONTEXTOS_CONFIG``, else ``config.toml`` in the user's config folder (platformdirs)."""
    env = os.environ if env is None else env
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV]).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("contextos")) / "config.toml"


def read_config_file(path: Path, *, required: bool) -> dict[str, Any]:
    """The ``[model]`` table of a TOML config file ({} when the file is absent and not required)."""
    if not path.exists():
        if required:
            raise ConfigError(
                f"Config file {path} does not exist: create it or unset {CONFIG_ENV}."
            )
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise ConfigError(
            f"Config file {path} is not valid TOML: {exc}. Fix it or point {CONFIG_ENV} elsewhere."
        ) from None
    table = data.get("model", {})
    if not isinstance(table, dict):
        raise ConfigError(
            f"Config file {path}: [model] must be a table of settings, got {type(table).__name__}."
        )
    unknown = set(table) - {"model", "api_base", "api_key", "timeout", "max_retries", "fallbacks"}
    if unknown:
        raise ConfigError(f"Config file {path}: unknown setting(s) {sorted(unknown)} in [model].")
    return table


def resolve_settings(
    *,
    model: str | None = None,
    api_base: str | None = None,
    api_key: str | None = None,
    timeout: float | None = None,
    max_retries: int | None = None,
    config_path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> ModelSettings:
    """Settings from arguments > environment variables > config file, in that order of precedence."""
    env = os.environ if env is None else env
    path = Path(config_path).expanduser() if config_path is not None else default_config_path(env)
    required = config_path is not None or bool(env.get(CONFIG_ENV))
    from_file = read_config_file(path, required=required)
    arguments = {
        "model": model,
        "api_base": api_base,
        "api_key": api_key,
        "timeout": timeout,
        "max_retries": max_retries,
    }

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, variable in ENV_VARS.items():
        if arguments[name] is not None:
            values[name], sources[name] = arguments[name], "argument"
        elif env.get(variable):
            values[name], sources[name] = env[variable], f"env:{variable}"
        elif name in from_file:
            values[name], sources[name] = from_file[name], f"file:{path}"
    if "fallbacks" in from_file:
        values["fallbacks"], sources["fallbacks"] = tuple(from_file["fallbacks"]), f"file:{path}"
    if not values.get("model"):
        raise ConfigError(
            "No model configured: pass --model (or model=...), set CONTEXTOS_MODEL, or set `model` under "
            f"[model] in {path}. Example: hosted_vllm/Qwen/Qwen2.5-7B-Instruct with --api-base "
            "http://127.0.0.1:8000/v1; for a demo without any model server use offline/demo."
        )
    try:
        return ModelSettings(**values, sources=sources)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])} = {e.get('input')!r} ({sources.get(str(e['loc'][0]), '?')}): {e['msg']}"
            for e in exc.errors()
        )
        raise ConfigError(
            f"Invalid model settings: {problems}. Fix each where it came from (the command-line option, "
            "the environment variable or the config file named in parentheses): timeout is seconds > 0, "
            "max_retries a whole number >= 0."
        ) from None
