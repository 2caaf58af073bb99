"""counter_for_model: each model counted by its own tokenizer, an estimate said once, bad input named."""

from __future__ import annotations

import asyncio
import json
import socket
import warnings

import pytest
from tokenizers import Tokenizer

from contextos import (
    Budget,
    ChatTemplateCounter,
    ContextItem,
    EstimatedCounter,
    Orchestrator,
    ServerCheckedCounter,
    TiktokenCounter,
    TokenizerError,
    TokenizerWarning,
    VllmTokenize,
    counter_for_model,
)
from contextos.context.counters import TOKENIZER_ENV
from contextos.testing import FakeModelServer
from contextos.testing.fake_server import prompt_words
from tests.context.helpers import tiny_tokenizer_dir

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def estimates(caught) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, TokenizerWarning)]


@pytest.mark.parametrize(
    "model, encoding",
    [
        ("gpt-4-turbo", "cl100k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
        ("openai/gpt-4-0613", "cl100k_base"),
        ("azure/gpt-4o", "o200k_base"),
        ("gpt-4o-mini", "o200k_base"),
        ("o1-preview", "o200k_base"),
        ("gpt-4.1", "o200k_base"),
    ],
)
def test_openai_models_count_with_their_own_encoding(model, encoding):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        counter = counter_for_model(model)
    assert (
        type(counter) is TiktokenCounter
        and counter.encoding_name == encoding
        and not counter.estimated
    )
    assert estimates(caught) == []


def test_the_test_models_count_with_o200k_without_a_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for model in ("offline/demo", "scripted"):
            counter = counter_for_model(model)
            assert counter.counted_with == "tiktoken:o200k_base" and not counter.estimated
    assert estimates(caught) == []


def test_an_unknown_model_is_an_estimate_said_once_with_its_fallback():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        counters = [counter_for_model("hosted_vllm/acme/mystery-7b") for _ in range(3)]
    assert all(isinstance(c, EstimatedCounter) and c.estimated for c in counters)
    said = estimates(caught)
    assert (
        len(said) == 1
        and "'hosted_vllm/acme/mystery-7b'" in said[0]
        and "o200k_base + 50%" in said[0]
    )
    plain = TiktokenCounter(encoding="o200k_base")
    text = "An estimate must not undercount a tokenizer it does not know. " * 20
    # o200k's count plus half, rounded up
    assert counters[0].count(text) == -(-plain.count(text) * 3 // 2)


def test_a_vllm_model_named_like_gpt_4_is_not_counted_as_openai():
    with pytest.warns(TokenizerWarning):
        assert counter_for_model("hosted_vllm/gpt-4-local-finetune").estimated


def test_a_bare_orchestrator_flags_its_counts_as_estimates():
    from contextos.context import counters

    counters._warn_estimate.cache_clear()  # said once per process: an earlier test may have heard it
    with pytest.warns(TokenizerWarning, match="no model given"):
        orchestrator = Orchestrator([], Budget(context_window=500))
    result = asyncio.run(
        orchestrator.assemble(
            [ContextItem(id="q", source="input", role="user", content="Hello there")]
        )
    )
    assert result.usage.estimated and result.usage.counted_with == "estimate:o200k_base+50%"
    named = asyncio.run(
        Orchestrator([], Budget(context_window=500), model="gpt-4").assemble(
            [ContextItem(id="q", source="input", role="user", content="Hello there")]
        )
    )
    assert not named.usage.estimated and named.usage.counted_with == "tiktoken:cl100k_base"


def test_the_models_tokenizer_comes_from_an_argument_the_environment_or_the_model_string(tmp_path):
    folder = tiny_tokenizer_dir()
    given = counter_for_model("hosted_vllm/contextos-tiny-llama", tokenizer=folder)
    assert isinstance(given, ChatTemplateCounter) and given.counted_with == "template:tiny-llama"
    assert isinstance(
        counter_for_model("hosted_vllm/x", tokenizer=folder / "tokenizer.json"), ChatTemplateCounter
    )
    assert isinstance(
        counter_for_model("hosted_vllm/x", env={TOKENIZER_ENV: str(folder)}), ChatTemplateCounter
    )
    assert isinstance(counter_for_model(f"hosted_vllm/{folder}", env={}), ChatTemplateCounter)
    # the environment variable is for the served open model, not for OpenAI's
    assert type(counter_for_model("gpt-4o", env={TOKENIZER_ENV: str(folder)})) is TiktokenCounter
    # a model already in the local Hugging Face cache (nothing is downloaded)
    snapshot = tmp_path / "hub" / "models--acme--tiny" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (snapshot / name).write_bytes((folder / name).read_bytes())
    cached = counter_for_model("hosted_vllm/acme/tiny", env={"HF_HUB_CACHE": str(tmp_path / "hub")})
    assert isinstance(cached, ChatTemplateCounter) and cached.path == snapshot


def test_a_vllm_model_with_a_server_is_checked_by_its_tokenize_endpoint():
    folder = tiny_tokenizer_dir()
    checked = counter_for_model(
        "hosted_vllm/tiny", api_base="http://127.0.0.1:8000/v1", tokenizer=folder
    )
    assert isinstance(checked, ServerCheckedCounter) and isinstance(
        checked.local, ChatTemplateCounter
    )
    assert checked.server.url == "http://127.0.0.1:8000/tokenize" and checked.server.model == "tiny"
    # exact: only near the limit
    assert not checked.needs_check(800, 1000) and checked.needs_check(950, 1000)
    with pytest.warns(TokenizerWarning):
        unknown = counter_for_model(
            "hosted_vllm/acme/other-7b", api_base="http://127.0.0.1:8000/v1"
        )
    assert unknown.estimated and unknown.needs_check(10, 1000)  # an estimate: always


def test_the_template_count_is_the_tokenizer_over_the_rendered_template():
    folder = tiny_tokenizer_dir()
    counter = ChatTemplateCounter(folder)
    messages = [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": "नमस्ते! What is the weather in Paris? (a literal <|im_end|> in the text)",
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "Sunny, 21 °C"},
    ]
    prompt = counter.render(messages, [WEATHER])
    assert prompt.startswith("<|bos|><|im_start|>system\nBe brief.\n\n# Tools")
    # spaces; arguments as an object
    assert json.dumps(WEATHER) in prompt and '"arguments": {"city": "Paris"}' in prompt
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    whole = len(tokenizer.encode(prompt, add_special_tokens=False).ids)
    # counted by pieces
    assert counter.count_request(messages, [WEATHER]) == whole == counter.count_prompt(prompt)
    assert counter._pieces is not None
    # the template's tools preamble costs far more than OpenAI's 6-token tools block
    assert (
        counter.tools_block_cost() > 50
        and counter.tool_cost(WEATHER) > counter.count(json.dumps(WEATHER)) - 5
    )
    # a message's cost is what it adds to a rendered request
    alone = counter.count_request(messages[:2])
    assert (
        abs(
            counter.count_request([*messages[:2], {"role": "assistant", "content": "Sunny."}])
            - alone
            - counter.message_cost({"role": "assistant", "content": "Sunny."})
        )
        <= 1
    )


def test_bad_tokenizer_input_gets_a_tokenizer_error_saying_what_to_do(tmp_path):
    with pytest.raises(TokenizerError, match="no tokenizer.json"):
        counter_for_model("hosted_vllm/x", tokenizer=tmp_path / "missing")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "tokenizer.json").write_text("{not a tokenizer")
    with pytest.raises(TokenizerError, match="tokenizers library can read"):
        ChatTemplateCounter(broken)
    folder = tiny_tokenizer_dir()
    no_template = tmp_path / "no-template"
    no_template.mkdir()
    (no_template / "tokenizer.json").write_bytes((folder / "tokenizer.json").read_bytes())
    with pytest.raises(TokenizerError, match="no chat template"):
        ChatTemplateCounter(no_template)
    (no_template / "tokenizer_config.json").write_text("{oops")
    with pytest.raises(TokenizerError, match="could not be read as JSON"):
        ChatTemplateCounter(no_template)
    with pytest.raises(TokenizerError, match="does not compile"):
        ChatTemplateCounter(folder, chat_template="{% for m in messages %}{{ m.content }")
    strict = ChatTemplateCounter(folder)
    with pytest.raises(TokenizerError, match="could not render.*Unknown role: critic"):
        strict.count_request([{"role": "critic", "content": "Hi"}])


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_tokenize_is_asked_once_per_step_and_its_count_is_the_usage():
    items = [
        ContextItem(id="sys", source="instructions", content="You help."),
        ContextItem(id="q", source="input", role="user", content="How warm is it in Oslo today?"),
    ]
    with FakeModelServer(models=("acme-7b",)) as server:
        words = len(prompt_words(items_as_messages(items)))  # how the fake server tokenizes
        assert (
            VllmTokenize(server.api_base, "hosted_vllm/acme-7b").count_request(
                items_as_messages(items)
            )
            == words
        )
        with pytest.warns(TokenizerWarning, match="estimate"):
            counter = counter_for_model("hosted_vllm/acme-7b", api_base=server.api_base)
        result = asyncio.run(
            Orchestrator([], Budget(context_window=400), counter=counter).assemble(items)
        )
        # after the direct call above
        asked = [r for r in server.requests if r.path == "/tokenize"][1:]
    assert len(asked) == 1 and asked[0].body["messages"] == result.messages
    assert result.usage.request_tokens == words  # the server's count, not the local estimate
    assert result.usage.estimated and "checked by vllm:/tokenize" in result.usage.counted_with


def items_as_messages(items):
    return [
        {"role": "system", "content": items[0].content},
        {"role": "user", "content": items[1].content},
    ]


def test_a_tokenize_endpoint_that_is_down_is_a_warning_naming_the_fallback():
    local = TiktokenCounter(encoding="o200k_base")
    counter = ServerCheckedCounter(
        local, VllmTokenize(f"http://127.0.0.1:{_closed_port()}/v1", "hosted_vllm/m", timeout=2)
    )
    with pytest.raises(TokenizerError, match="could not be reached"):
        counter.server.count_request([{"role": "user", "content": "Hi"}])
    item = ContextItem(id="q", source="input", role="user", content="word " * 90)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        orchestrator = Orchestrator([], Budget(context_window=100), counter=counter)
        for _ in range(2):
            result = asyncio.run(orchestrator.assemble([item]))
    said = estimates(caught)
    assert len(said) == 1 and "local count (tiktoken:o200k_base)" in said[0]
    assert result.usage.request_tokens == local.count_request(result.messages)


class _Stricter(ServerCheckedCounter):
    """A 'server' that counts 30% more than the local tokenizer (a stale local template, say)."""

    async def checked_count(self, messages, tools):
        self.asked = getattr(self, "asked", 0) + 1
        return int(self.local.count_request(messages, tools) * 1.3)


def test_when_the_server_counts_more_the_request_shrinks_until_the_server_says_it_fits():
    counter = _Stricter(EstimatedCounter(margin=0.0), VllmTokenize("http://127.0.0.1:9/v1", "m"))
    items = [
        ContextItem(
            id=f"d{i}",
            source="documents",
            content=f"Document {i}: " + "facts about Oslo " * 20,
            score=0.5,
        )
        for i in range(10)
    ]
    result = asyncio.run(
        Orchestrator([], Budget(context_window=600), counter=counter).assemble(items)
    )
    served = int(counter.local.count_request(result.messages, result.tools) * 1.3)
    assert served <= 600 and result.usage.request_tokens == served
    assert counter.asked >= 2 and any(
        d.reason.startswith("over budget once rendered") for d in result.decisions
    )


def test_a_tokenizer_whose_pieces_interact_is_counted_whole(tmp_path):
    # A SentencePiece-style (Metaspace) tokenizer marks only the first piece of a text: counting the
    # pieces between special tokens apart would overcount, so the whole prompt is encoded.
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.train_from_iterator(
        ["The weather in Paris is sunny today.", "Hello there, how are you?"] * 5,
        trainers.BpeTrainer(
            vocab_size=200, special_tokens=["<unk>", "<s>", "</s>"], show_progress=False
        ),
    )
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    template = "{{ bos_token }}{% for m in messages %}{{ m.content }}{{ eos_token }}{% endfor %}"
    (tmp_path / "tokenizer_config.json").write_text(
        json.dumps({"bos_token": "<s>", "eos_token": "</s>", "chat_template": template})
    )
    counter = ChatTemplateCounter(tmp_path)
    assert counter._pieces is None
    messages = [
        {"role": "user", "content": "The weather in Paris"},
        {"role": "assistant", "content": "is sunny today."},
    ]
    prompt = counter.render(messages)
    assert prompt == "<s>The weather in Paris</s>is sunny today.</s>"
    assert counter.count_request(messages) == len(
        tokenizer.encode(prompt, add_special_tokens=False).ids
    )


def test_a_server_without_tokenize_is_a_warning_and_the_estimate_stands():
    item = ContextItem(id="q", source="input", role="user", content="How warm is it in Oslo today?")
    with FakeModelServer(models=("acme-7b",), tokenize=False) as server:
        endpoint = VllmTokenize(server.api_base, "hosted_vllm/acme-7b")
        with pytest.raises(TokenizerError, match="answered 404"):
            endpoint.count_request([{"role": "user", "content": "Hi"}])
        counter = ServerCheckedCounter(EstimatedCounter(), endpoint)
        with pytest.warns(
            TokenizerWarning,
            match=r"answered 404.*goes on with its local count \(estimate:o200k_base\+50%\)",
        ):
            result = asyncio.run(
                Orchestrator([], Budget(context_window=400), counter=counter).assemble([item])
            )
    assert result.usage.estimated and result.usage.request_tokens == counter.count_request(
        result.messages
    )


class _Words:
    """A user's counter: the ``TokenCounter`` protocol only (no ``ChatAccounting`` base)."""

    def count(self, text: str) -> int:
        return len(text.split())

    def count_request(self, messages, tools=None) -> int:
        return 100 + sum(self.count(m["content"]) for m in messages)


def test_a_server_checked_users_counter_counts_requests_its_own_way():
    counter = ServerCheckedCounter(_Words(), VllmTokenize("http://127.0.0.1:9/v1", "m"))
    messages = [{"role": "user", "content": "two words"}]
    assert counter.count("a b c") == 3 and counter.count_request(messages) == 102
