// bench_kafka: end to end on a real Kafka broker, from the input topic through the engine into
// RocksDB and out to the published topics.
//
//   bench_kafka --events FILE --tmp DIR --bootstrap HOST:PORT [--partitions 4] [--runs 3]
//               [--batch 1000] [--rates 10000,2000]
//
// Figures:
// - throughput: input events/s of a whole run (Engine::Run over a KafkaSource and a KafkaSink,
//   durable group commit: one synced WriteBatch per batch) from the first poll until every input
//   is read and every outbound message (recipients, audit, dead letters) is acknowledged by the
//   broker; median of --runs, each with a fresh store and consumer group.
// - ceiling, in the same run: a bare librdkafka consumer reading the same topic in batches of the
//   same size, each batch followed by one synced RocksDB WriteBatch holding as many bytes as the
//   engine wrote to its WAL for those inputs.
// - latency: inputs produced at each fixed rate of --rates to a fresh topic while the engine runs;
//   for each input, the time from handing it to the producer until its first domain event arrives
//   on the audit topic (read by a consumer in the same process); p50 and p99 per rate.
// Environment: BENCH_KAFKA_PROPS="name=value,..." adds librdkafka properties to the engine's
// consumer and producer (for trying settings).
#include <librdkafka/rdkafka.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cinttypes>
#include <cmath>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "connectors/kafka/kafka_admin.h"
#include "connectors/kafka/kafka_sink.h"
#include "connectors/kafka/kafka_source.h"
#include "engine/common/clock.h"
#include "engine/common/value.h"
#include "engine/core/cloudevent.h"
#include "engine/core/destination.h"
#include "engine/core/engine.h"
#include "engine/store/store.h"
#include "tests/bench/bench_util.h"

namespace amtsweg::bench {
namespace {

namespace fs = std::filesystem;

struct Setup {
  std::string bootstrap;
  int partitions = 4;
  size_t batch = 1000;
  std::string prefix;  // of every topic and group this run creates
};

void CreateTopic(const Setup& s, const std::string& name) {
  connectors::TopicSpec spec;
  spec.name = name;
  spec.partitions = s.partitions;
  if (Status st = connectors::CreateTopics(s.bootstrap, {spec}); !st.ok()) Die(st.ToString());
}

// The topics the engine writes to: audit, dead letters, and one per organisation.
void CreateOutboundTopics(const Setup& s, const Workflows& w, const connectors::KafkaConfig& c) {
  std::vector<std::string> names = {c.audit_topic, c.dead_letter_topic};
  for (const dsl::Organisation& org : w.directory->organisations())
    names.push_back(core::OrganisationDestination(org));
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  for (const std::string& name : names) {
    if (connectors::PartitionCount(s.bootstrap, name).ok()) continue;
    CreateTopic(s, name);
  }
}

// Produces every line keyed by its subject; returns when all are acknowledged.
void ProduceAll(const Setup& s, const std::string& topic, const std::vector<std::string>& lines) {
  connectors::KafkaConfig config;
  config.bootstrap = s.bootstrap;
  config.topic = topic;
  auto sink = connectors::KafkaSink::Open(config);
  if (!sink.ok()) Die(sink.status().ToString());
  std::vector<core::OutboundMessage> entries;
  uint64_t seq = 0;
  for (const std::string& line : lines) {
    core::OutboundMessage e;
    e.seq = ++seq;
    e.destination = topic;
    Result<runtime::InputEvent> in = core::DecodeCloudEvent(line);
    if (in.ok()) e.key = in->subject;
    e.payload = line;
    entries.push_back(std::move(e));
  }
  if (Status st = (*sink)->Send(std::move(entries)); !st.ok()) Die(st.ToString());
  std::vector<uint64_t> acked;
  while (acked.size() < lines.size()) {
    if (Status st = (*sink)->Acknowledged(std::chrono::milliseconds(500), &acked); !st.ok())
      Die(st.ToString());
  }
}

connectors::KafkaConfig EngineConfig(const Setup& s, const std::string& topic,
                                     const std::string& group) {
  connectors::KafkaConfig c;
  c.bootstrap = s.bootstrap;
  c.topic = topic;
  c.group = group;
  c.audit_topic = s.prefix + ".audit";
  c.dead_letter_topic = s.prefix + ".dead-letters";
  // Extra librdkafka properties for the engine from BENCH_KAFKA_PROPS="k=v,k=v".
  if (const char* env = std::getenv("BENCH_KAFKA_PROPS"); env != nullptr) {
    std::string list = env;
    for (size_t pos = 0; pos < list.size();) {
      size_t comma = list.find(',', pos);
      if (comma == std::string::npos) comma = list.size();
      std::string kv = list.substr(pos, comma - pos);
      size_t eq = kv.find('=');
      if (eq != std::string::npos) c.properties.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
      pos = comma + 1;
    }
  }
  return c;
}

struct EngineRun {
  double seconds = 0;
  core::EngineStats stats;
  uint64_t wal_bytes = 0;
};

// Engine::Run until caught up and delivered, or until `stop` when given.
EngineRun RunEngine(const Setup& s, const Workflows& w, const connectors::KafkaConfig& config,
                    const std::string& dir, const std::function<bool()>& stop) {
  fs::remove_all(dir);
  EngineRun run;
  store::Options so;
  so.sync = true;
  auto st = store::Store::Open(dir, so);
  if (!st.ok()) Die(st.status().ToString());
  ManualClock clock(0);
  core::EngineOptions options;
  options.audit_destination = config.audit_topic;
  options.dead_letter_destination = config.dead_letter_topic;
  core::Engine engine(**st, w.registry, *w.directory, clock, options);
  if (Status e = engine.Open(); !e.ok()) Die(e.ToString());
  auto source = connectors::KafkaSource::Open(config, core::kDefaultMaxEventBytes);
  if (!source.ok()) Die(source.status().ToString());
  auto sink = connectors::KafkaSink::Open(config);
  if (!sink.ok()) Die(sink.status().ToString());
  core::RunOptions ro;
  ro.batch_size = s.batch;
  ro.until_caught_up = !stop;
  ro.stop = stop;
  ro.poll_wait = std::chrono::milliseconds(50);
  // WAL files are removed after flushes: sample their sizes after every batch.
  std::map<std::string, uint64_t> wal;
  ro.progress = [&](const core::EngineStats&) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.path().extension() != ".log") continue;
      uint64_t& size = wal[entry.path().filename().string()];
      size = std::max<uint64_t>(size, entry.file_size(ec));
    }
  };
  double t0 = Seconds();
  if (Status e = engine.Run(**source, sink->get(), ro); !e.ok()) Die(e.ToString());
  run.seconds = Seconds() - t0;
  run.stats = engine.stats();
  ro.progress(run.stats);
  for (const auto& [name, size] : wal)
    run.wal_bytes += size;
  (void)(*source)->Close();
  return run;
}

rd_kafka_t* NewConsumer(const Setup& s, const std::string& group) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const char* k, const std::string& v) {
    if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) Die(err);
  };
  set("bootstrap.servers", s.bootstrap);
  set("group.id", group);
  set("enable.auto.commit", "false");
  set("enable.partition.eof", "true");
  set("auto.offset.reset", "earliest");
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (rk == nullptr) Die(err);
  rd_kafka_poll_set_consumer(rk);
  return rk;
}

void AssignAll(rd_kafka_t* rk, const std::string& topic, int partitions) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p)
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_resp_err_t e = rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) Die(rd_kafka_err2str(e));
}

// The ceiling: a bare consumer reading the topic in batches, each followed by one synced
// WriteBatch of `wal_per_input` bytes per input.
double CeilingRun(const Setup& s, const std::string& topic, size_t inputs, double wal_per_input,
                  const std::string& dir) {
  fs::remove_all(dir);
  rocksdb::Options opt;
  opt.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status rs = rocksdb::DB::Open(opt, dir, &raw);
  if (!rs.ok()) Die(rs.ToString());
  std::unique_ptr<rocksdb::DB> db(raw);
  rd_kafka_t* rk = NewConsumer(s, s.prefix + ".ceiling." + std::to_string(Seconds()));
  AssignAll(rk, topic, s.partitions);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  std::string value(static_cast<size_t>(std::max(16.0, wal_per_input - 40)), 'v');
  size_t read = 0;
  double t0 = Seconds();
  while (read < inputs) {
    rocksdb::WriteBatch wb;
    size_t in_batch = 0;
    while (in_batch < s.batch && read + in_batch < inputs) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, in_batch == 0 ? 100 : 0);
      if (m == nullptr) {
        if (in_batch > 0) break;
        continue;
      }
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        char key[48];
        int n = std::snprintf(key, sizeof key, "%d/%020" PRId64, m->partition, m->offset);
        // The message itself plus filler up to the engine's WAL bytes per input.
        std::string v(static_cast<const char*>(m->payload), m->len);
        if (v.size() < value.size()) v.append(value, 0, value.size() - v.size());
        if (!wb.Put(rocksdb::Slice(key, static_cast<size_t>(n)), v).ok()) Die("put");
        ++in_batch;
      }
      rd_kafka_message_destroy(m);
    }
    if (in_batch == 0) continue;
    rs = db->Write(wo, &wb);
    if (!rs.ok()) Die(rs.ToString());
    read += in_batch;
  }
  double seconds = Seconds() - t0;
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return seconds;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// Latency at a fixed rate: producer, engine and audit reader run at the same time.
void LatencyRun(const Setup& s, const Workflows& w, const std::vector<std::string>& lines,
                double rate, const std::string& dir) {
  std::string tag = ".latency" + std::to_string(static_cast<int64_t>(rate));
  std::string topic = s.prefix + tag;
  CreateTopic(s, topic);
  connectors::KafkaConfig config = EngineConfig(s, topic, s.prefix + tag + "-group");
  config.audit_topic = s.prefix + tag + "-audit";
  CreateOutboundTopics(s, w, config);

  // Input ids by line, and when each was handed to the producer.
  std::vector<std::string> ids(lines.size());
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < lines.size(); ++i) {
    Result<runtime::InputEvent> in = core::DecodeCloudEvent(lines[i]);
    if (in.ok()) {
      ids[i] = in->id;
      index.emplace(in->id, i);
    }
  }
  std::vector<double> sent(lines.size(), 0);
  std::vector<double> latency_ms;
  std::mutex mu;
  std::atomic<bool> stop_engine{false}, stop_reader{false};
  std::atomic<size_t> measured{0};

  EngineRun engine_run;
  std::thread engine(
      [&] { engine_run = RunEngine(s, w, config, dir, [&] { return stop_engine.load(); }); });
  std::thread reader([&] {
    rd_kafka_t* rk = NewConsumer(s, s.prefix + tag + "-reader");
    AssignAll(rk, config.audit_topic, s.partitions);
    std::vector<bool> seen(lines.size(), false);
    while (!stop_reader.load()) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
      if (m == nullptr) continue;
      double now = Seconds();
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        std::string_view payload(static_cast<const char*>(m->payload), m->len);
        Result<Value> v = Value::ParseJson(payload);
        if (v.ok()) {
          const Value& cause = (*v)["data"]["cause"];
          if (cause.is_string()) {
            auto it = index.find(cause.as_string());
            if (it != index.end() && !seen[it->second]) {
              seen[it->second] = true;
              std::lock_guard<std::mutex> lock(mu);
              if (sent[it->second] > 0) latency_ms.push_back((now - sent[it->second]) * 1000.0);
              measured++;
            }
          }
        }
      }
      rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
  });

  // Producer at a fixed rate, paced by the clock (it sends what is due, then waits for the next
  // without spinning: this machine has two cores).
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const char* k, const char* v) {
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) Die(err);
  };
  set("bootstrap.servers", s.bootstrap.c_str());
  set("enable.idempotence", "true");
  set("linger.ms", "1");
  set("partitioner", "murmur2_random");
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (producer == nullptr) Die(err);
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(producer, topic.c_str(), nullptr);
  double t0 = Seconds();
  for (size_t i = 0; i < lines.size(); ++i) {
    double due = t0 + static_cast<double>(i) / rate;
    // Pacing: block in the producer's poll (serving its callbacks) until the input is due.
    for (double now = Seconds(); now < due; now = Seconds())
      rd_kafka_poll(producer, static_cast<int>(std::ceil((due - now) * 1000)));
    Result<runtime::InputEvent> in = core::DecodeCloudEvent(lines[i]);
    std::string key = in.ok() ? in->subject : "";
    {
      std::lock_guard<std::mutex> lock(mu);
      sent[i] = Seconds();
    }
    while (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                            const_cast<char*>(lines[i].data()), lines[i].size(), key.data(),
                            key.size(), nullptr) != 0) {
      rd_kafka_resp_err_t e = rd_kafka_last_error();
      if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) Die(rd_kafka_err2str(e));
      rd_kafka_poll(producer, 10);
    }
  }
  rd_kafka_topic_destroy(rkt);
  double produce_seconds = Seconds() - t0;
  rd_kafka_flush(producer, 30000);
  rd_kafka_destroy(producer);
  // Wait for the audit events of the inputs that cause any (bounded).
  size_t expected = index.size();
  double deadline = Seconds() + 60;
  size_t last = 0;
  double last_change = Seconds();
  while (Seconds() < deadline) {
    size_t now = measured.load();
    if (now != last) {
      last = now;
      last_change = Seconds();
    } else if (Seconds() - last_change > 3) {
      break;  // refused inputs and duplicates cause no domain event: nothing more comes
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  stop_engine = true;
  engine.join();
  stop_reader = true;
  reader.join();
  std::printf(
      "latency: %zu inputs at %.0f/s (produced in %.2fs), %zu with a domain event, "
      "%zu decodable\n",
      lines.size(), rate, produce_seconds, latency_ms.size(), expected);
  const core::EngineStats& es = engine_run.stats;
  std::printf(
      "latency: engine %" PRIu64
      " batches (%.0f inputs each); poll %.2fs, process %.2fs, "
      "commit %.2fs, publish %.2fs\n",
      es.batches,
      static_cast<double>(es.inputs) / static_cast<double>(std::max<uint64_t>(1, es.batches)),
      static_cast<double>(es.poll_us) / 1e6, static_cast<double>(es.process_us) / 1e6,
      static_cast<double>(es.commit_us) / 1e6, static_cast<double>(es.publish_us) / 1e6);
  std::string name = "kafka_latency_p50_at" + std::to_string(static_cast<int64_t>(rate));
  Report(name.c_str(), Percentile(latency_ms, 0.50), "ms");
  name = "kafka_latency_p99_at" + std::to_string(static_cast<int64_t>(rate));
  Report(name.c_str(), Percentile(latency_ms, 0.99), "ms");
}

int Main(int argc, char** argv) {
  std::string events = Flag(argc, argv, "--events", "");
  std::string tmp = Flag(argc, argv, "--tmp", "");
  Setup s;
  s.bootstrap = Flag(argc, argv, "--bootstrap", "");
  if (events.empty() || tmp.empty() || s.bootstrap.empty())
    Die("usage: bench_kafka --events FILE --tmp DIR --bootstrap HOST:PORT");
  s.partitions = std::atoi(Flag(argc, argv, "--partitions", "4").c_str());
  s.batch = std::stoul(Flag(argc, argv, "--batch", "1000"));
  int runs = std::atoi(Flag(argc, argv, "--runs", "3").c_str());
  std::vector<double> rates;
  {
    std::string list = Flag(argc, argv, "--rates", "10000,2000");
    for (size_t pos = 0; pos < list.size();) {
      size_t comma = list.find(',', pos);
      if (comma == std::string::npos) comma = list.size();
      rates.push_back(std::atof(list.substr(pos, comma - pos).c_str()));
      pos = comma + 1;
    }
  }
  s.prefix = "bench." + std::to_string(getpid());
  Workflows w = LoadWorkflows(argc, argv);
  std::vector<std::string> lines = ReadLines(events);
  fs::create_directories(tmp);

  std::string topic = s.prefix + ".in";
  CreateTopic(s, topic);
  double t0 = Seconds();
  ProduceAll(s, topic, lines);
  std::printf("kafka: produced %zu events to %s (%d partitions) in %.2fs\n", lines.size(),
              topic.c_str(), s.partitions, Seconds() - t0);
  connectors::KafkaConfig base = EngineConfig(s, topic, "");
  CreateOutboundTopics(s, w, base);

  std::vector<double> engine_rates, ceiling_rates;
  for (int r = 0; r < runs; ++r) {
    connectors::KafkaConfig config = EngineConfig(s, topic, s.prefix + ".run" + std::to_string(r));
    EngineRun run = RunEngine(s, w, config, tmp + "/engine", nullptr);
    double per_input = static_cast<double>(run.wal_bytes) / static_cast<double>(run.stats.inputs);
    engine_rates.push_back(static_cast<double>(run.stats.inputs) / run.seconds);
    double ceiling = CeilingRun(s, topic, lines.size(), per_input, tmp + "/ceiling");
    ceiling_rates.push_back(static_cast<double>(lines.size()) / ceiling);
    std::printf("kafka: run %d: poll %.2fs, process %.2fs, commit %.2fs, publish %.2fs\n", r,
                static_cast<double>(run.stats.poll_us) / 1e6,
                static_cast<double>(run.stats.process_us) / 1e6,
                static_cast<double>(run.stats.commit_us) / 1e6,
                static_cast<double>(run.stats.publish_us) / 1e6);
    std::printf("kafka: run %d: engine %.2fs (%.0f inputs/s, %" PRIu64 " batches, %" PRIu64
                " published, WAL %.0f bytes/input); ceiling %.2fs (%.0f inputs/s)\n",
                r, run.seconds, engine_rates.back(), run.stats.batches, run.stats.published,
                per_input, ceiling, ceiling_rates.back());
  }
  std::string name = "kafka_e2e_batch" + std::to_string(s.batch);
  Report(name.c_str(), Median(engine_rates), "events/s", Median(ceiling_rates));
  for (double rate : rates)
    LatencyRun(s, w, lines, rate, tmp + "/latency");
  fs::remove_all(tmp + "/engine");
  fs::remove_all(tmp + "/ceiling");
  fs::remove_all(tmp + "/latency");
  return 0;
}

}  // namespace
}  // namespace amtsweg::bench

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);  // dead letters are logged at info
  return amtsweg::bench::Main(argc, argv);
}
