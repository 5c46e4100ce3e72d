import type { EnvironmentStatus } from "../../src/gen/pennant/status/v1/status_pb.js";

/** The environment's health in a few words, each linking to the status page for the details. */
export function StatusBadges({
  status,
  href,
}: {
  readonly status: EnvironmentStatus | undefined;
  readonly href: string;
}) {
  if (status === undefined) return null;
  const badges: { text: string; tone: "ok" | "warn" | "error" | "muted"; title: string }[] = [];
  if (status.readOnly)
    badges.push({ text: "Read-only", tone: "muted", title: "This environment refuses writes" });
  if (status.lastError !== undefined) {
    const issues = status.lastError.issues.length;
    badges.push({
      text: issues > 0 ? `Load failed: ${issues} issue${issues === 1 ? "" : "s"}` : "Load failed",
      tone: "error",
      title: `${status.lastError.message} (the last good state is still served)`,
    });
  }
  if (status.remote !== undefined) {
    if (status.remote.lastFetchError !== "") {
      badges.push({ text: "Sync failing", tone: "error", title: status.remote.lastFetchError });
    } else if (status.remote.behind > 0) {
      badges.push({
        text: `${status.remote.behind} behind`,
        tone: "warn",
        title: `The served state is ${status.remote.behind} commits behind ${status.remote.ref}`,
      });
    } else {
      badges.push({
        text: "In sync",
        tone: "ok",
        title: `Following ${status.remote.ref} of ${status.remote.url}`,
      });
    }
  }
  if (badges.length === 0) badges.push({ text: "Healthy", tone: "ok", title: "The last load succeeded" });
  return (
    <ul class="badges" aria-label="Environment status">
      {badges.map((badge) => (
        <li key={badge.text}>
          <a class={`badge badge-${badge.tone}`} href={href} title={badge.title}>
            {badge.text}
          </a>
        </li>
      ))}
    </ul>
  );
}
