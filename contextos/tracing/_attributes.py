"""Attribute names: the OpenTelemetry GenAI semantic conventions, and ``contextos.*`` for the rest.

GenAI names follow https://opentelemetry.io/docs/specs/semconv/gen-ai/ (spans ``invoke_agent``,
``chat``, ``execute_tool``). What those conventions do not cover (how the context was assembled,
tool retrieval, compression, retries) lives under ``contextos.``.
"""

from __future__ import annotations

# GenAI semantic conventions -------------------------------------------------------------
OPERATION = "gen_ai.operation.name"
PROVIDER = "gen_ai.provider.name"
AGENT_NAME = "gen_ai.agent.name"
AGENT_ID = "gen_ai.agent.id"
CONVERSATION_ID = "gen_ai.conversation.id"
REQUEST_MODEL = "gen_ai.request.model"
REQUEST_TEMPERATURE = "gen_ai.request.temperature"
REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
REQUEST_TOP_P = "gen_ai.request.top_p"
REQUEST_SEED = "gen_ai.request.seed"
REQUEST_STOP = "gen_ai.request.stop_sequences"
RESPONSE_MODEL = "gen_ai.response.model"
RESPONSE_ID = "gen_ai.response.id"
RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
INPUT_TOKENS = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
TOOL_NAME = "gen_ai.tool.name"
TOOL_CALL_ID = "gen_ai.tool.call.id"
TOOL_TYPE = "gen_ai.tool.type"
TOOL_DESCRIPTION = "gen_ai.tool.description"
ERROR_TYPE = "error.type"
# content (recorded only while capture is on)
INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
TOOL_DEFINITIONS = "gen_ai.tool.definitions"
TOOL_ARGUMENTS = "gen_ai.tool.call.arguments"
TOOL_RESULT = "gen_ai.tool.call.result"

# contextos ------------------------------------------------------------------------------
RUN = "contextos.run"
STEP = "contextos.step"
BUDGET = "contextos.context.budget"
REQUEST_TOKENS = "contextos.context.request_tokens"
PER_SOURCE = "contextos.context.per_source"
DECISIONS = "contextos.context.decisions"
SOURCES = "contextos.context.sources"
DROPPED = "contextos.context.dropped"
CONTEXT_ITEMS = "contextos.context.items"
CONTEXT_MESSAGES = "contextos.context.messages"
REQUEST = "contextos.request"
RETRIEVAL_QUERIES = "contextos.tool_retrieval.queries"
RETRIEVAL_RANKED = "contextos.tool_retrieval.ranked_ids"
RETRIEVAL_SCORES = "contextos.tool_retrieval.scores"
RETRIEVAL_K = "contextos.tool_retrieval.k"  # the names contextos.tools.query records
COMPRESSOR = "contextos.compressor.name"
COMPRESS_TOKENS_IN = "contextos.compressor.tokens_in"
COMPRESS_TOKENS_OUT = "contextos.compressor.tokens_out"
COMPRESS_ITEMS_IN = "contextos.compressor.items_in"
COMPRESS_ITEMS_OUT = "contextos.compressor.items_out"
COMPRESS_TARGET = "contextos.compressor.target_tokens"
COMPRESS_RATIO = "contextos.compressor.ratio"  # tokens out / tokens in
COMPRESS_SOURCE = "contextos.compressor.source"
RETRY_EVENT = "contextos.retry"
RETRY_ATTEMPT = "contextos.retry.attempt"
RETRY_CAUSE = "contextos.retry.cause"
RETRY_DELAY = "contextos.retry.delay_s"
RETRY_MODEL = "contextos.retry.model"
SERVER_ADDRESS = "server.address"  # the replica that answered (GenAI conventions' server.*)
SERVER_PORT = "server.port"
REPLICA = "contextos.replica"  # its api_base
REPLICA_SESSION = "contextos.replica.session"  # the session key that keeps calls on it
REPLICA_FAILED = "contextos.replica.failed"  # replicas that failed this call before it answered

ASSEMBLE_SPAN = "contextos.assemble"
RETRIEVAL_SPAN = "contextos.tool_retrieval"
COMPRESS_SPAN = "contextos.compress"
STEP_SPAN = "contextos.step"
# the ids of context items (playbook bullets) a step's answer cited
STEP_CITED = "contextos.step.cited"

# Attributes that hold message content: dropped by exporters that do not capture content.
CONTENT = frozenset(
    {
        INPUT_MESSAGES,
        OUTPUT_MESSAGES,
        TOOL_DEFINITIONS,
        TOOL_ARGUMENTS,
        TOOL_RESULT,
        CONTEXT_ITEMS,
        CONTEXT_MESSAGES,
        REQUEST,
    }
)
