import type { Message } from "@langchain/langgraph-sdk";
import { useStream } from "@langchain/langgraph-sdk/react";
import { useState, type FormEvent } from "react";

// The page is configured through its URL, so one build serves any gateway and assistant:
// ?api=http://127.0.0.1:2024&assistant=chat&thread=<id>
const params = new URLSearchParams(window.location.search);
const apiUrl = params.get("api") ?? "http://127.0.0.1:2024";
const assistantId = params.get("assistant") ?? "chat";

type ChatState = { messages: Message[] };

/** Keeps the thread id in the address bar, so a reload shows the same conversation. */
function rememberThread(threadId: string): void {
  const url = new URL(window.location.href);
  url.searchParams.set("thread", threadId);
  window.history.replaceState(null, "", url);
}

function textOf(message: Message): string {
  if (typeof message.content === "string") return message.content;
  return message.content.map((part) => (part.type === "text" ? part.text : "")).join("");
}

export function App() {
  const [threadId, setThreadId] = useState<string | null>(() => params.get("thread"));
  const [draft, setDraft] = useState("");
  const thread = useStream<ChatState>({
    apiUrl,
    assistantId,
    messagesKey: "messages",
    threadId,
    onThreadId: (id) => {
      setThreadId(id);
      rememberThread(id);
    },
  });

  const send = (event: FormEvent) => {
    event.preventDefault();
    const content = draft.trim();
    if (content === "") return;
    setDraft("");
    const message: Message = { type: "human", content };
    void thread.submit(
      { messages: [message] },
      // Show the question at once; the run's first values replace it with the stored one.
      { optimisticValues: (previous) => ({ messages: [...(previous.messages ?? []), message] }) },
    );
  };

  return (
    <main>
      <h1>runbus chat</h1>
      <p>
        Assistant <code>{assistantId}</code> at <code>{apiUrl}</code>, thread <code aria-label="Thread id">{threadId ?? "(new)"}</code>
      </p>

      <ol aria-label="Messages">
        {/* The conversation's text only: tool calls and tool results are left out. */}
        {thread.messages
          .filter((message) => message.type === "human" || (message.type === "ai" && textOf(message) !== ""))
          .map((message, index) => (
            <li key={message.id ?? index} data-type={message.type}>
              <strong>{message.type === "human" ? "You" : "AI"}: </strong>
              <span>{textOf(message)}</span>
            </li>
          ))}
      </ol>

      <p role="status">{thread.isLoading ? "Streaming…" : "Ready"}</p>
      {thread.error != null && <p role="alert">{String(thread.error)}</p>}

      <form onSubmit={send}>
        <label htmlFor="question">Message </label>
        <input id="question" value={draft} onChange={(event) => setDraft(event.target.value)} autoComplete="off" />
        <button type="submit" disabled={thread.isLoading || draft.trim() === ""}>
          Send
        </button>
        <button type="button" onClick={() => void thread.stop()} disabled={!thread.isLoading}>
          Stop
        </button>
      </form>
    </main>
  );
}
