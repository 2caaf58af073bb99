"""Secrets never reach the store's files; message content is kept only while capture is on."""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from contextos.errors import ConfigError, TraceError
from contextos.tracing.redact import REDACTED, Redactor
from contextos.tracing.view import replay_request
from tests.tracing.conftest import (
    ACCOUNT,
    API_KEY,
    AUTH_HEADER_VALUE,
    BEARER,
    SCRIPT,
    traced_agent_run,
)

PLANTED = (API_KEY, BEARER, AUTH_HEADER_VALUE, ACCOUNT)


def _store_bytes(store) -> bytes:
    files = sorted(store.folder.iterdir())
    assert files, "the store wrote nothing"
    return b"".join(p.read_bytes() for p in files)


def test_planted_secrets_never_reach_the_store_files(traced_run):
    store, run_id = traced_run
    raw = _store_bytes(store)
    for secret in PLANTED:
        assert secret.encode() not in raw, f"{secret} leaked into {store.folder}"
    # the content around them is there (capture is on), with the secrets replaced
    tool = next(s for s in store.spans(run_id) if s.name == "execute_tool lookup_weather")
    result = tool.attributes["gen_ai.tool.call.result"]
    assert "Weather in Oslo: sunny" in result and SCRIPT in result
    assert result.count(REDACTED) == 2
    chat = next(s for s in store.spans(run_id) if s.name == "chat offline/demo")
    assert "lookup the weather in Oslo" in chat.attributes["gen_ai.input.messages"]
    assert REDACTED in chat.attributes["gen_ai.input.messages"]


def test_capture_off_keeps_structure_but_no_content(tmp_path):
    store, run_id = traced_agent_run(tmp_path, capture_content=False)
    raw = _store_bytes(store)
    assert b"Weather in Oslo" not in raw and b"lookup the weather" not in raw
    spans = store.spans(run_id)
    content_keys = {
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.tool.call.arguments",
        "gen_ai.tool.call.result",
        "gen_ai.tool.definitions",
        "contextos.request",
        "contextos.context.items",
        "contextos.context.messages",
    }
    for s in spans:
        assert not content_keys & set(s.attributes), s.name
    chat = next(s for s in spans if s.name == "chat offline/demo")
    assert chat.attributes["gen_ai.usage.input_tokens"] > 0  # numbers stay
    assembly = next(s for s in spans if s.name == "contextos.assemble")
    assert json.loads(assembly.attributes["contextos.context.decisions"])
    with pytest.raises(TraceError, match="without content"):
        replay_request(spans, 0)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer abcdef123456789", "abcdef123456789"),
        ('{"headers": {"Authorization": "Token live_abcdefgh"}}', "live_abcdefgh"),
        ('{"x-api-key": "two words"}', "two words"),
        (json.dumps(json.dumps({"api_key": "nestedsecret1"})), "nestedsecret1"),
        ("GET /v1?api_key=abc123xyz&x=1", "abc123xyz"),
        ("see sk-ant-api03-abcdefghijkl", "sk-ant-api03-abcdefghijkl"),
        ("curl -H 'authorization: basic dXNlcjpwYXNzd29yZA=='", "dXNlcjpwYXNzd29yZA"),
        ("password=hunter2!!", "hunter2"),
    ],
)
def test_redactor_replaces_credentials(text, secret):
    out = Redactor().text(text)
    assert secret not in out and REDACTED in out


def test_redactor_leaves_ordinary_text_and_applies_configured_patterns():
    plain = "The skyline at sk-8 is a basic idea; bearer of news."
    assert Redactor().text(plain) == plain
    assert Redactor([r"acct-\d{6}"]).text("account acct-123456 ok") == f"account {REDACTED} ok"
    assert Redactor().value("http.request.header.authorization", "anything") == REDACTED
    with pytest.raises(ConfigError, match="not a valid regular expression"):
        Redactor(["(unclosed"])


def test_remembered_strings_are_redacted_every_time_and_per_redactor():
    # the redactor remembers results per string: a repeat must come back redacted too, and a
    # redactor with its own patterns must not be handed another redactor's result
    text = 'tools: {"api_key": "sk-abcdefghijklmnop"} for acct-123456'
    plain = Redactor()
    first, second = plain.text(text), plain.text(text)
    assert first == second and "sk-abcdefghijklmnop" not in second and "acct-123456" in second
    assert "acct-123456" not in Redactor([r"acct-\d{6}"]).text(text)
    assert plain.attributes({"gen_ai.tool.call.result": text, "x-api-key": "plain"}) == {
        "gen_ai.tool.call.result": first,
        "x-api-key": REDACTED,
    }


def test_long_and_many_distinct_strings_are_still_redacted():
    r = Redactor()
    # longer than what is remembered
    long_text = "filler " * 200_000 + "Authorization: Bearer abcdef123456789"
    assert "abcdef123456789" not in r.text(long_text) and "abcdef123456789" not in r.text(long_text)
    for i in range(2_000):  # far more strings than are remembered
        assert r.text(f"step {i} password=hunter{i}") == f"step {i} password={REDACTED}"
    big = "x" * 900_000
    for i in range(20):  # and more characters
        assert r.text(f"{big} {i} sk-abcdefghijklmnop") == f"{big} {i} {REDACTED}"


_FRAGMENTS = [
    "client_",
    "client",
    "openai_",
    "x-",
    "_",
    "-",
    "token",
    "api_key",
    "API-KEY",
    "apikey",
    "Authorization",
    "author",
    "access",
    "Access_Token",
    "refresh-token",
    "auth_token",
    "client_secret",
    "SECRET",
    "password",
    "PassWD",
    "keyboard",
    "monkey",
    "basic",
    "Bearer",
    "sk-",
    "AKIA",
    "ghp_",
    "github_pat_",
    "AIza",
    "xoxb-",
    "hf_",
    "eyJ",
    "abcdefghijklmnopqrstuvwxyz0123",
    "ABCDEFGHIJKLMNOP",
    "://",
    "@",
    "/",
    "?",
    "&",
    "Set-Cookie",
    "cookie",
    "-----BEGIN RSA PRIVATE KEY-----",
    "-----END PRIVATE KEY-----",
    "aws_secret_access_key",
    "\n",
    ".",
    "=",
    ":",
    " ",
    '"',
    "'",
    "\\",
    ",",
    "{",
    "}",
    "\u212a",
    "\u0130",
    "\u017f",
    "é",
]


@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=24).map("".join))
@example("pa\u017f\u017fword=hunter22")  # (?i) folds the long s to "s", lower() does not
@example("author\u0130zation: abcdefgh")  # lower() turns the dotted I into two characters
@example("x-api-\u212aey: abcdefgh")  # Kelvin sign
# the match starts 6 characters before the "secret" found first
@example('{"clientSecret": "abcdefgh"}')
@settings(max_examples=1500, deadline=None)
def test_the_cheap_checks_before_each_pattern_never_skip_a_match(text):
    # the word, key-name and literal checks only spare scans that cannot match: running every
    # pattern on every string must give the same result
    from contextos.tracing import redact as R

    expected = R._KEYED.sub(R._keyed_replacement, text)
    expected = R._SCHEME.sub(lambda m: m.group(1) + m.group(2) + REDACTED, expected)
    for _, pattern in Redactor()._tokens:
        expected = pattern.sub(REDACTED, expected)
    for _, pattern, replacement in R._SHAPES:
        expected = pattern.sub(replacement, expected)
    assert Redactor().text(text) == expected


def test_json_stays_valid_json_when_a_schema_names_a_secret():
    # a tool with a "password" or "api_key" parameter: its schema is no secret, and cutting it open
    # made the recorded tool definitions invalid JSON (replay and the views could not read them)
    tools = [
        {
            "type": "function",
            "function": {
                "name": "login",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "password": {"type": "string"},
                        "api_key": {"type": "string", "description": "the key"},
                    },
                    "required": ["password"],
                },
            },
        }
    ]
    r = Redactor()
    for text in (r.text(json.dumps(tools)), r.json(tools)):
        assert json.loads(text) == tools
    call = {
        "name": "login",
        "arguments": {"password": "hunter22", "api_key": "sk-abcdefghijklmnop"},
    }
    assert json.loads(r.json([call]))[0]["arguments"] == {"password": REDACTED, "api_key": REDACTED}


@pytest.mark.parametrize("value", [123456, 12.5, True, None])
def test_a_bare_json_value_under_a_secret_key_becomes_a_quoted_redaction(value):
    # "password": 1234 was redacted to "password": [REDACTED], which no JSON reader accepts
    r = Redactor()
    arguments = {"password": value, "client_secret": value, "user": "ada"}
    assert json.loads(r.json(arguments)) == {
        "password": REDACTED,
        "client_secret": REDACTED,
        "user": "ada",
    }
    # JSON text inside a JSON string
    nested = r.text(json.dumps({"arguments": json.dumps(arguments)}))
    assert json.loads(json.loads(nested)["arguments"])["password"] == REDACTED
    # not JSON: no quotes added
    assert r.text(f"password={value}&user=ada") == f"password={REDACTED}&user=ada"


def test_json_of_a_list_is_redacted_element_by_element_and_passed_on_unchanged():
    r = Redactor([r"acct-\d{6}"])
    messages = [
        {"role": "user", "content": "my key sk-abcdefghijklmnop, acct-123456"},
        {"role": "assistant", "content": "Authorization: Bearer abcdef123456789"},
    ]
    text = r.json(messages)
    assert json.loads(text) == [
        {"role": "user", "content": f"my key {REDACTED}, {REDACTED}"},
        {"role": "assistant", "content": f"Authorization: {REDACTED}"},
    ]
    # not scanned again
    assert r.attributes({"gen_ai.input.messages": text})["gen_ai.input.messages"] is text
    other = Redactor()  # a redactor with other patterns scans it as text
    assert other.attributes({"gen_ai.input.messages": text})["gen_ai.input.messages"] == text
    assert REDACTED in Redactor([r"my key"]).attributes({"m": r.json(["my key"])})["m"]


def test_a_list_with_values_orjson_refuses_still_makes_redacted_json():
    # an integer beyond 64 bits and a non-string key send the whole list through the standard library
    text = Redactor().json([{"n": 2**70}, "token sk-abcdefghijklmnop", {1: "x"}])
    assert json.loads(text) == [{"n": 2**70}, "token [REDACTED]", {"1": "x"}]


def test_list_attributes_are_redacted_string_by_string():
    r = Redactor()
    attrs = {
        "contextos.tool_retrieval.queries": ("weather in Oslo", "key sk-abcdefghijklmnop"),
        "n": (1, 2),
    }
    for _ in range(2):  # a key not seen yet, then one known to name no secret: two paths
        out = r.attributes(attrs)
        assert out["contextos.tool_retrieval.queries"] == ("weather in Oslo", f"key {REDACTED}")
        assert out["n"] == (1, 2)
