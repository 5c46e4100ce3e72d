import * as http from "node:http";
import type * as http2 from "node:http2";

/** Destroys the HTTP/2 sessions, then closes the servers with every connection they still hold. */
export async function closeServers(
  servers: readonly (http.Server | http2.Http2Server)[],
  sessions: Iterable<http2.Http2Session> = [],
): Promise<void> {
  for (const session of sessions) session.destroy();
  await Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve) => {
          if (server instanceof http.Server) server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
}
