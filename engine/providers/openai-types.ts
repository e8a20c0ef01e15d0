/**
 * Minimal structural types for the OpenAI wire format: only the fields the provider layer reads or
 * writes are named; everything else passes through untouched via the index signatures.
 */

export interface ChatToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
  [key: string]: unknown;
}

export interface ChatMessage {
  role: string;
  content: string | null;
  tool_calls?: ChatToolCall[];
  [key: string]: unknown;
}

export interface ChatCompletionChoice {
  index: number;
  message: ChatMessage;
  finish_reason: string | null;
  [key: string]: unknown;
}

export interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  [key: string]: unknown;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: ChatCompletionChoice[];
  usage?: OpenAIUsage | null;
  [key: string]: unknown;
}

/** A tool-call fragment in a stream delta: `index` ties the fragments of one call together. */
export interface ChatToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function?: { name?: string; arguments?: string };
  [key: string]: unknown;
}

export interface ChatDelta {
  role?: string;
  content?: string | null;
  tool_calls?: ChatToolCallDelta[];
  [key: string]: unknown;
}

export interface ChatCompletionChunkChoice {
  index: number;
  delta: ChatDelta;
  finish_reason: string | null;
  [key: string]: unknown;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  /** Empty on the final usage chunk (`stream_options.include_usage`). */
  choices: ChatCompletionChunkChoice[];
  usage?: OpenAIUsage | null;
  [key: string]: unknown;
}

export interface EmbeddingData {
  object: 'embedding';
  index: number;
  embedding: number[] | string;
  [key: string]: unknown;
}

export interface EmbeddingsResponse {
  object: 'list';
  data: EmbeddingData[];
  model: string;
  usage?: { prompt_tokens: number; total_tokens: number; [key: string]: unknown } | null;
  [key: string]: unknown;
}

/** The body of a successful JSON answer: a chat completion, or an embeddings list for `/embeddings`. */
export type ResponseBody = ChatCompletion | EmbeddingsResponse;
