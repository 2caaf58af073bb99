"""A tiny random-weight chat model, built locally, for running a real vLLM server in tests.

Nothing is downloaded: the weights are a small Llama-style causal LM initialised at random with a
fixed seed and saved with ``transformers``; the tokenizer is a byte-level BPE trained on the spot
with ``tokenizers`` on a corpus shipped in this module; the chat template (system, user, assistant
and tool roles, tools) is written into the folder. Its answers are gibberish, but everything a
server does with a model (tokenization, the chat template, batching, the KV cache, prefix caching,
context-length checks) is real.

```bash
python -m contextos.testing.tiny_model /tmp/tiny-llama   # needs torch, transformers, tokenizers
contextos serve /tmp/tiny-llama
```

``max_position_embeddings`` is 4096 so that real agent prompts fit and prompts sharing a long
prefix fill whole KV-cache blocks (vLLM's prefix cache only reuses whole blocks).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from contextos.errors import ConfigError

if TYPE_CHECKING:
    from tokenizers import Tokenizer

#: The name vLLM serves the model under when started on a folder built here
#: (``--served-model-name`` default in ``contextos serve`` is the folder's name).
TINY_MODEL_NAME = "contextos-tiny-llama"

# The tokenizer's training text. Agent-prompt vocabulary (roles, JSON, tool schemas, code) so that
# common words become single tokens; anything else still encodes, byte by byte.
_CORPUS = """\
You are a helpful assistant. Answer the user's question briefly and accurately.
The user asked: what is the weather in Paris today? The assistant called the tool get_weather.
{"name": "get_weather", "description": "Get the current weather for a city.", "parameters":
{"type": "object", "properties": {"city": {"type": "string", "description": "The city name"}},
"required": ["city"]}}
{"role": "system", "content": "..."} {"role": "user", "content": "..."}
{"role": "assistant", "content": null, "tool_calls": [{"id": "call_0", "type": "function",
"function": {"name": "search_documents", "arguments": "{\\"query\\": \\"context engineering\\"}"}}]}
{"role": "tool", "tool_call_id": "call_0", "content": "Found 3 documents about context windows."}
Context engineering decides what a model sees at each step of an agent: instructions, the
conversation so far, memories, tools, demonstrations and documents, selected to fit a token budget
and rendered so that the prompt prefix stays stable across steps, which lets the server reuse its
key-value cache. A retriever searches a tool catalog; a compressor shortens long documents; the
orchestrator records every decision in a trace.
def add(a: int, b: int) -> int:
    return a + b
for item in items:
    if item.tokens > budget.remaining:
        continue
The quick brown fox jumps over the lazy dog. 0 1 2 3 4 5 6 7 8 9 10 100 1000 2024 3.14
Question: Which city is the capital of France? Answer: Paris.
Question: How many tokens fit in the context window? Answer: 4096.
Summary of the conversation: the user wants a report on memory stores, vector search and tools.
"""

_SPECIAL_TOKENS = ["<|pad|>", "<|bos|>", "<|eos|>", "<|im_start|>", "<|im_end|>"]

# ChatML with tools the way Qwen2.5 and Hermes models write them: the schemas as JSON lines in a
# <tools> block of the system turn, after a preamble; assistant calls as <tool_call> blocks;
# consecutive tool results gathered in one user turn of <tool_response> blocks. The BOS token
# opens the prompt (so a server that added another would be caught); unknown roles and a system
# message after the first are refused with raise_exception, as strict templates do.
CHAT_TEMPLATE = """\
{{- bos_token }}
{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0].role == 'system' %}
        {{- messages[0].content + '\\n\\n' }}
    {%- endif %}
    {{- '# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\n' }}
    {{- 'You are provided with function signatures within <tools></tools> XML tags:\\n<tools>' }}
    {%- for tool in tools %}
        {{- '\\n' }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- '\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments ' }}
    {{- 'within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{"name": <function-name>, "arguments": <args-json-object>}\\n</tool_call><|im_end|>\\n' }}
{%- elif messages[0].role == 'system' %}
    {{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}
{%- endif %}
{%- for message in messages %}
    {%- if message.role == 'system' %}
        {%- if not loop.first %}
            {{- raise_exception('A system message must come first.') }}
        {%- endif %}
    {%- elif message.role == 'user' or (message.role == 'assistant' and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}
    {%- elif message.role == 'assistant' %}
        {{- '<|im_start|>assistant' }}
        {%- if message.content %}
            {{- '\\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- set fn = tool_call.function if tool_call.function is defined else tool_call %}
            {{- '\\n<tool_call>\\n{"name": "' + fn.name + '", "arguments": ' + (fn.arguments | tojson) + '}\\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == 'tool' %}
        {%- if loop.first or messages[loop.index0 - 1].role != 'tool' %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' + message.content + '\\n</tool_response>' }}
        {%- if loop.last or messages[loop.index0 + 1].role != 'tool' %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- else %}
        {{- raise_exception('Unknown role: ' + message.role) }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
"""
#: The special tokens the tokenizer config names (the template refers to ``bos_token``).
SPECIAL_TOKEN_ROLES = {"bos_token": "<|bos|>", "eos_token": "<|im_end|>", "pad_token": "<|pad|>"}


class TinyModelSpec(BaseModel):
    """The shape of the tiny model. Defaults make a ≈1 MB model that vLLM loads in seconds."""

    vocab_size: int = Field(default=2048, ge=300)
    """Target BPE vocabulary size (the trained vocabulary may be smaller on a small corpus)."""
    hidden_size: int = 64
    """Width of the residual stream."""
    intermediate_size: int = 128
    """Width of the MLP."""
    num_hidden_layers: int = 2
    """Number of transformer blocks."""
    num_attention_heads: int = 2
    """Query heads (head size = hidden_size / num_attention_heads)."""
    num_key_value_heads: int = 1
    """Key/value heads (grouped-query attention when fewer than the query heads)."""
    max_position_embeddings: int = 4096
    """The context window, in tokens."""
    seed: int = 0
    """Seed of the random weights: the same spec gives the same model."""


def build_tokenizer(spec: TinyModelSpec) -> Tokenizer:
    """Train the byte-level BPE tokenizer on the shipped corpus (deterministic)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=spec.vocab_size,
        special_tokens=_SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_CORPUS.splitlines(), trainer=trainer)
    return tokenizer


def write_tokenizer_files(folder: str | Path, spec: TinyModelSpec | None = None) -> Path:
    """Write the tiny model's tokenizer files alone (``tokenizer.json``, ``tokenizer_config.json``
    with the chat template, ``chat_template.jinja``) into ``folder``: what ``ChatTemplateCounter``
    reads, without torch. ``build_tiny_model`` writes the same tokenizer and template beside the weights.
    """
    spec = spec or TinyModelSpec()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    build_tokenizer(spec).save(str(folder / "tokenizer.json"))
    config = {
        **SPECIAL_TOKEN_ROLES,
        "model_max_length": spec.max_position_embeddings,
        "chat_template": CHAT_TEMPLATE,
        "tokenizer_class": "PreTrainedTokenizerFast",
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2))
    (folder / "chat_template.jinja").write_text(CHAT_TEMPLATE)
    return folder


def build_tiny_model(out_dir: str | Path, spec: TinyModelSpec | None = None) -> Path:
    """Build the tiny model into ``out_dir`` (created; must be empty or absent) and return it.

    Needs ``torch``, ``transformers`` and ``tokenizers`` (all present where vLLM is installed).
    The folder is written in a sibling temporary folder and renamed at the end, so a failure
    leaves nothing half-written.
    """
    spec = spec or TinyModelSpec()
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise ConfigError(
            f"{out} exists and is not empty: give an empty or new folder for the tiny model"
        )
    try:
        import torch
        from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
    except ImportError as exc:
        raise ConfigError(
            f"building the tiny model needs torch and transformers ({exc}); run it with the interpreter "
            "that has vLLM (e.g. .venv-vllm/bin/python -m contextos.testing.tiny_model DIR)"
        ) from exc

    raw = build_tokenizer(spec)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw, model_max_length=spec.max_position_embeddings, **SPECIAL_TOKEN_ROLES
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    vocab = len(tokenizer)

    config = LlamaConfig(
        vocab_size=vocab,
        hidden_size=spec.hidden_size,
        intermediate_size=spec.intermediate_size,
        num_hidden_layers=spec.num_hidden_layers,
        num_attention_heads=spec.num_attention_heads,
        num_key_value_heads=spec.num_key_value_heads,
        max_position_embeddings=spec.max_position_embeddings,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(spec.seed)
    model = LlamaForCausalLM(config).to(torch.bfloat16)
    model.generation_config.eos_token_id = tokenizer.eos_token_id

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.partial"
    if staging.exists():
        import shutil

        shutil.rmtree(staging)
    staging.mkdir()
    model.save_pretrained(staging, safe_serialization=True)
    tokenizer.save_pretrained(staging)
    # Older and newer transformers keep the template in different files; write it where both look.
    (staging / "chat_template.jinja").write_text(CHAT_TEMPLATE)
    config_path = staging / "tokenizer_config.json"
    tok_cfg = json.loads(config_path.read_text())
    tok_cfg["chat_template"] = CHAT_TEMPLATE
    config_path.write_text(json.dumps(tok_cfg, indent=2))
    (staging / "CONTEXTOS_TINY_MODEL.txt").write_text(
        "A random-weight model built by contextos.testing.tiny_model for tests: its outputs are gibberish.\n"
        + spec.model_dump_json(indent=2)
        + "\n"
    )
    if out.exists():
        out.rmdir()
    staging.rename(out)
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: python -m contextos.testing.tiny_model OUT_DIR", file=sys.stderr)
        return 2
    try:
        path = build_tiny_model(args[0])
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
