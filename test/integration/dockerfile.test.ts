// The container image cannot be built here (no registry serves node:20-bookworm-slim to this machine; see
// docs/container.md), so this checks that the Dockerfile's steps are the project's own and stay so: the Node
// major, the README's commands, the package.json scripts, the config defaults and keys, the health check.
// It runs the image's default configuration and its HEALTHCHECK command against a real server.
// Cost: about 3 s for the file, most of it loading tsx; the checks themselves take under 1 s.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join, posix } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { intersects } from "semver";
import { loadConfig } from "../../src/config/load-config.js";
import {
  type DockerInstruction,
  type DockerStage,
  envAssignments,
  isDockerIgnored,
  parseDockerfile,
  shellCommands,
} from "../helpers/parse-dockerfile.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");
const VOLUME_PATH = "/var/opt/flipt";

interface PackageJson {
  readonly engines: { readonly node: string };
  readonly scripts: Readonly<Record<string, string>>;
  readonly bin: Readonly<Record<string, string>>;
}

const pkg = JSON.parse(read("package.json")) as PackageJson;
const stages = parseDockerfile(read("Dockerfile"));
const dockerignore = read(".dockerignore").split(/\r?\n/);

function only<T>(items: readonly T[], what: string): T {
  assert.equal(items.length, 1, `Dockerfile: expected exactly one ${what}, found ${items.length}`);
  return items[0] as T;
}

function instructions(stage: DockerStage, keyword: string): DockerInstruction[] {
  return stage.instructions.filter((instruction) => instruction.keyword === keyword);
}

function runCommands(stage: DockerStage): string[][] {
  return instructions(stage, "RUN").flatMap(shellCommands);
}

function workdir(stage: DockerStage): string {
  const last = instructions(stage, "WORKDIR").at(-1);
  assert.ok(last !== undefined, `Dockerfile: stage ${stage.name ?? stage.base} has no WORKDIR`);
  return last.args;
}

/** Where `source` lands for `COPY sources... dest`, relative to the stage's WORKDIR unless absolute. */
function copyTarget(stage: DockerStage, source: string, sourceCount: number, dest: string): string {
  const into = dest.endsWith("/") || sourceCount > 1 ? posix.join(dest, basename(source)) : dest;
  return posix.resolve(workdir(stage), into);
}

/** The Node major of a `node:<major>...` image, or undefined for any other image. */
function nodeMajor(image: string): number | undefined {
  const match = /^(?:docker\.io\/)?(?:library\/)?node:(\d+)(?:[.-]|$)/.exec(image);
  return match === null ? undefined : Number(match[1]);
}

const runtime = stages.at(-1) as DockerStage;
/** The stage the runtime copies `dist` from: where the project's build runs. */
const build = (() => {
  const from = instructions(runtime, "COPY")
    .filter((copy) => copy.flags.has("from"))
    .map((copy) => copy.flags.get("from"));
  const name = only([...new Set(from)], "stage the runtime copies from (COPY --from=...)");
  const stage = stages.find((candidate) => candidate.name === name);
  assert.ok(stage !== undefined, `Dockerfile: COPY --from=${name} names no stage`);
  return stage;
})();

/** The `FLIPT_*` variables the runtime image sets. */
const imageEnv = Object.fromEntries(
  instructions(runtime, "ENV")
    .flatMap((env) => [...envAssignments(env)])
    .filter(([name]) => name.startsWith("FLIPT_")),
);

describe("Dockerfile", () => {
  it("builds on the official Node image of the project's major version", () => {
    const major = Number(process.versions.node.split(".")[0]);
    assert.ok(stages.length >= 2, "Dockerfile: expected a multi-stage build (a build and a runtime stage)");
    const stageNames = new Set(stages.map((stage) => stage.name));
    for (const stage of stages.filter((candidate) => !stageNames.has(candidate.base))) {
      const imageMajor = nodeMajor(stage.base);
      assert.ok(
        imageMajor !== undefined,
        `Dockerfile line ${stage.line}: ${stage.base} is not a node:<major> image`,
      );
      assert.equal(
        imageMajor,
        major,
        `Dockerfile line ${stage.line}: ${stage.base} is Node ${imageMajor}, but the project runs on Node ${major}`,
      );
      assert.ok(
        intersects(`${imageMajor}.x`, pkg.engines.node),
        `Dockerfile line ${stage.line}: Node ${imageMajor} is outside package.json engines ${pkg.engines.node}`,
      );
    }
    assert.equal(
      read(".nvmrc").trim(),
      String(major),
      ".nvmrc names another Node major than the machine runs",
    );
    assert.match(
      runtime.base,
      /-slim$/,
      `Dockerfile: the runtime stage should be a slim image, got ${runtime.base}`,
    );
  });

  it("builds with the README's install command, whose prepare script runs the build script", () => {
    const readme = read("README.md");
    const runLine = /^(npm .*?)\s*&&\s*npm start\b/m.exec(readme);
    assert.ok(runLine !== null, "README.md: no `<install> && npm start` line to compare with");
    const install = (runLine[1] ?? "").split(/\s+/);
    const npmCi = runCommands(build).find((words) => words.join(" ").startsWith(install.join(" ")));
    assert.ok(
      npmCi !== undefined,
      `Dockerfile build stage: no RUN runs the README's \`${install.join(" ")}\``,
    );
    assert.ok(
      !npmCi.includes("--ignore-scripts"),
      "Dockerfile build stage: `npm ci --ignore-scripts` skips prepare, so nothing would be built",
    );
    assert.match(
      pkg.scripts.prepare ?? "",
      /\bnpm run build\b/,
      "package.json: prepare no longer runs the build",
    );
    assert.ok(pkg.scripts.build !== undefined, "package.json: no build script");
    const prune = runCommands(build).some((words) => words.join(" ") === "npm prune --omit=dev");
    assert.ok(prune, "Dockerfile build stage: dev dependencies are not pruned (npm prune --omit=dev)");
  });

  it("copies every build input into the build stage at its repository path, and .dockerignore keeps them", () => {
    const buildScript = pkg.scripts.build ?? "";
    const tsconfigName = /-p\s+(\S+)/.exec(buildScript)?.[1];
    assert.ok(
      tsconfigName !== undefined,
      `package.json build script has no \`tsc -p <file>\`: ${buildScript}`,
    );
    const needed = new Set(["package.json", "package-lock.json"]);
    for (const word of buildScript.split(/\s+/)) if (/\.(json|mjs|cjs|js|ts)$/.test(word)) needed.add(word);
    let includeSeen = false;
    for (let name: string | undefined = tsconfigName; name !== undefined; ) {
      needed.add(name);
      const tsconfig = JSON.parse(read(name)) as {
        extends?: string;
        include?: string[];
        compilerOptions?: { outDir?: string };
      };
      // A tsconfig's include replaces the one it extends: only the nearest one counts.
      if (!includeSeen)
        for (const include of tsconfig.include ?? []) needed.add(include.replace(/\/\*.*$/, ""));
      includeSeen ||= tsconfig.include !== undefined;
      if (name === tsconfigName) {
        assert.equal(tsconfig.compilerOptions?.outDir, "dist", `${name}: the build no longer writes dist/`);
      }
      name = tsconfig.extends?.replace(/^\.\//, "");
    }
    const copies = instructions(build, "COPY").filter((copy) => !copy.flags.has("from"));
    for (const path of needed) {
      assert.ok(existsSync(join(ROOT, path)), `build input ${path} does not exist in the repository`);
      assert.ok(!isDockerIgnored(dockerignore, path), `.dockerignore excludes the build input ${path}`);
      const placed = copies.some((copy) => {
        const words = copy.args.split(/\s+/);
        const dest = words.at(-1) ?? "";
        const sources = words.slice(0, -1);
        return sources.some((source) => {
          const clean = source.replace(/^\.\//, "").replace(/\/$/, "");
          const target = copyTarget(build, clean, sources.length, dest);
          // The source is the input itself, a directory holding it, or the whole context; and lands at its own path.
          const holds = clean === path || clean === "." || path.startsWith(`${clean}/`);
          return holds && target === posix.resolve(workdir(build), clean);
        });
      });
      assert.ok(placed, `Dockerfile build stage: no COPY puts ${path} at ${workdir(build)}/${path}`);
    }
    for (const hostOnly of ["node_modules", "dist", ".git"]) {
      assert.ok(isDockerIgnored(dockerignore, hostOnly), `.dockerignore should exclude ${hostOnly}`);
    }
  });

  it("runs the same file as `npm start` and the pennant bin, from the build stage's output", () => {
    const start = (pkg.scripts.start ?? "").split(/\s+/);
    const entrypoint = instructions(runtime, "ENTRYPOINT").at(-1)?.exec ?? [];
    assert.ok(
      entrypoint.length === 0 || entrypoint.at(-1) === "--",
      `Dockerfile: ENTRYPOINT ${JSON.stringify(entrypoint)} should be an init ending in "--" (or none)`,
    );
    const cmd = only(instructions(runtime, "CMD"), "CMD").exec;
    assert.ok(cmd !== undefined, "Dockerfile: CMD should be in exec form");
    assert.deepEqual(
      cmd.slice(0, start.length),
      start,
      `Dockerfile CMD ${JSON.stringify(cmd)} is not \`npm start\``,
    );
    const extra = cmd.slice(start.length);
    assert.ok(
      extra.length === 0 || (extra.length === 1 && extra[0] === "server"),
      `CMD adds ${extra.join(" ")}`,
    );
    const file = start[1] ?? "";
    assert.equal(pkg.bin.pennant, file, "package.json: the pennant bin and `npm start` run different files");
    const source = file.replace(/^dist\//, "src/").replace(/\.js$/, ".ts");
    assert.ok(existsSync(join(ROOT, source)), `${file} would be built from ${source}, which does not exist`);
    // The runtime needs dist/, its dependencies and package.json (the version is read from ../package.json).
    for (const path of ["dist", "node_modules", "package.json"]) {
      const copied = instructions(runtime, "COPY").some((copy) => {
        const [from, dest] = copy.args.split(/\s+/);
        return (
          copy.flags.get("from") === build.name &&
          from === posix.join(workdir(build), path) &&
          dest !== undefined &&
          copyTarget(runtime, path, 1, dest) === posix.join(workdir(runtime), path)
        );
      });
      assert.ok(
        copied,
        `Dockerfile runtime stage: ${path} is not copied from the build stage to ${workdir(runtime)}`,
      );
    }
  });

  it("exposes the configured default HTTP and gRPC ports", async () => {
    const exposed = instructions(runtime, "EXPOSE")
      .flatMap((expose) => expose.args.split(/\s+/))
      .map((port) => Number(port.replace(/\/tcp$/, "")))
      .sort((a, b) => a - b);
    const { config } = await loadConfig({ env: imageEnv, defaultPaths: [] });
    const ports = [config.server.httpPort, config.server.grpcPort].sort((a, b) => a - b);
    assert.deepEqual(
      exposed,
      ports,
      `Dockerfile EXPOSE ${exposed.join(" ")} but the config serves ${ports.join(" ")}`,
    );
    assert.deepEqual(ports, [8080, 9000], "the config defaults are no longer Flipt's 8080 and 9000");
  });

  it("runs as a non-root user that owns the volume, which holds the default storage", async () => {
    const user = only(instructions(runtime, "USER"), "USER").args.split(":")[0] ?? "";
    assert.ok(!["", "0", "root"].includes(user), `Dockerfile: USER ${user} is root`);
    const commands = runCommands(runtime);
    const useradd = commands.find((words) => words[0] === "useradd");
    assert.ok(useradd !== undefined, "Dockerfile runtime stage: no useradd creates the user");
    const name = useradd.at(-1);
    const uid = useradd[useradd.indexOf("--uid") + 1];
    assert.ok(
      user === name || user === uid,
      `Dockerfile: USER ${user} is not the user created (${name}, ${uid})`,
    );
    const chown = commands.find((words) => words[0] === "chown" && words.includes(VOLUME_PATH));
    const owner = chown?.[1]?.split(":")[0];
    assert.ok(owner === name || owner === uid, `Dockerfile: ${VOLUME_PATH} is not chowned to ${name}`);

    const volumes = instructions(runtime, "VOLUME").flatMap(
      (volume) => volume.exec ?? volume.args.split(/\s+/),
    );
    assert.ok(volumes.includes(VOLUME_PATH), `Dockerfile: VOLUME ${volumes.join(" ")} lacks ${VOLUME_PATH}`);
    const { config } = await loadConfig({ env: imageEnv, defaultPaths: [] });
    const environment = Object.values(config.environments).find((candidate) => candidate.default);
    const storage = config.storage[environment?.storage ?? ""];
    assert.deepEqual(
      storage?.backend,
      { type: "local", path: VOLUME_PATH },
      "the image's default environment should read a local repository in the volume",
    );
  });

  it("installs git, openssh-client and CA certificates without recommends, and cleans the apt lists", () => {
    const run = instructions(runtime, "RUN").find((candidate) =>
      shellCommands(candidate).some((words) => words.join(" ").startsWith("apt-get install")),
    );
    assert.ok(run !== undefined, "Dockerfile runtime stage: no apt-get install");
    const commands = shellCommands(run).map((words) => words.join(" "));
    const install = commands.find((command) => command.startsWith("apt-get install")) ?? "";
    const words = install.split(" ");
    for (const needed of ["git", "openssh-client", "ca-certificates", "--no-install-recommends"]) {
      assert.ok(words.includes(needed), `Dockerfile: apt-get install lacks ${needed}: ${install}`);
    }
    assert.ok(commands.indexOf("apt-get update") > -1, "Dockerfile: apt-get install without apt-get update");
    assert.ok(
      commands.includes("rm -rf /var/lib/apt/lists/*"),
      "Dockerfile: the apt lists are left in the image",
    );
  });

  it("sets only real FLIPT_* keys, each with an effect", async () => {
    const names = Object.keys(imageEnv);
    assert.ok(names.length > 0, "Dockerfile: the runtime sets no FLIPT_* defaults");
    const loaded = await loadConfig({ env: imageEnv, defaultPaths: [] });
    assert.deepEqual(loaded.warnings, [], "Dockerfile ENV: some FLIPT_* variables match no config key");
    assert.equal(loaded.config.log.encoding, imageEnv.FLIPT_LOG_ENCODING ?? "console");
    const defaults = JSON.stringify((await loadConfig({ env: {}, defaultPaths: [] })).config);
    for (const name of names) {
      const alone = await loadConfig({ env: { [name]: imageEnv[name] }, defaultPaths: [] });
      assert.notEqual(JSON.stringify(alone.config), defaults, `Dockerfile ENV ${name} changes nothing`);
    }
  });

  describe("the image's configuration on an empty volume, with the image's HEALTHCHECK", () => {
    let volume: string;
    let server: TestServer | undefined;
    const check = only(instructions(runtime, "HEALTHCHECK"), "HEALTHCHECK");
    /** `HEALTHCHECK [options] CMD ["node", ...]` as ["CMD", "node", ...]; [] for any other form. */
    const healthcheck = (() => {
      const match = /^CMD\s+(\[.*\])$/s.exec(check.args);
      if (match === null) return [];
      const command: unknown = JSON.parse(match[1] ?? "[]");
      return Array.isArray(command) ? ["CMD", ...command.map(String)] : [];
    })();

    /** Runs the HEALTHCHECK command with the machine's node, as the image's node would run it. */
    function runHealthcheck(httpPort: number): Promise<number | null> {
      const child = spawn(process.execPath, healthcheck.slice(2), {
        env: { PATH: process.env.PATH ?? "", FLIPT_SERVER_HTTP_PORT: String(httpPort) },
        stdio: "ignore",
      });
      return new Promise((resolve, reject) => {
        child.on("error", reject);
        child.on("close", resolve);
      });
    }

    before(async () => {
      volume = await mkdtemp(join(tmpdir(), "pennant-volume-"));
      server = await startTestServer({ ...imageEnv, FLIPT_STORAGE_DEFAULT_BACKEND_PATH: volume });
    });

    after(async () => {
      await server?.stop();
      await rm(volume, { recursive: true, force: true });
    });

    it("is an exec-form node command on /health (slim images have no curl)", () => {
      assert.equal(healthcheck[0], "CMD", `HEALTHCHECK should be CMD [...], got ${check.args}`);
      assert.equal(healthcheck[1], "node", "HEALTHCHECK should run node itself");
      assert.match(healthcheck.join(" "), /\/health\b/, "HEALTHCHECK does not fetch /health");
      assert.match(healthcheck.join(" "), /\b8080\b/, "HEALTHCHECK's default port is not 8080");
    });

    it("initialises a repository in the empty volume and passes the health check", async () => {
      assert.ok((await stat(join(volume, ".git"))).isDirectory(), "no git repository was initialised");
      const port = server?.server.httpPort ?? 0;
      assert.equal(await runHealthcheck(port), 0, "HEALTHCHECK fails against a serving server");
    });

    it("fails the health check once the server has stopped", async () => {
      const port = server?.server.httpPort ?? 0;
      await server?.stop();
      server = undefined;
      assert.notEqual(await runHealthcheck(port), 0, "HEALTHCHECK passes with no server listening");
    });
  });
});
