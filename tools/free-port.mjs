// Prints a TCP port on 127.0.0.1 that is free right now (the OS picks it).
import { createServer } from "node:net";

const server = createServer();
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address();
  server.close(() => process.stdout.write(`${port}\n`));
});
