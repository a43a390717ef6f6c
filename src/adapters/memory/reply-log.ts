import type { ReplySink } from "../../ports.js";
import type { Reply } from "../../protocol/replies.js";

/** Replies kept in memory in the order they were sent. */
export class MemoryReplyLog implements ReplySink {
  readonly replies: Reply[] = [];

  async reply(reply: Reply): Promise<void> {
    this.replies.push(reply);
  }
}
