"""The tiny model's tokenizer and chat template (the weights need torch: tests/llm/test_vllm_integration.py builds them)."""

from __future__ import annotations

import json

import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

from contextos.errors import ConfigError
from contextos.testing.tiny_model import CHAT_TEMPLATE, TinyModelSpec, build_tiny_model, build_tokenizer


def test_the_tokenizer_is_trained_deterministically_and_encodes_any_text() -> None:
    first, second = build_tokenizer(TinyModelSpec()), build_tokenizer(TinyModelSpec())
    assert first.to_str() == second.to_str()
    text = 'Ünïcode, emoji 🚀 and JSON {"a": [1, 2]}\n\ttabs'
    assert first.decode(first.encode(text).ids) == text
    assert len(first.encode("context engineering").ids) < len("context engineering")  # words merged, not bytes
    for special in ("<|im_start|>", "<|im_end|>", "<|bos|>", "<|pad|>"):
        assert len(first.encode(special).ids) == 1


def _render(messages: list[dict], tools: list[dict] | None = None, add_generation_prompt: bool = True) -> str:
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.filters["tojson"] = lambda value: json.dumps(value)  # as transformers does (no HTML escaping)
    return env.from_string(CHAT_TEMPLATE).render(messages=messages, tools=tools, add_generation_prompt=add_generation_prompt)


def test_the_chat_template_renders_every_role_and_the_tools() -> None:
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "Sunny"},
    ]
    text = _render(messages, tools=[tool])
    assert text.startswith("<|im_start|>system\nBe brief.\n\nYou may call these tools:\n" + json.dumps(tool))
    assert "<|im_start|>user\nWeather in Paris?<|im_end|>" in text
    assert '<tool_call>{"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\"}"}</tool_call><|im_end|>' in text
    assert "<|im_start|>tool\nSunny<|im_end|>" in text
    assert text.endswith("<|im_start|>assistant\n")
    assert text.count("Be brief.") == 1


def test_without_tools_or_system_the_prompt_is_just_the_turns() -> None:
    text = _render([{"role": "user", "content": "Hi"}], add_generation_prompt=False)
    assert text == "<|im_start|>user\nHi<|im_end|>\n"


def test_a_non_empty_folder_is_refused_and_left_alone(tmp_path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty"):
        build_tiny_model(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
