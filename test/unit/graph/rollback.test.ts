import { MemorySaver } from "@langchain/langgraph-checkpoint";
import { rollbackContract } from "../../contract/rollback.contract.js";

rollbackContract("LangGraph's MemorySaver", () => new MemorySaver());
