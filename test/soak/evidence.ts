// What the soak keeps of each failure it finds, to explain it afterwards: the viewer's sightings of the
// streamer and the spans it was away, the streamer's scripted spans, the transitions the log holds for
// it, and every pod line naming the streamer, the viewer or one of the viewer's sockets. Pods log a line
// per transition, connection and refusal, so these say who decided what, and where the viewer was.
import type { LiveSpan, ViewerRecord } from './oracle.js';

export interface EvidenceSources {
  readonly viewers: ReadonlyArray<ViewerRecord & { readonly socketIds: readonly string[] }>;
  readonly spans: readonly LiveSpan[];
  readonly logged: ReadonlyArray<{ streamerId: string; version: number; at: number; status?: string; reason?: string }>;
  readonly podLines: ReadonlyArray<{ label: string; lines: readonly string[] }>;
}

/** At most this many findings are written out in full: the first ones say what the rest would. */
const FINDINGS_KEPT = 5;

/** The evidence of findings such as "viewer-291: soak-184 online 8000 ms after its crash at …". */
export function evidence(findings: readonly string[], sources: EvidenceSources): string {
  return findings
    .slice(0, FINDINGS_KEPT)
    .map((finding) => {
      const [, viewerLabel, streamerId] = /^(\S+): (\S+) /.exec(finding) ?? [];
      if (viewerLabel === undefined || streamerId === undefined) return `## ${finding}\n(not of the form "<viewer>: <streamer> …")`;
      const viewer = sources.viewers.find((v) => v.label === viewerLabel);
      const names = [`"${streamerId}"`, `"${viewerLabel}"`, ...(viewer?.socketIds ?? []).map((id) => `"${id}"`)];
      const lines = sources.podLines.flatMap(({ label, lines: all }) => all.filter((line) => names.some((name) => line.includes(name))).map((line) => `${label}: ${line}`));
      return [
        `## ${finding}`,
        `viewer sightings of ${streamerId}: ${JSON.stringify(viewer?.sightings.filter((s) => s.streamerId === streamerId) ?? null)}`,
        `viewer away: ${JSON.stringify(viewer?.away ?? null)}; its sockets: ${JSON.stringify(viewer?.socketIds ?? null)}`,
        `spans of ${streamerId}: ${JSON.stringify(sources.spans.filter((s) => s.streamerId === streamerId))}`,
        `logged for ${streamerId}: ${JSON.stringify(sources.logged.filter((t) => t.streamerId === streamerId))}`,
        `pod lines (${lines.length}):`,
        ...lines,
      ].join('\n');
    })
    .join('\n\n');
}
