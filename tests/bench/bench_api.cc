// bench_api: the HTTP API (case show and history) on a large store while the engine consumes.
//
//   bench_api --events FILE --tmp DIR [--seconds 5] [--clients 2] [--rate 1000]
//             [--feed-share 0.15] [--seed 1]
//
// Builds a store from the first (1 - feed-share) of the events (the figures say how many domain
// events it holds; scripts/bench api generates enough for at least 1,000,000), then starts the
// API server (connectors/http, an auditor token, so every read is also written to the access
// log) and an engine thread that consumes the rest of the events at --rate inputs/s in batches
// of 1/100 s, each committed with sync like a production run. While it consumes, --clients
// keep-alive clients request random cases for --seconds: GET /api/v1/cases/{id}, then
// GET /api/v1/cases/{id}/history.
// Then participants' input: the feed stops, the engine runs on an InboxSource of the server's
// inbox (as `amtsweg run --listen` does), and --input-clients send POST
// /api/v1/cases/{id}/documents to random cases for --seconds, each answered once its batch is
// committed with sync (most are refused as not-a-participant: the same durable path, a dead
// letter instead of domain events).
// Figures: requests/s and p50/p99 latency of each. Ceiling, in the same run and under the same
// load: a bare cpp-httplib server on the same machine answering a fixed body of the median
// size of the history answers, requested the same way.
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cinttypes>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>

#include "connectors/http/api_server.h"
#include "connectors/http/principals.h"
#include "engine/common/clock.h"
#include "engine/core/catalog.h"
#include "engine/core/engine.h"
#include "engine/core/inbox.h"
#include "engine/store/store.h"
#include "tests/bench/bench_util.h"

namespace amtsweg::bench {
namespace {

namespace fs = std::filesystem;
using std::chrono::steady_clock;

struct Load {
  std::vector<double> micros;  // per request
  uint64_t errors = 0;
  uint64_t bytes = 0;
  double seconds = 0;
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// `clients` threads, each with one keep-alive connection, request path(i) for `seconds`: GET,
// or with `post` a POST of {} with an Idempotency-Key of its own.
Load Measure(int port, size_t clients, double seconds, const std::string& token,
             const std::function<std::string(std::mt19937_64&)>& path, uint64_t seed,
             bool post = false) {
  std::vector<Load> per(clients);
  std::vector<std::thread> threads;
  const double start = Seconds();
  for (size_t c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      std::mt19937_64 rng(seed + c);
      httplib::Client client("127.0.0.1", port);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      httplib::Headers headers = {{"Authorization", "Bearer " + token}};
      Load& l = per[c];
      uint64_t n = 0;
      while (Seconds() - start < seconds) {
        std::string p = path(rng);
        auto t0 = steady_clock::now();
        httplib::Headers h = headers;
        if (post)
          h.emplace("Idempotency-Key", "bench-" + std::to_string(c) + "-" + std::to_string(++n));
        httplib::Result r = post ? client.Post(p, h, "{}", "application/json") : client.Get(p, h);
        double us = std::chrono::duration<double, std::micro>(steady_clock::now() - t0).count();
        // An input is answered 200 when accepted, 422 when refused: both went the whole way.
        if (!r || (r->status != 200 && !(post && r->status == 422))) {
          ++l.errors;
          continue;
        }
        l.micros.push_back(us);
        l.bytes += r->body.size();
      }
    });
  }
  for (std::thread& t : threads)
    t.join();
  Load all;
  all.seconds = Seconds() - start;
  for (Load& l : per) {
    all.micros.insert(all.micros.end(), l.micros.begin(), l.micros.end());
    all.errors += l.errors;
    all.bytes += l.bytes;
  }
  return all;
}

void Print(const char* what, const Load& l) {
  std::printf("api: %-8s %8zu requests in %.1fs (%.0f/s), p50 %.2f ms, p99 %.2f ms, %" PRIu64
              " errors, %.0f bytes each\n",
              what, l.micros.size(), l.seconds, static_cast<double>(l.micros.size()) / l.seconds,
              Percentile(l.micros, 0.5) / 1000, Percentile(l.micros, 0.99) / 1000, l.errors,
              l.micros.empty() ? 0.0 : static_cast<double>(l.bytes) / l.micros.size());
}

int Main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  const std::string events_path = Flag(argc, argv, "--events", "");
  const std::string tmp = Flag(argc, argv, "--tmp", "");
  if (events_path.empty() || tmp.empty()) Die("usage: bench_api --events FILE --tmp DIR");
  const double seconds = std::stod(Flag(argc, argv, "--seconds", "5"));
  const size_t clients = std::stoul(Flag(argc, argv, "--clients", "2"));
  const double rate = std::stod(Flag(argc, argv, "--rate", "1000"));
  const double feed_share = std::stod(Flag(argc, argv, "--feed-share", "0.15"));
  const uint64_t seed = std::stoull(Flag(argc, argv, "--seed", "1"));
  const size_t input_clients = std::stoul(Flag(argc, argv, "--input-clients", "16"));
  std::printf("api: seed %" PRIu64 "\n", seed);

  Workflows wf = LoadWorkflows(argc, argv);
  std::vector<std::string> lines = ReadLines(events_path);
  const size_t split = static_cast<size_t>(static_cast<double>(lines.size()) * (1 - feed_share));
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  auto opened = store::Store::Open(tmp + "/data");
  if (!opened.ok()) Die(opened.status().ToString());
  std::unique_ptr<store::Store> st = std::move(opened).value();

  // The store: the first part of the stream, in batches of 1000.
  ManualClock clock(0);
  core::Engine engine(*st, wf.registry, *wf.directory, clock);
  if (Status s = engine.Open(); !s.ok()) Die(s.ToString());
  auto to_raw = [&](size_t from, size_t to) {
    std::vector<core::RawInput> raws;
    for (size_t i = from; i < to; ++i) {
      core::RawInput r;
      r.bytes = lines[i];
      r.size = r.bytes.size();
      r.where = "line " + std::to_string(i + 1);
      raws.push_back(std::move(r));
    }
    return raws;
  };
  double t0 = Seconds();
  for (size_t i = 0; i < split; i += 1000) {
    size_t end = std::min(split, i + 1000);
    Status s = engine.ProcessBatch(to_raw(i, end), "bench", {{"bench", std::to_string(end)}});
    if (!s.ok()) Die(s.ToString());
  }
  std::vector<std::string> ids;
  if (Status s = st->ScanCases([&](std::string_view id, const store::CaseRecord&) {
        ids.emplace_back(id);
        return true;
      });
      !s.ok()) {
    Die(s.ToString());
  }
  if (ids.empty()) Die("no cases in the store");
  std::printf("api: store of %" PRIu64
              " domain events in %zu cases from %zu inputs, built in %.1fs\n",
              engine.stats().domain_events, ids.size(), split, Seconds() - t0);

  // The server.
  Result<http::NewToken> token = http::GenerateToken();
  if (!token.ok()) Die(token.status().ToString());
  Result<http::NewToken> participant = http::GenerateToken();
  if (!participant.ok()) Die(participant.status().ToString());
  auto principals = http::Principals::Parse(
      "principals:\n  - {name: bench, role: auditor, token_sha256: " + token->sha256 +
          "}\n  - {name: amt, role: participant, organisation: " +
          wf.directory->organisations().front().id + ", token_sha256: " + participant->sha256 +
          "}\n",
      "bench-principals.yaml", *wf.directory);
  if (!principals.ok()) Die(principals.status().ToString());
  core::Catalog catalog(*st, *wf.directory, wf.registry);
  SystemClock wall;
  core::Inbox inbox(1000, 10'000, wall);
  http::ApiOptions options;
  options.inbox = &inbox;
  auto server = http::ApiServer::Start(options, *st, catalog, *wf.directory, **principals, clock);
  if (!server.ok()) Die(server.status().ToString());

  // The engine consumes the rest at `rate` inputs/s while the clients run.
  std::atomic<bool> stop{false};
  std::atomic<size_t> fed{0};
  std::thread feeder([&] {
    const size_t per_tick = std::max<size_t>(1, static_cast<size_t>(rate / 100));
    auto next = steady_clock::now();
    for (size_t i = split; i < lines.size() && !stop.load(); i += per_tick) {
      size_t end = std::min(lines.size(), i + per_tick);
      Status s = engine.ProcessBatch(to_raw(i, end), "bench", {{"bench", std::to_string(end)}});
      if (!s.ok()) Die(s.ToString());
      fed.store(end - split);
      next += std::chrono::milliseconds(10);
      std::this_thread::sleep_until(next);  // pacing, not waiting for a condition
    }
  });

  auto random_id = [&](std::mt19937_64& rng) { return ids[rng() % ids.size()]; };
  const int port = (*server)->port();
  size_t fed_before = fed.load();
  Load show = Measure(
      port, clients, seconds, token->token,
      [&](std::mt19937_64& rng) { return "/api/v1/cases/" + random_id(rng); }, seed);
  size_t fed_show = fed.load() - fed_before;
  fed_before = fed.load();
  Load history = Measure(
      port, clients, seconds, token->token,
      [&](std::mt19937_64& rng) { return "/api/v1/cases/" + random_id(rng) + "/history"; },
      seed + 100);
  size_t fed_history = fed.load() - fed_before;

  // Ceiling: a bare server answering a fixed body of the median history size.
  std::string body(history.micros.empty() ? 1000 : history.bytes / history.micros.size(), 'x');
  httplib::Server bare;
  bare.set_tcp_nodelay(true);  // as ApiServer
  bare.Get("/.*", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(body, "application/json");
  });
  int bare_port = bare.bind_to_any_port("127.0.0.1");
  std::thread bare_thread([&] { bare.listen_after_bind(); });
  // Listening since bind_to_any_port: connections wait in the backlog until the loop runs.
  fed_before = fed.load();
  Load ceiling = Measure(
      bare_port, clients, seconds, token->token,
      [&](std::mt19937_64& rng) { return "/x/" + random_id(rng); }, seed + 200);
  size_t fed_ceiling = fed.load() - fed_before;
  bare.stop();
  bare_thread.join();
  stop.store(true);
  feeder.join();

  // Participants' input, answered once stored: the engine now runs on the server's inbox.
  std::atomic<bool> inputs_done{false};
  std::thread runner([&] {
    core::InboxSource api(nullptr, inbox);
    core::RunOptions run;
    run.until_caught_up = false;
    run.stop = [&] { return inputs_done.load(); };
    if (Status s = engine.Run(api, nullptr, run); !s.ok()) Die(s.ToString());
  });
  const uint64_t batches_before = engine.stats().batches;
  Load input = Measure(
      port, input_clients, seconds, participant->token,
      [&](std::mt19937_64& rng) { return "/api/v1/cases/" + random_id(rng) + "/documents"; },
      seed + 300, /*post=*/true);
  inputs_done.store(true);
  runner.join();
  const uint64_t input_batches = engine.stats().batches - batches_before;
  (*server)->Stop();

  Print("show", show);
  Print("history", history);
  Print("ceiling", ceiling);
  Print("input", input);
  std::printf("api: %zu inputs in %" PRIu64 " batches (%.1f per committed batch), %zu clients\n",
              input.micros.size(), input_batches,
              static_cast<double>(input.micros.size()) /
                  static_cast<double>(std::max<uint64_t>(input_batches, 1)),
              input_clients);
  std::printf(
      "api: the engine consumed %zu / %zu / %zu inputs during the three phases (%.0f/s "
      "asked)\n",
      fed_show, fed_history, fed_ceiling, rate);
  if (fed.load() + split >= lines.size())
    std::printf("api: WARNING the engine ran out of input before the end; use a larger stream\n");
  const double ceiling_rps = static_cast<double>(ceiling.micros.size()) / ceiling.seconds;
  Report("api_show_per_s", static_cast<double>(show.micros.size()) / show.seconds, "requests/s",
         ceiling_rps);
  Report("api_history_per_s", static_cast<double>(history.micros.size()) / history.seconds,
         "requests/s", ceiling_rps);
  std::printf("RESULT api_show_p99_us %.0f us\n", Percentile(show.micros, 0.99));
  std::printf("RESULT api_history_p99_us %.0f us\n", Percentile(history.micros, 0.99));
  std::printf("RESULT api_ceiling_p99_us %.0f us\n", Percentile(ceiling.micros, 0.99));
  std::printf("RESULT api_input_per_s %.0f inputs/s\n",
              static_cast<double>(input.micros.size()) / input.seconds);
  std::printf("RESULT api_input_p50_us %.0f us\n", Percentile(input.micros, 0.5));
  std::printf("RESULT api_input_p99_us %.0f us\n", Percentile(input.micros, 0.99));
  std::printf("RESULT api_store_events %" PRIu64 " events\n", engine.stats().domain_events);
  return 0;
}

}  // namespace
}  // namespace amtsweg::bench

int main(int argc, char** argv) {
  return amtsweg::bench::Main(argc, argv);
}
