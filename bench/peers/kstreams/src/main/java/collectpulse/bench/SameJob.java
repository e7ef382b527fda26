package collectpulse.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

/**
 * The collectpulse worker's job for the message topics, written the natural Kafka Streams way.
 *
 * <p>exactly_once_v2; a processor with two RocksDB stores dedupes on event_id and keeps one
 * state per message_id (kinds seen, the sent's dimensions), so each kind of a message is counted
 * once and joined to its sent whatever the order (events before their sent wait in the store);
 * its output is re-keyed to channel|campaign|variant|segment|kind and stamped with the send
 * time, repartitioned, and counted in 1-minute event-time tumbling windows.
 *
 * <p>The clock starts at the first input record processed (so JVM start-up, topology build and
 * the group join are outside it) and stops when the windowed counts, read downstream of the
 * aggregate, add up to the expected totals per kind (the published records, deduped). The last
 * line on stdout is {"events", "seconds", "cpu_seconds", "totals", ...}; exit 0 when the totals
 * matched, 1 on the deadline.
 */
public final class SameJob {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String SEP = "|";

  // Measurement state: the stream thread writes it; the watchdog only reads it at the end.
  static volatile long firstNanos = 0;
  static volatile long firstCpu = 0;
  static volatile long lastInputNanos = 0;
  static long consumed = 0;
  static long waited = 0; // kinds that arrived before their sent and were joined when it came
  static long expectedEvents = 0;
  static final Map<String, Long> latest = new HashMap<>();
  static final Map<String, Long> totals = new TreeMap<>();
  static Map<String, Long> expected = new TreeMap<>();

  public static void main(String[] argv) throws Exception {
    Map<String, String> args = parse(argv);
    String prefix = args.get("prefix");
    expectedEvents = Long.parseLong(args.get("events"));
    JsonNode want = JSON.readTree(args.get("expected"));
    want.fields().forEachRemaining(e -> expected.put(e.getKey(), e.getValue().asLong()));

    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, args.get("app-id"));
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args.get("bootstrap"));
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    props.put(StreamsConfig.STATE_DIR_CONFIG, args.get("state-dir"));
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, args.getOrDefault("commit-ms", "100"));
    props.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");

    StreamsBuilder builder = new StreamsBuilder();
    builder.addStateStore(
        Stores.keyValueStoreBuilder(
            Stores.persistentKeyValueStore("seen-events"), Serdes.String(), Serdes.Long()));
    builder.addStateStore(
        Stores.keyValueStoreBuilder(
            Stores.persistentKeyValueStore("messages"), Serdes.String(), Serdes.String()));
    List<String> topics =
        List.of(prefix + "delivery", prefix + "bounce", prefix + "open", prefix + "click");
    builder.stream(topics, Consumed.with(Serdes.String(), Serdes.String()))
        .process(() -> new Join(prefix), "seen-events", "messages")
        .groupByKey(Grouped.with("dims", Serdes.String(), Serdes.String()))
        // grace: a message's later events are stamped with its (earlier) send time
        .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMinutes(1), Duration.ofHours(24)))
        .count(Materialized.as("counts"))
        .toStream()
        .foreach((windowed, count) -> observe(windowed.key(), windowed.window().start(), count));

    KafkaStreams streams = new KafkaStreams(builder.build(), props);
    long deadline = Long.parseLong(args.getOrDefault("timeout-s", "900"));
    Thread watchdog =
        new Thread(
            () -> {
              try {
                Thread.sleep(deadline * 1000);
              } catch (InterruptedException e) {
                return;
              }
              synchronized (SameJob.class) {
                finish(1);
              }
            });
    watchdog.setDaemon(true);
    watchdog.start();
    streams.start();
    Thread.sleep(Long.MAX_VALUE);
  }

  /** A windowed count update: keep the newest per window and key, and the sum per kind. */
  static synchronized void observe(String key, long windowStart, long count) {
    Long before = latest.put(key + "@" + windowStart, count);
    String kind = key.substring(key.lastIndexOf(SEP) + 1);
    totals.merge(kind, count - (before == null ? 0 : before), Long::sum);
    if (consumed >= expectedEvents && totals.equals(expected)) {
      finish(0);
    }
  }

  static void finish(int code) {
    long now = System.nanoTime();
    Map<String, Object> out = new TreeMap<>();
    out.put("events", consumed);
    out.put("seconds", firstNanos == 0 ? 0 : (now - firstNanos) / 1e9);
    out.put("input_seconds", firstNanos == 0 ? 0 : (lastInputNanos - firstNanos) / 1e9);
    out.put("cpu_seconds", (cpuNanos() - firstCpu) / 1e9);
    out.put("totals", totals);
    out.put("joined_after_waiting", waited);
    out.put("expected", expected);
    out.put("peak_heap_mb", Runtime.getRuntime().totalMemory() / 1048576.0);
    try {
      System.out.println(JSON.writeValueAsString(out));
    } catch (Exception e) {
      System.out.println("{\"error\": \"" + e + "\"}");
    }
    System.out.flush();
    Runtime.getRuntime().halt(code); // a bench child: skip the graceful shutdown
  }

  static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean)
            ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  static Map<String, String> parse(String[] argv) {
    Map<String, String> out = new HashMap<>();
    for (String a : argv) {
      int eq = a.indexOf('=');
      if (!a.startsWith("--") || eq < 0) {
        throw new IllegalArgumentException("expected --name=value, got " + a);
      }
      out.put(a.substring(2, eq), a.substring(eq + 1));
    }
    for (String need : List.of("bootstrap", "prefix", "app-id", "events", "expected", "state-dir")) {
      if (!out.containsKey(need)) {
        throw new IllegalArgumentException("missing --" + need);
      }
    }
    return out;
  }

  /** Dedupe on event_id and join each kind of a message to its sent, once. */
  static final class Join implements Processor<String, String, String, String> {
    private final String prefix;
    private ProcessorContext<String, String> context;
    private KeyValueStore<String, Long> seen;
    private KeyValueStore<String, String> messages;

    Join(String prefix) {
      this.prefix = prefix;
    }

    @Override
    public void init(ProcessorContext<String, String> context) {
      this.context = context;
      this.seen = context.getStateStore("seen-events");
      this.messages = context.getStateStore("messages");
    }

    @Override
    public void process(Record<String, String> record) {
      if (firstNanos == 0) {
        firstCpu = cpuNanos();
        firstNanos = System.nanoTime();
      }
      synchronized (SameJob.class) {
        consumed++;
      }
      lastInputNanos = System.nanoTime();
      JsonNode event;
      try {
        event = JSON.readTree(record.value());
      } catch (Exception e) {
        return; // not JSON: the worker would dead-letter it; nothing to count
      }
      String eventId = event.path("event_id").asText();
      if (seen.get(eventId) != null) {
        return;
      }
      seen.put(eventId, 1L);
      String topic = context.recordMetadata().orElseThrow().topic().substring(prefix.length());
      String kind = topic.equals("delivery") ? event.path("status").asText() : topic;
      MessageState state = MessageState.decode(messages.get(record.key()));
      if (!state.kinds.add(kind)) {
        return; // this kind of this message is already counted (or waiting for its sent)
      }
      if (kind.equals("sent")) {
        state.dims =
            String.join(
                SEP,
                event.path("channel").asText(),
                event.path("campaign").asText(),
                event.path("variant").asText(""),
                event.path("segment").asText(""));
        state.sentAt = OffsetDateTime.parse(event.path("occurred_at").asText()).toInstant().toEpochMilli();
        for (String waiting : state.kinds) {
          emit(state, waiting);
        }
        waited += state.kinds.size() - 1;
      } else if (state.dims != null) {
        emit(state, kind);
      }
      messages.put(record.key(), state.encode());
    }

    private void emit(MessageState state, String kind) {
      // stamped with the send time: the window is the message's send minute
      context.forward(new Record<>(state.dims + SEP + kind, "1", state.sentAt));
    }
  }

  /** A message's state: the kinds seen, and the sent's dimensions once it has arrived. */
  static final class MessageState {
    String dims;
    long sentAt;
    final Set<String> kinds = new LinkedHashSet<>();

    static MessageState decode(String text) {
      MessageState state = new MessageState();
      if (text == null) {
        return state;
      }
      String[] parts = text.split("\u0001", -1);
      state.dims = parts[0].isEmpty() ? null : parts[0];
      state.sentAt = Long.parseLong(parts[1]);
      for (String kind : parts[2].split(",")) {
        if (!kind.isEmpty()) {
          state.kinds.add(kind);
        }
      }
      return state;
    }

    String encode() {
      return (dims == null ? "" : dims) + "\u0001" + sentAt + "\u0001" + String.join(",", kinds);
    }
  }
}
