import type { ChildProcess } from "node:child_process";

/**
 * Resolves with what `ready` finds in a child's output (stdout and stderr together) once it finds something; rejects
 * with the output so far when the child exits first or `timeoutMs` passes (killing it then). Afterwards its output
 * is drained, so that a chatty server never blocks on a full pipe.
 */
export async function waitForReadyOutput<T>(
  child: ChildProcess,
  name: string,
  ready: (output: string) => T | undefined,
  timeoutMs: number,
): Promise<T> {
  let output = "";
  try {
    return await new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`${name} did not start within ${timeoutMs} ms:\n${output}`));
      }, timeoutMs);
      const onData = (chunk: Buffer) => {
        output += chunk.toString("utf8");
        const found = ready(output);
        if (found !== undefined) {
          clearTimeout(timer);
          resolve(found);
        }
      };
      child.stdout?.on("data", onData);
      child.stderr?.on("data", onData);
      child.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited (${code ?? signal}) before it was ready:\n${output}`));
      });
    });
  } finally {
    child.stdout?.resume();
    child.stderr?.resume();
  }
}
