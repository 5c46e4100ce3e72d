import type * as net from "node:net";
import type { Logger } from "pino";

/**
 * Counts open connections per client address (the TCP peer, IPv4-mapped IPv6 addresses folded into IPv4), across
 * every listener it is given to.
 */
export interface ConnectionBudget {
  /** Counts `socket` against its address until it closes; false (and the socket reset) when the address is full. */
  admit(socket: net.Socket): boolean;
}

/** `maxPerClient` 0: no limit (connections are still counted, which costs a map entry per open address). */
export function createConnectionBudget(maxPerClient: number, logger: Logger): ConnectionBudget {
  const open = new Map<string, number>();
  return {
    admit(socket) {
      const address = socket.remoteAddress?.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, "");
      if (address === undefined) {
        // Already gone.
        socket.destroy();
        return false;
      }
      const count = open.get(address) ?? 0;
      if (maxPerClient > 0 && count >= maxPerClient) {
        logger.debug(
          { client: address, open: count },
          "connection refused: the client has the most connections allowed (limits.max_connections_per_client)",
        );
        // A reset: nothing to read or write, and no TIME_WAIT left on this side.
        socket.resetAndDestroy();
        return false;
      }
      open.set(address, count + 1);
      socket.once("close", () => {
        const left = (open.get(address) ?? 1) - 1;
        if (left === 0) open.delete(address);
        else open.set(address, left);
      });
      return true;
    },
  };
}

/** Resets connections over the budget as they arrive, before anything else (TLS included) is spent on them. */
export function refuseOverBudget(server: net.Server, budget: ConnectionBudget): void {
  server.prependListener("connection", (socket: net.Socket) => void budget.admit(socket));
}
