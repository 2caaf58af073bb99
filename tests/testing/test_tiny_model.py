"""The tiny model's tokenizer and chat template (the weights need torch: tests/llm/test_vllm_integration.py builds them)."""

from __future__ import annotations

import json

import pytest
from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from tokenizers import Tokenizer

from contextos.errors import ConfigError
from contextos.testing.tiny_model import (
    CHAT_TEMPLATE,
    SPECIAL_TOKEN_ROLES,
    TinyModelSpec,
    build_tiny_model,
    build_tokenizer,
    write_tokenizer_files,
)


def test_the_tokenizer_is_trained_deterministically_and_encodes_any_text() -> None:
    first, second = build_tokenizer(TinyModelSpec()), build_tokenizer(TinyModelSpec())
    assert first.to_str() == second.to_str()
    text = 'Ünïcode, emoji 🚀 and JSON {"a": [1, 2]}\n\ttabs'
    assert first.decode(first.encode(text).ids) == text
    # words merged, not bytes
    assert len(first.encode("context engineering").ids) < len("context engineering")
    for special in ("<|im_start|>", "<|im_end|>", "<|bos|>", "<|pad|>"):
        assert len(first.encode(special).ids) == 1


def _render(
    messages: list[dict], tools: list[dict] | None = None, add_generation_prompt: bool = True
) -> str:
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    # as transformers does (no HTML escaping)
    env.filters["tojson"] = lambda value: json.dumps(value)

    def raise_exception(message: str) -> None:
        raise TemplateError(message)

    env.globals["raise_exception"] = raise_exception
    return env.from_string(CHAT_TEMPLATE).render(
        messages=messages,
        tools=tools,
        add_generation_prompt=add_generation_prompt,
        **SPECIAL_TOKEN_ROLES,
    )


def test_the_chat_template_renders_every_role_and_the_tools_in_a_qwen_style_block() -> None:
    tool = {
        "type": "function",
        "function": {"name": "get_weather", "parameters": {"type": "object"}},
    }
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": {"city": "Paris"}},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "Sunny"},
        {"role": "tool", "tool_call_id": "c2", "content": "Windy"},
    ]
    text = _render(messages, tools=[tool])
    assert text.startswith("<|bos|><|im_start|>system\nBe brief.\n\n# Tools\n")
    # schemas with spaces, one per line
    assert "\n<tools>\n" + json.dumps(tool) + "\n</tools>\n" in text
    assert "<|im_start|>user\nWeather in Paris?<|im_end|>" in text
    assert (
        '<|im_start|>assistant\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call><|im_end|>'
        in text
    )
    # consecutive results share one user turn
    assert (
        "<|im_start|>user\n<tool_response>\nSunny\n</tool_response>\n<tool_response>\nWindy\n</tool_response><|im_end|>"
        in text
    )
    assert text.endswith("<|im_start|>assistant\n")
    assert text.count("Be brief.") == 1


def test_without_tools_or_system_the_prompt_is_just_the_turns() -> None:
    text = _render([{"role": "user", "content": "Hi"}], add_generation_prompt=False)
    assert text == "<|bos|><|im_start|>user\nHi<|im_end|>\n"


def test_the_template_refuses_unknown_roles_and_a_late_system_message() -> None:
    with pytest.raises(TemplateError, match="Unknown role"):
        _render([{"role": "critic", "content": "Hi"}])
    with pytest.raises(TemplateError, match="must come first"):
        _render([{"role": "user", "content": "Hi"}, {"role": "system", "content": "late"}])


def test_the_tokenizer_files_alone_are_written_without_torch(tmp_path) -> None:
    folder = write_tokenizer_files(tmp_path / "tok")
    config = json.loads((folder / "tokenizer_config.json").read_text())
    assert config["chat_template"] == CHAT_TEMPLATE == (folder / "chat_template.jinja").read_text()
    assert config["bos_token"] == "<|bos|>"
    assert (
        Tokenizer.from_file(str(folder / "tokenizer.json")).to_str()
        == build_tokenizer(TinyModelSpec()).to_str()
    )


def test_a_non_empty_folder_is_refused_and_left_alone(tmp_path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty"):
        build_tiny_model(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
