/** One Dockerfile instruction, with its line continuations joined and comment lines dropped. */
export interface DockerInstruction {
  /** Upper-case keyword: FROM, RUN, COPY, ... */
  readonly keyword: string;
  /** Leading `--name=value` options (`--from=build`, `--interval=15s`); a bare `--name` maps to "". */
  readonly flags: ReadonlyMap<string, string>;
  /** The arguments after the options, as written (continuations joined with a space). */
  readonly args: string;
  /** The arguments as a JSON array (exec form), or undefined for the shell form. */
  readonly exec: readonly string[] | undefined;
  /** 1-based line where the instruction starts, for messages. */
  readonly line: number;
}

/** A build stage: its `FROM` image, its `AS` name and the instructions after the `FROM`. */
export interface DockerStage {
  readonly base: string;
  readonly name: string | undefined;
  readonly line: number;
  readonly instructions: readonly DockerInstruction[];
}

/**
 * Parses the subset of the Dockerfile syntax that Pennant's Dockerfile uses: `#` comments and parser
 * directives, `\` continuations, `--flag=value` options, exec (JSON) and shell forms. Throws on anything
 * before the first FROM other than ARG, so a malformed file fails loudly.
 */
export function parseDockerfile(text: string): DockerStage[] {
  const stages: {
    base: string;
    name: string | undefined;
    line: number;
    instructions: DockerInstruction[];
  }[] = [];
  for (const instruction of logicalLines(text)) {
    if (instruction.keyword === "FROM") {
      const words = instruction.args.split(/\s+/);
      const as = words.findIndex((word) => word.toUpperCase() === "AS");
      const base = words[0];
      if (base === undefined || base === "")
        throw new Error(`line ${instruction.line}: FROM without an image`);
      stages.push({
        base,
        name: as === -1 ? undefined : words[as + 1],
        line: instruction.line,
        instructions: [],
      });
      continue;
    }
    const stage = stages.at(-1);
    if (stage === undefined) {
      if (instruction.keyword === "ARG") continue;
      throw new Error(`line ${instruction.line}: ${instruction.keyword} before the first FROM`);
    }
    stage.instructions.push(instruction);
  }
  return stages;
}

function* logicalLines(text: string): Generator<DockerInstruction> {
  const lines = text.split(/\r?\n/);
  let pending: { text: string; line: number } | undefined;
  for (const [index, raw] of lines.entries()) {
    const trimmed = raw.trim();
    // Comment lines (and parser directives) are dropped, also inside a continued instruction.
    if (trimmed.startsWith("#")) continue;
    if (trimmed === "" && pending === undefined) continue;
    const continued = /\\\s*$/.test(raw);
    const piece = continued ? raw.replace(/\\\s*$/, "") : raw;
    pending =
      pending === undefined
        ? { text: piece.trim(), line: index + 1 }
        : { text: `${pending.text} ${piece.trim()}`.trim(), line: pending.line };
    if (!continued) {
      yield toInstruction(pending.text, pending.line);
      pending = undefined;
    }
  }
  if (pending !== undefined) yield toInstruction(pending.text, pending.line);
}

function toInstruction(text: string, line: number): DockerInstruction {
  const match = /^(\S+)\s*(.*)$/s.exec(text);
  if (match === null) throw new Error(`line ${line}: cannot parse ${JSON.stringify(text)}`);
  const keyword = (match[1] ?? "").toUpperCase();
  let rest = match[2] ?? "";
  const flags = new Map<string, string>();
  for (let flag = /^--([a-z-]+)(?:=(\S*))?\s*/i.exec(rest); flag !== null; ) {
    flags.set(flag[1] ?? "", flag[2] ?? "");
    rest = rest.slice(flag[0].length);
    flag = /^--([a-z-]+)(?:=(\S*))?\s*/i.exec(rest);
  }
  return { keyword, flags, args: rest, exec: execForm(rest), line };
}

function execForm(args: string): string[] | undefined {
  if (!args.startsWith("[")) return undefined;
  try {
    const parsed: unknown = JSON.parse(args);
    return Array.isArray(parsed) && parsed.every((item) => typeof item === "string") ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The variables an `ENV` instruction sets: `K=V K2="V 2"` or the legacy `K V`. */
export function envAssignments(instruction: DockerInstruction): Map<string, string> {
  const assignments = new Map<string, string>();
  const legacy = /^([A-Za-z_][A-Za-z0-9_]*)\s+([^=]*)$/.exec(instruction.args);
  if (legacy !== null && !instruction.args.includes("=")) {
    assignments.set(legacy[1] ?? "", (legacy[2] ?? "").trim());
    return assignments;
  }
  const pair = /([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g;
  for (const match of instruction.args.matchAll(pair)) {
    const value = match[2] ?? "";
    assignments.set(match[1] ?? "", value.startsWith('"') ? (JSON.parse(value) as string) : value);
  }
  return assignments;
}

/** The shell commands of a shell-form `RUN`, split on `&&` and `;`, each as its words. */
export function shellCommands(instruction: DockerInstruction): string[][] {
  const script = instruction.exec === undefined ? instruction.args : instruction.exec.join(" ");
  return script
    .split(/&&|;/)
    .map((command) => command.trim().split(/\s+/).filter(Boolean))
    .filter((words) => words.length > 0);
}

/**
 * Whether `.dockerignore` patterns exclude `path` (relative to the context, `/`-separated): the last matching
 * pattern wins, `!` re-includes, `*` matches within a segment and `**` across segments, and a pattern that names
 * a directory excludes everything under it.
 */
export function isDockerIgnored(patterns: readonly string[], path: string): boolean {
  let ignored = false;
  for (const raw of patterns) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const negated = line.startsWith("!");
    const pattern = (negated ? line.slice(1) : line).replace(/^\/+/, "").replace(/\/+$/, "");
    const source = pattern
      .split("**")
      .map((part) =>
        part
          .split("*")
          .map((literal) => literal.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
          .join("[^/]*"),
      )
      .join(".*");
    if (new RegExp(`^${source}(/.*)?$`).test(path)) ignored = !negated;
  }
  return ignored;
}
