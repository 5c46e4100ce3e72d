import { createServer } from "node:net";

/**
 * A port of 127.0.0.1 that is free right now, found by binding port 0 and letting it go: for a server of a test's
 * own that cannot listen on port 0 and say which port it got (redis-server, PostgreSQL, sshd), or that must keep
 * its port across restarts.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port assigned");
  return address.port;
}
