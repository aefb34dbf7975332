"""The OpenAI-compatible API: `/v1/models` and `/v1/chat/completions` over the answer use case.

An agent built on the OpenAI SDK (or LangChain, LlamaIndex) changes only its base URL and key.
The question is the last `user` message; earlier messages (system prompts, history) are not
searched and do not reach the model, because what is retrieved, bought and cited must follow
from the question alone. Errors keep `{"code", "message", "details"}` and add OpenAI's `error`.
"""
