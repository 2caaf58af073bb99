"""Settings precedence: arguments > CONTEXTOS_* environment variables > config file."""

from __future__ import annotations

from pathlib import Path

import pytest

from contextos import ConfigError, ModelClient
from contextos.llm.config import resolve_settings

FILE = """
[model]
model = "hosted_vllm/from-file"
api_base = "http://file:8000/v1"
api_key = "file-key"
timeout = 11
max_retries = 4
fallbacks = ["hosted_vllm/file-fallback"]
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(FILE)
    return path


def test_file_alone(config_file: Path) -> None:
    settings = resolve_settings(env={"CONTEXTOS_CONFIG": str(config_file)})
    assert (
        settings.model,
        settings.api_base,
        settings.api_key,
        settings.timeout,
        settings.max_retries,
    ) == ("hosted_vllm/from-file", "http://file:8000/v1", "file-key", 11.0, 4)
    assert settings.fallbacks == ("hosted_vllm/file-fallback",)
    assert settings.sources["model"] == f"file:{config_file}"


def test_environment_beats_file(config_file: Path) -> None:
    env = {
        "CONTEXTOS_CONFIG": str(config_file),
        "CONTEXTOS_MODEL": "hosted_vllm/from-env",
        "CONTEXTOS_TIMEOUT": "7",
        "CONTEXTOS_MAX_RETRIES": "0",
    }
    settings = resolve_settings(env=env)
    assert settings.model == "hosted_vllm/from-env"
    assert settings.timeout == 7.0
    assert settings.max_retries == 0
    assert settings.api_base == "http://file:8000/v1"  # not set in the environment: the file's
    assert settings.sources["model"] == "env:CONTEXTOS_MODEL"


def test_arguments_beat_environment_and_file(config_file: Path) -> None:
    env = {"CONTEXTOS_MODEL": "hosted_vllm/from-env", "CONTEXTOS_API_BASE": "http://env:8000/v1"}
    settings = resolve_settings(
        model="hosted_vllm/from-arg",
        api_base="http://arg:8000/v1",
        config_path=config_file,
        env=env,
    )
    assert (settings.model, settings.api_base, settings.api_key) == (
        "hosted_vllm/from-arg",
        "http://arg:8000/v1",
        "file-key",
    )
    assert settings.sources["api_base"] == "argument"


def test_from_config_builds_the_client(config_file: Path) -> None:
    client = ModelClient.from_config(
        env={"CONTEXTOS_CONFIG": str(config_file), "CONTEXTOS_MAX_RETRIES": "1"}
    )
    assert client.model == "hosted_vllm/from-file"
    assert client.timeout == 11.0
    assert client.retry.max_attempts == 2
    assert [e.model for e in client.endpoints] == [
        "hosted_vllm/from-file",
        "hosted_vllm/file-fallback",
    ]
    assert client.endpoints[1].api_base == "http://file:8000/v1"


def test_missing_default_file_is_fine_but_no_model_is_an_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert resolve_settings(model="offline/demo", env={}).model == "offline/demo"
    with pytest.raises(ConfigError, match="No model configured.*CONTEXTOS_MODEL.*offline/demo"):
        resolve_settings(env={})


def test_named_config_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_settings(env={"CONTEXTOS_CONFIG": str(tmp_path / "nope.toml")})


def test_bad_toml_and_bad_values_say_what_is_wrong(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[model\nmodel = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        resolve_settings(config_path=broken, env={})
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('[model]\nmodel = "offline/demo"\ntemperature = 3\n')
    with pytest.raises(ConfigError, match="unknown setting.*temperature"):
        resolve_settings(config_path=unknown, env={})
    with pytest.raises(
        ConfigError, match="timeout = 'soon'.*env:CONTEXTOS_TIMEOUT.*Fix each where it came from"
    ):
        resolve_settings(model="offline/demo", env={"CONTEXTOS_TIMEOUT": "soon"})
    with pytest.raises(ConfigError, match=r"max_retries = -1 \(argument\).*whole number >= 0"):
        resolve_settings(model="offline/demo", max_retries=-1, env={})
