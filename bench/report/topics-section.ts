/** Section 8 of docs/benchmarks.md and its summary rows, from bench/results/topics.json (bench/topics.ts). */
import type { Capacity, Deletion, MarkResult, BrokerLimits, BrokerProc, MetadataSize, Recommendation, SharedReaderLevel } from "../topics.js";
import type { Headline, Results } from "./headlines.js";

export const TOPICS_HEADING = "## 8. Per-run topic scale";

interface TopicsSummary {
  marks: MarkResult[];
  limits: BrokerLimits;
  capacity: { open_files: Capacity; memory_maps: Capacity; rss_mib: { per_1000_topics: number | null } };
  deletion: Deletion | null;
  shared_reader: { levels: SharedReaderLevel[]; per_run_topic: SharedReaderLevel; fetched_share_per_retained_run: number | null };
  top_topics: number;
  recommendation: Recommendation;
}

interface TopicsConfig {
  window: number;
  concurrency: number;
  fillBatch: number;
  deleteBatch: number;
  sharedReader: { reads: number; partitions: number };
  sound: { p50Ratio: number; p95Ratio: number; limitShare: number };
}

const n = (v: number | null | undefined, digits = 1): string => (typeof v === "number" && Number.isFinite(v) ? String(Math.round(v * 10 ** digits) / 10 ** digits) : "—");
const x = (v: number | null | undefined): string => (typeof v === "number" ? `×${v}` : "—");
const thousands = (v: number | null | undefined): string => (typeof v === "number" ? v.toLocaleString("en-US") : "—");

/** A markdown table; `|` in a cell is escaped. */
function table(header: string[], rows: string[][]): string {
  const esc = (c: string) => c.replace(/\|/g, "\\|");
  return [`| ${header.map(esc).join(" | ")} |`, `| ${header.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.map(esc).join(" | ")} |`)].join("\n");
}

export function topicsHeadlines(results: Results): Headline[] {
  const s = results.topics?.summary as TopicsSummary | undefined;
  const base = s?.marks[0];
  const top = s?.marks.at(-1);
  if (!s || !base || !top) return [];
  const row = (figure: string, runbus: number | null, baseline: number | null, baselineName: string, unit: string, r: number | null, target = "stated"): Headline => ({
    benchmark: "topics",
    figure,
    runbus,
    baseline,
    baselineName,
    unit,
    ratio: r,
    target,
    pass: null,
  });
  const shared = s.shared_reader.levels.find((l) => l.runs_on_topic === 100) ?? s.shared_reader.levels.at(-1);
  return [
    row(`run topic creation p50 at ${top.existing} topics`, top.sequential_ms.p50, base.sequential_ms.p50, "0 topics", "ms", top.ratio_p50_sequential),
    row(`run topic creation p99 at ${top.existing} topics`, top.sequential_ms.p99, base.sequential_ms.p99, "0 topics", "ms", top.ratio_p99_sequential),
    ...(shared
      ? [row(`shared-topic reader, ${shared.runs_on_topic} runs on the topic: KiB fetched`, shared.fetched_kib, shared.own_kib, "its own run's records", "KiB", shared.ratio_fetched_to_own)]
      : []),
    row("live run topics per-run mode is sound for", s.recommendation.live_topics, null, "", "topics", null, `stated (bound: ${s.recommendation.bound_by})`),
  ];
}

function procCells(b: BrokerProc | null, limits: BrokerLimits): string[] {
  const of = (v: number | undefined, limit: number | null) => (v === undefined ? "—" : limit ? `${thousands(v)} (${n((v / limit) * 100)}%)` : thousands(v));
  return [n(b?.rss_mib, 0), of(b?.fds, limits.max_open_files), of(b?.maps, limits.max_map_count), b ? String(b.threads) : "—"];
}

function metadataCells(m: MetadataSize | null): string[] {
  return [n(m?.log_kib, 0), m ? `${m.snapshots}${m.snapshots ? ` (newest ${n(m.latest_snapshot_kib, 0)} KiB)` : ""}` : "—"];
}

export function topicsSection(results: Results): string[] {
  const r = results.topics;
  if (!r) return [];
  const s = r.summary as unknown as TopicsSummary;
  const cfg = r.config as unknown as TopicsConfig;
  const d = s.deletion;
  const rec = s.recommendation;
  const reader = s.shared_reader;
  const biggest = reader.levels.at(-1);
  const fds = s.capacity.open_files;
  const maps = s.capacity.memory_maps;
  // A read stops at its run's `end`, so it fetches the runs before it (and the fetch that holds its end): on average the measured share per retained run, at worst all of them.
  const liveShared = biggest && reader.fetched_share_per_retained_run !== null ? (rec.live_topics * reader.fetched_share_per_retained_run * biggest.own_kib) / 1024 : null;
  const liveSharedWorst = biggest?.ratio_max ? (rec.live_topics * (biggest.ratio_max / biggest.runs_on_topic) * biggest.own_kib) / 1024 : null;
  return [
    TOPICS_HEADING,
    "",
    `Run topics created as a worker creates them on admission (\`KafkaTopicAdmin.ensureRunTopic\`: \`<prefix>runbus.run.<uuid>\`, one partition, the broker's retention; the janitor deletes them after \`RUNBUS_RUN_TOPIC_RETENTION_MS\`) on the benchmarks' one local broker, up to ${thousands(s.top_topics)}. At each mark a window of ${cfg.window} creations one at a time, then ${cfg.window} with ${cfg.concurrency} in flight (between the marks, untimed: the same topics ${cfg.fillBatch} to a CreateTopics request). Baseline: the same windows on the broker with no run topics, in the same run. The broker process is read from \`/proc\` at each mark, before its window.`,
    "",
    table(
      ["run topics", "one at a time p50 / p99 ms", "× at 0", "8 in flight p50 / p99 ms", "× at 0", "topics/s (1 / 8 in flight)", "broker CPU ms per topic", "admin requests (Metadata KiB) per topic", "listTopics ms (KiB)"],
      s.marks.map((m) => [
        thousands(m.existing),
        `${n(m.sequential_ms.p50)} / ${n(m.sequential_ms.p99)}`,
        `${x(m.ratio_p50_sequential)} / ${x(m.ratio_p99_sequential)}`,
        `${n(m.concurrent_ms.p50)} / ${n(m.concurrent_ms.p99)}`,
        `${x(m.ratio_p50_concurrent)} / ${x(m.ratio_p99_concurrent)}`,
        `${n(m.sequential_topics_per_s)} / ${n(m.concurrent_topics_per_s)}`,
        n(m.broker_cpu_ms_per_topic),
        `${n(m.admin_requests_per_topic)} (${n(m.admin_metadata_kib_per_topic)})`,
        `${n(m.list_topics_ms)} (${n(m.list_topics_response_kib, 0)})`,
      ]),
    ),
    "",
    `Each creation is kafkajs's \`createTopics\` (a metadata refresh, then CreateTopics to the controller) and runbus's poll of the new topic's metadata until it has a leader. kafkajs's refresh asks for the topics its admin client tracks, and an admin client that tracks none asks for all of them (an empty topic list is sent as null): every run topic's creation fetches the metadata of every topic on the cluster, as \`listTopics\` does. That is also what every reader's topic wait (\`readRun\`) and every janitor sweep ask for.${s.marks.some((m) => m.failed) ? ` Failed creations: ${s.marks.map((m) => m.failed).join(", ")}.` : ""}`,
    "",
    table(
      ["run topics", "broker RSS MiB", "open files (of the limit)", "memory maps (of the limit)", "threads", "metadata log KiB", "metadata snapshots"],
      [
        ...s.marks.map((m) => [thousands(m.existing), ...procCells(m.broker, s.limits), ...metadataCells(m.metadata)]),
        ...(d
          ? [
              ["0, all deleted, gone from the metadata", ...procCells(d.broker_at_gone, s.limits), "", ""],
              [`0, ${d.resources_released_ms === null ? "at the end of the wait" : "files released"}`, ...procCells(d.broker_after, s.limits), ...metadataCells(d.metadata_after)],
            ]
          : []),
      ],
    ),
    "",
    `Limits here: ${thousands(s.limits.max_open_files)} open files (the broker's \`ulimit -n\`, /proc/<pid>/limits), \`vm.max_map_count\` ${thousands(s.limits.max_map_count)}, JVM heap at most ${n(s.limits.heap_max_mib, 0)} MiB. Per 1,000 run topics the broker holds ${n(fds.per_1000_topics, 0)} more open files (each partition's active segment), ${n(maps.per_1000_topics, 0)} more memory maps (its offset and time indexes) and ${n(s.capacity.rss_mib.per_1000_topics, 0)} MiB more RSS; in a straight line the open-file limit is reached at ${thousands(fds.at_limit)} topics and the map limit at ${thousands(maps.at_limit)} (${cfg.sound.limitShare * 100}% of them at ${thousands(fds.at_sound_share)} and ${thousands(maps.at_sound_share)}). The KRaft metadata log grows by the topics' records and shrinks only when the controller snapshots it and the old segments go.`,
    "",
    ...(d
      ? [
          `**Deletion, as the janitor sweeps** (\`listRunTopics\`, then \`deleteTopics\` of up to ${cfg.deleteBatch}): ${thousands(d.topics)} topics in ${d.sweeps} sweeps and ${n(d.wall_ms / 1000)} s, **${n(d.topics_per_s)} topics/s** (the DeleteTopics calls alone: ${n(d.delete_call_topics_per_s)} topics/s, ${n(d.delete_call_ms.p50)} ms per call at p50; each sweep's listing ${n(d.list_ms.p50)} ms at p50); none of them listed any more ${n(d.gone_from_metadata_ms / 1000)} s after the first sweep, when the broker still held ${thousands(d.broker_at_gone?.fds)} open files and ${thousands(d.broker_at_gone?.maps)} maps; ${d.resources_released_ms === null ? "they were not released within the wait" : `they were released ${n(d.resources_released_ms / 1000, 0)} s after the first sweep`} (a deleted log is closed when its files are deleted, \`file.delete.delay.ms\`, 60 s by default, later): for that long a deleted topic counts against the limits as a live one does.`,
          "",
        ]
      : []),
    `**The shared topic's reader.** With \`RUNBUS_EVENT_TOPIC_MODE=shared\` every run's events go to one topic (${cfg.sharedReader.partitions} partitions, keyed by run id), and runbus's reader of a run (\`readRun\`) reads it from its beginning and drops the records of other runs (\`streamedEvent\`). Synthetic runs written by \`KafkaEventSink\` (per run: \`metadata\`, \`values\`, 30 \`messages\` chunks with LangGraph's metadata, \`updates\`, \`values\`, \`end\`, with the CloudEvents and runbus headers), then ${cfg.sharedReader.reads} reads of runs spread over the topic; fetched: the Fetch responses of the reader's consumer; baseline: the bytes (key, value, headers) of its own run's records.`,
    "",
    table(
      ["runs on the topic", "own run KiB", "fetched KiB", "fetched / own", "worst read", "records scanned per own record", "read ms"],
      [
        ...reader.levels.map((l) => [thousands(l.runs_on_topic), n(l.own_kib), n(l.fetched_kib), x(l.ratio_fetched_to_own), x(l.ratio_max), n(l.records_scanned_per_own_record), n(l.read_ms, 0)]),
        [
          "per-run topic (its run alone)",
          n(reader.per_run_topic.own_kib),
          n(reader.per_run_topic.fetched_kib),
          x(reader.per_run_topic.ratio_fetched_to_own),
          x(reader.per_run_topic.ratio_max),
          n(reader.per_run_topic.records_scanned_per_own_record),
          n(reader.per_run_topic.read_ms, 0),
        ],
      ],
    ),
    "",
    `A shared-topic read fetches the runs on the topic before its own and whatever else its fetches carry until its run's \`end\`: on average ${x(reader.fetched_share_per_retained_run)} of its own run's bytes per run retained (at ${thousands(biggest?.runs_on_topic)} runs; a run early on the topic costs less, a late one up to every run's bytes). The topic's \`retention.ms\` is the broker's default (7 days) unless the operator sets it, so that is the count that matters, not the runs in flight.`,
    "",
    `**Recommendation.** ${rec.sentence} In shared mode the broker holds ${cfg.sharedReader.partitions} partitions however many runs there are, but each reader pays for the runs retained on the topic: at the same ${thousands(rec.live_topics)} runs retained a read would fetch ~${n(liveShared, 0)} MiB on average, up to ~${n(liveSharedWorst, 0)} MiB. So with shared mode, set the shared topic's \`retention.ms\` to how long a run must stay replayable (minutes to an hour, not the broker's 7 days), and let clients stream the runs they create through one long-lived reader (the gateway's tap) rather than a \`readRun\` each.`,
    "",
  ];
}
